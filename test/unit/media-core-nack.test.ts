/**
 * NACKs in the media core: our generator for incoming gaps (bounded retries, recovery, restarts),
 * the retransmission buffer answering the peer's NACKs (keep time, keyframe flush, repeat guard),
 * and the SRTP sender protecting an already-sent index again for a retransmission.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NackGenerator, MAX_TRIES } from '../../src/core/webrtc/nack-generator.ts';
import { Retransmission } from '../../src/core/webrtc/retransmission.ts';
import { SrtpSession, SrtpProfile, SrtpError } from '../../src/core/webrtc/srtp.ts';
import { writeNack } from '../../src/media/rtcp-build.ts';
import { RtcpWalker } from '../../src/media/rtcp.ts';

function collectAll(g: NackGenerator, now: number, rtt = -1): number[] {
  const out = new Uint16Array(64);
  const n = g.collect(now, rtt, out);
  return [...out.subarray(0, n)];
}

test('a gap is NACKed at once, retried about an RTT later, at most MAX_TRIES times', () => {
  const g = new NackGenerator();
  g.onPacket(100, 0);
  g.onPacket(101, 0);
  g.onPacket(104, 10);
  assert.equal(g.pending, 2);
  assert.equal(g.nextDue, 10);
  assert.deepEqual(collectAll(g, 10), [102, 103]);
  assert.deepEqual(collectAll(g, 20), [], 'not again before the retry interval');
  let tries = 1;
  for (let t = 20; t < 2000; t += 10) tries += collectAll(g, t).length === 2 ? 1 : 0;
  assert.equal(tries, MAX_TRIES);
  assert.equal(g.pending, 0);
  assert.equal(g.givenUp, 2);
  assert.equal(g.requested, 2 * MAX_TRIES);
  // With a 100 ms RTT the retry waits 150 ms.
  const h = new NackGenerator();
  h.onPacket(1, 0);
  h.onPacket(3, 0);
  assert.deepEqual(collectAll(h, 0, 100), [2]);
  assert.deepEqual(collectAll(h, 140, 100), []);
  assert.deepEqual(collectAll(h, 150, 100), [2]);
});

test('a packet that arrives late or retransmitted fills its hole; wrap-around gaps work', () => {
  const g = new NackGenerator();
  g.onPacket(65533, 0);
  g.onPacket(2, 0); // 65534, 65535, 0, 1 missing
  assert.deepEqual(collectAll(g, 0), [65534, 65535, 0, 1]);
  g.onPacket(65535, 5);
  g.onPacket(0, 5);
  assert.equal(g.recovered, 2);
  assert.deepEqual(collectAll(g, 100), [65534, 1]);
  g.onPacket(2, 100); // duplicate of the newest: nothing
  assert.equal(g.pending, 2);
});

test('a jump too large to be loss clears the list instead of NACKing hundreds of packets', () => {
  const g = new NackGenerator();
  g.onPacket(10, 0);
  g.onPacket(12, 0);
  g.onPacket(5000, 1);
  assert.equal(g.pending, 0);
  assert.deepEqual(collectAll(g, 2), []);
  g.onPacket(5002, 3);
  assert.deepEqual(collectAll(g, 3), [5001]);
});

function rtp(seq: number, ts: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(0xcafe, 8);
  payload.copy(b, 12);
  return b;
}

function nackFor(seqs: number[]): RtcpWalker {
  const buf = Buffer.alloc(128);
  const n = writeNack(buf, 0, 1, 0xcafe, seqs);
  const w = new RtcpWalker().reset(buf, 0, n);
  assert.ok(w.next());
  return w;
}

test('the retransmission buffer answers a NACK with the stored packets, not past the keep time', () => {
  const r = new Retransmission({ minNackQueueMs: 200, video: true });
  for (let i = 0; i < 50; i++) r.store(rtp(1000 + i, i * 3000, Buffer.from(`p${i}`)), 0, 12 + `p${i}`.length, i * 10, 'vp8', false);
  const sent: Buffer[] = [];
  // Stored at 0..490 ms; asked at 500 ms: 1045-1049 are young, 1010 is 400 ms old.
  const n = r.answer(nackFor([1010, 1045, 1046, 1049, 1200]), 500, -1, (p) => sent.push(Buffer.from(p)));
  assert.equal(n, 3);
  assert.deepEqual(sent.map((p) => p.readUInt16BE(2)), [1045, 1046, 1049]);
  assert.equal(sent[0].subarray(12).toString(), 'p45');
  assert.equal(r.missed, 2);
  assert.equal(r.resent, 3);
  // Asked again right away (a NACK storm): not resent within the guard interval.
  assert.equal(r.answer(nackFor([1045]), 501, -1, (p) => sent.push(p)), 0);
  assert.equal(r.answer(nackFor([1045]), 520, -1, (p) => sent.push(p)), 1);
  // A larger RTT keeps packets longer (2 x RTT, capped at 1 s).
  r.setRtt(300);
  assert.equal(r.buffer.keepTimeMs, 600);
  r.setRtt(5000);
  assert.equal(r.buffer.keepTimeMs, 1000);
  r.setRtt(1);
  assert.equal(r.buffer.keepTimeMs, 200);
});

test('nack_optimizations: a keyframe flushes the buffer once per frame', () => {
  const key = Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
  const delta = Buffer.from([0x10, 0x11, 0x02, 0x00, 0x00, 0x00, 0x00]);
  const cont = Buffer.from([0x00, 0x55, 0x55]);
  const r = new Retransmission({ minNackQueueMs: 1000, video: true });
  const store = (seq: number, ts: number, p: Buffer, flush: boolean) => r.store(rtp(seq, ts, p), 0, 12 + p.length, seq, 'vp8', flush);
  store(1, 0, delta, true);
  store(2, 3000, delta, true);
  store(3, 6000, key, true); // flush, then stored
  store(4, 6000, cont, true);
  store(5, 6000, key, true); // same frame: no second flush
  assert.equal(r.flushes, 1);
  const got: number[] = [];
  r.answer(nackFor([1, 2, 3, 4, 5]), 10, -1, (p) => got.push(p.readUInt16BE(2)));
  assert.deepEqual(got, [3, 4, 5]);
  // Without the option nothing is flushed.
  const keep = new Retransmission({ minNackQueueMs: 1000, video: true });
  keep.store(rtp(1, 0, delta), 0, 12 + delta.length, 0, 'vp8', false);
  keep.store(rtp(2, 3000, key), 0, 12 + key.length, 1, 'vp8', false);
  assert.equal(keep.flushes, 0);
});

test('SRTP: a retransmission protects the same index again (allow_repeat_tx); the receiver takes it once', () => {
  for (const profile of [SrtpProfile.AES128_CM_HMAC_SHA1_80, SrtpProfile.AEAD_AES_128_GCM]) {
    const saltLen = profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14;
    const a = { key: randomBytes(16), salt: randomBytes(saltLen) };
    const b = { key: randomBytes(16), salt: randomBytes(saltLen) };
    const sender = new SrtpSession(profile, a, b);
    const receiver = new SrtpSession(profile, b, a);
    const packets = [10, 11, 12].map((s) => rtp(s, s * 3000, Buffer.from(`payload ${s}`)));
    const first = packets.map((p) => sender.protectRtp(p)!);
    const again = sender.protectRtp(packets[1])!;
    assert.ok(again.equals(first[1]), 'same index, same key stream and tag');
    // The receiver lost packet 11 the first time: the retransmission authenticates...
    assert.ok(receiver.unprotectRtp(first[0]));
    assert.ok(receiver.unprotectRtp(first[2]));
    const got = receiver.unprotectRtp(again);
    assert.ok(got && got.subarray(12).toString() === 'payload 11');
    // ...and a second copy is a replay.
    const dup = Buffer.from(again);
    assert.equal(receiver.rx.unprotectRtp(dup, 0, dup.length), SrtpError.REPLAY);
  }
});
