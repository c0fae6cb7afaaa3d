import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync, mkdirSync, symlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MjrRecorder, mjrTypeOf } from '../../src/media/mjr.ts';
import { UnsafePathError, resolveSafePath } from '../../src/media/safe-path.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'portunus-mjr-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function janusPpRec(): string {
  const r = spawnSync('sh', ['-c', 'command -v janus-pp-rec'], { encoding: 'utf8' });
  const bin = r.stdout.trim();
  assert.ok(
    r.status === 0 && bin !== '',
    'janus-pp-rec is not installed: the MJR tests need the Debian package janus-tools (apt-get install -y janus-tools; scripts/install-test-deps.sh should install it)',
  );
  return bin;
}

function opusPacket(seq: number, ts: number, ssrc: number): Buffer {
  const b = Buffer.alloc(12 + 60);
  b[0] = 0x80;
  b[1] = 111;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b[12] = 0xfc; // Opus TOC: config 31 (CELT FB 20 ms), stereo, one frame
  for (let i = 13; i < b.length; i++) b[i] = (seq * 7 + i) & 0xff;
  return b;
}

interface Frame {
  time: number;
  data: Buffer;
}

/** An independent reader of the format (JANUS-REFERENCE 2.10). */
function readMjr(file: string): { header: Record<string, unknown>; frames: Frame[] } {
  const b = readFileSync(file);
  assert.equal(b.toString('latin1', 0, 8), 'MJR00002');
  const hl = b.readUInt16BE(8);
  const header = JSON.parse(b.toString('utf8', 10, 10 + hl)) as Record<string, unknown>;
  const frames: Frame[] = [];
  let p = 10 + hl;
  while (p < b.length) {
    assert.equal(b.toString('latin1', p, p + 4), 'MEET', `frame at ${p}`);
    const time = b.readUInt32BE(p + 4);
    const len = b.readUInt16BE(p + 8);
    frames.push({ time, data: b.subarray(p + 10, p + 10 + len) });
    p += 10 + len;
  }
  assert.equal(p, b.length);
  return { header, frames };
}

