/**
 * The MJR reader (src/media/mjr-reader.ts): files written by our MjrRecorder read back frame for
 * frame (RTP and data), sequence wraps unrolled and played in order, the legacy "MEETECHO" layout,
 * a truncated last frame, and fuzzing with random and mutated files (seeded): only MjrFormatError
 * may come out, and every frame returned lies inside the file.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MjrRecorder } from '../../src/media/mjr.ts';
import { MjrFormatError, parseMjr, readMjr, readMjrInfo } from '../../src/media/mjr-reader.ts';
import { prng } from '../helpers/prng.ts';
import { parseNfo, nfoText } from '../../src/plugins/recordplay/library.ts';

const dir = mkdtempSync(join(tmpdir(), 'portunus-mjr-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function rtpPacket(seq: number, ts: number, ssrc: number, payload: Buffer, pt = 111): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = pt;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(ts >>> 0, 4);
  h.writeUInt32BE(ssrc, 8);
  return Buffer.concat([h, payload]);
}

test('our recorder\'s files read back: header, frames in order across a sequence wrap', async () => {
  const rec = await MjrRecorder.open({ baseDir: dir, filename: 'wrap-audio', codec: 'opus', extmaps: { 1: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' } });
  const payloads: Buffer[] = [];
  for (let i = 0; i < 30; i++) {
    const p = Buffer.from(`pkt-${i}`);
    payloads.push(p);
    rec.saveRtp(rtpPacket(65520 + i, 0xfffff000 + 960 * i, 42, p));
  }
  await rec.close();
  const r = await readMjr(join(dir, 'wrap-audio.mjr'));
  assert.equal(r.info.type, 'a');
  assert.equal(r.info.codec, 'opus');
  assert.deepEqual(r.info.extmaps, { 1: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' });
  assert.ok(r.info.created > 0 && r.info.firstFrame >= r.info.created);
  assert.equal(r.frames.length, 30);
  assert.deepEqual(r.frames.map((f) => f.data.subarray(12).toString()), payloads.map((p) => p.toString()));
  for (let i = 1; i < 30; i++) {
    assert.equal(r.frames[i].seq - r.frames[i - 1].seq, 1, 'extended sequence numbers run on through the wrap');
    assert.equal(r.frames[i].ts - r.frames[i - 1].ts, 960, 'extended timestamps run on through the wrap');
  }
  assert.equal((await readMjrInfo(join(dir, 'wrap-audio.mjr'))).codec, 'opus');
});

test('reordered packets are played in sequence order; data recordings keep the message', async () => {
  const rec = await MjrRecorder.open({ baseDir: dir, filename: 'order-video', codec: 'vp8' });
  for (const s of [10, 12, 11, 13]) rec.saveRtp(rtpPacket(s, s * 3000, 7, Buffer.from(`f${s}`), 96));
  await rec.close();
  const r = parseMjr(readFileSync(join(dir, 'order-video.mjr')));
  assert.deepEqual(r.frames.map((f) => f.data.subarray(12).toString()), ['f10', 'f11', 'f12', 'f13']);
  const data = await MjrRecorder.open({ baseDir: dir, filename: 'chat-data', codec: 'text' });
  data.saveData('hello');
  data.saveData('world');
  await data.close();
  const d = await readMjr(join(dir, 'chat-data.mjr'));
  assert.equal(d.info.type, 'd');
  assert.deepEqual(d.frames.map((f) => f.data.toString()), ['hello', 'world']);
});

test('the legacy MEETECHO layout, truncated files and bad headers', () => {
  const legacyFrame = (p: Buffer) => Buffer.concat([Buffer.from('MEETECHO'), Buffer.from([p.length >> 8, p.length & 0xff]), p]);
  const legacy = Buffer.concat([Buffer.from('MEETECHO'), Buffer.from([0, 5]), Buffer.from('video'), legacyFrame(rtpPacket(1, 0, 5, Buffer.from('a'), 100)), legacyFrame(rtpPacket(2, 3000, 5, Buffer.from('b'), 100))]);
  const l = parseMjr(legacy);
  assert.equal(l.info.codec, 'vp8');
  assert.equal(l.info.legacy, true);
  assert.equal(l.frames.length, 2);
  const good = readFileSync(join(dir, 'order-video.mjr'));
  assert.equal(parseMjr(good.subarray(0, good.length - 3)).frames.length, 3, 'a cut last frame ends the recording');
  for (const bad of [Buffer.alloc(0), Buffer.from('MJR00002'), Buffer.from('NOTANMJRFILE!!'), Buffer.concat([Buffer.from('MJR00002'), Buffer.from([0, 4]), Buffer.from('{}{}')]),
    Buffer.concat([Buffer.from('MJR00002'), Buffer.from([0, 2]), Buffer.from('{}')]), Buffer.concat([Buffer.from('MJR00002'), Buffer.from([0, 13]), Buffer.from('{"t":"x","c":1}')])]) {
    assert.throws(() => parseMjr(bad), MjrFormatError);
  }
});

test('fuzz: random and mutated files give frames inside the file or MjrFormatError', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 0x6a1e5);
  const r = prng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const seeds = ['wrap-audio.mjr', 'order-video.mjr', 'chat-data.mjr'].map((f) => readFileSync(join(dir, f)));
  for (let i = 0; i < 3000; i++) {
    let b: Buffer;
    if (i % 3 === 0) {
      b = Buffer.alloc(int(200));
      for (let k = 0; k < b.length; k++) b[k] = int(256);
      if (i % 2 === 0) Buffer.from('MJR00002').copy(b);
    } else {
      b = Buffer.from(seeds[i % seeds.length]);
      for (let k = 1 + int(6); k > 0; k--) {
        const op = int(3);
        if (op === 0 && b.length) b[int(b.length)] ^= 1 << int(8);
        else if (op === 1) b = b.subarray(0, int(b.length + 1));
        else if (b.length > 9) b.writeUInt16BE(int(0x10000), int(b.length - 1));
      }
    }
    try {
      const parsed = parseMjr(b);
      for (const f of parsed.frames) {
        assert.ok(f.data.buffer === b.buffer && f.data.byteOffset >= b.byteOffset && f.data.byteOffset + f.data.length <= b.byteOffset + b.length, `seed ${seed} case ${i}`);
        assert.ok(Number.isFinite(f.seq) && Number.isFinite(f.ts));
      }
    } catch (err) {
      assert.ok(err instanceof MjrFormatError, `seed ${seed} case ${i}: ${String(err)}`);
    }
  }
});

test('.nfo files: what we write, Janus\' own layout, and junk', () => {
  const text = nfoText({ id: 5, name: 'n', date: '2020-01-01 00:00:00', audioFile: 'a', videoFile: 'v', textdata: true, audioLevelExt: 0, videoOrientExt: 0, completed: true });
  assert.equal(text, '[5]\r\nname = n\r\ndate = 2020-01-01 00:00:00\r\naudio = a.mjr\r\nvideo = v.mjr\r\n');
  assert.deepEqual(parseNfo(text), { section: '5', values: { name: 'n', date: '2020-01-01 00:00:00', audio: 'a.mjr', video: 'v.mjr' } });
  assert.deepEqual(parseNfo('[1234]\nname = Rickroll\ndate = 2014-10-14 17:11:26\naudio = rec-sample-audio.mjr\n[other]\nx = 1'), {
    section: '1234', values: { name: 'Rickroll', date: '2014-10-14 17:11:26', audio: 'rec-sample-audio.mjr' },
  });
  assert.equal(parseNfo('no section here\nname = x'), undefined);
  const r = prng(7);
  for (let i = 0; i < 500; i++) {
    const junk = Array.from({ length: Math.floor(r() * 80) }, () => String.fromCharCode(Math.floor(r() * 128))).join('');
    parseNfo(junk);
  }
});
