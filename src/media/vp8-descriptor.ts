/**
 * VP8 payload descriptor fields the simulcast echo needs (RFC 7741 s4.2), read and written in place
 * over the RTP payload without allocating:
 *
 *       0 1 2 3 4 5 6 7
 *      +-+-+-+-+-+-+-+-+
 *      |X|R|N|S|R| PID |
 *   X: |I|L|T|K| RSV   |
 *   I: |M| PictureID   |   (+1 byte when M: 15-bit PictureID)
 *   L: |   TL0PICIDX   |
 * T/K: |TID|Y| KEYIDX  |
 */

/** Temporal layer id (TID) of the packet, or -1 when the descriptor carries none (T=0) or is cut short. */
export function vp8TemporalId(buf: Buffer, off: number, len: number): number {
  if (len < 1) return -1;
  const end = off + len;
  const d0 = buf[off];
  if ((d0 & 0x80) === 0) return -1;
  let p = off + 1;
  if (p >= end) return -1;
  const x = buf[p++];
  if ((x & 0x20) === 0) return -1; // no T bit
  if (x & 0x80) {
    if (p >= end) return -1;
    p += buf[p] & 0x80 ? 2 : 1;
  }
  if (x & 0x40) p++;
  if (p >= end) return -1;
  return buf[p] >> 6;
}

/**
 * Keeps PictureID and TL0PICIDX continuous across a switch of source (simulcast substream), as a
 * receiver's VP8 reference finder expects: at a switch, the new source is re-based to continue right
 * after the last values sent; within a source the mapping is a fixed offset.
 */
export class Vp8DescriptorRewriter {
  #picOffset = 0;
  #tl0Offset = 0;
  #lastPic = -1;
  #lastTl0 = -1;
  #rebasePic = false;
  #rebaseTl0 = false;

  /** The next packet comes from another source. */
  switchSource(): void {
    this.#rebasePic = true;
    this.#rebaseTl0 = true;
  }

  reset(): void {
    this.#picOffset = 0;
    this.#tl0Offset = 0;
    this.#lastPic = -1;
    this.#lastTl0 = -1;
    this.#rebasePic = false;
    this.#rebaseTl0 = false;
  }

  /** Rewrite the descriptor of the payload `buf[off, off+len)` in place. */
  rewrite(buf: Buffer, off: number, len: number): void {
    if (len < 1) return;
    const end = off + len;
    if ((buf[off] & 0x80) === 0) return;
    let p = off + 1;
    if (p >= end) return;
    const x = buf[p++];
    if (x & 0x80) {
      if (p >= end) return;
      const long = (buf[p] & 0x80) !== 0;
      if (long && p + 1 >= end) return;
      const pic = long ? ((buf[p] & 0x7f) << 8) | buf[p + 1] : buf[p] & 0x7f;
      if (this.#rebasePic) {
        this.#rebasePic = false;
        if (this.#lastPic >= 0) this.#picOffset = (this.#lastPic + 1 - pic) & 0x7fff;
      }
      const out = (pic + this.#picOffset) & (long ? 0x7fff : 0x7f);
      if (long) {
        buf[p] = 0x80 | (out >> 8);
        buf[p + 1] = out & 0xff;
        p += 2;
      } else {
        buf[p] = out;
        p += 1;
      }
      this.#lastPic = out;
    }
    if (x & 0x40) {
      if (p >= end) return;
      const tl0 = buf[p];
      if (this.#rebaseTl0) {
        this.#rebaseTl0 = false;
        if (this.#lastTl0 >= 0) this.#tl0Offset = (this.#lastTl0 + 1 - tl0) & 0xff;
      }
      const out = (tl0 + this.#tl0Offset) & 0xff;
      buf[p] = out;
      this.#lastTl0 = out;
    }
  }
}
