import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RtcpPacketConverter,
  RtcpSrPacket,
  RtcpSenderInfo,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpTransportLayerFeedback,
  RtcpPayloadSpecificFeedback,
  GenericNack,
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RtcpSourceDescriptionPacket,
  SourceDescriptionChunk,
  SourceDescriptionItem,
} from 'werift';
import {
  RtcpWalker,
  RtcpKind,
  SdesReader,
  isRtcp,
  rtcpSenderSsrc,
  rtcpMediaSsrc,
  srNtpSeconds,
  srNtpFraction,
  srRtpTimestamp,
  srPacketCount,
  srOctetCount,
  reportBlockOffset,
  rbSsrc,
  rbFractionLost,
  rbCumulativeLost,
  rbHighestSeq,
  rbJitter,
  rbLastSr,
  rbDelaySinceLastSr,
  nackExpand,
  nackPid,
  nackBlp,
  firSsrc,
  firSeqNr,
  rembBitrate,
  rembSsrc,
  byeSsrc,
  SDES_CNAME,
} from '../../src/media/rtcp.ts';
import {
  writeSr,
  writeRr,
  writePli,
  writeFir,
  writeRemb,
  writeNack,
  writeSdesCname,
  writeBye,
  ntpSeconds,
  ntpFraction,
  ntpMiddle,
  type ReportBlock,
} from '../../src/media/rtcp-build.ts';

const rb1: ReportBlock = {
  ssrc: 0x11111111,
  fractionLost: 25,
  cumulativeLost: -3,
  highestSeq: 0x00015000,
  jitter: 77,
  lastSr: 0xaabbccdd,
  delaySinceLastSr: 65536,
};

function kinds(buf: Buffer): number[] {
  const w = new RtcpWalker().reset(buf);
  const out: number[] = [];
  while (w.next()) out.push(w.kind);
  assert.equal(w.malformed, false);
  return out;
}

test('builds a compound SR + SDES + REMB and walks it back', () => {
  const buf = Buffer.alloc(1500);
  let n = writeSr(buf, 0, 0x01020304, 3900000000, 0x80000000, 48000, 10, 1000, [rb1]);
  assert.equal(n, 52);
  n += writeSdesCname(buf, n, 0x01020304, 'portunus-cname');
  n += writeRemb(buf, n, 0x01020304, 1_500_000, [0xa, 0xb]);
  const pkt = buf.subarray(0, n);
  assert.equal(isRtcp(pkt), true);
  assert.deepEqual(kinds(pkt), [RtcpKind.SR, RtcpKind.SDES, RtcpKind.REMB]);

  const w = new RtcpWalker().reset(pkt);
  assert.ok(w.next());
  assert.equal(w.count, 1);
  assert.equal(rtcpSenderSsrc(pkt, w.off), 0x01020304);
  assert.equal(srNtpSeconds(pkt, w.off), 3900000000);
  assert.equal(srNtpFraction(pkt, w.off), 0x80000000);
  assert.equal(srRtpTimestamp(pkt, w.off), 48000);
  assert.equal(srPacketCount(pkt, w.off), 10);
  assert.equal(srOctetCount(pkt, w.off), 1000);
  const rb = reportBlockOffset(w, 0);
  assert.equal(rbSsrc(pkt, rb), rb1.ssrc);
  assert.equal(rbFractionLost(pkt, rb), 25);
  assert.equal(rbCumulativeLost(pkt, rb), -3);
  assert.equal(rbHighestSeq(pkt, rb), 0x15000);
  assert.equal(rbJitter(pkt, rb), 77);
  assert.equal(rbLastSr(pkt, rb), 0xaabbccdd);
  assert.equal(rbDelaySinceLastSr(pkt, rb), 65536);

  assert.ok(w.next());
  const r = new SdesReader().reset(w);
  assert.ok(r.nextChunk());
  assert.equal(r.ssrc, 0x01020304);
  assert.ok(r.nextItem());
  assert.equal(r.itemType, SDES_CNAME);
  assert.equal(pkt.toString('utf8', r.itemOffset, r.itemOffset + r.itemLength), 'portunus-cname');
  assert.equal(r.nextItem(), false);
  assert.equal(r.nextChunk(), false);

  assert.ok(w.next());
  const rembOff = w.off;
  // 1.5 Mbps = 0x16E360: needs exponent 3 with an 18-bit mantissa (rounded down)
  assert.ok(Math.abs(rembBitrate(pkt, w.off) - 1_500_000) < 8);
  assert.equal(w.count, 2);
  assert.equal(rembSsrc(pkt, w.off, 1), 0xb);
  assert.equal(w.next(), false);
  assert.equal(w.malformed, false);

  // werift reads the same values
  const parsed = RtcpPacketConverter.deSerialize(pkt);
  const sr = parsed[0] as RtcpSrPacket;
  assert.equal(sr.ssrc, 0x01020304);
  assert.equal(sr.senderInfo.rtpTimestamp, 48000);
  assert.equal(sr.reports[0].packetsLost, 0xfffffd); // werift reads it unsigned
  assert.equal(sr.reports[0].highestSequence, 0x15000);
  const sdes = parsed[1] as RtcpSourceDescriptionPacket;
  assert.equal(sdes.chunks[0].items[0].text, 'portunus-cname');
  const remb = (parsed[2] as RtcpPayloadSpecificFeedback).feedback as ReceiverEstimatedMaxBitrate;
  assert.equal(Number(remb.bitrate), rembBitrate(pkt, rembOff));
  assert.deepEqual(remb.ssrcFeedbacks, [0xa, 0xb]);
});

