/**
 * NoSIP with a werift browser peer on one side and a plain UDP RTP peer (a socket in the test) on
 * the other: generate (offer -> barebone SDP), process (barebone answer -> JSEP answer), RTP both
 * ways through the bridge, hangup; and the error codes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { JanusWsClient } from '../helpers/janus-client.ts';
import { loopbackPeer, offerWith, waitConnected, rtpPacket } from '../helpers/werift-peer.ts';
import nosipPlugin from '../../src/plugins/nosip/index.ts';
import { until } from './sip-peers.ts';
import type { RtpPacket } from 'werift';

const server = await startServer(transportConfig((c) => {
  c.pluginConfigs['janus.plugin.nosip'] = { general: { local_ip: '127.0.0.1', rtp_port_range: '50000-50999' } };
}), { logger: silentLogger(), plugins: [nosipPlugin()] });
after(() => server.close());

test('generate, process, RTP both ways between a browser peer and a plain RTP socket, hangup', async () => {
  const client = await JanusWsClient.connect(`ws://127.0.0.1:${server.ports.ws}`);
  const sid = await client.createSession();
  const hid = await client.attach(sid, 'janus.plugin.nosip');
  const pc = loopbackPeer();
  const got: RtpPacket[] = [];
  pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
  const offer = await offerWith(pc, ['audio'], false);
  await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction: 'g', body: { request: 'generate' }, jsep: { type: 'offer', sdp: offer.sdp } });
  const gen = await client.waitFor((m) => m.transaction === 'g' && m.janus === 'event');
  const result = (gen.plugindata as { data: { result: { event: string; type: string; sdp: string } } }).data.result;
  assert.equal(result.event, 'generated');
  assert.equal(result.type, 'offer');
  assert.match(result.sdp, /m=audio (\d+) RTP\/AVP 111/);
  assert.doesNotMatch(result.sdp, /ice-ufrag|fingerprint/);
  const bridgePort = Number(/m=audio (\d+)/.exec(result.sdp)![1]);
  assert.ok(bridgePort >= 50000 && bridgePort <= 50999);
  const rtpPeer = dgram.createSocket('udp4');
  await new Promise<void>((r) => rtpPeer.bind(0, '127.0.0.1', () => r()));
  const peerGot: Buffer[] = [];
  rtpPeer.on('message', (m) => peerGot.push(m));
  const answer = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${rtpPeer.address().port} RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=sendrecv\r\n`;
  await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction: 'p', body: { request: 'process', type: 'answer', sdp: answer } });
  const proc = await client.waitFor((m) => m.transaction === 'p' && m.janus === 'event');
  assert.equal(proc.jsep.type, 'answer');
  await pc.setRemoteDescription(proc.jsep);
  await waitConnected(pc);
  for (let i = 0; i < 30; i++) {
    offer.tracks[0].writeRtp(rtpPacket(111, 10 + i, 960 * i, 99, 'webr'));
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => peerGot.length >= 20);
  // The far side declared 96 for Opus: the bridge renumbers, payload untouched.
  assert.equal(peerGot[0][1] & 0x7f, 96);
  assert.equal(peerGot[0].subarray(12, 16).toString(), 'webr');
  for (let i = 0; i < 30; i++) {
    const p = Buffer.alloc(12 + 20, 1);
    p[0] = 0x80; p[1] = 96; p.writeUInt16BE(i, 2); p.writeUInt32BE(i * 960, 4); p.writeUInt32BE(0xabcdef, 8);
    p.write('rtpp', 12);
    rtpPeer.send(p, bridgePort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => got.length >= 20);
  assert.equal(got[0].header.payloadType, 111);
  assert.equal(got[0].payload.subarray(0, 4).toString(), 'rtpp');
  await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction: 'h', body: { request: 'hangup' } });
  const h = await client.waitFor((m) => m.transaction === 'h' && m.janus === 'event');
  assert.equal((h.plugindata as { data: { result: { event: string } } }).data.result.event, 'hangingup');
  rtpPeer.close();
  await pc.close();
  client.close();
});

test('NoSIP error codes', async () => {
  const client = await JanusWsClient.connect(`ws://127.0.0.1:${server.ports.ws}`);
  const sid = await client.createSession();
  const hid = await client.attach(sid, 'janus.plugin.nosip');
  const code = async (tx: string, body: Record<string, unknown>): Promise<number> => {
    await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction: tx, body });
    const ev = await client.waitFor((m) => m.transaction === tx && m.janus === 'event');
    return (ev.plugindata as { data: { error_code: number } }).data.error_code;
  };
  assert.equal(await code('a', { request: 'nope' }), 442);
  assert.equal(await code('b', { request: 'generate' }), 446);
  assert.equal(await code('c', { request: 'process', type: 'offer' }), 443);
  assert.equal(await code('d', { request: 'process', type: 'offer', sdp: 'garbage' }), 447);
  assert.equal(await code('e', { request: 'process', type: 'answer', sdp: 'v=0\r\n' }), 445); // no offer generated yet
  client.close();
});
