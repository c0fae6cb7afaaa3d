/**
 * Streaming plugin, RTP mountpoints, with real werift viewers over loopback: mountpoints from the
 * configuration and by API (legacy and multistream syntax, ports picked from rtp_port_range),
 * packets sent by a UDP sender arrive byte for byte with the viewer's own sequence numbers, new
 * viewers start on a VP8 keyframe (buffered), pause/configure/switch/stop, data port, info/list.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { isVp8Keyframe } from '../../src/media/keyframe.ts';
import { streamingServer, client, watch, until, RtpSender, vp8Payload } from './streaming-common.ts';
import dgram from 'node:dgram';

const server = await streamingServer({
  general: { rtp_port_range: '41000-41999', iface: '127.0.0.1' },
  'from-config': {
    type: 'rtp', id: '7', description: 'legacy from jcfg', audio: 'yes', audioport: '0', audiopt: '111', audiocodec: 'opus',
    video: 'yes', videoport: '0', videopt: '100', videocodec: 'vp8', videobufferkf: 'yes', secret: 'adminpwd',
  },
});
after(() => server.close());

const admin = await client(server);

function ports(info: Record<string, any>): Record<string, number> {
  return Object.fromEntries((info.media as Array<Record<string, any>>).map((m) => [m.mid, m.port]));
}

test('config mountpoint: listed, info with codecs and ports for the secret holder', async () => {
  const list = await admin.sync({ request: 'list' });
  assert.equal(list.streaming, 'list');
  const e = list.list.find((m: any) => m.id === 7);
  assert.ok(e, JSON.stringify(list));
  assert.equal(e.type, 'live');
  assert.equal(e.description, 'legacy from jcfg');
  assert.deepEqual(e.media.map((m: any) => [m.mid, m.type]), [['a', 'audio'], ['v', 'video']]);
  const pub = await admin.sync({ request: 'info', id: 7 });
  assert.equal(pub.info.media[1].codec, 'vp8');
  assert.equal(pub.info.media[1].pt, 100);
  assert.equal(pub.info.media[1].port, undefined, 'ports only for the secret holder');
  const priv = await admin.sync({ request: 'info', id: 7, secret: 'adminpwd' });
  const p = ports(priv.info);
  assert.ok(p.a >= 41000 && p.a <= 41999 && p.v >= 41000 && p.v <= 41999, JSON.stringify(p));
  assert.equal(priv.info.media[0].rtpmap, 'opus/48000/2');
});

test('RTP from a sender reaches the viewer byte for byte, starting on a buffered VP8 keyframe; age_ms in info', async () => {
  const priv = await admin.sync({ request: 'info', id: 7, secret: 'adminpwd' });
  const p = ports(priv.info);
  const audio = new RtpSender(p.a, 111, 0x1111);
  const video = new RtpSender(p.v, 100, 0x2222);
  // A GOP before anyone watches: keyframe (2 packets) + 3 interframes, buffered by videobufferkf.
  video.send(vp8Payload(true, 1));
  video.send(vp8Payload(false, 2), true);
  for (let i = 3; i <= 5; i++) video.send(vp8Payload(false, i), true);
  await until(() => server.gateway !== undefined);
  await new Promise((r) => setTimeout(r, 200));
  const info = await admin.sync({ request: 'info', id: 7 });
  assert.ok(typeof info.info.media[1].age_ms === 'number' && info.info.media[1].age_ms < 5000, JSON.stringify(info.info.media[1]));
  assert.ok(info.info.media[0].age_ms >= info.info.media[1].age_ms, 'no audio yet: its age counts from creation');

  const w = await watch(server, 7);
  assert.match(w.offer, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 111/);
  assert.match(w.offer, /a=rtpmap:100 VP8\/90000/);
  assert.match(w.offer, /a=sendonly/);
  // The buffered GOP arrives without any new packet from the source.
  await until(() => w.received.video.length >= 5, 10000, 'buffered GOP');
  const first = w.received.video[0];
  assert.ok(isVp8Keyframe(first.payload, 0, first.payload.length), 'first video packet is a VP8 keyframe');
  assert.deepEqual(first.payload, vp8Payload(true, 1));
  for (let i = 0; i < 20; i++) {
    audio.send(Buffer.concat([Buffer.from('opus'), Buffer.from([i])]), false);
    audio.ts += 960;
    video.send(vp8Payload(false, 10 + i), true);
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => w.received.audio.length >= 20 && w.received.video.length >= 25, 10000, 'live packets');
  assert.deepEqual(w.received.audio.map((x) => x.payload[4]), [...Array(20).keys()]);
  assert.equal(w.received.audio[0].header.payloadType, 111);
  assert.equal(w.received.audio[0].payload.subarray(0, 4).toString(), 'opus');
  // One continuous sequence space for the viewer across the buffered and live packets.
  const seqs = w.received.video.map((x) => x.header.sequenceNumber);
  for (let i = 1; i < seqs.length; i++) assert.equal((seqs[i] - seqs[i - 1]) & 0xffff, 1);
  assert.deepEqual(w.received.video.at(-1)!.payload, vp8Payload(false, 29));
  audio.close();
  video.close();
  await w.pc.close();
  await w.c.ws.close();
});

test('create by API (multistream, ports 0), pause/start, configure send:false, stop; destroy', async () => {
  const created = await admin.sync({
    request: 'create', type: 'rtp', id: 300, name: 'api', description: 'by API', secret: 's3',
    media: [
      { type: 'audio', mid: 'aud', port: 0, pt: 111, codec: 'opus' },
      { type: 'video', mid: 'vid', port: 0, pt: 96, codec: 'vp8' },
      { type: 'data', mid: 'dat', port: 0 },
    ],
  });
  assert.equal(created.streaming, 'created');
  assert.equal(created.created, 'api');
  const mports = Object.fromEntries(created.stream.ports.map((m: any) => [m.mid, m.port]));
  for (const port of Object.values(mports)) assert.ok((port as number) >= 41000 && (port as number) <= 41999);
  const w = await watch(server, 300);
  assert.match(w.offer, /m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel/);
  const video = new RtpSender(mports.vid, 96, 0x3333);
  const audio = new RtpSender(mports.aud, 111, 0x4444);
  // No buffered keyframe on this mountpoint: interframes are held back until a keyframe.
  video.send(vp8Payload(false, 1), true);
  video.send(vp8Payload(true, 2), true);
  video.send(vp8Payload(false, 3), true);
  await until(() => w.received.video.length >= 2, 10000, 'video after keyframe');
  assert.deepEqual(w.received.video[0].payload, vp8Payload(true, 2));
  // Data port: text to data channel.
  const data = dgram.createSocket('udp4');
  for (let i = 0; i < 10 && w.messages.length === 0; i++) {
    data.send('hello viewers', mports.dat, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 300));
  }
  data.close();
  assert.equal(w.messages[0], 'hello viewers');

  // configure: audio off for this viewer.
  const conf = await w.c.async({ request: 'configure', media: [{ mid: 'aud', send: false }] });
  assert.equal(conf.plugindata.data.streaming, 'event');
  audio.send(Buffer.from('nope'));
  video.send(vp8Payload(false, 4), true);
  await until(() => w.received.video.length >= 3);
  assert.equal(w.received.audio.length, 0);

  const paused = await w.c.async({ request: 'pause' });
  assert.deepEqual(paused.plugindata.data, { streaming: 'event', result: { status: 'pausing' } });
  const before = w.received.video.length;
  video.send(vp8Payload(false, 5), true);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(w.received.video.length, before, 'nothing while paused');
  const resumed = await w.c.async({ request: 'start' });
  assert.deepEqual(resumed.plugindata.data, { streaming: 'event', result: { status: 'starting' } });
  video.send(vp8Payload(true, 6), true);
  await until(() => w.received.video.length > before);

  // A second viewer watching only the video mid gets an offer with just that m-line.
  const only = await client(server);
  const ev = await only.async({ request: 'watch', id: 300, media: [{ mid: 'vid' }] });
  assert.equal((ev.jsep.sdp.match(/^m=/gm) ?? []).length, 1);
  assert.match(ev.jsep.sdp, /m=video/);
  await only.ws.close();

  const stopped = await w.c.async({ request: 'stop' });
  assert.deepEqual(stopped.plugindata.data, { streaming: 'event', result: { status: 'stopping' } });
  await w.c.ws.waitFor((m) => m.janus === 'hangup');
  const wrong = await admin.sync({ request: 'destroy', id: 300, secret: 'nope' });
  assert.equal(wrong.error_code, 457);
  assert.deepEqual(await admin.sync({ request: 'destroy', id: 300, secret: 's3' }), { streaming: 'destroyed', destroyed: 300 });
  assert.equal((await admin.sync({ request: 'info', id: 300 })).error_code, 455);
  video.close();
  audio.close();
  await w.pc.close();
  await w.c.ws.close();
});
