/**
 * Lean SRTP/SRTCP (RFC 3711) on node:crypto, for the media hot path.
 *
 * Profiles (DTLS-SRTP ids, RFC 5764 s4.1.2, RFC 7714 s14.2):
 *   AES128_CM_HMAC_SHA1_80 (1): AES-CM, HMAC-SHA1 tag of 80 bits (RTP and RTCP)
 *   AES128_CM_HMAC_SHA1_32 (2): same, RTP tag of 32 bits, RTCP tag still 80 bits (RFC 5764 s4.1.2)
 *   AEAD_AES_128_GCM       (7): AES-GCM with a 128-bit tag, 96-bit salt (RFC 7714)
 *
 * One SrtpContext holds one master key (one direction). Protect and unprotect work IN PLACE on
 * `buf[off, off+len)` and return the new length, or a negative SrtpError: the caller keeps a
 * receive/send buffer with room for the tag (and SRTCP index) and nothing is copied around it.
 * Receiving follows s3.3: estimate the index (s3.3.1), reject replays and packets older than the
 * 128-packet window (s3.3.2, counted in stats.replayed) BEFORE spending a MAC on them, authenticate
 * (constant-time compare; failures counted in stats.authFailed), decrypt, and only then update the
 * ROC, s_l and the replay list; an unknown SSRC gets state only once a packet authenticates.
 *
 * SRTP packet (s3.1):                         SRTCP packet (s3.4):
 *   | RTP header          | (clear, authed)      | first 8 bytes of RTCP | (clear, authed)
 *   | payload [+ padding] | (encrypted, authed)  | rest of the compound  | (encrypted, authed)
 *   | auth tag            |                      |E| SRTCP index (31)    | (authed)
 *                                                | auth tag              |
 * With GCM (RFC 7714 s8-9) the tag is the AEAD tag; for SRTCP it sits before the E|index word.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { rtpHeaderLength, readU32, writeU32 } from '../../media/rtp.ts';
import { AesCm } from './srtp-aes-cm.ts';
import { HmacSha1, NATIVE_THRESHOLD, ONE_SHOT_MAX, OneShotHmacSha1 } from './srtp-hmac.ts';
import { deriveSrtpKeys } from './srtp-kdf.ts';
import { ReplayCheck, ReplayWindow, estimateRoc } from './srtp-replay.ts';

export const SrtpProfile = {
  AES128_CM_HMAC_SHA1_80: 0x0001,
  AES128_CM_HMAC_SHA1_32: 0x0002,
  AEAD_AES_128_GCM: 0x0007,
} as const;
export type SrtpProfileId = (typeof SrtpProfile)[keyof typeof SrtpProfile];

/** Shared, so no options object is allocated per packet. */
const GCM_OPTIONS = { authTagLength: 16 } as const;

/** Negative results of protect/unprotect. */
export const SrtpError = {
  /** Too short, not RTP/RTCP, or out of the buffer's bounds. */
  MALFORMED: -1,
  /** Already received, or older than the replay window. */
  REPLAY: -2,
  AUTH_FAILED: -3,
  /** `buf` has no room after the packet for the tag (and SRTCP index). */
  NO_ROOM: -4,
  /** Too many SSRCs in this context (see `maxSsrcs`). */
  SSRC_LIMIT: -5,
} as const;

export interface SrtpStats {
  rtpProtected: number;
  rtpUnprotected: number;
  rtcpProtected: number;
  rtcpUnprotected: number;
  replayed: number;
  authFailed: number;
  malformed: number;
}

/** Master key and salt lengths of a profile (RFC 5764 s4.1.2, RFC 7714 s12). */
export function srtpProfileSizes(profile: SrtpProfileId): { keyLength: number; saltLength: number } {
  return { keyLength: 16, saltLength: profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14 };
}

export interface SrtpContextOptions {
  /** SSRCs tracked per direction before new ones are refused (default 1024). */
  maxSsrcs?: number;
}

class RtpRxState {
  roc = 0;
  sl = 0;
  readonly window = new ReplayWindow();
}
class RtpTxState {
  roc = 0;
  sl = 0;
}
class RtcpTxState {
  index = 0;
}

/** Constant-time comparison of `n` bytes: no early exit, time independent of where they differ. */
function tagEqual(a: Buffer, b: Buffer, bOff: number, n: number): boolean {
  let d = 0;
  for (let i = 0; i < n; i++) d |= a[i] ^ b[bOff + i];
  return d === 0;
}

