/**
 * RTCP compound packet walker and field readers (RFC 3550 s6, RFC 4585 s6, RFC 5104 s4.3.1,
 * draft-alvestrand-rmcat-remb). Everything reads straight from the Buffer: one RtcpWalker is reused
 * per packet, nothing is allocated, and garbage ends the walk (`malformed`) instead of throwing.
 *
 * The walker is lenient where RFC 5506 allows it: a compound need not start with SR/RR (reduced-size
 * RTCP), and only the structure of each packet is checked (version 2, length and padding within the
 * datagram, item counts that fit), not the compound's composition (RFC 3550 A.2).
 *
 * Common header of every RTCP packet (s6.4.1); a compound packet is several of them back to back
 * (s6.1), `length` counting 32-bit words minus one:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P| RC/FMT  |      PT       |             length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 SSRC of packet sender                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  SSRC of media source (feedback, RFC 4585 s6.1)|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * :            Feedback Control Information (FCI)                 :
 */
import { readU32 } from './rtp.ts';

/** RTCP packet types (RFC 3550 s12.1, RFC 4585 s6.1, RFC 3611). */
export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;
export const RTCP_XR = 207;

/** What the walker recognised the current packet as. */
export const RtcpKind = {
  /** Structurally inconsistent with its type (e.g. RC larger than the packet): skip it. */
  INVALID: 0,
  SR: 1,
  RR: 2,
  SDES: 3,
  BYE: 4,
  APP: 5,
  /** RFC 4585 s6.2.1 generic NACK (RTPFB FMT 1). */
  NACK: 6,
  /** Transport-wide congestion control feedback (RTPFB FMT 15, draft-holmer-rmcat-transport-wide-cc). */
  TWCC: 7,
  /** RFC 4585 s6.3.1 Picture Loss Indication (PSFB FMT 1). */
  PLI: 8,
  /** RFC 5104 s4.3.1 Full Intra Request (PSFB FMT 4). */
  FIR: 9,
  /** draft-alvestrand-rmcat-remb (PSFB FMT 15, 'REMB'). */
  REMB: 10,
  XR: 11,
  /** Any other feedback message or packet type. */
  OTHER: 12,
} as const;
export type RtcpKindValue = (typeof RtcpKind)[keyof typeof RtcpKind];

/** RFC 5761 s4 / RFC 7983: in a muxed flow, RTCP has first byte 128-191 and packet type 192-223. */
export function isRtcp(buf: Buffer, off = 0, len = buf.length - off): boolean {
  if (len < 4 || off < 0 || off + len > buf.length) return false;
  const b0 = buf[off];
  const b1 = buf[off + 1];
  return b0 >= 128 && b0 < 192 && b1 >= 192 && b1 <= 223;
}

export class RtcpWalker {
  buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  /** Absolute offset of the current packet. */
  off = 0;
  /** Size in bytes of the current packet, header included, padding excluded. */
  size = 0;
  /** Packet type (200-207 ...). */
  pt = 0;
  /** The 5-bit RC/SC/FMT field. */
  fmt = 0;
  kind: RtcpKindValue = RtcpKind.INVALID;
  /**
   * Number of items of the current packet that fit in it: report blocks (SR/RR), SSRCs (BYE, REMB),
   * chunks (SDES), FCI entries (NACK, FIR).
   */
  count = 0;
  /** True when the walk stopped on a header that does not fit or is not version 2. */
  malformed = false;

  /** Start walking the compound packet `buf[off, off+len)`. */
  reset(buf: Buffer, off = 0, len = buf.length - off): this {
    this.buf = buf;
    const o = off < 0 ? 0 : off;
    this.pos = o;
    this.end = Math.min(buf.length, o + (len < 0 ? 0 : len));
    this.malformed = false;
    this.kind = RtcpKind.INVALID;
    this.size = 0;
    return this;
  }

  /** Advance to the next packet; false at the end or on a malformed header (see `malformed`). */
  next(): boolean {
    const b = this.buf;
    const p = this.pos;
    if (p >= this.end) return false;
    if (p + 4 > this.end || b[p] >> 6 !== 2) {
      this.malformed = true;
      this.pos = this.end;
      return false;
    }
    const total = (((b[p + 2] << 8) | b[p + 3]) + 1) * 4;
    if (p + total > this.end) {
      this.malformed = true;
      this.pos = this.end;
      return false;
    }
    let size = total;
    if (b[p] & 0x20) {
      // s6.4.1: the last octet counts the padding, itself included.
      const pad = b[p + total - 1];
      if (pad === 0 || pad > total - 4) {
        this.malformed = true;
        this.pos = this.end;
        return false;
      }
      size -= pad;
    }
    this.pos = p + total;
    this.off = p;
    this.size = size;
    this.pt = b[p + 1];
    this.fmt = b[p] & 0x1f;
    this.classify();
    return true;
  }

