/**
 * EchoTest recordings with real werift peers: record:true + filename writes <filename>-audio.mjr,
 * -video.mjr and -data.mjr (Janus' naming); record:false or a hangup closes them; janus-pp-rec
 * (Debian janus-tools) reads back the packet counts and codecs and converts audio to .opus, VP8 to
 * .webm and data to .srt. Client-chosen names cannot leave the allowed folders (no '..', not into
 * protected_folders, not through a symlink): such a request is refused with 413 and nothing of it
 * is applied or written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { C, EchoHandle, connectEcho, offerPeer, opusPayload, rtp, sleep, until, vp8Payload, type ClientPeer } from './echotest-common.ts';
import { RtpHeader, RtpPacket } from 'werift';

const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'portunus-echorec-')));
const work = path.join(root, 'work');
const prot = path.join(root, 'protected');
mkdirSync(work);
mkdirSync(prot);
const startDir = process.cwd();
let server: RunningServer;
let wsUrl = '';

function ppRec(): string {
  const r = spawnSync('sh', ['-c', 'command -v janus-pp-rec'], { encoding: 'utf8' });
  assert.ok(r.status === 0 && r.stdout.trim() !== '', 'janus-pp-rec is missing: install the Debian package janus-tools');
  return r.stdout.trim();
}
const PP = ppRec();

before(async () => {
  // Relative recording names resolve against the working folder (as in Janus): keep them in `work`.
  process.chdir(work);
  server = await startServer(transportConfig((c) => {
    c.general.protected_folders = [prot];
  }), { logger: silentLogger() });
  wsUrl = `ws://127.0.0.1:${server.ports.ws}`;
});

after(async () => {
  await server?.close();
  process.chdir(startDir);
  rmSync(root, { recursive: true, force: true });
});

interface MjrInfo {
  t: string;
  c: string;
  f?: string;
  extended: { packets: number };
}

function mjrInfo(file: string): MjrInfo {
  return JSON.parse(execFileSync(PP, ['-e', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as MjrInfo;
}

function parsedCount(file: string): number {
  const out = execFileSync(PP, ['--parse', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const m = /Counted (\d+) RTP packets/.exec(out);
  return m ? Number(m[1]) : -1;
}

/** Send `n` Opus packets and a VP8 stream (key frame first) through the client's tracks. */
async function sendMedia(peer: ClientPeer, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    peer.audio?.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: 1000 + i, timestamp: 960 * i, marker: false }), opusPayload(i)));
    peer.video?.writeRtp(rtp(96, 2000 + i, 3000 * i, 0, vp8Payload({ keyframe: i % 10 === 0, pictureId: i, tag: Buffer.from(`frame-${i}`) })));
    await sleep(4);
  }
}

async function openChannel(peer: ClientPeer): Promise<void> {
  const ch = peer.channel!;
  if (ch.readyState !== 'open') await new Promise<void>((ok) => ch.stateChange.subscribe((s) => { if (s === 'open') ok(); }));
}

test('record:true writes -audio/-video/-data.mjr; record:false closes them; janus-pp-rec reads and converts them', async () => {
  const h = await EchoHandle.attach(wsUrl);
  const peer = await offerPeer({ audio: [C.OPUS], video: [C.VP8], data: true });
  try {
    await connectEcho(h, peer, { audio: true, video: true });
    await openChannel(peer);
    const base = path.join(root, 'rec1');
    const started = await h.message({ record: true, filename: base });
    assert.deepEqual(started.data, { echotest: 'event', result: 'ok' });
    const N = 60;
    await sendMedia(peer, N);
    const replies: string[] = [];
    peer.channel!.onMessage.subscribe((m) => replies.push(m.toString()));
    for (const text of ['hello', 'recorded', 'world']) peer.channel!.send(text);
    await until(() => peer.rtp.filter((p) => p.header.payloadType === 111).length >= N && peer.rtp.filter((p) => p.header.payloadType === 96).length >= N && replies.length === 3, 5000, 'echo');
    const stopped = await h.message({ record: false });
    assert.deepEqual(stopped.data, { echotest: 'event', result: 'ok' });

    assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('rec1')).sort(), ['rec1-audio.mjr', 'rec1-data.mjr', 'rec1-video.mjr']);
    const audio = mjrInfo(`${base}-audio.mjr`);
    assert.equal(audio.t, 'a');
    assert.equal(audio.c, 'opus');
    assert.equal(audio.extended.packets, N);
    assert.equal(parsedCount(`${base}-audio.mjr`), N);
    const video = mjrInfo(`${base}-video.mjr`);
    assert.equal(video.t, 'v');
    assert.equal(video.c, 'vp8');
    assert.equal(video.extended.packets, N);
    assert.equal(parsedCount(`${base}-video.mjr`), N);
    assert.equal(mjrInfo(`${base}-data.mjr`).t, 'd');

    execFileSync(PP, [`${base}-audio.mjr`, `${base}.opus`], { stdio: 'ignore' });
    const ogg = readFileSync(`${base}.opus`);
    assert.equal(ogg.toString('latin1', 0, 4), 'OggS');
    assert.ok(ogg.includes(Buffer.from('OpusHead')));
    execFileSync(PP, [`${base}-video.mjr`, `${base}.webm`], { stdio: 'ignore' });
    const webm = readFileSync(`${base}.webm`);
    assert.equal(webm.readUInt32BE(0), 0x1a45dfa3, 'EBML magic');
    assert.ok(webm.includes(Buffer.from('V_VP8')));
    assert.ok(webm.includes(Buffer.from('frame-59')), 'the last frame is in the file');
    execFileSync(PP, [`${base}-data.mjr`, `${base}.srt`], { stdio: 'ignore' });
    const srt = readFileSync(`${base}.srt`, 'utf8');
    for (const text of ['hello', 'recorded', 'world']) assert.match(srt, new RegExp(text));

    // Nothing more is written once closed.
    const size = readFileSync(`${base}-audio.mjr`).length;
    await sendMedia(peer, 10, N);
    await sleep(100);
    assert.equal(readFileSync(`${base}-audio.mjr`).length, size);
  } finally {
    await peer.pc.close();
    await h.close();
  }
});

