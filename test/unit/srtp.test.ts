import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SrtpSession as WeriftSrtp, SrtcpSession as WeriftSrtcp, RtpHeader, RtpPacket } from 'werift';
import { SrtpContext, SrtpSession, SrtpProfile, SrtpError, srtpKeyingMaterialLength, type SrtpProfileId } from '../../src/core/webrtc/srtp.ts';
import { srtpPrf, deriveSrtpKeys } from '../../src/core/webrtc/srtp-kdf.ts';
import { AesCm } from '../../src/core/webrtc/srtp-aes-cm.ts';
import { HmacSha1, OneShotHmacSha1, ONE_SHOT_MAX } from '../../src/core/webrtc/srtp-hmac.ts';
import { createHmac } from 'node:crypto';
import { ReplayWindow, ReplayCheck, estimateRoc } from '../../src/core/webrtc/srtp-replay.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('RFC 3711 B.3: key derivation test vectors', () => {
  const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
  assert.equal(srtpPrf(mk, ms, 0, 16).toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
  assert.equal(srtpPrf(mk, ms, 2, 14).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
  assert.equal(
    srtpPrf(mk, ms, 1, 94).toString('hex').toUpperCase(),
    (
      'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE' +
      'E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25' +
      '6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2'
    ),
  );
  const k = deriveSrtpKeys(mk, ms, 20);
  assert.equal(k.rtpAuthKey.toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
});

test('RFC 3711 B.2: AES-CM keystream test vectors', () => {
  const cm = new AesCm(hex('2B7E151628AED2A6ABF7158809CF4F3C'));
  const z = Buffer.alloc(48);
  cm.xor(z, 0, 48, hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000'));
  assert.equal(
    z.toString('hex').toUpperCase(),
    'E03EAD0935C95E80E166B16DD92B4EB4' + 'D23513162B02D0F72A43A2FE4A5F97AB' + '41E95B3BB0A2E8DD477901E4FCA894C0',
  );
  const tail = Buffer.alloc(16);
  cm.xor(tail, 0, 16, hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF'));
  assert.equal(tail.toString('hex').toUpperCase(), 'EC8CDF7398607CB0F2D21675EA9EA1E4');
  const tail2 = Buffer.alloc(32);
  cm.xor(tail2, 0, 32, hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFDFF00'));
  assert.equal(tail2.toString('hex').toUpperCase(), '362B7C3C6773516318A077D7FC5073AE' + '6A2CC3787889374FBEB4C81B17BA6C44');
  // unaligned offset and odd length take the byte path and give the same bytes
  const odd = Buffer.alloc(40);
  cm.xor(odd, 3, 35, hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000'));
  assert.equal(odd.subarray(3, 38).toString('hex').toUpperCase(), z.subarray(0, 35).toString('hex').toUpperCase());
});

test('allocation-free HMAC-SHA1: RFC 2202 vectors, and node:crypto agreement across sizes and offsets', () => {
  assert.equal(new HmacSha1(Buffer.alloc(20, 0x0b)).compute(Buffer.from('Hi There'), 0, 8, -1).toString('hex'), 'b617318655057264e28bc0b6fb378c8ef146be00');
  const jefe = Buffer.from('what do ya want for nothing?');
  assert.equal(new HmacSha1(Buffer.from('Jefe')).compute(jefe, 0, jefe.length, -1).toString('hex'), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  for (let len = 0; len < 300; len += 1 + (len >> 4)) {
    for (const suffix of [-1, 0, 0xffffffff, 0x01020304]) {
      const key = randomBytes(20);
      const off = len % 5;
      const buf = randomBytes(off + len + 2);
      const h = createHmac('sha1', key).update(buf.subarray(off, off + len));
      if (suffix >= 0) h.update(Buffer.from([suffix >>> 24, (suffix >>> 16) & 0xff, (suffix >>> 8) & 0xff, suffix & 0xff]));
      assert.deepEqual(new HmacSha1(key).compute(buf, off, len, suffix), h.digest(), `len ${len} suffix ${suffix}`);
    }
  }
  assert.throws(() => new HmacSha1(Buffer.alloc(65)), RangeError);
});

test('one-shot HMAC-SHA1 for long packets: RFC 2202 vector and node:crypto agreement up to ONE_SHOT_MAX', () => {
  assert.ok(OneShotHmacSha1.supported);
  assert.equal(new OneShotHmacSha1(Buffer.alloc(20, 0x0b)).compute(Buffer.from('Hi There'), 0, 8, -1).toString('hex'), 'b617318655057264e28bc0b6fb378c8ef146be00');
  const key = randomBytes(20);
  const mac = new OneShotHmacSha1(key);
  for (const len of [0, 1, 55, 64, 399, 400, 401, 1000, 1200, 1499, ONE_SHOT_MAX]) {
    for (const suffix of [-1, 0, 0xffffffff, 0x01020304]) {
      const off = len % 7;
      const buf = randomBytes(off + len + 3);
      const h = createHmac('sha1', key).update(buf.subarray(off, off + len));
      if (suffix >= 0) h.update(Buffer.from([suffix >>> 24, (suffix >>> 16) & 0xff, (suffix >>> 8) & 0xff, suffix & 0xff]));
      assert.deepEqual(mac.compute(buf, off, len, suffix), h.digest(), `len ${len} suffix ${suffix}`);
    }
  }
  assert.throws(() => new OneShotHmacSha1(Buffer.alloc(65)), RangeError);
});

test('replay window (RFC 3711 s3.3.2) and index estimation (Appendix A)', () => {
  const w = new ReplayWindow();
  assert.equal(w.check(1000), ReplayCheck.OK);
  w.accept(1000);
  assert.equal(w.check(1000), ReplayCheck.REPLAY);
  assert.equal(w.check(999), ReplayCheck.OK);
  w.accept(999);
  assert.equal(w.check(999), ReplayCheck.REPLAY);
  assert.equal(w.check(1000 - 127), ReplayCheck.OK);
  assert.equal(w.check(1000 - 128), ReplayCheck.TOO_OLD);
  w.accept(1040); // shift by 40: 1000 and 999 still marked
  assert.equal(w.check(1000), ReplayCheck.REPLAY);
  assert.equal(w.check(999), ReplayCheck.REPLAY);
  assert.equal(w.check(1001), ReplayCheck.OK);
  w.accept(1040 + 100); // 999 now 141 behind: too old
  assert.equal(w.check(999), ReplayCheck.TOO_OLD);
  assert.equal(w.check(1040), ReplayCheck.REPLAY);
  w.accept(1040 + 100 + 500);
  assert.equal(w.check(1640 - 1), ReplayCheck.OK);
  assert.equal(w.check(-1), ReplayCheck.TOO_OLD);
  // bits land in every word of the 128-bit mask
  const w2 = new ReplayWindow();
  for (let i = 0; i < 200; i += 3) w2.accept(i);
  for (let i = 200 - 127; i < 200; i++) assert.equal(w2.check(i), i % 3 === 0 ? ReplayCheck.REPLAY : ReplayCheck.OK, `index ${i}`);

  assert.equal(estimateRoc(5, 65530, 3), 6);
  assert.equal(estimateRoc(5, 3, 65530), 4);
  assert.equal(estimateRoc(5, 100, 200), 5);
  assert.equal(estimateRoc(0, 10, 60000), -1);
});

const PROFILES: Array<[string, SrtpProfileId]> = [
  ['AES_CM_128_HMAC_SHA1_80', SrtpProfile.AES128_CM_HMAC_SHA1_80],
  ['AEAD_AES_128_GCM', SrtpProfile.AEAD_AES_128_GCM],
];

function keysFor(profile: SrtpProfileId) {
  const saltLen = profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14;
  return { key: randomBytes(16), salt: randomBytes(saltLen) };
}

function weriftHeader(seq: number, ssrc: number, withExt: boolean): RtpHeader {
  return new RtpHeader({
    payloadType: 111,
    sequenceNumber: seq,
    timestamp: (seq * 960) >>> 0,
    ssrc,
    marker: seq % 7 === 0,
    extension: withExt,
    extensionProfile: 0xbede,
    extensions: withExt ? [{ id: 1, payload: Buffer.from([seq & 0xff]) }, { id: 3, payload: Buffer.from([1, 2, 3]) }] : [],
  });
}

for (const [name, profile] of PROFILES) {
  test(`${name}: werift-protected RTP/RTCP unprotect with ours, across the 65535->0 wrap`, () => {
    const k = keysFor(profile);
    const w = new WeriftSrtp({
      profile: profile as 1 | 7,
      keys: { localMasterKey: k.key, localMasterSalt: k.salt, remoteMasterKey: k.key, remoteMasterSalt: k.salt },
    });
    const wc = new WeriftSrtcp({
      profile: profile as 1 | 7,
      keys: { localMasterKey: k.key, localMasterSalt: k.salt, remoteMasterKey: k.key, remoteMasterSalt: k.salt },
    });
    const ours = new SrtpContext(profile, k.key, k.salt);
    const buf = Buffer.alloc(1600);
    for (let i = 0; i < 400; i++) {
      const seq = (65400 + i) & 0xffff;
      const payload = randomBytes(1 + ((i * 37) % 1100));
      const header = weriftHeader(seq, 0xcafe0001, i % 2 === 0);
      const plain = new RtpPacket(header, payload).serialize();
      const enc = w.encrypt(payload, header);
      enc.copy(buf, 0);
      const n = ours.unprotectRtp(buf, 0, enc.length);
      assert.equal(n, plain.length, `seq ${seq}: ${n}`);
      assert.deepEqual(buf.subarray(0, n), plain);
    }
    // RTCP: a receiver report
    for (let i = 0; i < 5; i++) {
      const rr = Buffer.from([0x81, 201, 0, 7, 0xca, 0xfe, 0, 2, ...randomBytes(24)]);
      const enc = wc.encrypt(rr);
      enc.copy(buf, 0);
      const n = ours.unprotectRtcp(buf, 0, enc.length);
      assert.equal(n, rr.length);
      assert.deepEqual(buf.subarray(0, n), rr);
    }
    assert.equal(ours.stats.rtpUnprotected, 400);
    assert.equal(ours.stats.rtcpUnprotected, 5);
    assert.equal(ours.stats.authFailed, 0);
  });

  test(`${name}: our protected RTP/RTCP unprotect with werift, across the 65535->0 wrap`, () => {
    const k = keysFor(profile);
    const w = new WeriftSrtp({
      profile: profile as 1 | 7,
      keys: { localMasterKey: k.key, localMasterSalt: k.salt, remoteMasterKey: k.key, remoteMasterSalt: k.salt },
    });
    const wc = new WeriftSrtcp({
      profile: profile as 1 | 7,
      keys: { localMasterKey: k.key, localMasterSalt: k.salt, remoteMasterKey: k.key, remoteMasterSalt: k.salt },
    });
    const ours = new SrtpContext(profile, k.key, k.salt);
    const buf = Buffer.alloc(1600);
    for (let i = 0; i < 400; i++) {
      const seq = (65300 + i) & 0xffff;
      const payload = randomBytes(1 + ((i * 53) % 1100));
      const plain = new RtpPacket(weriftHeader(seq, 0x5eed, i % 3 === 0), payload).serialize();
      plain.copy(buf, 0);
      const n = ours.protectRtp(buf, 0, plain.length);
      assert.equal(n, plain.length + ours.rtpTagLength);
      const dec = w.decrypt(Buffer.from(buf.subarray(0, n)));
      assert.deepEqual(dec, plain, `seq ${seq}`);
    }
    for (let i = 0; i < 5; i++) {
      const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 9, 0x5e, 0xed, 0, 0]);
      pli.copy(buf, 0);
      const n = ours.protectRtcp(buf, 0, pli.length);
      assert.equal(n, pli.length + 4 + ours.rtcpTagLength);
      assert.deepEqual(wc.decrypt(Buffer.from(buf.subarray(0, n))), pli);
    }
  });

  test(`${name}: replayed and too-old packets are dropped and counted; flipped bits fail auth`, () => {
    const k = keysFor(profile);
    const tx = new SrtpContext(profile, k.key, k.salt);
    const rx = new SrtpContext(profile, k.key, k.salt);
    const wire: Buffer[] = [];
    for (let seq = 0; seq < 300; seq++) {
      const b = Buffer.alloc(200);
      const plain = new RtpPacket(weriftHeader(seq, 77, false), Buffer.alloc(100, seq & 0xff)).serialize();
      plain.copy(b);
      const n = tx.protectRtp(b, 0, plain.length);
      wire.push(b.subarray(0, n));
    }
    const deliver = (i: number) => rx.unprotectRtp(Buffer.from(wire[i]), 0, wire[i].length);
    assert.ok(deliver(0) > 0);
    assert.ok(deliver(2) > 0);
    assert.equal(deliver(2), SrtpError.REPLAY);
    assert.equal(deliver(0), SrtpError.REPLAY);
    assert.ok(deliver(1) > 0); // late but new
    assert.equal(rx.stats.replayed, 2);
    assert.ok(deliver(250) > 0);
    assert.equal(deliver(100), SrtpError.REPLAY); // 150 behind the highest: outside the window
    assert.ok(deliver(200) > 0); // 50 behind: inside, never seen
    assert.equal(rx.stats.replayed, 3);

    // flipped bits: header, payload, tag
    for (const at of [1, 30, wire[260].length - 1]) {
      const bad = Buffer.from(wire[260]);
      bad[at] ^= 0x01;
      assert.equal(rx.unprotectRtp(bad, 0, bad.length), SrtpError.AUTH_FAILED);
    }
    assert.equal(rx.stats.authFailed, 3);
    // the failures did not poison the state: the genuine packet still passes, once
    assert.ok(deliver(260) > 0);
    assert.equal(deliver(260), SrtpError.REPLAY);

    // SRTCP replay and tamper
    const rtcp = Buffer.alloc(100);
    const sr = Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 77, ...Buffer.alloc(20, 5)]);
    sr.copy(rtcp);
    const n = tx.protectRtcp(rtcp, 0, sr.length);
    const first = Buffer.from(rtcp.subarray(0, n));
    assert.equal(rx.unprotectRtcp(Buffer.from(first), 0, n), sr.length);
    assert.equal(rx.unprotectRtcp(Buffer.from(first), 0, n), SrtpError.REPLAY);
    sr.copy(rtcp);
    const n2 = tx.protectRtcp(rtcp, 0, sr.length);
    const second = Buffer.from(rtcp.subarray(0, n2));
    second[10] ^= 0x80;
    assert.equal(rx.unprotectRtcp(second, 0, n2), SrtpError.AUTH_FAILED);
    assert.equal(rx.stats.replayed, 5);
    assert.equal(rx.stats.authFailed, 4);
  });

  test(`${name}: ROC wrap with reordering around 65535->0 and a late pre-wrap packet`, () => {
    const k = keysFor(profile);
    const tx = new SrtpContext(profile, k.key, k.salt);
    const rx = new SrtpContext(profile, k.key, k.salt);
    const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3];
    const wire = new Map<number, Buffer>();
    const plain = new Map<number, Buffer>();
    for (const seq of seqs) {
      const p = new RtpPacket(weriftHeader(seq, 1, false), randomBytes(60)).serialize();
      const b = Buffer.alloc(p.length + 16);
      p.copy(b);
      wire.set(seq, b.subarray(0, tx.protectRtp(b, 0, p.length)));
      plain.set(seq, p);
    }
    // a retransmission of 65534 protected after the wrap still uses the old ROC
    const again = Buffer.alloc(plain.get(65534)!.length + 16);
    plain.get(65534)!.copy(again);
    const na = tx.protectRtp(again, 0, plain.get(65534)!.length);
    assert.deepEqual(again.subarray(0, na), wire.get(65534));

    for (const seq of [65530, 65531, 65533, 65535, 0, 1, 65534, 65532, 3, 2]) {
      const b = Buffer.from(wire.get(seq)!);
      const n = rx.unprotectRtp(b, 0, b.length);
      assert.ok(n > 0, `seq ${seq}: ${n}`);
      assert.deepEqual(b.subarray(0, n), plain.get(seq));
    }
    const late = Buffer.from(wire.get(65534)!);
    assert.equal(rx.unprotectRtp(late, 0, late.length), SrtpError.REPLAY);
  });
}

test('AES_CM_128_HMAC_SHA1_32: 4-byte RTP tag, 10-byte RTCP tag, round trip and tamper', () => {
  const k = { key: randomBytes(16), salt: randomBytes(14) };
  const tx = new SrtpContext(SrtpProfile.AES128_CM_HMAC_SHA1_32, k.key, k.salt);
  const rx = new SrtpContext(SrtpProfile.AES128_CM_HMAC_SHA1_32, k.key, k.salt);
  assert.equal(tx.rtpTagLength, 4);
  assert.equal(tx.rtcpTagLength, 10);
  const p = new RtpPacket(weriftHeader(9, 3, true), randomBytes(100)).serialize();
  const b = Buffer.alloc(200);
  p.copy(b);
  const n = tx.protectRtp(b, 0, p.length);
  assert.equal(n, p.length + 4);
  assert.notDeepEqual(b.subarray(0, p.length), p);
  const c = Buffer.from(b.subarray(0, n));
  c[n - 1] ^= 1;
  assert.equal(rx.unprotectRtp(c, 0, n), SrtpError.AUTH_FAILED);
  assert.equal(rx.unprotectRtp(b, 0, n), p.length);
  assert.deepEqual(b.subarray(0, p.length), p);
  const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 3]);
  rr.copy(b);
  const m = tx.protectRtcp(b, 0, rr.length);
  assert.equal(m, 8 + 4 + 10);
  assert.equal(rx.unprotectRtcp(b, 0, m), 8);
  assert.deepEqual(b.subarray(0, 8), rr);
});