export class SrtpContext {
  readonly profile: SrtpProfileId;
  readonly gcm: boolean;
  /** Bytes added to an RTP packet: the auth tag (10, 4 or 16). */
  readonly rtpTagLength: number;
  /** Auth tag bytes of SRTCP (10 or 16); the packet grows by this plus 4 (E|index). */
  readonly rtcpTagLength: number;
  readonly stats: SrtpStats = {
    rtpProtected: 0,
    rtpUnprotected: 0,
    rtcpProtected: 0,
    rtcpUnprotected: 0,
    replayed: 0,
    authFailed: 0,
    malformed: 0,
  };
  private readonly maxSsrcs: number;
  private readonly rtpKey: Buffer;
  private readonly rtcpKey: Buffer;
  private readonly rtpSalt: Buffer;
  private readonly rtcpSalt: Buffer;
  private readonly rtpAuth: KeyObject | null;
  private readonly rtcpAuth: KeyObject | null;
  private readonly rtpMac: HmacSha1 | null;
  private readonly rtcpMac: HmacSha1 | null;
  /** For long packets (undefined where node:crypto has no one-shot hash). */
  private readonly rtpLongMac: OneShotHmacSha1 | undefined;
  private readonly rtcpLongMac: OneShotHmacSha1 | undefined;
  private readonly rtpCm: AesCm | null;
  private readonly rtcpCm: AesCm | null;
  /** Reused per packet: createCipheriv copies the IV, so one buffer serves every packet. */
  private readonly iv = Buffer.alloc(16);
  private readonly iv12: Buffer;
  private readonly roc = Buffer.alloc(4);
  private readonly aad = Buffer.alloc(12);
  private readonly rtpRx = new Map<number, RtpRxState>();
  private readonly rtpTx = new Map<number, RtpTxState>();
  private readonly rtcpRx = new Map<number, ReplayWindow>();
  private readonly rtcpTx = new Map<number, RtcpTxState>();

  constructor(profile: SrtpProfileId, masterKey: Buffer, masterSalt: Buffer, opts: SrtpContextOptions = {}) {
    if (profile !== SrtpProfile.AES128_CM_HMAC_SHA1_80 && profile !== SrtpProfile.AES128_CM_HMAC_SHA1_32 && profile !== SrtpProfile.AEAD_AES_128_GCM) {
      throw new RangeError(`unsupported SRTP profile ${String(profile)}`);
    }
    const sizes = srtpProfileSizes(profile);
    if (masterKey.length !== sizes.keyLength || masterSalt.length !== sizes.saltLength) {
      throw new RangeError(`SRTP profile ${profile} needs a ${sizes.keyLength}-byte key and a ${sizes.saltLength}-byte salt`);
    }
    this.profile = profile;
    this.gcm = profile === SrtpProfile.AEAD_AES_128_GCM;
    this.rtpTagLength = this.gcm ? 16 : profile === SrtpProfile.AES128_CM_HMAC_SHA1_32 ? 4 : 10;
    this.rtcpTagLength = this.gcm ? 16 : 10;
    this.maxSsrcs = opts.maxSsrcs ?? 1024;
    // s4.3: session keys; HMAC-SHA1 keys are 160 bits (s4.2.1, n_a = 160).
    const k = deriveSrtpKeys(masterKey, masterSalt, this.gcm ? 0 : 20);
    this.rtpKey = k.rtpKey;
    this.rtcpKey = k.rtcpKey;
    this.rtpSalt = k.rtpSalt;
    this.rtcpSalt = k.rtcpSalt;
    this.iv12 = this.iv.subarray(0, 12);
    if (this.gcm) {
      this.rtpAuth = null;
      this.rtcpAuth = null;
      this.rtpMac = null;
      this.rtcpMac = null;
      this.rtpLongMac = undefined;
      this.rtcpLongMac = undefined;
      this.rtpCm = null;
      this.rtcpCm = null;
    } else {
      this.rtpAuth = createSecretKey(k.rtpAuthKey);
      this.rtcpAuth = createSecretKey(k.rtcpAuthKey);
      this.rtpMac = new HmacSha1(k.rtpAuthKey);
      this.rtcpMac = new HmacSha1(k.rtcpAuthKey);
      this.rtpLongMac = OneShotHmacSha1.supported ? new OneShotHmacSha1(k.rtpAuthKey) : undefined;
      this.rtcpLongMac = OneShotHmacSha1.supported ? new OneShotHmacSha1(k.rtcpAuthKey) : undefined;
      this.rtpCm = new AesCm(k.rtpKey);
      this.rtcpCm = new AesCm(k.rtcpKey);
    }
  }

