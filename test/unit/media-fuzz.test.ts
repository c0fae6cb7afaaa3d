/**
 * Fuzz the media parsers with random and mutated packets (seeded, so failures reproduce): nothing
 * may throw, and every offset they report must stay inside the packet they were given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpView } from '../../src/media/rtp.ts';
import { RtcpWalker, RtcpKind, SdesReader, nackExpand, reportBlockOffset, rembBitrate, rembSsrc, firSsrc, byeSsrc, rtcpSenderSsrc, rtcpMediaSsrc, rbCumulativeLost } from '../../src/media/rtcp.ts';
import { writeSr, writeSdesCname, writeNack, writePli, writeFir, writeRemb, writeRr, writeBye } from '../../src/media/rtcp-build.ts';
import { isVp8Keyframe, isVp9Keyframe, isH264Keyframe } from '../../src/media/keyframe.ts';
import { SrtpContext, SrtpProfile, type SrtpProfileId } from '../../src/core/webrtc/srtp.ts';
import { prng } from '../helpers/prng.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed1234);
const CASES = Number(process.env.FUZZ_CASES ?? 4000);


function makeRand(seed: number) {
  const r = prng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  /** Flip bits, overwrite, truncate or extend. */
  const mutate = (src: Buffer): Buffer => {
    let b = Buffer.from(src);
    const ops = 1 + int(4);
    for (let k = 0; k < ops; k++) {
      const op = int(6);
      if (b.length === 0) b = bytes(1 + int(8));
      if (op === 0) b[int(b.length)] ^= 1 << int(8);
      else if (op === 1) b[int(b.length)] = int(256);
      else if (op === 2) b = b.subarray(0, int(b.length + 1));
      else if (op === 3) b = Buffer.concat([b, bytes(1 + int(16))]);
      else if (op === 4) b[int(b.length)] = [0, 0xff, 0x80, 0x7f, 0x10][int(5)];
      else if (b.length >= 2) b.writeUInt16BE(int(65536), int(b.length - 1));
    }
    return b;
  };
  return { r, int, bytes, mutate };
}

function rtpSeed(rnd: ReturnType<typeof makeRand>): Buffer {
  const { int, bytes } = rnd;
  const cc = int(3);
  const ext = int(3); // 0 none, 1 one-byte, 2 two-byte
  const extData = ext === 1 ? Buffer.from([0x10, 0xaa, 0x00, 0x32, 1, 2, 3, 0]) : Buffer.from([0x05, 0x01, 0x09, 0x20, 0x02, 0xbe, 0xef, 0]);
  const payload = bytes(int(60));
  const pad = int(4) === 0 ? 1 + int(4) : 0;
  const b = Buffer.alloc(12 + 4 * cc + (ext ? 4 + extData.length : 0) + payload.length + pad);
  b[0] = 0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | cc;
  b[1] = int(256);
  bytes(10).copy(b, 2);
  let o = 12 + 4 * cc;
  if (ext) {
    b.writeUInt16BE(ext === 1 ? 0xbede : 0x1000, o);
    b.writeUInt16BE(extData.length / 4, o + 2);
    extData.copy(b, o + 4);
    o += 4 + extData.length;
  }
  payload.copy(b, o);
  if (pad) b[b.length - 1] = pad;
  return b;
}

test('RTP view: random and mutated packets', () => {
  const rnd = makeRand(SEED);
  const v = new RtpView();
  let valid = 0;
  for (let i = 0; i < CASES; i++) {
    const inner = i % 2 === 0 ? rnd.bytes(rnd.int(100)) : rnd.mutate(rtpSeed(rnd));
    if (i % 5 === 0 && inner.length > 0) inner[0] = 0x80 | (inner[0] & 0x3f);
    // place it inside a larger buffer so reads past the end would be visible as inconsistencies
    const pre = rnd.int(8);
    const buf = Buffer.concat([Buffer.alloc(pre, 0x55), inner, Buffer.alloc(8, 0x90)]);
    if (!v.wrap(buf, pre, inner.length)) continue;
    valid++;
    assert.equal(v.headerLength + v.payloadLength + v.paddingLength, inner.length);
    assert.ok(v.payloadOffset + v.payloadLength <= pre + inner.length);
    void v.payloadType, v.marker, v.sequenceNumber, v.timestamp, v.ssrc, v.csrcCount, v.extensionProfile;
    for (let c = 0; c < v.csrcCount; c++) v.csrc(c);
    for (let id = 0; id <= 256; id++) {
      const o = v.findExtension(id);
      if (o >= 0) {
        assert.ok(o >= v.extOffset + 4 && o + v.foundExtLength <= v.extOffset + 4 + v.extLength, `ext ${id}`);
        assert.ok(o + v.foundExtLength <= pre + v.headerLength);
      }
    }
    v.rewrite(1, 2, 3);
    v.payloadType = 127;
    v.marker = true;
  }
  assert.ok(valid > CASES / 10, `only ${valid} valid packets: the mutator is too destructive`);
});

