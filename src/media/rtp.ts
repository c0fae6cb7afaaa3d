/**
 * A zero-copy view over an RTP packet held in a Buffer (RFC 3550 s5.1), with RFC 8285 header
 * extension look-up. One RtpView is meant to be reused for every packet of a hot path: `wrap()`
 * only stores offsets, so parsing allocates nothing and garbage makes `wrap()` return false.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |  CC x 32 bits
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   defined by profile (0xBEDE, 0x100x)  |        length         |  if X (s5.3.1)
 * |                  header extension (length x 32 bits)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  payload ...                  |  padding ... | padding count  |  if P
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/** Fixed RTP header size (RFC 3550 s5.1). */
export const RTP_HEADER_SIZE = 12;
/** RFC 8285 s4.2: one-byte header extension profile. */
export const EXT_PROFILE_ONE_BYTE = 0xbede;
/** RFC 8285 s4.3: two-byte header extension profile (the low 4 "appbits" are free). */
export const EXT_PROFILE_TWO_BYTE = 0x1000;

/**
 * Length of the RTP header (fixed part, CSRCs and header extension) of `buf[off, off+len)`, or -1
 * when the header is not a well-formed RTP version 2 header that fits (no padding check).
 */
export function rtpHeaderLength(buf: Buffer, off: number, len: number): number {
  if (len < RTP_HEADER_SIZE || off < 0 || off + len > buf.length) return -1;
  const b0 = buf[off];
  if (b0 >> 6 !== 2) return -1;
  let hl = RTP_HEADER_SIZE + (b0 & 0x0f) * 4;
  if (b0 & 0x10) {
    // s5.3.1: 16-bit profile, 16-bit length in 32-bit words, not counting the 4-byte header.
    if (hl + 4 > len) return -1;
    hl += 4 + ((buf[off + hl + 2] << 8) | buf[off + hl + 3]) * 4;
  }
  return hl > len ? -1 : hl;
}

export class RtpView {
  /** The wrapped buffer (valid only after a successful `wrap`). */
  buf: Buffer = Buffer.alloc(0);
  /** Offset of the RTP packet within `buf`. */
  off = 0;
  /** Length of the RTP packet. */
  len = 0;
  /** Header length: 12 + CSRCs + extension block. */
  headerLength = 0;
  /** Payload length, padding excluded. */
  payloadLength = 0;
  /** Number of padding bytes at the end (0 without the P bit). */
  paddingLength = 0;
  /** Absolute offset of the extension block's 4-byte header in `buf`, or -1 without the X bit. */
  extOffset = -1;
  /** Extension block data length in bytes (the block's length field x 4). */
  extLength = 0;
  /** Length of the element found by the last successful `findExtension`. */
  foundExtLength = 0;

  /**
   * Point the view at `buf[off, off+len)`. Returns false (and leaves the view unusable) when it is
   * not a valid RTP packet: version must be 2, CSRCs and the extension block must fit, and with the
   * P bit the last byte (padding count) must be non-zero and within the payload (s5.1).
   */
  wrap(buf: Buffer, off = 0, len = buf.length - off): boolean {
    const hl = rtpHeaderLength(buf, off, len);
    if (hl < 0) return false;
    let pad = 0;
    if (buf[off] & 0x20) {
      pad = buf[off + len - 1];
      if (pad === 0 || hl + pad > len) return false;
    }
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.headerLength = hl;
    this.paddingLength = pad;
    this.payloadLength = len - hl - pad;
    if (buf[off] & 0x10) {
      const e = off + RTP_HEADER_SIZE + (buf[off] & 0x0f) * 4;
      this.extOffset = e;
      this.extLength = hl - (e - off) - 4;
    } else {
      this.extOffset = -1;
      this.extLength = 0;
    }
    return true;
  }

  get padding(): boolean {
    return (this.buf[this.off] & 0x20) !== 0;
  }
  get hasExtension(): boolean {
    return this.extOffset >= 0;
  }
  get csrcCount(): number {
    return this.buf[this.off] & 0x0f;
  }
  csrc(i: number): number {
    const o = this.off + RTP_HEADER_SIZE + i * 4;
    return ((this.buf[o] << 24) | (this.buf[o + 1] << 16) | (this.buf[o + 2] << 8) | this.buf[o + 3]) >>> 0;
  }