  // ------------------------------------------------------------------ RTP

  /**
   * Protect the RTP packet `buf[off, off+len)` in place and append the tag; returns the SRTP length
   * (len + rtpTagLength) or a negative SrtpError. `buf` needs rtpTagLength bytes free after it.
   */
  protectRtp(buf: Buffer, off: number, len: number): number {
    if (off < 0 || off + len > buf.length) return this.malformed();
    const hl = rtpHeaderLength(buf, off, len);
    if (hl < 0) return this.malformed();
    if (off + len + this.rtpTagLength > buf.length) return SrtpError.NO_ROOM;
    const seq = (buf[off + 2] << 8) | buf[off + 3];
    const ssrc = readU32(buf, off + 8);
    // The sender's own index (s3.3.1 applied to what it sends): a retransmission of a packet sent
    // before the last wrap gets the ROC it was first sent with.
    let st = this.rtpTx.get(ssrc);
    if (st === undefined) {
      if (this.rtpTx.size >= this.maxSsrcs) return SrtpError.SSRC_LIMIT;
      st = new RtpTxState();
      st.sl = seq;
      this.rtpTx.set(ssrc, st);
    }
    const v = estimateRoc(st.roc, st.sl, seq);
    if (v < 0) return SrtpError.REPLAY;
    if (v === st.roc + 1) {
      st.roc = v;
      st.sl = seq;
    } else if (v === st.roc && seq > st.sl) st.sl = seq;

    if (this.gcm) {
      this.gcmIvRtp(ssrc, v, seq);
      const c = createCipheriv('aes-128-gcm', this.rtpKey, this.iv12, GCM_OPTIONS);
      c.setAAD(buf.subarray(off, off + hl));
      const ct = c.update(buf.subarray(off + hl, off + len));
      c.final();
      ct.copy(buf, off + hl);
      c.getAuthTag().copy(buf, off + len);
    } else {
      this.cmIv(this.rtpSalt, ssrc, v, seq);
      this.rtpCm!.xor(buf, off + hl, len - hl, this.iv);
      this.hmac(this.rtpAuth!, this.rtpMac!, this.rtpLongMac, buf, off, len, v).copy(buf, off + len, 0, this.rtpTagLength);
    }
    this.stats.rtpProtected++;
    return len + this.rtpTagLength;
  }

  /**
   * Authenticate and decrypt the SRTP packet `buf[off, off+len)` in place; returns the RTP length
   * (tag removed) or a negative SrtpError.
   */
  unprotectRtp(buf: Buffer, off: number, len: number): number {
    const tl = this.rtpTagLength;
    if (off < 0 || len < 12 + tl || off + len > buf.length) return this.malformed();
    const rtpLen = len - tl;
    const hl = rtpHeaderLength(buf, off, rtpLen);
    if (hl < 0) return this.malformed();
    const seq = (buf[off + 2] << 8) | buf[off + 3];
    const ssrc = readU32(buf, off + 8);
    const st = this.rtpRx.get(ssrc);
    // s3.3.1: index estimate; an unknown SSRC starts at ROC 0 with s_l = SEQ.
    const v = st === undefined ? 0 : estimateRoc(st.roc, st.sl, seq);
    const index = v * 65536 + seq;
    // s3.3.2: replay check before authentication.
    if (st !== undefined && st.window.check(index) !== ReplayCheck.OK) {
      this.stats.replayed++;
      return SrtpError.REPLAY;
    }
    if (v < 0) {
      this.stats.replayed++;
      return SrtpError.REPLAY;
    }
    if (st === undefined && this.rtpRx.size >= this.maxSsrcs) return SrtpError.SSRC_LIMIT;

    if (this.gcm) {
      this.gcmIvRtp(ssrc, v, seq);
      const d = createDecipheriv('aes-128-gcm', this.rtpKey, this.iv12, GCM_OPTIONS);
      d.setAAD(buf.subarray(off, off + hl));
      d.setAuthTag(buf.subarray(off + rtpLen, off + len));
      const pt = d.update(buf.subarray(off + hl, off + rtpLen));
      try {
        d.final();
      } catch {
        this.stats.authFailed++;
        return SrtpError.AUTH_FAILED;
      }
      pt.copy(buf, off + hl);
    } else {
      if (!tagEqual(this.hmac(this.rtpAuth!, this.rtpMac!, this.rtpLongMac, buf, off, rtpLen, v), buf, off + rtpLen, tl)) {
        this.stats.authFailed++;
        return SrtpError.AUTH_FAILED;
      }
      this.cmIv(this.rtpSalt, ssrc, v, seq);
      this.rtpCm!.xor(buf, off + hl, rtpLen - hl, this.iv);
    }
    // s3.3.1: update ROC and s_l, then the replay list, now that the packet is authentic.
    let s = st;
    if (s === undefined) {
      s = new RtpRxState();
      s.sl = seq;
      this.rtpRx.set(ssrc, s);
    } else if (v === s.roc + 1) {
      s.roc = v;
      s.sl = seq;
    } else if (v === s.roc && seq > s.sl) s.sl = seq;
    s.window.accept(index);
    this.stats.rtpUnprotected++;
    return rtpLen;
  }