  private classify(): void {
    const b = this.buf;
    const o = this.off;
    const size = this.size;
    const fmt = this.fmt;
    let kind: RtcpKindValue = RtcpKind.OTHER;
    let count = 0;
    switch (this.pt) {
      case RTCP_SR: // s6.4.1: header, SSRC, 20-byte sender info, RC x 24-byte report blocks
        kind = size >= 28 + 24 * fmt ? RtcpKind.SR : RtcpKind.INVALID;
        count = fmt;
        break;
      case RTCP_RR: // s6.4.2: header, SSRC, RC x report blocks
        kind = size >= 8 + 24 * fmt ? RtcpKind.RR : RtcpKind.INVALID;
        count = fmt;
        break;
      case RTCP_SDES: // s6.5: SC chunks, read with SdesReader
        kind = RtcpKind.SDES;
        count = fmt;
        break;
      case RTCP_BYE: // s6.6: SC SSRC/CSRCs, optional reason
        kind = size >= 4 + 4 * fmt ? RtcpKind.BYE : RtcpKind.INVALID;
        count = fmt;
        break;
      case RTCP_APP:
        kind = size >= 12 ? RtcpKind.APP : RtcpKind.INVALID;
        break;
      case RTCP_XR:
        kind = size >= 8 ? RtcpKind.XR : RtcpKind.INVALID;
        break;
      case RTCP_RTPFB:
        if (size < 12) kind = RtcpKind.INVALID;
        else if (fmt === 1) {
          // RFC 4585 s6.2.1: one or more 32-bit PID+BLP entries
          count = (size - 12) >> 2;
          kind = count > 0 ? RtcpKind.NACK : RtcpKind.INVALID;
        } else if (fmt === 15) kind = size >= 20 ? RtcpKind.TWCC : RtcpKind.INVALID;
        break;
      case RTCP_PSFB:
        if (size < 12) kind = RtcpKind.INVALID;
        else if (fmt === 1) kind = RtcpKind.PLI; // RFC 4585 s6.3.1: no FCI
        else if (fmt === 4) {
          // RFC 5104 s4.3.1: one or more 8-byte (SSRC, seq nr, reserved) entries
          count = (size - 12) >> 3;
          kind = count > 0 ? RtcpKind.FIR : RtcpKind.INVALID;
        } else if (fmt === 15 && size >= 20 && b[o + 12] === 0x52 && b[o + 13] === 0x45 && b[o + 14] === 0x4d && b[o + 15] === 0x42) {
          // 'REMB', Num SSRC, BR Exp (6 bits), BR Mantissa (18 bits), SSRC feedback x Num SSRC
          count = b[o + 16];
          kind = size >= 20 + 4 * count ? RtcpKind.REMB : RtcpKind.INVALID;
        }
        break;
      default:
        break;
    }
    this.kind = kind;
    this.count = count;
  }
}

// ---- common fields (off = packet offset) ----

/** SSRC of the packet sender (SR, RR, RTPFB, PSFB, APP, XR; first SSRC of BYE). */
export function rtcpSenderSsrc(buf: Buffer, off: number): number {
  return readU32(buf, off + 4);
}
/** RFC 4585 s6.1: SSRC of the media source of a feedback message. */
export function rtcpMediaSsrc(buf: Buffer, off: number): number {
  return readU32(buf, off + 8);
}

// ---- SR sender info (s6.4.1) ----

/** NTP timestamp, most significant word (seconds since 1900). */
export function srNtpSeconds(buf: Buffer, off: number): number {
  return readU32(buf, off + 8);
}
/** NTP timestamp, least significant word (fraction). */
export function srNtpFraction(buf: Buffer, off: number): number {
  return readU32(buf, off + 12);
}
export function srRtpTimestamp(buf: Buffer, off: number): number {
  return readU32(buf, off + 16);
}
export function srPacketCount(buf: Buffer, off: number): number {
  return readU32(buf, off + 20);
}
export function srOctetCount(buf: Buffer, off: number): number {
  return readU32(buf, off + 24);
}

// ---- report blocks (s6.4.1) ----
//  SSRC_n | fraction lost (8) + cumulative lost (24, signed) | ext. highest seq | jitter | LSR | DLSR

/** Absolute offset of report block `i` of the walker's current SR/RR (i < walker.count). */
export function reportBlockOffset(w: RtcpWalker, i: number): number {
  return w.off + (w.pt === RTCP_SR ? 28 : 8) + 24 * i;
}
export function rbSsrc(buf: Buffer, rb: number): number {
  return readU32(buf, rb);
}
export function rbFractionLost(buf: Buffer, rb: number): number {
  return buf[rb + 4];
}
/** Cumulative number of packets lost: a signed 24-bit value. */
export function rbCumulativeLost(buf: Buffer, rb: number): number {
  const v = (buf[rb + 5] << 16) | (buf[rb + 6] << 8) | buf[rb + 7];
  return v & 0x800000 ? v - 0x1000000 : v;
}
export function rbHighestSeq(buf: Buffer, rb: number): number {
  return readU32(buf, rb + 8);
}
export function rbJitter(buf: Buffer, rb: number): number {
  return readU32(buf, rb + 12);
}
export function rbLastSr(buf: Buffer, rb: number): number {
  return readU32(buf, rb + 16);
}
export function rbDelaySinceLastSr(buf: Buffer, rb: number): number {
  return readU32(buf, rb + 20);
}