  get marker(): boolean {
    return (this.buf[this.off + 1] & 0x80) !== 0;
  }
  set marker(m: boolean) {
    const o = this.off + 1;
    this.buf[o] = m ? this.buf[o] | 0x80 : this.buf[o] & 0x7f;
  }
  get payloadType(): number {
    return this.buf[this.off + 1] & 0x7f;
  }
  set payloadType(pt: number) {
    const o = this.off + 1;
    this.buf[o] = (this.buf[o] & 0x80) | (pt & 0x7f);
  }
  get sequenceNumber(): number {
    return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3];
  }
  set sequenceNumber(seq: number) {
    this.buf[this.off + 2] = (seq >> 8) & 0xff;
    this.buf[this.off + 3] = seq & 0xff;
  }
  get timestamp(): number {
    const b = this.buf;
    const o = this.off + 4;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }
  set timestamp(ts: number) {
    writeU32(this.buf, this.off + 4, ts);
  }
  get ssrc(): number {
    const b = this.buf;
    const o = this.off + 8;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }
  set ssrc(ssrc: number) {
    writeU32(this.buf, this.off + 8, ssrc);
  }
  /** Absolute offset of the payload in `buf`. */
  get payloadOffset(): number {
    return this.off + this.headerLength;
  }

  /** In-place rewrite of SSRC, sequence number and timestamp. */
  rewrite(ssrc: number, seq: number, ts: number): void {
    writeU32(this.buf, this.off + 8, ssrc);
    this.buf[this.off + 2] = (seq >> 8) & 0xff;
    this.buf[this.off + 3] = seq & 0xff;
    writeU32(this.buf, this.off + 4, ts);
  }

  /** The extension block's profile (0xBEDE one-byte, 0x100x two-byte), or -1 without one. */
  get extensionProfile(): number {
    if (this.extOffset < 0) return -1;
    return (this.buf[this.extOffset] << 8) | this.buf[this.extOffset + 1];
  }

  /**
   * Find header extension element `id` (RFC 8285): returns the absolute offset of its data in `buf`
   * and sets `foundExtLength`, or returns -1. One-byte form (s4.2): ID 1-14, 4-bit length-1; ID 0 is
   * padding, ID 15 ends the parse. Two-byte form (s4.3): 8-bit ID (0 = padding), 8-bit length.
   * Elements running past the block end are treated as absent.
   */
  findExtension(id: number): number {
    if (this.extOffset < 0 || id <= 0) return -1;
    const b = this.buf;
    const profile = (b[this.extOffset] << 8) | b[this.extOffset + 1];
    let p = this.extOffset + 4;
    const end = p + this.extLength;
    if (profile === EXT_PROFILE_ONE_BYTE) {
      if (id > 14) return -1;
      while (p < end) {
        const h = b[p];
        if (h === 0) {
          p++;
          continue;
        }
        const eid = h >> 4;
        if (eid === 15) return -1;
        const l = (h & 0x0f) + 1;
        if (p + 1 + l > end) return -1;
        if (eid === id) {
          this.foundExtLength = l;
          return p + 1;
        }
        p += 1 + l;
      }
      return -1;
    }
    if ((profile & 0xfff0) === EXT_PROFILE_TWO_BYTE) {
      if (id > 255) return -1;
      while (p < end) {
        const eid = b[p];
        if (eid === 0) {
          p++;
          continue;
        }
        if (p + 2 > end) return -1;
        const l = b[p + 1];
        if (p + 2 + l > end) return -1;
        if (eid === id) {
          this.foundExtLength = l;
          return p + 2;
        }
        p += 2 + l;
      }
    }
    return -1;
  }
}

/** Big-endian 32-bit write without Buffer's range checks (value taken modulo 2^32). */
export function writeU32(b: Buffer, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Big-endian 32-bit read (unsigned). */
export function readU32(b: Buffer, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** RFC 3550 s6.4.1/A.1 serial-number comparison: true when 16-bit `a` is newer than `b`. */
export function seqNewer(a: number, b: number): boolean {
  const d = (a - b) & 0xffff;
  return d !== 0 && d < 0x8000;
}