test('reads werift-built SR, RR, NACK, PLI, FIR, REMB, SDES', () => {
  const sr = new RtcpSrPacket({
    ssrc: 5,
    senderInfo: new RtcpSenderInfo({ ntpTimestamp: 0x0102030405060708n, rtpTimestamp: 9, packetCount: 10, octetCount: 11 }),
    reports: [new RtcpReceiverInfo({ ssrc: 6, fractionLost: 1, packetsLost: 2, highestSequence: 3, jitter: 4, lsr: 5, dlsr: 6 })],
  }).serialize();
  const rr = new RtcpRrPacket({ ssrc: 7, reports: [] }).serialize();
  const nack = new RtcpTransportLayerFeedback({
    feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: 2, lost: [100, 101, 105, 116, 117, 200, 65535, 0] }),
  }).serialize();
  const pli = new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: 9 }) }).serialize();
  // werift does not export its FIR class: RFC 5104 s4.3.1 by hand
  const fir = Buffer.from([0x84, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 3, 0, 0, 0]);
  const remb = new RtcpPayloadSpecificFeedback({
    feedback: new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, brExp: 40, brMantissa: 0x3ffff, ssrcNum: 1, ssrcFeedbacks: [42] }),
  }).serialize();
  const sdes = new RtcpSourceDescriptionPacket({
    chunks: [
      new SourceDescriptionChunk({ source: 3, items: [new SourceDescriptionItem({ type: 1, text: 'abc' }), new SourceDescriptionItem({ type: 2, text: 'name' })] }),
      new SourceDescriptionChunk({ source: 4, items: [new SourceDescriptionItem({ type: 1, text: 'defgh' })] }),
    ],
  }).serialize();
  const compound = Buffer.concat([sr, rr, nack, pli, fir, remb, sdes]);
  assert.deepEqual(kinds(compound), [RtcpKind.SR, RtcpKind.RR, RtcpKind.NACK, RtcpKind.PLI, RtcpKind.FIR, RtcpKind.REMB, RtcpKind.SDES]);
  const w = new RtcpWalker().reset(compound);
  w.next();
  assert.equal(srNtpSeconds(compound, w.off), 0x01020304);
  assert.equal(srNtpFraction(compound, w.off), 0x05060708);
  assert.equal(rbJitter(compound, reportBlockOffset(w, 0)), 4);
  w.next();
  assert.equal(w.count, 0);
  assert.equal(rtcpSenderSsrc(compound, w.off), 7);
  w.next();
  const lost = new Uint16Array(64);
  const n = nackExpand(w, lost);
  assert.deepEqual([...lost.subarray(0, n)].sort((a, b) => a - b), [0, 100, 101, 105, 116, 117, 200, 65535]);
  assert.equal(rtcpMediaSsrc(compound, w.off), 2);
  w.next();
  assert.equal(rtcpMediaSsrc(compound, w.off), 9);
  w.next();
  assert.equal(firSsrc(compound, w.off, 0), 9);
  assert.equal(firSeqNr(compound, w.off, 0), 3);
  w.next();
  assert.equal(rembBitrate(compound, w.off), 0x3ffff * 2 ** 40); // beyond 2^32: no overflow
  assert.equal(rembSsrc(compound, w.off, 0), 42);
  w.next();
  const r = new SdesReader().reset(w);
  const seen: string[] = [];
  while (r.nextChunk()) while (r.nextItem()) seen.push(`${r.ssrc}:${r.itemType}:${compound.toString('utf8', r.itemOffset, r.itemOffset + r.itemLength)}`);
  assert.deepEqual(seen, ['3:1:abc', '3:2:name', '4:1:defgh']);
});