test('in place at an offset; no room, malformed and out-of-bounds inputs give error codes', () => {
  const k = { key: randomBytes(16), salt: randomBytes(14) };
  const tx = new SrtpContext(SrtpProfile.AES128_CM_HMAC_SHA1_80, k.key, k.salt);
  const rx = new SrtpContext(SrtpProfile.AES128_CM_HMAC_SHA1_80, k.key, k.salt);
  const p = new RtpPacket(weriftHeader(1, 3, false), Buffer.from('abc')).serialize();
  const b = Buffer.alloc(100, 0xee);
  p.copy(b, 7);
  const n = tx.protectRtp(b, 7, p.length);
  assert.equal(b[6], 0xee);
  assert.equal(rx.unprotectRtp(b, 7, n), p.length);
  assert.deepEqual(b.subarray(7, 7 + p.length), p);
  assert.equal(tx.protectRtp(Buffer.from(p), 0, p.length), SrtpError.NO_ROOM);
  assert.equal(tx.protectRtcp(Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]), 0, 8), SrtpError.NO_ROOM);
  assert.equal(tx.protectRtp(Buffer.alloc(40), 0, 20), SrtpError.MALFORMED);
  assert.equal(rx.unprotectRtp(Buffer.alloc(10), 0, 10), SrtpError.MALFORMED);
  assert.equal(rx.unprotectRtp(b, 90, 20), SrtpError.MALFORMED);
  assert.equal(rx.unprotectRtcp(Buffer.alloc(30, 0x80), -1, 30), SrtpError.MALFORMED);
  assert.equal(rx.unprotectRtcp(Buffer.alloc(10, 0x80), 0, 10), SrtpError.MALFORMED);
  assert.equal(rx.stats.malformed, 4);
  assert.throws(() => new SrtpContext(SrtpProfile.AEAD_AES_128_GCM, k.key, k.salt), RangeError);
  assert.throws(() => new SrtpContext(99 as SrtpProfileId, k.key, k.salt), RangeError);
});

