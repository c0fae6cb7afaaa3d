/**
 * Opus RED (RFC 2198, Janus `opusred`): when the peer sends audio as RED, the echo relays it as is,
 * but the recording gets the primary (newest) Opus frame of each packet as a plain Opus RTP packet,
 * so the -audio.mjr converts like any Opus recording. One scratch buffer, reused: no allocation.
 *
 *   block header (F=1): |F| block PT (7) | timestamp offset (14) | block length (10) |
 *   last header (F=0):  |F| block PT (7) |    then the redundant blocks, then the primary one
 */
import { RtpView } from './rtp.ts';

export class RedUnwrapper {
  readonly #view = new RtpView();
  /** Holds the last unwrapped packet: read `scratch[0, length)` right after unwrap(). */
  readonly scratch = Buffer.allocUnsafe(1500);

  /**
   * Write the primary block of the RED packet `buf` into `scratch` as an RTP packet (same header,
   * the block's payload type, no padding); returns its length, or -1 when `buf` is not usable RED.
   */
  unwrap(buf: Buffer): number {
    const v = this.#view;
    if (!v.wrap(buf)) return -1;
    const b = v.buf;
    const end = v.payloadOffset + v.payloadLength;
    let p = v.payloadOffset;
    let redundant = 0;
    while (p < end && b[p] & 0x80) {
      if (p + 4 > end) return -1;
      redundant += ((b[p + 2] & 0x03) << 8) | b[p + 3];
      p += 4;
    }
    if (p >= end) return -1;
    const pt = b[p] & 0x7f;
    const start = p + 1 + redundant;
    if (start > end) return -1;
    const hl = v.headerLength;
    const len = hl + (end - start);
    if (len > this.scratch.length) return -1;
    b.copy(this.scratch, 0, v.off, v.off + hl);
    b.copy(this.scratch, hl, start, end);
    this.scratch[0] &= 0xdf; // no padding
    this.scratch[1] = (this.scratch[1] & 0x80) | pt;
    return len;
  }
}

/** The primary Opus block of a recorded RED packet, as a new RTP packet (undefined: not usable RED). */
export function primaryOf(packet: Buffer, unwrapper: RedUnwrapper = new RedUnwrapper()): Buffer | undefined {
  const len = unwrapper.unwrap(packet);
  return len < 0 ? undefined : Buffer.from(unwrapper.scratch.subarray(0, len));
}