test('NACK builder packs PID+BLP (RFC 4585 s6.2.1) across the wrap; werift agrees', () => {
  const buf = Buffer.alloc(200);
  const lost = [65530, 65531, 65535, 0, 9, 10, 40, 41, 57];
  const n = writeNack(buf, 0, 0xa, 0xb, lost);
  const pkt = buf.subarray(0, n);
  const w = new RtcpWalker().reset(pkt);
  assert.ok(w.next());
  assert.equal(w.kind, RtcpKind.NACK);
  // 65530 covers up to 65530+16 = 10 (wrapped); 40 covers 41 and 56 but not 57
  assert.equal(w.count, 3);
  assert.equal(nackPid(pkt, w.off, 0), 65530);
  assert.equal(nackPid(pkt, w.off, 1), 40);
  assert.equal(nackBlp(pkt, w.off, 1), 0x0001);
  assert.equal(nackPid(pkt, w.off, 2), 57);
  const out: number[] = new Array(100).fill(-1);
  const k = nackExpand(w, out);
  assert.deepEqual(out.slice(0, k), lost);
  const parsed = RtcpPacketConverter.deSerialize(pkt)[0] as RtcpTransportLayerFeedback;
  // werift does not wrap PID+n past 65535 (it yields 65536...), hence the mask
  assert.deepEqual([...(parsed.feedback as GenericNack).lost].map((s) => s & 0xffff).sort((a, b) => a - b), [...lost].sort((a, b) => a - b));
  assert.equal(writeNack(buf, 0, 1, 2, []), 0);
  assert.equal(writeNack(Buffer.alloc(15), 0, 1, 2, [1]), 0);
});

test('PLI, FIR, RR, BYE builders; werift parses them; no room gives 0', () => {
  const buf = Buffer.alloc(300);
  let n = writePli(buf, 0, 1, 2);
  n += writeFir(buf, n, 1, 3, 7);
  n += writeRr(buf, n, 1, [rb1, { ...rb1, ssrc: 2, cumulativeLost: 1 << 30 }]);
  n += writeBye(buf, n, [1, 2, 3]);
  const pkt = buf.subarray(0, n);
  assert.deepEqual(kinds(pkt), [RtcpKind.PLI, RtcpKind.FIR, RtcpKind.RR, RtcpKind.BYE]);
  const w = new RtcpWalker().reset(pkt);
  w.next();
  w.next();
  assert.equal(rtcpMediaSsrc(pkt, w.off), 0); // RFC 5104: media SSRC 0 in the header
  assert.equal(firSsrc(pkt, w.off, 0), 3);
  assert.equal(firSeqNr(pkt, w.off, 0), 7);
  w.next();
  assert.equal(rbCumulativeLost(pkt, reportBlockOffset(w, 1)), 0x7fffff); // clamped to 24 bits
  w.next();
  assert.equal(w.count, 3);
  assert.equal(byeSsrc(pkt, w.off, 2), 3);
  const parsed = RtcpPacketConverter.deSerialize(pkt.subarray(0, 12 + 20 + 56));
  assert.equal(((parsed[0] as RtcpPayloadSpecificFeedback).feedback as PictureLossIndication).mediaSsrc, 2);
  assert.equal(((parsed[1] as RtcpPayloadSpecificFeedback).feedback as unknown as { fir: Array<{ ssrc: number }> }).fir[0].ssrc, 3);
  assert.equal((parsed[2] as RtcpRrPacket).reports.length, 2);

  const small = Buffer.alloc(11);
  assert.equal(writePli(small, 0, 1, 2), 0);
  assert.equal(writeFir(small, 0, 1, 2, 3), 0);
  assert.equal(writeRemb(small, 0, 1, 100, []), 0);
  assert.equal(writeSr(small, 0, 1, 0, 0, 0, 0, 0), 0);
  assert.equal(writeRr(Buffer.alloc(31), 0, 1, [rb1]), 0);
  assert.equal(writeSdesCname(Buffer.alloc(12), 0, 1, 'longer than that'), 0);
});