test('records Opus RTP that janus-pp-rec reads, counts and converts', async () => {
  const bin = janusPpRec();
  const rec = await MjrRecorder.open({ baseDir: dir, filename: 'opus-1', codec: 'opus', fmtp: 'useinbandfec=1', extmaps: { 1: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' }, tmpExt: 'tmp' });
  assert.equal(rec.writingPath, path.join(dir, 'opus-1.mjr.tmp'));
  const N = 400;
  for (let i = 0; i < N; i++) {
    // first half from one SSRC crossing the 16-bit wrap, second half from another source
    const p = i < 200 ? opusPacket(65436 + i, 5000 + i * 960, 0x1111) : opusPacket(100 + i, 777 + i * 960, 0x2222);
    const copy = Buffer.from(p);
    assert.equal(rec.saveRtp(p), true);
    assert.deepEqual(p, copy, 'the caller buffer is not modified');
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(rec.saveRtp(Buffer.from([1, 2, 3])), false); // not RTP
  assert.equal(existsSync(path.join(dir, 'opus-1.mjr')), false);
  const final = await rec.close();
  assert.equal(final, path.join(dir, 'opus-1.mjr'));
  assert.equal(existsSync(rec.writingPath), false);
  assert.equal(rec.frames, N);
  assert.equal(rec.dropped, 1);

  // our own reading: header keys, monotonic times, one continuous stream
  const { header, frames } = readMjr(final);
  assert.deepEqual(Object.keys(header), ['t', 'c', 'f', 'x', 's', 'u']);
  assert.equal(header.t, 'a');
  assert.equal(header.c, 'opus');
  assert.equal(header.f, 'useinbandfec=1');
  assert.deepEqual(header.x, { '1': 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' });
  assert.ok(Number.isInteger(header.s) && Number.isInteger(header.u) && (header.u as number) >= (header.s as number));
  assert.equal(frames.length, N);
  for (let i = 1; i < N; i++) {
    assert.ok(frames[i].time >= frames[i - 1].time);
    assert.equal(frames[i].data.readUInt16BE(2), (frames[i - 1].data.readUInt16BE(2) + 1) & 0xffff, `frame ${i}`);
    assert.equal(frames[i].data.readUInt32BE(8), 0x1111);
    assert.ok(((frames[i].data.readUInt32BE(4) - frames[i - 1].data.readUInt32BE(4)) >>> 0) > 0);
  }
  assert.ok(frames[N - 1].time >= 15, 'receive times are ms since the first frame');

  // janus-pp-rec: header, packet count, conversion
  const ext = JSON.parse(execFileSync(bin, ['-e', final], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
    t: string;
    c: string;
    s: number;
    u: number;
    extended: { packets: number; duration: number };
  };
  assert.equal(ext.t, 'a');
  assert.equal(ext.c, 'opus');
  assert.equal(ext.s, header.s);
  assert.equal(ext.extended.packets, N);
  assert.ok(Math.abs(ext.extended.duration - ((N - 1) * 960) / 48000) < 0.5, `duration ${ext.extended.duration}`);
  const parsed = execFileSync(bin, ['--parse', final], { encoding: 'utf8' });
  assert.match(parsed, /This is an audio recording/);
  assert.match(parsed, new RegExp(`Counted ${N} RTP packets`));
  const headerOnly = execFileSync(bin, ['--header', final], { encoding: 'utf8' });
  assert.match(headerOnly, /Codec:\s+opus/);
  const ogg = path.join(dir, 'opus-1.opus');
  execFileSync(bin, [final, ogg], { stdio: 'ignore' });
  const o = readFileSync(ogg);
  assert.equal(o.toString('latin1', 0, 4), 'OggS');
  assert.ok(o.includes(Buffer.from('OpusHead')));
  assert.ok(o.length > N * 40);
});

test('data recordings (text) carry a wall-clock prefix; janus-pp-rec makes an .srt', async () => {
  const bin = janusPpRec();
  const rec = await MjrRecorder.open({ baseDir: dir, dir: 'data/sub', filename: 'chat', codec: 'text' });
  assert.equal(rec.type, 'd');
  assert.equal(rec.saveRtp(opusPacket(1, 1, 1)), false);
  for (let i = 0; i < 5; i++) {
    assert.equal(rec.saveData(`message ${i}`), true);
    await new Promise((r) => setTimeout(r, 2));
  }
  const final = await rec.close();
  const { header, frames } = readMjr(final);
  assert.equal(header.t, 'd');
  assert.equal(frames.length, 5);
  const when = Number(frames[0].data.readBigUInt64BE(0));
  assert.ok(Math.abs(when - (header.u as number)) < 5_000_000);
  assert.equal(frames[4].data.subarray(8).toString(), 'message 4');
  const srt = path.join(dir, 'chat.srt');
  execFileSync(bin, [final, srt], { stdio: 'ignore' });
  assert.match(readFileSync(srt, 'utf8'), /message 3/);
});

test('pause drops frames, resume continues the sequence; close is idempotent', async () => {
  const rec = await MjrRecorder.open({ baseDir: dir, filename: 'paused', codec: 'OPUS', flushIntervalMs: 0, bufferSize: 2048 });
  for (let i = 0; i < 50; i++) rec.saveRtp(opusPacket(i, i * 960, 5));
  rec.pause();
  assert.equal(rec.saveRtp(opusPacket(50, 50 * 960, 5)), false);
  rec.resume();
  for (let i = 60; i < 110; i++) rec.saveRtp(opusPacket(i, i * 960, 5));
  const [a, b] = await Promise.all([rec.close(), rec.close()]);
  assert.equal(a, b);
  assert.equal(rec.saveRtp(opusPacket(200, 0, 5)), false);
  const { frames } = readMjr(a);
  assert.equal(frames.length, 100);
  assert.equal(frames[50].data.readUInt16BE(2), 50); // continues after 49, not 60
});

test('the header is written with the first frame only; an empty recording is just the magic', async () => {
  const rec = await MjrRecorder.open({ baseDir: dir, filename: 'empty', codec: 'vp8' });
  assert.equal(rec.type, 'v');
  const f = await rec.close();
  assert.equal(readFileSync(f).toString('latin1'), 'MJR00002');
  assert.equal(mjrTypeOf('h264'), 'v');
  assert.equal(mjrTypeOf('pcmu'), 'a');
  assert.equal(mjrTypeOf('binary'), 'd');
  assert.equal(mjrTypeOf('speex'), null);
  await assert.rejects(MjrRecorder.open({ baseDir: dir, filename: 'x', codec: 'speex' }), /unsupported codec/);
  await assert.rejects(MjrRecorder.open({ baseDir: dir, filename: 'x', codec: 'opus', tmpExt: '../x' }), /temporary extension/);
});

test('file names: no traversal, absolute only inside allowed bases, protected folders honoured', async () => {
  const base = path.join(dir, 'recs');
  const other = path.join(dir, 'other');
  const prot = path.join(base, 'private');
  mkdirSync(base, { recursive: true });
  mkdirSync(other, { recursive: true });
  const policy = { baseDir: base, allowedBases: [other], protectedFolders: [prot] };
  const bad: Array<[string | undefined, string]> = [
    [undefined, '../escape'],
    [undefined, 'a/../../escape'],
    ['..', 'x'],
    ['sub/../..', 'x'],
    [undefined, '/etc/passwd'],
    [undefined, path.join(dir, 'outside')],
    [undefined, 'private/x'],
    ['private', 'x'],
    [prot, 'deeper'],
    ['sub', '/abs'],
    [undefined, 'nul\0byte'],
    [undefined, ''],
  ];
  for (const [d, n] of bad) {
    assert.throws(() => resolveSafePath(policy, d, n), UnsafePathError, `${d} + ${n}`);
    await assert.rejects(MjrRecorder.open({ ...policy, dir: d, filename: n, codec: 'opus' }), UnsafePathError, `${d} + ${n}`);
  }
  assert.equal(resolveSafePath(policy, undefined, 'ok'), path.join(base, 'ok'));
  assert.equal(resolveSafePath(policy, 'a/b', '..ok'), path.join(base, 'a/b/..ok'));
  assert.equal(resolveSafePath(policy, undefined, path.join(other, 'abs')), path.join(other, 'abs'));
  assert.equal(resolveSafePath(policy, 'privateer', 'x'), path.join(base, 'privateer/x')); // prefix is not containment
  const r = await MjrRecorder.open({ ...policy, filename: path.join(other, 'inside'), codec: 'opus' });
  assert.equal(await r.close(), path.join(other, 'inside.mjr'));
  // a symlink inside the base pointing outside is caught on the real path
  symlinkSync(path.join(dir), path.join(base, 'link'));
  await assert.rejects(MjrRecorder.open({ ...policy, dir: 'link', filename: 'x', codec: 'opus' }), UnsafePathError);
  await assert.rejects(MjrRecorder.open({ ...policy, dir: 'link/newsub', filename: 'x', codec: 'opus' }), UnsafePathError);
  assert.equal(existsSync(path.join(dir, 'newsub')), false, 'no folder created through the symlink');
  symlinkSync(prot, path.join(base, 'link2'), 'dir');
  mkdirSync(prot, { recursive: true });
  await assert.rejects(MjrRecorder.open({ ...policy, dir: 'link2', filename: 'x', codec: 'opus' }), UnsafePathError);
  assert.equal(existsSync(path.join(dir, 'x.mjr')), false);
  // a symlink planted at the recording's own name is not followed
  const victim = path.join(dir, 'victim.txt');
  writeFileSync(victim, 'keep me');
  symlinkSync(victim, path.join(base, 'planted.mjr'));
  await assert.rejects(MjrRecorder.open({ ...policy, filename: 'planted', codec: 'opus' }), /ELOOP/);
  assert.equal(readFileSync(victim, 'utf8'), 'keep me');
  assert.ok(statSync(base).isDirectory());
});