test('a hangup closes the recording; the files hold what was echoed (PCMU, H.264 with its fmtp)', async () => {
  const h = await EchoHandle.attach(wsUrl);
  const peer = await offerPeer({ audio: [C.OPUS, C.PCMU], video: [C.VP8, C.H264_64] });
  try {
    const base = 'sub/dir/rec2'; // relative: under the working folder, folders created
    await connectEcho(h, peer, { audiocodec: 'pcmu', videocodec: 'h264', record: true, filename: base });
    const N = 40;
    for (let i = 0; i < N; i++) {
      peer.audio!.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: 10 + i, timestamp: 160 * i }), Buffer.alloc(160, 0xff)));
      // single NAL unit packets: an IDR slice first, then non-IDR slices
      peer.video!.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: 70 + i, timestamp: 3000 * i, marker: true }), Buffer.concat([Buffer.from([i === 0 ? 0x65 : 0x41]), Buffer.alloc(30, i)])));
      await sleep(3);
    }
    await until(() => peer.rtp.filter((p) => p.header.payloadType === 0).length >= N && peer.rtp.filter((p) => p.header.payloadType === 104).length >= N, 5000, 'echo');
    await h.client.request({ janus: 'hangup', session_id: h.sessionId, handle_id: h.handleId });
    await h.client.waitFor((m) => m.janus === 'event' && m.plugindata?.data?.result === 'done');
    const a = path.join(work, `${base}-audio.mjr`);
    const v = path.join(work, `${base}-video.mjr`);
    await until(() => {
      try {
        return mjrInfo(a).extended.packets === N && mjrInfo(v).extended.packets === N;
      } catch {
        return false;
      }
    }, 5000, 'recordings closed');
    assert.equal(mjrInfo(a).c, 'pcmu');
    const vi = mjrInfo(v);
    assert.equal(vi.c, 'h264');
    assert.match(vi.f ?? '', /profile-level-id=640c1f/);
    assert.equal(existsSync(path.join(work, `${base}-data.mjr`)), false, 'no data channel, no data recording');
    execFileSync(PP, [a, path.join(work, 'rec2.wav')], { stdio: 'ignore' });
    assert.equal(readFileSync(path.join(work, 'rec2.wav')).toString('latin1', 0, 4), 'RIFF');
  } finally {
    await peer.pc.close();
    await h.close();
  }
});

