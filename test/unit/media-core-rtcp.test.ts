/**
 * The RTCP the media core writes and filters: SR/RR + SDES compounds read back with our walker and
 * with werift's parser, NACK removal before the plugin, the relay filter, and the RtcpEngine wiring
 * (report blocks update RTT and loss, NACKs are answered and removed, our NACKs go out).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtcpPacketConverter } from 'werift';
import { ReportWriter, nextReportDelay, REPORT_INTERVAL_MS } from '../../src/core/webrtc/rtcp-reports.ts';
import { ReceiveStats } from '../../src/core/webrtc/receive-stats.ts';
import { SendStats } from '../../src/core/webrtc/send-stats.ts';
import { compactRtcp, isCoreOwned, isGenericNack } from '../../src/core/webrtc/rtcp-filter.ts';
import { RtcpEngine } from '../../src/core/webrtc/rtcp-engine.ts';
import {
  RtcpKind, RtcpWalker, SdesReader, SDES_CNAME, rbSsrc, rbCumulativeLost, rbHighestSeq, reportBlockOffset, srPacketCount,
  srOctetCount, srNtpSeconds, nackExpand,
} from '../../src/media/rtcp.ts';
import { writeNack, writePli, writeRemb, writeRr, writeSdesCname, writeSr, ntpMiddle, ntpSeconds } from '../../src/media/rtcp-build.ts';
import { prng, fuzzSeed } from '../helpers/prng.ts';

function kinds(buf: Buffer, len = buf.length): number[] {
  const w = new RtcpWalker().reset(buf, 0, len);
  const out: number[] = [];
  while (w.next()) out.push(w.kind);
  assert.equal(w.malformed, false);
  return out;
}

function sender(ssrc: number): SendStats {
  const s = new SendStats(ssrc, 90000);
  const pkt = Buffer.alloc(112);
  pkt[0] = 0x80;
  s.onSent(pkt, 0, pkt.length, 100, false);
  s.onSent(pkt, 0, pkt.length, 110, false);
  return s;
}

test('a sender writes SR + report blocks + SDES CNAME; werift parses it', () => {
  const rx = [new ReceiveStats(0x11, 48000), new ReceiveStats(0x22, 90000)];
  for (let i = 0; i < 10; i++) if (i !== 4) rx[0].update(i, i * 960, 100 + i * 20, 50);
  rx[1].update(7, 0, 150, 50);
  const buf = Buffer.alloc(1500);
  const n = new ReportWriter().write(buf, 0xabcdef, sender(0xabcdef), rx, 'portunus-cname', 200, -Infinity);
  assert.ok(n > 0);
  assert.deepEqual(kinds(buf, n), [RtcpKind.SR, RtcpKind.SDES]);
  const w = new RtcpWalker().reset(buf, 0, n);
  w.next();
  assert.equal(w.count, 2);
  assert.equal(srPacketCount(buf, w.off), 2);
  assert.equal(srOctetCount(buf, w.off), 200);
  assert.ok(Math.abs(srNtpSeconds(buf, w.off) - ntpSeconds(performance.timeOrigin + 200)) <= 1);
  const rb = reportBlockOffset(w, 0);
  assert.equal(rbSsrc(buf, rb), 0x11);
  assert.equal(rbCumulativeLost(buf, rb), 1);
  assert.equal(rbHighestSeq(buf, rb), 9);
  w.next();
  const sdes = new SdesReader().reset(w);
  assert.ok(sdes.nextChunk());
  assert.equal(sdes.ssrc, 0xabcdef);
  assert.ok(sdes.nextItem());
  assert.equal(sdes.itemType, SDES_CNAME);
  assert.equal(buf.toString('latin1', sdes.itemOffset, sdes.itemOffset + sdes.itemLength), 'portunus-cname');
  // werift (what the test clients use) reads the same thing.
  const parsed = RtcpPacketConverter.deSerialize(buf.subarray(0, n)) as unknown as Array<{ type: number; ssrc: number; reports: Array<{ ssrc: number; packetsLost: number }> }>;
  assert.equal(parsed[0].type, 200);
  assert.equal(parsed[0].ssrc, 0xabcdef);
  assert.deepEqual(parsed[0].reports.map((r) => [r.ssrc, r.packetsLost]), [[0x11, 1], [0x22, 0]]);
  assert.equal(parsed[1].type, 202);
});

test('a receiver writes RR; sources not heard since the last report get no block; nothing to say is 0 bytes', () => {
  const a = new ReceiveStats(0x11, 48000);
  const b = new ReceiveStats(0x22, 48000);
  a.update(1, 0, 1000, 10);
  b.update(1, 0, 400, 10);
  const buf = Buffer.alloc(1500);
  const writer = new ReportWriter();
  const n = writer.write(buf, 0x99, undefined, [a, b], 'c', 1200, 500);
  assert.deepEqual(kinds(buf, n), [RtcpKind.RR, RtcpKind.SDES]);
  const w = new RtcpWalker().reset(buf, 0, n);
  w.next();
  assert.equal(w.count, 1);
  assert.equal(rbSsrc(buf, reportBlockOffset(w, 0)), 0x11);
  assert.equal(writer.write(buf, 0x99, undefined, [a, b], 'c', 2200, 1200), 0);
  // A sender that went quiet for more than two intervals reports as a receiver.
  const s = sender(0x77);
  a.update(2, 960, 5000, 10);
  const m = writer.write(buf, 0x77, s, [a], 'c', 5100, 2200);
  assert.deepEqual(kinds(buf, m), [RtcpKind.RR, RtcpKind.SDES]);
  for (let i = 0; i < 100; i++) {
    const d = nextReportDelay();
    assert.ok(d >= REPORT_INTERVAL_MS / 2 && d <= (REPORT_INTERVAL_MS * 3) / 2);
  }
});

function compound(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts);
}
function part(write: (b: Buffer) => number): Buffer {
  const b = Buffer.alloc(256);
  return b.subarray(0, write(b));
}

test('NACKs are removed in place before the plugin; the relay filter keeps only what plugins may send', () => {
  const rr = part((b) => writeRr(b, 0, 1, []));
  const nack = part((b) => writeNack(b, 0, 1, 2, [5, 6, 30]));
  const pli = part((b) => writePli(b, 0, 1, 2));
  const sdes = part((b) => writeSdesCname(b, 0, 1, 'x'));
  const remb = part((b) => writeRemb(b, 0, 1, 500000, [2]));
  const twcc = Buffer.from([0x8f, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
  const sr = part((b) => writeSr(b, 0, 1, 1, 2, 3, 4, 5, []));
  // A padded PLI (RFC 3550 s6.4.1: P bit, the last octet counts the padding).
  const padded = Buffer.concat([pli, Buffer.from([0, 0, 0, 4])]);
  padded[0] |= 0x20;
  padded[3] += 1;
  const w = new RtcpWalker();
  const buf = compound(rr, nack, padded, nack, sdes);
  const n = compactRtcp(buf, buf.length, buf, isGenericNack, w);
  assert.equal(n, rr.length + padded.length + sdes.length);
  assert.deepEqual(kinds(buf, n), [RtcpKind.RR, RtcpKind.PLI, RtcpKind.SDES]);
  assert.ok(buf.subarray(rr.length, rr.length + padded.length).equals(padded));
  const only = compound(nack);
  assert.equal(compactRtcp(only, only.length, only, isGenericNack, w), 0);
  const relayed = compound(sr, pli, sdes, nack, remb, twcc);
  const out = Buffer.alloc(1500);
  const m = compactRtcp(relayed, relayed.length, out, isCoreOwned, w);
  assert.deepEqual(kinds(out, m), [RtcpKind.PLI, RtcpKind.REMB]);
  // A malformed tail is dropped, what came before is kept.
  const broken = compound(pli, Buffer.from([0x80, 206, 0, 9]));
  assert.equal(compactRtcp(broken, broken.length, broken, isGenericNack, w), pli.length);
});

test('the engine: stats per source, NACK answered and stripped, report blocks give RTT, our NACKs and reports go out', () => {
  const sentRtp: Buffer[] = [];
  const sentRtcp: Buffer[] = [];
  const slow: unknown[] = [];
  const settings = { min_nack_queue: 200, nack_optimizations: false, slowlink_threshold: 3 };
  const engine = new RtcpEngine({
    cname: 'test', settings,
    sendRtp: (p) => sentRtp.push(Buffer.from(p)),
    sendRtcp: (p) => sentRtcp.push(Buffer.from(p)),
    slowLink: (...a) => slow.push(a),
  });
  const line = engine.line('1', true, 0x5000);
  line.payloads.set(96, { clockRate: 90000, codec: 'vp8', nack: true });
  const incoming = (seq: number) => {
    const p = Buffer.alloc(40);
    p[0] = 0x80;
    p[1] = 96;
    p.writeUInt16BE(seq, 2);
    p.writeUInt32BE(seq * 3000, 4);
    p.writeUInt32BE(0x7777, 8);
    return p;
  };
  const outgoing = (seq: number) => {
    const p = incoming(seq);
    p.writeUInt32BE(0x5000, 8);
    return p;
  };
  // Peer -> us with a gap: our NACK goes out at once.
  engine.onRtpIn(line, incoming(1), 0);
  engine.onRtpIn(line, incoming(2), 10);
  engine.onRtpIn(line, incoming(5), 20);
  assert.equal(sentRtcp.length, 1);
  const w = new RtcpWalker().reset(sentRtcp[0]);
  assert.ok(w.next());
  assert.equal(w.kind, RtcpKind.NACK);
  const lost = new Uint16Array(8);
  assert.deepEqual([...lost.subarray(0, nackExpand(w, lost))], [3, 4]);
  // Us -> peer, then the peer NACKs 11 and 12 inside a compound with a PLI.
  for (let s = 10; s < 15; s++) engine.onRtpOut(line, outgoing(s), 30 + s);
  const fromPeer = compound(part((b) => writeRr(b, 0, 0x7777, [])), part((b) => writeNack(b, 0, 0x7777, 0x5000, [11, 12])), part((b) => writePli(b, 0, 0x7777, 0x5000)));
  const left = engine.onRtcpIn(fromPeer, 100);
  assert.deepEqual(sentRtp.map((p) => p.readUInt16BE(2)), [11, 12]);
  assert.deepEqual(kinds(fromPeer, left), [RtcpKind.RR, RtcpKind.PLI]);
  // The PLI after the 8-byte RR is about our SSRC: the video line.
  assert.equal(engine.lineOf(fromPeer.subarray(8), left - 8)?.mid, '1');
  // Reports on tick: an SR (we sent) with a block for 0x7777; the peer's RR about it gives an RTT.
  engine.tick(150);
  const report = sentRtcp.at(-1)!;
  assert.deepEqual(kinds(report), [RtcpKind.SR, RtcpKind.SDES]);
  const rw = new RtcpWalker().reset(report);
  rw.next();
  const sec = srNtpSeconds(report, rw.off);
  const frac = report.readUInt32BE(rw.off + 12);
  const lsr = ntpMiddle(sec, frac);
  const rrBack = part((b) => writeRr(b, 0, 0x7777, [{ ssrc: 0x5000, fractionLost: 0, cumulativeLost: 2, highestSeq: 14, jitter: 0, lastSr: lsr, delaySinceLastSr: 65536 / 100 }]));
  engine.onRtcpIn(rrBack, 190);
  assert.ok(Math.abs(engine.rttMs - 30) < 1, `rtt ${engine.rttMs}`);
  assert.equal(line.sender!.cumulativeLost, 2);
  // Every other packet missing from the peer (uplink), over the 3/s threshold: slowlink.
  for (let s = 6; s < 40; s += 2) engine.onRtpIn(line, incoming(s), 200 + s);
  engine.tick(1700); // past the longest report interval (1.5 s) after the first
  assert.ok(slow.some((a) => (a as unknown[])[2] === true), JSON.stringify(slow));
  const snap = engine.snapshot() as { media: Record<string, { nack_buffer: { resent: number } }> };
  assert.equal(snap.media['1'].nack_buffer.resent, 2);
});

test('the engine takes any decrypted RTCP without throwing: mutated compounds, random bytes', () => {
  const seed = fuzzSeed();
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const engine = new RtcpEngine({
    cname: 'f', settings: { min_nack_queue: 200, nack_optimizations: true, slowlink_threshold: 1 },
    sendRtp: () => {}, sendRtcp: () => {}, slowLink: () => {},
  });
  const line = engine.line('0', true, 0x5000);
  line.payloads.set(96, { clockRate: 90000, codec: 'vp8', nack: true });
  const out = Buffer.alloc(200);
  out[0] = 0x80;
  out[1] = 96;
  out.writeUInt32BE(0x5000, 8);
  for (let s = 0; s < 300; s++) {
    out.writeUInt16BE(s, 2);
    engine.onRtpOut(line, out, s);
  }
  const seeds = [
    compound(part((b) => writeSr(b, 0, 7, 1, 2, 3, 4, 5, [{ ssrc: 0x5000, fractionLost: 9, cumulativeLost: 3, highestSeq: 299, jitter: 1, lastSr: 0, delaySinceLastSr: 0 }])), part((b) => writeSdesCname(b, 0, 7, 'x'))),
    compound(part((b) => writeRr(b, 0, 7, [])), part((b) => writeNack(b, 0, 7, 0x5000, [1, 2, 3, 200, 290]))),
    compound(part((b) => writePli(b, 0, 7, 0x5000)), part((b) => writeRemb(b, 0, 7, 1e6, [0x5000]))),
  ];
  for (let i = 0; i < 5000; i++) {
    let buf: Buffer;
    if (int(4) === 0) {
      buf = Buffer.from(Array.from({ length: int(200) }, () => int(256)));
    } else {
      buf = Buffer.from(seeds[int(seeds.length)]);
      for (let k = 1 + int(4); k > 0 && buf.length > 0; k--) buf[int(buf.length)] = int(256);
      if (int(3) === 0) buf = buf.subarray(0, int(buf.length + 1));
    }
    const len = buf.length;
    let n = -1;
    assert.doesNotThrow(() => { n = engine.onRtcpIn(buf, 400 + i); }, `seed ${seed}, case ${i}`);
    assert.ok(n >= 0 && n <= len, `seed ${seed}, case ${i}: ${n} of ${len}`);
    engine.tick(400 + i * 10);
  }
});