test('SSRC state is bounded and only created by authentic packets', () => {
  const k = { key: randomBytes(16), salt: randomBytes(14) };
  const tx = new SrtpContext(SrtpProfile.AES128_CM_HMAC_SHA1_80, k.key, k.salt, { maxSsrcs: 2 });
  const rx = new SrtpContext(SrtpProfile.AES128_CM_HMAC_SHA1_80, k.key, k.salt, { maxSsrcs: 2 });
  const mk = (ssrc: number) => {
    const p = new RtpPacket(weriftHeader(1, ssrc, false), Buffer.from('x')).serialize();
    const b = Buffer.alloc(p.length + 10);
    p.copy(b);
    return b;
  };
  const a = mk(1);
  assert.ok(tx.protectRtp(a, 0, a.length - 10) > 0);
  const bad = Buffer.from(a);
  bad[13] ^= 1;
  assert.equal(rx.unprotectRtp(bad, 0, bad.length), SrtpError.AUTH_FAILED);
  assert.ok(rx.unprotectRtp(a, 0, a.length) > 0);
  const b2 = mk(2);
  assert.ok(tx.protectRtp(b2, 0, b2.length - 10) > 0);
  assert.equal(tx.protectRtp(mk(3), 0, mk(3).length - 10), SrtpError.SSRC_LIMIT);
});