test('walker stops on malformed headers, flags inconsistent packets, never throws', () => {
  const w = new RtcpWalker();
  // length field beyond the buffer
  w.reset(Buffer.from([0x80, 201, 0x00, 0x10, 0, 0, 0, 1]));
  assert.equal(w.next(), false);
  assert.equal(w.malformed, true);
  // version 1
  w.reset(Buffer.from([0x40, 201, 0, 1, 0, 0, 0, 1]));
  assert.equal(w.next(), false);
  assert.equal(w.malformed, true);
  // RR claiming 3 report blocks in 8 bytes: INVALID, the walk goes on
  const buf = Buffer.alloc(100);
  buf.set([0x83, 201, 0, 1, 0, 0, 0, 1], 0);
  const n = 8 + writePli(buf, 8, 1, 2);
  w.reset(buf, 0, n);
  assert.ok(w.next());
  assert.equal(w.kind, RtcpKind.INVALID);
  assert.ok(w.next());
  assert.equal(w.kind, RtcpKind.PLI);
  assert.equal(w.next(), false);
  assert.equal(w.malformed, false);
  // padding: valid count trims the packet, bad count is malformed
  const padded = Buffer.from([0xa0, 201, 0, 2, 0, 0, 0, 9, 0, 0, 0, 4]);
  w.reset(padded);
  assert.ok(w.next());
  assert.equal(w.size, 8);
  padded[11] = 40;
  w.reset(padded);
  assert.equal(w.next(), false);
  assert.equal(w.malformed, true);
  // truncated REMB and zero-entry NACK / FIR are INVALID
  const remb = Buffer.alloc(40);
  writeRemb(remb, 0, 1, 5000, [1, 2]);
  remb[16] = 9; // claims 9 SSRCs
  w.reset(remb, 0, 28);
  assert.ok(w.next());
  assert.equal(w.kind, RtcpKind.INVALID);
  w.reset(Buffer.from([0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]));
  assert.ok(w.next());
  assert.equal(w.kind, RtcpKind.INVALID);
  // SDES chunk whose item runs past the end: the reader stops
  const sdes = Buffer.from([0x81, 202, 0, 2, 0, 0, 0, 1, 1, 50, 0x41, 0]);
  w.reset(sdes);
  assert.ok(w.next());
  const r = new SdesReader().reset(w);
  assert.ok(r.nextChunk());
  assert.equal(r.nextItem(), false);
  assert.equal(r.nextChunk(), false);
  assert.equal(isRtcp(Buffer.from([0x80, 96, 0, 0])), false);
  assert.equal(isRtcp(Buffer.from([0x80, 200])), false);
});

test('NTP helpers', () => {
  const ms = Date.UTC(2026, 0, 1, 0, 0, 0, 500);
  assert.equal(ntpSeconds(ms), Math.floor(ms / 1000) + 2208988800);
  assert.equal(ntpFraction(ms), 0x80000000);
  assert.equal(ntpMiddle(0x12345678, 0x9abcdef0), 0x56789abc);
});
