/**
 * Real encoders feeding RTP mountpoints: ffmpeg sends Opus + VP8 (libopus, libvpx) and
 * gst-launch-1.0 sends Opus + VP8 to mountpoints on loopback; a werift viewer gets Opus and VP8
 * with the mountpoint's payload types, and its first video packet is a VP8 keyframe.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { isVp8Keyframe } from '../../src/media/keyframe.ts';
import { streamingServer, client, watch, until } from './streaming-common.ts';

const server = await streamingServer({ general: { rtp_port_range: '44000-44999', iface: '127.0.0.1' } });
const procs: ChildProcess[] = [];
after(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await server.close();
});
const admin = await client(server);

async function mountpoint(id: number): Promise<{ a: number; v: number }> {
  const c = await admin.sync({
    request: 'create', type: 'rtp', id, media: [
      { type: 'audio', mid: 'a', port: 0, pt: 111, codec: 'opus' },
      { type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', videobufferkf: true },
    ],
  });
  assert.equal(c.streaming, 'created', JSON.stringify(c));
  return { a: c.stream.ports[0].port, v: c.stream.ports[1].port };
}

async function check(id: number): Promise<void> {
  const w = await watch(server, id);
  await until(() => w.received.video.length > 20 && w.received.audio.length > 20, 30000, 'encoder media');
  const v = w.received.video[0];
  assert.equal(v.header.payloadType, 100);
  assert.ok(isVp8Keyframe(v.payload, 0, v.payload.length), 'first VP8 packet is a keyframe');
  const a = w.received.audio[0];
  assert.equal(a.header.payloadType, 111);
  // Opus TOC byte: a valid config (RFC 6716 s3.1) and a non-trivial frame.
  assert.ok(a.payload.length > 3);
  const info = await admin.sync({ request: 'info', id });
  for (const m of info.info.media) assert.ok(m.age_ms < 5000, JSON.stringify(m));
  await w.pc.close();
  await w.c.ws.close();
}

test('ffmpeg sends Opus + VP8 RTP; the viewer gets both, starting on a keyframe', async () => {
  const p = await mountpoint(900);
  const ff = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15',
    '-map', '0:a', '-c:a', 'libopus', '-b:a', '48k', '-payload_type', '111', '-f', 'rtp', `rtp://127.0.0.1:${p.a}`,
    '-map', '1:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-g', '15', '-b:v', '300k', '-payload_type', '100', '-f', 'rtp', `rtp://127.0.0.1:${p.v}`,
  ], { stdio: 'ignore' });
  procs.push(ff);
  await check(900);
  ff.kill('SIGKILL');
});

test('gst-launch-1.0 sends Opus + VP8 RTP; the viewer gets both, starting on a keyframe', async () => {
  const p = await mountpoint(901);
  const gst = spawn('gst-launch-1.0', [
    '-q', 'audiotestsrc', 'is-live=true', 'wave=sine', '!', 'audioconvert', '!', 'audioresample', '!', 'opusenc', '!', 'rtpopuspay', 'pt=111', '!', 'udpsink', 'host=127.0.0.1', `port=${p.a}`,
    'videotestsrc', 'is-live=true', '!', 'video/x-raw,width=320,height=240,framerate=15/1', '!', 'vp8enc', 'deadline=1', 'keyframe-max-dist=15', '!', 'rtpvp8pay', 'pt=100', '!', 'udpsink', 'host=127.0.0.1', `port=${p.v}`,
  ], { stdio: 'ignore' });
  procs.push(gst);
  await check(901);
  gst.kill('SIGKILL');
});