function rtcpSeed(rnd: ReturnType<typeof makeRand>): Buffer {
  const buf = Buffer.alloc(600);
  let n = 0;
  const parts = 1 + rnd.int(4);
  const rb = { ssrc: 1, fractionLost: 2, cumulativeLost: -5, highestSeq: 9, jitter: 3, lastSr: 4, delaySinceLastSr: 5 };
  for (let k = 0; k < parts; k++) {
    switch (rnd.int(8)) {
      case 0:
        n += writeSr(buf, n, 1, 2, 3, 4, 5, 6, [rb]);
        break;
      case 1:
        n += writeRr(buf, n, 1, [rb, rb]);
        break;
      case 2:
        n += writeSdesCname(buf, n, 1, 'cname-' + rnd.int(1000));
        break;
      case 3:
        n += writeNack(buf, n, 1, 2, [5, 6, 30, 31, 200]);
        break;
      case 4:
        n += writePli(buf, n, 1, 2);
        break;
      case 5:
        n += writeFir(buf, n, 1, 2, 3);
        break;
      case 6:
        n += writeRemb(buf, n, 1, 123456789, [1, 2, 3]);
        break;
      default:
        n += writeBye(buf, n, [1, 2]);
    }
  }
  return buf.subarray(0, n);
}

test('RTCP walker and readers: random and mutated compound packets', () => {
  const rnd = makeRand(SEED + 1);
  const w = new RtcpWalker();
  const sdes = new SdesReader();
  const lost = new Uint16Array(1024);
  let packets = 0;
  for (let i = 0; i < CASES; i++) {
    const inner = i % 3 === 0 ? rnd.bytes(rnd.int(120)) : rnd.mutate(rtcpSeed(rnd));
    if (i % 3 === 0 && inner.length > 1) inner[0] = 0x80 | (inner[0] & 0x3f);
    const pre = rnd.int(8);
    const buf = Buffer.concat([Buffer.alloc(pre), inner, Buffer.alloc(4)]);
    const end = pre + inner.length;
    w.reset(buf, pre, inner.length);
    while (w.next()) {
      packets++;
      const o = w.off;
      assert.ok(o >= pre && o + w.size <= end && w.size >= 4);
      switch (w.kind) {
        case RtcpKind.SR:
        case RtcpKind.RR:
          assert.ok(w.size >= 8);
          rtcpSenderSsrc(buf, o);
          for (let k = 0; k < w.count; k++) {
            const rbo = reportBlockOffset(w, k);
            assert.ok(rbo + 24 <= o + w.size);
            rbCumulativeLost(buf, rbo);
          }
          break;
        case RtcpKind.NACK: {
          assert.ok(12 + 4 * w.count <= w.size);
          const n = nackExpand(w, lost);
          assert.ok(n <= 17 * w.count);
          rtcpMediaSsrc(buf, o);
          break;
        }
        case RtcpKind.FIR:
          assert.ok(12 + 8 * w.count <= w.size);
          for (let k = 0; k < w.count; k++) firSsrc(buf, o, k);
          break;
        case RtcpKind.REMB:
          assert.ok(20 + 4 * w.count <= w.size);
          assert.ok(Number.isFinite(rembBitrate(buf, o)));
          for (let k = 0; k < w.count; k++) rembSsrc(buf, o, k);
          break;
        case RtcpKind.BYE:
          assert.ok(4 + 4 * w.count <= w.size);
          for (let k = 0; k < w.count; k++) byeSsrc(buf, o, k);
          break;
        case RtcpKind.SDES:
          sdes.reset(w);
          while (sdes.nextChunk()) {
            while (sdes.nextItem()) assert.ok(sdes.itemOffset + sdes.itemLength <= o + w.size);
          }
          break;
        case RtcpKind.PLI:
          assert.ok(w.size >= 12);
          break;
        default:
          break;
      }
    }
  }
  assert.ok(packets > CASES / 2, `only ${packets} packets walked`);
});

