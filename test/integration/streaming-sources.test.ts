/**
 * Streaming sources and viewer moves: switching between live RTP mountpoints without
 * renegotiation, garbage on an RTP port survived, live (.alaw, looping) and on-demand (.opus,
 * ending with `stopped`) file sources paced in real time, recording a mountpoint to MJR, SRTP sources.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { readOggOpus } from '../../src/media/ogg.ts';
import { SrtpContext, SrtpProfile } from '../../src/core/webrtc/srtp.ts';
import { OPUS } from '../helpers/werift-peer.ts';
import { streamingServer, client, watch, until, RtpSender, vp8Payload } from './streaming-common.ts';

const dir = mkdtempSync(join(tmpdir(), 'portunus-streaming-'));
const server = await streamingServer({ general: { rtp_port_range: '45000-45999', iface: '127.0.0.1' } });
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
const admin = await client(server);

const PCMA = new RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, payloadType: 8 });
function audioPeer(): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' },
    bundlePolicy: 'max-bundle', codecs: { audio: [PCMA, OPUS], video: [] },
  });
}

async function rtpMountpoint(id: number, codec = 'vp8'): Promise<{ a: number; v: number }> {
  const c = await admin.sync({
    request: 'create', type: 'rtp', id, media: [
      { type: 'audio', mid: 'a', port: 0, pt: 111, codec: 'opus' },
      { type: 'video', mid: 'v', port: 0, pt: 100, codec },
    ],
  });
  assert.equal(c.streaming, 'created', JSON.stringify(c));
  return { a: c.stream.ports[0].port, v: c.stream.ports[1].port };
}

test('switch between live mountpoints without renegotiation; garbage on the port is survived', async () => {
  const pa = await rtpMountpoint(601);
  const pb = await rtpMountpoint(602);
  await rtpMountpoint(603, 'vp9');
  const va = new RtpSender(pa.v, 100, 0xa);
  const vb = new RtpSender(pb.v, 100, 0xb);
  const w = await watch(server, 601);
  const junk = dgram.createSocket('udp4');
  for (let i = 0; i < 50; i++) junk.send(Buffer.from(Array.from({ length: 1 + (i * 37) % 300 }, (_, j) => (i * 31 + j * 7) & 0xff)), pa.v, '127.0.0.1');
  junk.send(Buffer.from([0x80, 100, 0, 1]), pa.v, '127.0.0.1');
  junk.close();
  for (let i = 0; i < 5; i++) { va.send(vp8Payload(i === 0, 0xa0 + i), true); await new Promise((r) => setTimeout(r, 10)); }
  await until(() => w.received.video.length >= 5, 10000, 'video from A');
  const sw = await w.c.async({ request: 'switch', id: 602 });
  assert.deepEqual(sw.plugindata.data, { streaming: 'event', result: { switched: 'ok', id: 602 } });
  assert.equal(sw.jsep, undefined, 'no renegotiation');
  for (let i = 0; i < 5; i++) { vb.send(vp8Payload(i === 0, 0xb0 + i), true); va.send(vp8Payload(false, 0xaf), true); await new Promise((r) => setTimeout(r, 10)); }
  await until(() => w.received.video.length >= 10, 10000, 'video from B');
  assert.deepEqual(w.received.video.slice(5).map((p) => p.payload[10]), [0xb0, 0xb1, 0xb2, 0xb3, 0xb4]);
  const seqs = w.received.video.map((p) => p.header.sequenceNumber);
  for (let i = 1; i < seqs.length; i++) assert.equal((seqs[i] - seqs[i - 1]) & 0xffff, 1, 'one sequence across the switch');
  const bad = await w.c.async({ request: 'switch', id: 603 });
  assert.equal(bad.plugindata.data.error_code, 458);
  const missing = await w.c.async({ request: 'switch', id: 4242 });
  assert.equal(missing.plugindata.data.error_code, 455);
  va.close();
  vb.close();
  await w.pc.close();
  await w.c.ws.close();
});

test('live .alaw file: paced PCMA frames, the file bytes', async () => {
  const frames = Buffer.alloc(160 * 100);
  for (let i = 0; i < frames.length; i++) frames[i] = (i * 13 + (i >> 7)) & 0xff;
  const file = join(dir, 'tone.alaw');
  writeFileSync(file, frames);
  const c = await admin.sync({ request: 'create', type: 'live', id: 700, filename: file, audio: true });
  assert.equal(c.streaming, 'created', JSON.stringify(c));
  const w = await watch(server, 700, {}, undefined, audioPeer);
  assert.match(w.offer, /a=rtpmap:8 PCMA\/8000/);
  await until(() => w.received.audio.length >= 25, 10000, 'PCMA frames');
  const p = w.received.audio[0];
  assert.equal(p.header.payloadType, 8);
  assert.equal(p.payload.length, 160);
  const at = frames.indexOf(p.payload);
  assert.ok(at >= 0 && at % 160 === 0, 'payload is a frame of the file');
  // Real-time pacing: timestamps advance 160 per packet, and 25 packets take about 0.5 s.
  assert.equal((w.received.audio[1].header.timestamp - p.header.timestamp) >>> 0, 160);
  await w.pc.close();
  await w.c.ws.close();
  await admin.sync({ request: 'destroy', id: 700 });
});

test('on-demand .opus file: played from the start for the viewer, then stopped', async () => {
  const file = join(dir, 'tone.opus');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1:sample_rate=48000', '-c:a', 'libopus', '-y', file]);
  const ogg = readOggOpus(readFileSync(file));
  await admin.sync({ request: 'create', type: 'ondemand', id: 701, filename: file, audio: true });
  const w = await watch(server, 701);
  assert.match(w.offer, /a=rtpmap:111 opus\/48000\/2/);
  await w.c.ws.waitFor((m) => m.janus === 'event' && m.plugindata?.data?.result?.status === 'stopped', 15000);
  await until(() => w.received.audio.length >= ogg.packets.length - 3, 5000, 'all packets');
  // From the beginning of the file, in order.
  for (let i = 0; i < 10; i++) assert.deepEqual(w.received.audio[i].payload, ogg.packets[i]);
  await w.pc.close();
  await w.c.ws.close();
});

test('recording a live mountpoint to MJR', async () => {
  const p = await rtpMountpoint(800);
  const vs = new RtpSender(p.v, 100, 0x77);
  // Recordings go under the working directory (the gateway's recording policy refuses other folders).
  const recDir = mkdtempSync(join(process.cwd(), '.tmp-streaming-rec-'));
  after(() => rmSync(recDir, { recursive: true, force: true }));
  const base = join(recDir, 'rec-video');
  const r = await admin.sync({ request: 'recording', id: 800, action: 'start', media: [{ mid: 'v', filename: base }] });
  assert.deepEqual(r, { streaming: 'ok' });
  for (let i = 0; i < 20; i++) { vs.send(vp8Payload(i === 0, i), true); await new Promise((res) => setTimeout(res, 5)); }
  await new Promise((res) => setTimeout(res, 300));
  const again = await admin.sync({ request: 'recording', id: 800, action: 'start', media: [{ mid: 'v', filename: base }] });
  assert.equal(again.error_code, 459);
  assert.deepEqual(await admin.sync({ request: 'recording', id: 800, action: 'stop', media: [{ mid: 'v' }] }), { streaming: 'ok' });
  await until(() => existsSync(`${base}.mjr`) && readFileSync(`${base}.mjr`).length > 20 * 60, 5000, 'MJR written');
  const mjr = readFileSync(`${base}.mjr`);
  assert.equal(mjr.subarray(0, 8).toString('latin1'), 'MJR00002');
  assert.match(mjr.toString('latin1'), /"c":"vp8"/);
  vs.close();
});

test('SRTP source (srtpsuite 80, srtpcrypto): decrypted for viewers; forged packets dropped; bad keys refused', async () => {
  const keying = Buffer.from(Array.from({ length: 30 }, (_, i) => (i * 29 + 3) & 0xff));
  const bad = await admin.sync({ request: 'create', type: 'rtp', id: 850, srtpsuite: 80, srtpcrypto: 'abc', media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8' }] });
  assert.equal(bad.error_code, 454);
  const c = await admin.sync({
    request: 'create', type: 'rtp', id: 851, srtpsuite: 80, srtpcrypto: keying.toString('base64'), media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8' }],
  });
  assert.equal(c.streaming, 'created', JSON.stringify(c));
  const port = c.stream.ports[0].port;
  const ctx = new SrtpContext(SrtpProfile.AES128_CM_HMAC_SHA1_80, keying.subarray(0, 16), keying.subarray(16));
  const sock = dgram.createSocket('udp4');
  let seq = 100;
  const send = (payload: Buffer, forge = false): void => {
    const b = Buffer.alloc(12 + payload.length + 10);
    b[0] = 0x80;
    b[1] = 0x80 | 100;
    b.writeUInt16BE(seq++, 2);
    b.writeUInt32BE(seq * 3000, 4);
    b.writeUInt32BE(0x5e5e, 8);
    payload.copy(b, 12);
    const n = ctx.protectRtp(b, 0, 12 + payload.length);
    if (forge) b[n - 1] ^= 1;
    sock.send(b.subarray(0, n), port, '127.0.0.1');
  };
  const w = await watch(server, 851);
  send(vp8Payload(true, 0x51));
  send(vp8Payload(false, 0x52), true);
  for (let i = 0; i < 3; i++) send(vp8Payload(false, 0x60 + i));
  await until(() => w.received.video.length >= 4, 10000, 'SRTP media');
  assert.deepEqual(w.received.video.map((p) => p.payload[10]), [0x51, 0x60, 0x61, 0x62]);
  sock.close();
  await w.pc.close();
  await w.c.ws.close();
});