  // ------------------------------------------------------------------ RTCP

  /**
   * Protect the (compound) RTCP packet `buf[off, off+len)` in place, appending E|SRTCP index and
   * the tag; returns len + 4 + rtcpTagLength or a negative SrtpError.
   */
  protectRtcp(buf: Buffer, off: number, len: number): number {
    if (off < 0 || len < 8 || off + len > buf.length || buf[off] >> 6 !== 2) return this.malformed();
    const tl = this.rtcpTagLength;
    if (off + len + 4 + tl > buf.length) return SrtpError.NO_ROOM;
    const ssrc = readU32(buf, off + 4);
    let st = this.rtcpTx.get(ssrc);
    if (st === undefined) {
      if (this.rtcpTx.size >= this.maxSsrcs) return SrtpError.SSRC_LIMIT;
      st = new RtcpTxState();
      this.rtcpTx.set(ssrc, st);
    }
    const index = st.index;
    st.index = (index + 1) & 0x7fffffff; // s3.4: 31-bit counter (a re-key is due before it wraps)
    const eIndex = (0x80000000 | index) >>> 0;
    if (this.gcm) {
      // RFC 7714 s9.1/s17: AAD = first 8 octets || E|index; output = header | ct | tag | E|index
      this.gcmIvRtcp(ssrc, index);
      buf.copy(this.aad, 0, off, off + 8);
      writeU32(this.aad, 8, eIndex);
      const c = createCipheriv('aes-128-gcm', this.rtcpKey, this.iv12, GCM_OPTIONS);
      c.setAAD(this.aad);
      const ct = c.update(buf.subarray(off + 8, off + len));
      c.final();
      ct.copy(buf, off + 8);
      c.getAuthTag().copy(buf, off + len);
      writeU32(buf, off + len + 16, eIndex);
    } else {
      this.cmIv(this.rtcpSalt, ssrc, 0, 0, index);
      this.rtcpCm!.xor(buf, off + 8, len - 8, this.iv);
      writeU32(buf, off + len, eIndex);
      this.hmac(this.rtcpAuth!, this.rtcpMac!, this.rtcpLongMac, buf, off, len + 4, -1).copy(buf, off + len + 4, 0, tl);
    }
    this.stats.rtcpProtected++;
    return len + 4 + tl;
  }