test('keyframe detectors: random and mutated payloads, never reading past len', () => {
  const rnd = makeRand(SEED + 2);
  const seeds = [
    Buffer.from([0x90, 0xf0, 0x81, 0x23, 0x05, 0x40, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02]),
    Buffer.from([0x8a, 0x80, 0x01, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x01, 0x80, 0x00]),
    Buffer.from([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce]),
    Buffer.from([0x7c, 0x85, 0x88]),
    Buffer.from([0x28, 0x00, 0x07, 0x80]),
  ];
  let keys = 0;
  for (let i = 0; i < CASES * 2; i++) {
    const p = i % 2 === 0 ? rnd.bytes(rnd.int(40)) : rnd.mutate(seeds[rnd.int(seeds.length)]);
    // the same bytes alone and followed by other data must give the same answer
    const padded = Buffer.concat([Buffer.alloc(3, 0x9d), p, Buffer.from([0x9d, 0x01, 0x2a, 0x00, 0x01, 0x2a, 0x80, 0x00])]);
    for (const f of [isVp8Keyframe, isVp9Keyframe, isH264Keyframe]) {
      const alone = f(p, 0, p.length);
      assert.equal(f(padded, 3, p.length), alone, `${f.name} ${p.toString('hex')}`);
      if (alone) keys++;
    }
  }
  assert.ok(keys > 0);
});

test('SRTP/SRTCP unprotect: random and mutated packets never throw, never authenticate', () => {
  const rnd = makeRand(SEED + 3);
  const profiles: SrtpProfileId[] = [SrtpProfile.AES128_CM_HMAC_SHA1_80, SrtpProfile.AES128_CM_HMAC_SHA1_32, SrtpProfile.AEAD_AES_128_GCM];
  for (const profile of profiles) {
    const key = rnd.bytes(16);
    const salt = rnd.bytes(profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14);
    const tx = new SrtpContext(profile, key, salt);
    const rx = new SrtpContext(profile, key, salt);
    const n = Math.floor(CASES / 2);
    let accepted = 0;
    for (let i = 0; i < n; i++) {
      const rtp = rtpSeed(rnd);
      rtp.writeUInt16BE((60000 + i) & 0xffff, 2); // in order across the wrap, a few SSRCs
      rtp.writeUInt32BE(1 + (i % 3), 8);
      const rtcp = rtcpSeed(rnd);
      const isRtcp = i % 4 === 3;
      const plain = isRtcp ? rtcp : rtp;
      const b = Buffer.alloc(plain.length + 40);
      plain.copy(b);
      const len = isRtcp ? tx.protectRtcp(b, 0, plain.length) : tx.protectRtp(b, 0, plain.length);
      if (len < 0) continue;
      const genuine = Buffer.from(b.subarray(0, len));
      const candidate = i % 5 === 0 ? rnd.bytes(rnd.int(80)) : rnd.mutate(genuine);
      const same = candidate.equals(genuine);
      const work = Buffer.from(candidate);
      const res = isRtcp ? rx.unprotectRtcp(work, 0, work.length) : rx.unprotectRtp(work, 0, work.length);
      if (!same) assert.ok(res < 0, `mutated packet authenticated (${profile})`);
      // the genuine packet still authenticates after whatever came before it
      const ok = isRtcp ? rx.unprotectRtcp(Buffer.from(genuine), 0, genuine.length) : rx.unprotectRtp(Buffer.from(genuine), 0, genuine.length);
      if (!same) assert.ok(ok >= 0, `genuine packet refused after a forgery (${profile}): ${ok}`);
      if (ok >= 0) accepted++;
    }
    assert.ok(accepted > n * 0.9, `${accepted}/${n}`);
    assert.ok(rx.stats.authFailed + rx.stats.malformed + rx.stats.replayed > n / 2);
  }
});
