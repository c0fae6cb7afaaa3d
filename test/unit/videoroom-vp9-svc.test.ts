/**
 * The VP9 payload descriptor view (RFC 9628 section 4.2) and the SVC layer selector the VideoRoom
 * uses: field decoding for each optional part, truncation at every length, a seeded fuzz (random and
 * mutated descriptors: no exception, lengths within bounds), and the selector's layer decisions,
 * marker bit and gap-free sequence numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vp9Descriptor } from '../../src/media/vp9-descriptor.ts';
import { Vp9SvcSelector } from '../../src/media/vp9-svc.ts';
import { RtpView } from '../../src/media/rtp.ts';
import { SeqTsRewriter } from '../../src/media/rtp-rewriter.ts';
import { fuzzSeed, prng } from '../helpers/prng.ts';

test('non-flexible descriptor: I with 15-bit picture id, L with TL0PICIDX', () => {
  const d = new Vp9Descriptor();
  // I P L F B E V Z = 1 1 1 0 1 0 0 0; PID 0x1234; TID 2 U SID 1 D; TL0PICIDX 7
  const b = Buffer.from([0xe8, 0x80 | 0x12, 0x34, (2 << 5) | 0x10 | (1 << 1) | 1, 7, 0xaa]);
  assert.ok(d.parse(b, 0, b.length));
  assert.deepEqual([d.i, d.p, d.l, d.f, d.b, d.e, d.v, d.z], [true, true, true, false, true, false, false, false]);
  assert.equal(d.pictureId, 0x1234);
  assert.deepEqual([d.tid, d.u, d.sid, d.d, d.tl0PicIdx], [2, true, 1, true, 7]);
  assert.equal(d.length, 5);
});

test('flexible descriptor: 7-bit picture id, layer byte without TL0PICIDX, P_DIFF list', () => {
  const d = new Vp9Descriptor();
  // I P L F B E = 1 1 1 1 0 1; PID 5; TID 1 SID 2; two P_DIFFs (N set on the first)
  const b = Buffer.from([0xf4, 0x05, (1 << 5) | (2 << 1), (3 << 1) | 1, 4 << 1, 0x99]);
  assert.ok(d.parse(b, 0, b.length));
  assert.equal(d.pictureId, 5);
  assert.deepEqual([d.tid, d.sid, d.tl0PicIdx, d.e, d.f], [1, 2, -1, true, true]);
  assert.equal(d.length, 5);
  // A fourth P_DIFF is malformed (at most three).
  assert.equal(d.parse(Buffer.from([0xf0, 0x05, 0x20, 0x03, 0x03, 0x03, 0x02]), 0, 7), false);
});

test('scalability structure: sizes and picture group are skipped', () => {
  const d = new Vp9Descriptor();
  // I=0 P=0 L=0 F=0 B=1 E=0 V=1; SS: N_S=2 (3 layers) Y G; 3x(w,h); N_G=2: (R=1 +1 byte), (R=0)
  const ss = [(2 << 5) | 0x10 | 0x08, ...Array(12).fill(1), 2, 1 << 2, 0x01, 0];
  const b = Buffer.from([0x0a, ...ss, 0x55]);
  assert.ok(d.parse(b, 0, b.length));
  assert.equal(d.length, 1 + ss.length);
  assert.equal(d.sid, 0);
  assert.equal(d.tid, 0, 'no L: base layer');
});

test('every truncation of a full descriptor is refused, never read past the end', () => {
  const d = new Vp9Descriptor();
  const full = Buffer.from([0xea, 0x80, 0x01, 0x33, 0x09, (0 << 5) | 0x10 | 0x08, 1, 2, 3, 4, 1, 0x04, 0x01, 0xff]);
  assert.ok(d.parse(full, 0, full.length));
  const need = d.length;
  for (let n = 0; n < need; n++) assert.equal(d.parse(full.subarray(0, n), 0, n), false, `length ${n}`);
  // Offsets and lengths outside the buffer.
  assert.equal(d.parse(full, full.length, 1), false);
  assert.equal(d.parse(full, -1, 3), false);
  assert.equal(d.parse(full, 0, full.length + 1), false);
});

test('fuzz: random and mutated descriptors never throw and stay in bounds', () => {
  const seed = fuzzSeed();
  const rnd = prng(seed);
  const d = new Vp9Descriptor();
  const seeds = [
    Buffer.from([0xe8, 0x92, 0x34, 0x53, 7, 1, 2]), Buffer.from([0xf4, 0x05, 0x24, 0x07, 0x08, 9]), Buffer.from([0x0a, 0x58, ...Array(12).fill(1), 2, 4, 1, 0, 5]),
  ];
  for (let i = 0; i < 20000; i++) {
    let b: Buffer;
    if (i % 2 === 0) {
      b = Buffer.alloc(Math.floor(rnd() * 24));
      for (let k = 0; k < b.length; k++) b[k] = Math.floor(rnd() * 256);
    } else {
      b = Buffer.from(seeds[i % seeds.length]);
      for (let m = 0; m < 3; m++) if (b.length) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
      b = b.subarray(0, Math.floor(rnd() * (b.length + 1)));
    }
    const off = b.length > 2 && rnd() < 0.3 ? 1 : 0;
    let ok = false;
    try {
      ok = d.parse(b, off, b.length - off);
    } catch (err) {
      assert.fail(`seed ${seed} case ${i}: threw ${String(err)} on ${b.toString('hex')}`);
    }
    if (ok) {
      assert.ok(d.length >= 1 && d.length <= b.length - off, `seed ${seed} case ${i}: length ${d.length} of ${b.length - off}`);
      assert.ok(d.sid >= 0 && d.sid <= 7 && d.tid >= 0 && d.tid <= 7);
    }
  }
});

/** An RTP packet (12-byte header) carrying one VP9 layer frame. */
function packet(seq: number, sid: number, tid: number, key: boolean, marker: boolean): Buffer {
  const b = Buffer.alloc(12 + 5 + 4);
  b[0] = 0x80;
  b[1] = 98 | (marker ? 0x80 : 0);
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 10, 4);
  b.writeUInt32BE(0x5151, 8);
  b[12] = 0x80 | (key ? 0 : 0x40) | 0x20 | 0x0c;
  b[13] = 0;
  b[14] = (tid << 5) | (sid << 1);
  b[15] = 0;
  return b;
}