test('opusred: RED is echoed as RED; the recording holds the primary Opus frames', async () => {
  const h = await EchoHandle.attach(wsUrl);
  const peer = await offerPeer({ audio: [C.RED, C.OPUS] });
  try {
    const base = path.join(root, 'red');
    const answer = await connectEcho(h, peer, { audio: true, opusred: true, record: true, filename: base });
    assert.match(answer, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 63 111\r\n/);
    const N = 30;
    for (let i = 0; i < N; i++) {
      // werift's sender wraps these in RED (payload type 63) with redundancy
      peer.audio!.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: 500 + i, timestamp: 960 * i }), opusPayload(i)));
      await sleep(4);
    }
    await until(() => peer.rtp.filter((p) => p.header.payloadType === 63).length >= N, 5000, 'RED echo');
    assert.ok(peer.rtp.some((p) => p.header.payloadType === 63 && (p.payload[0] & 0x80) !== 0), 'echoed RED carries redundant blocks');
    const handle = server.gateway.sessions.get(h.sessionId)!.handles.get(h.handleId)!;
    assert.equal(handle.plugin.querySession(handle).audio_red, true);
    await h.message({ record: false });
    const info = mjrInfo(`${base}-audio.mjr`);
    assert.equal(info.c, 'opus');
    assert.equal(info.extended.packets, N);
    const frames = readMjrPayloads(`${base}-audio.mjr`);
    assert.equal(frames.length, N);
    frames.forEach((f, i) => {
      assert.equal(f[1] & 0x7f, 111, 'plain Opus payload type');
      const hl = 12 + (f[0] & 0x0f) * 4 + (f[0] & 0x10 ? 4 + f.readUInt16BE(12 + (f[0] & 0x0f) * 4 + 2) * 4 : 0);
      assert.deepEqual(f.subarray(hl), opusPayload(i), `frame ${i} is the primary block`);
    });
    execFileSync(PP, [`${base}-audio.mjr`, `${base}.opus`], { stdio: 'ignore' });
    assert.equal(readFileSync(`${base}.opus`).toString('latin1', 0, 4), 'OggS');
  } finally {
    await peer.pc.close();
    await h.close();
  }
});

/** The RTP packets of an MJR file (JANUS-REFERENCE 2.10), read independently of janus-pp-rec. */
function readMjrPayloads(file: string): Buffer[] {
  const b = readFileSync(file);
  assert.equal(b.toString('latin1', 0, 8), 'MJR00002');
  let p = 10 + b.readUInt16BE(8);
  const out: Buffer[] = [];
  while (p < b.length) {
    assert.equal(b.toString('latin1', p, p + 4), 'MEET');
    const len = b.readUInt16BE(p + 8);
    out.push(b.subarray(p + 10, p + 10 + len));
    p += 10 + len;
  }
  return out;
}

test('without a filename: echotest-<handle>-<time>-audio.mjr in the working folder; record:true again starts new files', async () => {
  const h = await EchoHandle.attach(wsUrl);
  const peer = await offerPeer({ audio: [C.OPUS] });
  try {
    await connectEcho(h, peer, { audio: true, record: true });
    await sendMedia(peer, 10);
    await until(() => peer.rtp.length >= 10);
    const first = readdirSync(work).filter((f) => f.startsWith(`echotest-${h.handleId}-`));
    assert.equal(first.length, 1, first.join());
    assert.match(first[0], new RegExp(`^echotest-${h.handleId}-\\d{16}-audio\\.mjr$`));
    const next = await h.message({ record: true, filename: path.join(root, 'again') });
    assert.deepEqual(next.data, { echotest: 'event', result: 'ok' });
    assert.equal(mjrInfo(path.join(work, first[0])).extended.packets, 10, 'the first recording was closed complete');
    await sendMedia(peer, 5, 10);
    await until(() => peer.rtp.length >= 15);
    await h.message({ record: false });
    assert.equal(mjrInfo(path.join(root, 'again-audio.mjr')).extended.packets, 5);
  } finally {
    await peer.pc.close();
    await h.close();
  }
});

test('recording names leaving the allowed folders are refused with 413, nothing applied or written', async () => {
  symlinkSync(prot, path.join(work, 'link'));
  const h = await EchoHandle.attach(wsUrl);
  const peer = await offerPeer({ audio: [C.OPUS] });
  try {
    await connectEcho(h, peer, { audio: true });
    const bad = ['../escape', 'a/../../escape', `${root}/../escape`, path.join(prot, 'x'), path.join(prot, 'deeper', 'x'), 'link/x', 'nul\0byte'];
    for (const filename of bad) {
      // audio:false rides along: it must not be applied either
      const r = await h.message({ record: true, filename, audio: false });
      assert.deepEqual(r.data, { echotest: 'event', error_code: 413, error: 'Invalid value (filename not allowed)' }, filename);
    }
    await sendMedia(peer, 10);
    await until(() => peer.rtp.length >= 10, 5000, 'audio still echoed');
    assert.deepEqual(readdirSync(prot), []);
    assert.deepEqual(readdirSync(path.dirname(root)).filter((f) => f.startsWith('escape')), []);
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('escape')), []);
    const q = server.gateway.sessions.get(h.sessionId)!.handles.get(h.handleId)!;
    assert.equal((q.plugin.querySession(q) as { recording?: unknown }).recording, undefined);
  } finally {
    await peer.pc.close();
    await h.close();
  }
});
