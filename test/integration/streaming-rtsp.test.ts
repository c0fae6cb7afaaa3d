/**
 * RTSP mountpoints end to end: a GStreamer RTSP server (H.264 + Opus) on loopback, Portunus pulling
 * it with our RTSP client, werift viewers receiving it. The camera's sprop-parameter-sets reach the
 * viewer's SDP, the first video packet is a keyframe (SPS/PPS/IDR), Opus flows; the server is killed
 * and restarted on the same port and the viewer gets media again without re-watching; Digest over
 * TCP-interleaved with on-demand pull (connect on the first viewer, leave after the grace period).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RtpPacket } from 'werift';
import { isH264Keyframe } from '../../src/media/keyframe.ts';
import { streamingServer, client, watch, until, h264Peer } from './streaming-common.ts';
import { freePort, startRtspServer, type TestRtspServer } from './rtsp-common.ts';

const server = await streamingServer({ general: { rtp_port_range: '43000-43999', iface: '127.0.0.1' } });
const rtspServers: TestRtspServer[] = [];
after(async () => {
  await server.close();
  for (const s of rtspServers) await s.stop();
});
const admin = await client(server);

const nalTypes = (list: RtpPacket[]): Set<number> => {
  const out = new Set<number>();
  for (const p of list) {
    const b = p.payload[0] & 0x1f;
    if (b === 28) out.add(p.payload[1] & 0x1f);
    else if (b === 24) { let o = 1; while (o + 2 < p.payload.length) { const n = p.payload.readUInt16BE(o); out.add(p.payload[o + 2] & 0x1f); o += 2 + n; } }
    else out.add(b);
  }
  return out;
};

test('RTSP camera to werift viewer over UDP; survives the camera being killed and restarted', async () => {
  const port = await freePort();
  let cam = await startRtspServer({ port });
  rtspServers.push(cam);
  const created = await admin.sync({
    request: 'create', type: 'rtsp', id: 500, description: 'camera', audio: true, video: true, videobufferkf: true, url: cam.url, rtsp_reconnect_delay: 1,
  });
  assert.equal(created.streaming, 'created', JSON.stringify(created));
  const w = await watch(server, 500, {}, undefined, h264Peer);
  assert.match(w.offer, /a=rtpmap:96 H264\/90000/);
  assert.match(w.offer, /a=fmtp:96 [^\r\n]*packetization-mode=1/);
  assert.match(w.offer, /sprop-parameter-sets=[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+/);
  assert.match(w.offer, /a=rtpmap:111 opus\/48000\/2/);
  await until(() => w.received.video.length > 30 && w.received.audio.length > 20, 20000, 'camera media');
  const first = w.received.video[0];
  assert.ok(isH264Keyframe(first.payload, 0, first.payload.length), 'first video packet starts a keyframe');
  const nals = nalTypes(w.received.video);
  assert.ok(nals.has(7) && nals.has(8) && nals.has(5), `NAL types ${[...nals]}`);
  assert.equal(w.received.audio[0].header.payloadType, 111);
  const info = await admin.sync({ request: 'info', id: 500 });
  assert.equal(info.info.media.find((m: any) => m.type === 'video').codec, 'h264');
  assert.equal(info.info.rtsp.state, 'playing');
  assert.equal(info.info.rtsp.transport, 'udp');

  // Kill the camera; restart it on the same port after a while.
  await cam.stop();
  await new Promise((r) => setTimeout(r, 1500));
  const before = w.received.video.length;
  cam = await startRtspServer({ port });
  rtspServers.push(cam);
  await until(() => w.received.video.length > before + 30, 30000, 'media after the camera came back');
  const resumed = w.received.video[before];
  assert.ok(isH264Keyframe(resumed.payload, 0, resumed.payload.length), 'media resumes on a keyframe');
  // The viewer sees one stream: sequence numbers continue across the reconnect.
  assert.equal((resumed.header.sequenceNumber - w.received.video[before - 1].header.sequenceNumber) & 0xffff, 1);
  const after2 = await admin.sync({ request: 'info', id: 500 });
  assert.ok(after2.info.rtsp.reconnects >= 1, JSON.stringify(after2.info.rtsp));
  await w.pc.close();
  await w.c.ws.close();
  assert.deepEqual(await admin.sync({ request: 'destroy', id: 500 }), { streaming: 'destroyed', destroyed: 500 });
});

test('Digest over TCP-interleaved, on demand: connects for the first viewer, leaves after the grace period', async () => {
  const cam = await startRtspServer({ user: 'cam', password: 'pw', protocols: 'tcp' });
  rtspServers.push(cam);
  await admin.sync({
    request: 'create', type: 'rtsp', id: 501, audio: true, video: true, url: cam.url, rtsp_user: 'cam', rtsp_pwd: 'pw', rtsp_transport: 'tcp', rtsp_ondemand: true, rtsp_ondemand_grace: 1,
  });
  let info = await admin.sync({ request: 'info', id: 501 });
  assert.equal(info.info.rtsp.state, 'idle');
  assert.doesNotMatch(JSON.stringify(info), /pw/);
  const w = await watch(server, 501, {}, undefined, h264Peer);
  await until(() => w.received.video.length > 20 && w.received.audio.length > 10, 20000, 'media over TCP');
  info = await admin.sync({ request: 'info', id: 501 });
  assert.equal(info.info.rtsp.transport, 'tcp');
  const stop = await w.c.async({ request: 'stop' });
  assert.deepEqual(stop.plugindata.data, { streaming: 'event', result: { status: 'stopping' } });
  const end = Date.now() + 10000;
  for (;;) {
    info = await admin.sync({ request: 'info', id: 501 });
    if (info.info.rtsp.state === 'idle' || Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(info.info.rtsp.state, 'idle');
  await w.pc.close();
  await w.c.ws.close();
});