test('selector: layers up to the targets, marker on the top forwarded layer, no gaps', () => {
  const sel = new Vp9SvcSelector(1, 1);
  const rw = new SeqTsRewriter({ ssrc: 77, clockRate: 90000 });
  const view = new RtpView();
  const out: Array<[number, number, boolean, number]> = [];
  let seq = 10;
  const tids = [0, 2, 1, 2];
  for (let pic = 0; pic < 8; pic++) {
    for (let sid = 0; sid < 3; sid++) {
      const b = packet(seq++, sid, tids[pic % 4], pic === 0, sid === 2);
      assert.ok(view.wrap(b));
      if (sel.process(view, rw, pic * 33)) out.push([sid, tids[pic % 4], view.marker, view.sequenceNumber]);
    }
  }
  assert.ok(out.every(([sid, tid]) => sid <= 1 && tid <= 1));
  assert.ok(out.every(([sid, , marker]) => marker === (sid === 1)));
  for (let k = 1; k < out.length; k++) assert.equal(out[k][3], (out[k - 1][3] + 1) & 0xffff);
  assert.equal(out.length, 2 * 4, 'pictures 0,2,4,6 (tid 0 and 1) with s0 and s1');
  assert.equal(sel.spatial, 1);
  assert.equal(sel.temporal, 1);
});

test('selector: nothing before a keyframe, spatial up only at a keyframe (with needPli), down at once', () => {
  const sel = new Vp9SvcSelector(0, 2);
  const rw = new SeqTsRewriter({ ssrc: 1, clockRate: 90000 });
  const view = new RtpView();
  let seq = 0;
  const step = (sid: number, key: boolean, now: number) => {
    view.wrap(packet(seq++, sid, 0, key, false));
    return sel.process(view, rw, now);
  };
  assert.equal(step(0, false, 0), false);
  assert.equal(sel.needPli, true, 'a keyframe is asked for');
  assert.equal(step(0, true, 10), true);
  assert.equal(sel.changedSpatial, true);
  assert.equal(step(1, true, 10), false, 'above the target');
  sel.spatialTarget = 2;
  assert.equal(step(0, false, 2000), true);
  assert.equal(sel.needPli, true);
  assert.equal(step(1, false, 2000), false, 'no spatial up without a keyframe');
  assert.equal(step(0, true, 2100), true);
  assert.equal(sel.spatial, 2);
  assert.equal(step(2, true, 2100), true);
  sel.spatialTarget = 0;
  assert.equal(step(0, false, 2200), true);
  assert.equal(sel.spatial, 0);
  assert.equal(step(1, false, 2200), false);
  // A packet that is not VP9 at all is dropped and counted out of the sequence.
  view.wrap(Buffer.from([0x80, 98, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]));
  assert.equal(sel.process(view, rw, 2300), false);
});

test('selector: a spatial layer the publisher stopped is not switched to; its own marker is kept', () => {
  const sel = new Vp9SvcSelector(2, 2);
  const rw = new SeqTsRewriter({ ssrc: 1, clockRate: 90000 });
  const view = new RtpView();
  let seq = 0;
  const step = (sid: number, key: boolean, now: number, marker = false) => {
    view.wrap(packet(seq++, sid, 0, key, marker));
    return sel.process(view, rw, now);
  };
  // All three layers once, then only s0/s1 (s1 ends the picture) for longer than 250 ms.
  for (const sid of [0, 1, 2]) step(sid, true, 0, sid === 2);
  assert.equal(sel.spatial, 2);
  for (let t = 40; t <= 400; t += 40) {
    step(0, false, t);
    step(1, false, t, true);
  }
  sel.reset();
  assert.equal(step(0, true, 440), true);
  assert.equal(sel.spatial, 1, 'the stopped layer 2 is skipped');
  assert.equal(step(1, true, 440, true), true);
  assert.equal(view.marker, true);
  assert.equal(sel.needPli, false, 'no keyframe asked for a layer that stopped');
});