test('RFC 5764 s4.2 keying material split: client tx pairs with server rx', () => {
  for (const profile of [SrtpProfile.AES128_CM_HMAC_SHA1_80, SrtpProfile.AEAD_AES_128_GCM] as const) {
    const material = randomBytes(srtpKeyingMaterialLength(profile));
    const client = SrtpSession.fromKeyingMaterial(profile, material, 'client');
    const server = SrtpSession.fromKeyingMaterial(profile, material, 'server');
    const p = new RtpPacket(weriftHeader(5, 9, false), Buffer.from('hello')).serialize();
    const b = Buffer.alloc(100);
    p.copy(b);
    const n = client.tx.protectRtp(b, 0, p.length);
    const c = Buffer.from(b.subarray(0, n));
    assert.equal(client.rx.unprotectRtp(Buffer.from(c), 0, n), SrtpError.AUTH_FAILED);
    assert.equal(server.rx.unprotectRtp(c, 0, n), p.length);
    assert.deepEqual(c.subarray(0, p.length), p);
  }
  assert.throws(() => SrtpSession.fromKeyingMaterial(SrtpProfile.AES128_CM_HMAC_SHA1_80, Buffer.alloc(10), 'client'), RangeError);
});

test('SrtpSession copying API (the PeerEndpoint boundary shape): null on refusal, stats of the receive side', () => {
  const material = randomBytes(srtpKeyingMaterialLength(SrtpProfile.AES128_CM_HMAC_SHA1_80));
  const a = SrtpSession.fromKeyingMaterial(SrtpProfile.AES128_CM_HMAC_SHA1_80, material, 'client');
  const b = SrtpSession.fromKeyingMaterial(SrtpProfile.AES128_CM_HMAC_SHA1_80, material, 'server');
  const p = new RtpPacket(weriftHeader(5, 9, true), Buffer.from('hello')).serialize();
  const enc = a.protectRtp(p)!;
  assert.equal(enc.length, p.length + 10);
  assert.deepEqual(b.unprotectRtp(enc), p);
  assert.equal(b.unprotectRtp(enc), null);
  assert.equal(b.stats.replayed, 1);
  const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 3]);
  const encR = b.protectRtcp(rr)!;
  assert.deepEqual(a.unprotectRtcp(encR), rr);
  encR[9] ^= 1;
  assert.equal(a.unprotectRtcp(encR), null);
  assert.equal(a.stats.authFailed, 1);
  assert.equal(a.protectRtp(Buffer.alloc(5)), null);
  assert.equal(a.protectRtcp(Buffer.alloc(5)), null);
});
