/**
 * Receive and send statistics of the media core (RFC 3550 A.1, A.3, A.8, s6.4.1) and the slowlink
 * monitor, driven with synthetic sequence numbers and clocks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReceiveStats } from '../../src/core/webrtc/receive-stats.ts';
import { SendStats } from '../../src/core/webrtc/send-stats.ts';
import { SlowLinkMonitor, SLOWLINK_MIN_INTERVAL_MS } from '../../src/core/webrtc/slowlink.ts';
import type { ReportBlock } from '../../src/media/rtcp-build.ts';

const block = (): ReportBlock => ({ ssrc: 0, fractionLost: 0, cumulativeLost: 0, highestSeq: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 });

test('highest sequence number with cycles, expected, lost and fraction lost per interval (A.1, A.3)', () => {
  const s = new ReceiveStats(0x1234, 90000);
  let now = 1000;
  // 65530 .. 65535, 0 .. 9 with 3 and 4 missing: one wrap, 2 lost of 16 expected.
  for (let seq = 65530; seq !== 10; seq = (seq + 1) & 0xffff) {
    if (seq !== 3 && seq !== 4) s.update(seq, seq * 3000, now, 100);
    now += 10;
  }
  assert.equal(s.cycles, 65536);
  assert.equal(s.extendedMax, 65536 + 9);
  assert.equal(s.expected, 16);
  assert.equal(s.lost, 2);
  const rb = block();
  s.fillReportBlock(rb, now);
  assert.equal(rb.ssrc, 0x1234);
  assert.equal(rb.highestSeq, 65536 + 9);
  assert.equal(rb.cumulativeLost, 2);
  assert.equal(rb.fractionLost, Math.floor((2 * 256) / 16));
  // Next interval without loss: fraction 0, cumulative unchanged.
  for (let seq = 10; seq < 20; seq++) s.update(seq, seq * 3000, (now += 10), 100);
  s.fillReportBlock(rb, now);
  assert.equal(rb.fractionLost, 0);
  assert.equal(rb.cumulativeLost, 2);
  // A late packet fills a hole: received goes up, lost down.
  s.update(3, 3 * 3000, now, 100);
  assert.equal(s.lost, 1);
  // A duplicate makes "lost" negative-capable (A.3); the block keeps the signed value.
  s.update(3, 3 * 3000, now, 100);
  assert.equal(s.lost, 0);
});

test('a sequence jump beyond MAX_DROPOUT is ignored once, then taken as a restart (A.1)', () => {
  const s = new ReceiveStats(1, 48000);
  for (let seq = 100; seq < 110; seq++) s.update(seq, seq * 960, seq, 50);
  assert.equal(s.update(40000, 0, 200, 50), false); // ignored
  assert.equal(s.received, 10);
  assert.equal(s.update(40001, 960, 220, 50), false); // follows the jump: restart from here
  assert.equal(s.baseSeq, 40001);
  assert.equal(s.received, 1);
  assert.equal(s.lost, 0);
});

test('interarrival jitter (A.8): zero for a steady stream, converging to the transit variation otherwise', () => {
  const steady = new ReceiveStats(1, 90000);
  for (let i = 0; i < 200; i++) steady.update(i, i * 3000, i * (3000 / 90), 100);
  assert.ok(steady.jitter < 1e-6, `steady jitter ${steady.jitter}`);
  // Every other packet 10 ms late: |D| = 900 ticks each time; J -> 900.
  const bumpy = new ReceiveStats(2, 90000);
  for (let i = 0; i < 400; i++) bumpy.update(i, i * 3000, i * (3000 / 90) + (i % 2 ? 10 : 0), 100);
  assert.ok(Math.abs(bumpy.jitter - 900) < 5, `jitter ${bumpy.jitter}`);
  const rb = block();
  bumpy.fillReportBlock(rb, 0);
  assert.equal(rb.jitter, Math.floor(bumpy.jitter));
  // RTP timestamp wrap in the middle of a steady stream adds nothing.
  const wrap = new ReceiveStats(3, 90000);
  for (let i = 0; i < 50; i++) wrap.update(i, (0xffffffff - 25 * 3000 + i * 3000) >>> 0, i * (3000 / 90), 100);
  assert.ok(wrap.jitter < 1e-6, `jitter across a timestamp wrap ${wrap.jitter}`);
});

test('LSR and DLSR from the last SR (s6.4.1)', () => {
  const s = new ReceiveStats(1, 90000);
  s.update(1, 0, 0, 100);
  const rb = block();
  s.fillReportBlock(rb, 10);
  assert.equal(rb.lastSr, 0);
  assert.equal(rb.delaySinceLastSr, 0);
  s.onSenderReport(0xaabbccdd, 0x11223344, 1000);
  s.fillReportBlock(rb, 1500);
  assert.equal(rb.lastSr, 0xccdd1122);
  assert.equal(rb.delaySinceLastSr, 32768); // 0.5 s in 1/65536 s
});

test('takeLost counts newly lost packets once', () => {
  const s = new ReceiveStats(1, 90000);
  for (let i = 0; i < 20; i += 2) s.update(i, i, i, 10);
  assert.equal(s.takeLost(), 9);
  assert.equal(s.takeLost(), 0);
  s.update(21, 21, 21, 10); // 19 and 20 skipped
  assert.equal(s.takeLost(), 2);
});

test('send statistics: payload octets, the SR timestamp pair and the RTT from a report block', () => {
  const s = new SendStats(0xabc, 90000);
  const pkt = Buffer.alloc(12 + 100);
  pkt[0] = 0x80;
  pkt.writeUInt32BE(90000, 4);
  s.onSent(pkt, 0, pkt.length, 1000, false);
  // With a 4-byte padding (P bit, last byte 4).
  const padded = Buffer.alloc(12 + 20);
  padded[0] = 0xa0;
  padded[padded.length - 1] = 4;
  padded.writeUInt32BE(93000, 4);
  s.onSent(padded, 0, padded.length, 1033, false);
  assert.equal(s.packets, 2);
  assert.equal(s.octets, 100 + 16);
  // 0.5 s after the last packet the clock advanced 45000 ticks.
  assert.equal(s.rtpTimestampAt(1533), 93000 + 45000);
  s.onSent(pkt, 0, pkt.length, 1600, true);
  assert.equal(s.retransmitted, 1);
  assert.equal(s.rtpTimestampAt(1533), 93000 + 45000, 'a retransmission does not move the timestamp pair');
  // RTT = arrival - SR sent - DLSR: sent at 2000, DLSR 0.25 s, back at 2300 -> 50 ms.
  s.onSenderReportSent(0x12345678, 2000);
  s.onReportBlock(12, 7, 0x12345678, 16384, 2300);
  assert.equal(s.rttMs, 50);
  assert.equal(s.fractionLost, 12);
  assert.equal(s.takeLost(), 7);
  s.onReportBlock(0, 9, 0xdeadbeef, 0, 2400); // unknown LSR: RTT unchanged
  assert.equal(s.rttMs, 50);
  assert.equal(s.takeLost(), 2);
});

test('slowlink: per direction, above the threshold, at most once per interval, off at 0', () => {
  const m = new SlowLinkMonitor();
  const fired: Array<[boolean, number]> = [];
  const fire = (up: boolean, lost: number) => fired.push([up, lost]);
  m.check(0, 5, 100, 100, fire); // first check only starts the clock
  assert.deepEqual(fired, []);
  m.check(1000, 5, 10, 2, fire);
  assert.deepEqual(fired, [[true, 10]]);
  m.check(2000, 5, 10, 20, fire);
  assert.deepEqual(fired, [[true, 10], [false, 20]]);
  m.check(3000, 5, 50, 50, fire); // both inside their interval
  assert.equal(fired.length, 2);
  m.check(1000 + SLOWLINK_MIN_INTERVAL_MS, 5, 30, 0, fire);
  assert.deepEqual(fired.at(-1), [true, 30]);
  const off = new SlowLinkMonitor();
  off.check(0, 0, 0, 0, fire);
  off.check(1000, 0, 1000, 1000, fire);
  assert.equal(fired.length, 3);
  // Scaled to a second: 10 lost over 2 s is 5/s.
  const slow = new SlowLinkMonitor();
  const got: number[] = [];
  slow.check(0, 5, 0, 0, () => {});
  slow.check(2000, 5, 10, 0, (_u, lost) => got.push(lost));
  assert.deepEqual(got, [5]);
});