// ---- BYE (s6.6) ----

export function byeSsrc(buf: Buffer, off: number, i: number): number {
  return readU32(buf, off + 4 + 4 * i);
}

// ---- Generic NACK (RFC 4585 s6.2.1) ----
//  |            PID                |             BLP               |
// PID: a lost packet's sequence number; BLP bit i (LSB = 0) set: PID+i+1 lost too.

export function nackPid(buf: Buffer, off: number, i: number): number {
  const o = off + 12 + 4 * i;
  return (buf[o] << 8) | buf[o + 1];
}
export function nackBlp(buf: Buffer, off: number, i: number): number {
  const o = off + 14 + 4 * i;
  return (buf[o] << 8) | buf[o + 1];
}
/**
 * Expand the walker's current NACK into lost sequence numbers, written to `out` (at most
 * `out.length`). Returns the number written.
 */
export function nackExpand(w: RtcpWalker, out: Uint16Array | number[]): number {
  let n = 0;
  const max = out.length;
  for (let i = 0; i < w.count && n < max; i++) {
    const pid = nackPid(w.buf, w.off, i);
    const blp = nackBlp(w.buf, w.off, i);
    out[n++] = pid;
    for (let bit = 0; bit < 16 && n < max; bit++) {
      if (blp & (1 << bit)) out[n++] = (pid + bit + 1) & 0xffff;
    }
  }
  return n;
}

// ---- FIR (RFC 5104 s4.3.1.1) ----
//  | SSRC (target) | Seq nr. (8) | Reserved (24) |

export function firSsrc(buf: Buffer, off: number, i: number): number {
  return readU32(buf, off + 12 + 8 * i);
}
export function firSeqNr(buf: Buffer, off: number, i: number): number {
  return buf[off + 16 + 8 * i];
}

// ---- REMB (draft-alvestrand-rmcat-remb s2.2) ----
//  | 'R' 'E' 'M' 'B' | Num SSRC (8) | BR Exp (6) | BR Mantissa (18) | SSRC feedback ... |

/** Bitrate in bits per second: mantissa x 2^exp (may exceed 2^32, hence no shift). */
export function rembBitrate(buf: Buffer, off: number): number {
  const exp = buf[off + 17] >> 2;
  const mantissa = ((buf[off + 17] & 0x03) << 16) | (buf[off + 18] << 8) | buf[off + 19];
  return mantissa * 2 ** exp;
}
export function rembSsrc(buf: Buffer, off: number, i: number): number {
  return readU32(buf, off + 20 + 4 * i);
}

// ---- SDES (s6.5) ----

/** SDES item types (s6.5.1-6.5.8). */
export const SDES_CNAME = 1;

/**
 * Reads SDES chunks and items without allocating. Each chunk is an SSRC/CSRC followed by items
 * (type, length, text) ended by one or more zero octets up to the next 32-bit boundary (s6.5).
 *
 *   for (r.reset(w); r.nextChunk(); ) while (r.nextItem()) use(r.ssrc, r.itemType, r.itemOffset, r.itemLength)
 */
export class SdesReader {
  private buf: Buffer = Buffer.alloc(0);
  private base = 0;
  private p = 0;
  private end = 0;
  private chunksLeft = 0;
  private inChunk = false;
  ssrc = 0;
  itemType = 0;
  itemOffset = 0;
  itemLength = 0;

  reset(w: RtcpWalker): this {
    this.buf = w.buf;
    this.base = w.off;
    this.p = w.off + 4;
    this.end = w.off + w.size;
    this.chunksLeft = w.kind === RtcpKind.SDES ? w.count : 0;
    this.inChunk = false;
    return this;
  }

  nextChunk(): boolean {
    while (this.inChunk) this.nextItem();
    if (this.chunksLeft <= 0 || this.p + 4 > this.end) return false;
    this.ssrc = readU32(this.buf, this.p);
    this.p += 4;
    this.chunksLeft--;
    this.inChunk = true;
    return true;
  }

  nextItem(): boolean {
    if (!this.inChunk) return false;
    const b = this.buf;
    const p = this.p;
    if (p >= this.end) {
      this.inChunk = false;
      this.chunksLeft = 0;
      return false;
    }
    if (b[p] === 0) {
      // end of item list: skip the null octet(s) up to the next 32-bit boundary
      this.p = this.base + ((p - this.base + 4) & ~3);
      this.inChunk = false;
      return false;
    }
    if (p + 2 > this.end || p + 2 + b[p + 1] > this.end) {
      this.inChunk = false;
      this.chunksLeft = 0;
      this.p = this.end;
      return false;
    }
    this.itemType = b[p];
    this.itemLength = b[p + 1];
    this.itemOffset = p + 2;
    this.p = p + 2 + this.itemLength;
    return true;
  }
}