  /** Authenticate and decrypt an SRTCP packet in place; returns the RTCP length or an SrtpError. */
  unprotectRtcp(buf: Buffer, off: number, len: number): number {
    const tl = this.rtcpTagLength;
    if (off < 0 || len < 8 + 4 + tl || off + len > buf.length || buf[off] >> 6 !== 2) return this.malformed();
    const ssrc = readU32(buf, off + 4);
    let idxOff: number;
    let tagOff: number;
    let rtcpEnd: number;
    if (this.gcm) {
      idxOff = off + len - 4;
      tagOff = idxOff - tl;
      rtcpEnd = tagOff;
    } else {
      tagOff = off + len - tl;
      idxOff = tagOff - 4;
      rtcpEnd = idxOff;
    }
    const eIndex = readU32(buf, idxOff);
    const encrypted = eIndex >= 0x80000000;
    const index = eIndex & 0x7fffffff;
    const win = this.rtcpRx.get(ssrc);
    if (win !== undefined && win.check(index) !== ReplayCheck.OK) {
      this.stats.replayed++;
      return SrtpError.REPLAY;
    }
    if (win === undefined && this.rtcpRx.size >= this.maxSsrcs) return SrtpError.SSRC_LIMIT;

    if (this.gcm) {
      this.gcmIvRtcp(ssrc, index);
      const d = createDecipheriv('aes-128-gcm', this.rtcpKey, this.iv12, GCM_OPTIONS);
      if (encrypted) {
        buf.copy(this.aad, 0, off, off + 8);
        writeU32(this.aad, 8, eIndex);
        d.setAAD(this.aad);
      } else {
        d.setAAD(buf.subarray(off, rtcpEnd));
        d.setAAD(buf.subarray(idxOff, idxOff + 4));
      }
      d.setAuthTag(buf.subarray(tagOff, tagOff + tl));
      const pt = encrypted ? d.update(buf.subarray(off + 8, rtcpEnd)) : null;
      try {
        d.final();
      } catch {
        this.stats.authFailed++;
        return SrtpError.AUTH_FAILED;
      }
      if (pt !== null) pt.copy(buf, off + 8);
    } else {
      // s3.4: the tag covers header, encrypted portion and E|index
      if (!tagEqual(this.hmac(this.rtcpAuth!, this.rtcpMac!, this.rtcpLongMac, buf, off, tagOff - off, -1), buf, tagOff, tl)) {
        this.stats.authFailed++;
        return SrtpError.AUTH_FAILED;
      }
      if (encrypted) {
        this.cmIv(this.rtcpSalt, ssrc, 0, 0, index);
        this.rtcpCm!.xor(buf, off + 8, rtcpEnd - off - 8, this.iv);
      }
    }
    let w = win;
    if (w === undefined) {
      w = new ReplayWindow();
      this.rtcpRx.set(ssrc, w);
    }
    w.accept(index);
    this.stats.rtcpUnprotected++;
    return rtcpEnd - off;
  }

  // ------------------------------------------------------------------ helpers

  private malformed(): number {
    this.stats.malformed++;
    return SrtpError.MALFORMED;
  }

  /**
   * AES-CM IV (s4.1.1): IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), i the 48-bit packet
   * index (ROC || SEQ for SRTP, the 31-bit SRTCP index for SRTCP). Written into `this.iv`.
   *
   *   bytes  0..3   4..7   8..11     12..13   14..15
   *          salt   salt^  salt^     salt^    00 00   (block counter)
   *                 SSRC   i[47:16]  i[15:0]
   */
  private cmIv(salt: Buffer, ssrc: number, roc: number, seq: number, srtcpIndex = -1): void {
    const iv = this.iv;
    salt.copy(iv, 0, 0, 14);
    iv[14] = 0;
    iv[15] = 0;
    iv[4] ^= ssrc >>> 24;
    iv[5] ^= (ssrc >>> 16) & 0xff;
    iv[6] ^= (ssrc >>> 8) & 0xff;
    iv[7] ^= ssrc & 0xff;
    let hi: number; // i >> 16
    let lo: number; // i & 0xffff
    if (srtcpIndex >= 0) {
      hi = srtcpIndex >>> 16;
      lo = srtcpIndex & 0xffff;
    } else {
      hi = roc >>> 0;
      lo = seq;
    }
    iv[8] ^= hi >>> 24;
    iv[9] ^= (hi >>> 16) & 0xff;
    iv[10] ^= (hi >>> 8) & 0xff;
    iv[11] ^= hi & 0xff;
    iv[12] ^= lo >> 8;
    iv[13] ^= lo & 0xff;
  }

  /** RFC 7714 s8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt, 12 bytes in `this.iv12`. */
  private gcmIvRtp(ssrc: number, roc: number, seq: number): void {
    const iv = this.iv;
    iv[0] = 0;
    iv[1] = 0;
    writeU32(iv, 2, ssrc);
    writeU32(iv, 6, roc);
    iv[10] = seq >> 8;
    iv[11] = seq & 0xff;
    for (let i = 0; i < 12; i++) iv[i] ^= this.rtpSalt[i];
  }

  /** RFC 7714 s9.1: IV = (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt. */
  private gcmIvRtcp(ssrc: number, index: number): void {
    const iv = this.iv;
    iv[0] = 0;
    iv[1] = 0;
    writeU32(iv, 2, ssrc);
    iv[6] = 0;
    iv[7] = 0;
    writeU32(iv, 8, index);
    for (let i = 0; i < 12; i++) iv[i] ^= this.rtcpSalt[i];
  }

  /**
   * HMAC-SHA1 (s4.2.1) over `buf[off, off+len)` followed, for SRTP, by the 32-bit ROC (s4.2: the
   * authenticated portion is header || payload || ROC); `roc` -1 means SRTCP (nothing appended).
   * node:crypto's one-shot hash when available (fastest at every size, see srtp-hmac.ts), else the
   * JS HMAC for small packets; createHmac for the rest.
   */
  private hmac(key: KeyObject, mac: HmacSha1, longMac: OneShotHmacSha1 | undefined, buf: Buffer, off: number, len: number, roc: number): Buffer {
    if (longMac !== undefined && len <= ONE_SHOT_MAX) return longMac.compute(buf, off, len, roc);
    if (len <= NATIVE_THRESHOLD) return mac.compute(buf, off, len, roc);
    const h = createHmac('sha1', key);
    h.update(buf.subarray(off, off + len));
    if (roc >= 0) {
      writeU32(this.roc, 0, roc);
      h.update(this.roc);
    }
    return h.digest();
  }
}

/**
 * Both directions of one DTLS-SRTP association: `tx` protects what we send, `rx` unprotects what
 * we receive. The hot path uses tx/rx in place; the Buffer-returning methods below copy (one
 * allocation per packet) for callers that do not own a buffer with room, and match the PeerEndpoint
 * boundary of srtp-context.ts (null when a packet is refused; `stats` are the receive side's).
 */
export class SrtpSession {
  readonly tx: SrtpContext;
  readonly rx: SrtpContext;

  get stats(): SrtpStats {
    return this.rx.stats;
  }

  /** Protected copy of an RTP packet, or null (malformed, SSRC limit). */
  protectRtp(packet: Buffer): Buffer | null {
    const b = Buffer.allocUnsafe(packet.length + this.tx.rtpTagLength);
    packet.copy(b);
    const n = this.tx.protectRtp(b, 0, packet.length);
    return n < 0 ? null : b.subarray(0, n);
  }
  /** Decrypted copy of an SRTP packet, or null (malformed, replayed, failed authentication). */
  unprotectRtp(packet: Buffer): Buffer | null {
    const b = Buffer.from(packet);
    const n = this.rx.unprotectRtp(b, 0, b.length);
    return n < 0 ? null : b.subarray(0, n);
  }
  protectRtcp(packet: Buffer): Buffer | null {
    const b = Buffer.allocUnsafe(packet.length + 4 + this.tx.rtcpTagLength);
    packet.copy(b);
    const n = this.tx.protectRtcp(b, 0, packet.length);
    return n < 0 ? null : b.subarray(0, n);
  }
  unprotectRtcp(packet: Buffer): Buffer | null {
    const b = Buffer.from(packet);
    const n = this.rx.unprotectRtcp(b, 0, b.length);
    return n < 0 ? null : b.subarray(0, n);
  }

  constructor(
    profile: SrtpProfileId,
    local: { key: Buffer; salt: Buffer },
    remote: { key: Buffer; salt: Buffer },
    opts?: SrtpContextOptions,
  ) {
    this.tx = new SrtpContext(profile, local.key, local.salt, opts);
    this.rx = new SrtpContext(profile, remote.key, remote.salt, opts);
  }

  /**
   * From the DTLS exporter output (label "EXTRACTOR-dtls_srtp", RFC 5764 s4.2):
   * client_write_key | server_write_key | client_write_salt | server_write_salt.
   */
  static fromKeyingMaterial(profile: SrtpProfileId, material: Buffer, role: 'client' | 'server', opts?: SrtpContextOptions): SrtpSession {
    const { keyLength: k, saltLength: s } = srtpProfileSizes(profile);
    if (material.length < 2 * (k + s)) throw new RangeError(`DTLS-SRTP keying material needs ${2 * (k + s)} bytes`);
    const client = { key: material.subarray(0, k), salt: material.subarray(2 * k, 2 * k + s) };
    const server = { key: material.subarray(k, 2 * k), salt: material.subarray(2 * k + s, 2 * (k + s)) };
    return role === 'client' ? new SrtpSession(profile, client, server, opts) : new SrtpSession(profile, server, client, opts);
  }
}

/** Length of the DTLS-SRTP keying material for a profile (RFC 5764 s4.2). */
export function srtpKeyingMaterialLength(profile: SrtpProfileId): number {
  const { keyLength, saltLength } = srtpProfileSizes(profile);
  return 2 * (keyLength + saltLength);
}
