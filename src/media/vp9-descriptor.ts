/**
 * VP9 payload descriptor view (RFC 9628 section 4.2), read in place over the RTP payload without
 * allocating: the fields an SFU needs to pick spatial and temporal layers.
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |I|P|L|F|B|E|V|Z| (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PICTURE ID  | (REQUIRED when I)
 *       +-+-+-+-+-+-+-+-+
 *  M:   | EXTENDED PID  | (when M: 15-bit picture id)
 *       +-+-+-+-+-+-+-+-+
 *  L:   |  TID  |U| SID |D| (when L)
 *       +-+-+-+-+-+-+-+-+
 *       |   TL0PICIDX   | (when L and F=0, non-flexible mode)
 *       +-+-+-+-+-+-+-+-+
 *  P,F: | P_DIFF      |N| (when P and F, up to 3 times)
 *       +-+-+-+-+-+-+-+-+
 *  V:   | SS            | (scalability structure, section 4.2.1)
 *
 * TID is 3 bits, then U (switching up point), 3 bits SID, then D (inter-layer dependency).
 * parse() validates every length against the buffer and never throws.
 */

export class Vp9Descriptor {
  /** Picture id present (I). */
  i = false;
  /** Inter-picture predicted (P): 0 means the layer frame references no earlier picture. */
  p = false;
  /** Layer indices present (L). */
  l = false;
  /** Flexible mode (F). */
  f = false;
  /** Start of a layer frame (B). */
  b = false;
  /** End of a layer frame (E). */
  e = false;
  /** Scalability structure present (V). */
  v = false;
  /** Not used for inter-layer prediction (Z). */
  z = false;
  /** 7- or 15-bit picture id, -1 when absent. */
  pictureId = -1;
  /** Temporal layer id, 0 when L is absent (a stream without layers is all base layer). */
  tid = 0;
  /** Spatial layer id, 0 when L is absent. */
  sid = 0;
  /** Switching up point (U). */
  u = false;
  /** Inter-layer dependency (D). */
  d = false;
  /** TL0PICIDX in non-flexible mode, -1 when absent. */
  tl0PicIdx = -1;
  /** Bytes of descriptor before the VP9 payload. */
  length = 0;

  /**
   * Read the descriptor at buf[off..off+len). Returns false (fields unspecified) when it is cut short
   * or malformed.
   */
  parse(buf: Buffer, off: number, len: number): boolean {
    if (!(off >= 0 && len >= 1 && off + len <= buf.length)) return false;
    const end = off + len;
    const d0 = buf[off];
    this.i = (d0 & 0x80) !== 0;
    this.p = (d0 & 0x40) !== 0;
    this.l = (d0 & 0x20) !== 0;
    this.f = (d0 & 0x10) !== 0;
    this.b = (d0 & 0x08) !== 0;
    this.e = (d0 & 0x04) !== 0;
    this.v = (d0 & 0x02) !== 0;
    this.z = (d0 & 0x01) !== 0;
    let p = off + 1;
    this.pictureId = -1;
    if (this.i) {
      if (p >= end) return false;
      const m = buf[p];
      if (m & 0x80) {
        if (p + 1 >= end) return false;
        this.pictureId = ((m & 0x7f) << 8) | buf[p + 1];
        p += 2;
      } else {
        this.pictureId = m;
        p += 1;
      }
    }
    this.tid = 0;
    this.sid = 0;
    this.u = false;
    this.d = false;
    this.tl0PicIdx = -1;
    if (this.l) {
      if (p >= end) return false;
      const lb = buf[p++];
      this.tid = lb >> 5;
      this.u = (lb & 0x10) !== 0;
      this.sid = (lb >> 1) & 0x07;
      this.d = (lb & 0x01) !== 0;
      if (!this.f) {
        if (p >= end) return false;
        this.tl0PicIdx = buf[p++];
      }
    }
    if (this.p && this.f) {
      // Up to three reference indices, each with N telling whether another follows.
      for (let n = 0; ; n++) {
        if (p >= end || n >= 3) return false;
        const diff = buf[p++];
        if ((diff & 0x01) === 0) break;
      }
    }
    if (this.v) {
      const at = skipScalabilityStructure(buf, p, end);
      if (at < 0) return false;
      p = at;
    }
    if (p > end) return false;
    this.length = p - off;
    return true;
  }
}

/** Skip an SS (RFC 9628 section 4.2.1) starting at `p`; the offset after it, or -1 if cut short. */
function skipScalabilityStructure(buf: Buffer, p: number, end: number): number {
  if (p >= end) return -1;
  const ss = buf[p++];
  const ns = (ss >> 5) + 1;
  if (ss & 0x10) p += 4 * ns; // Y: WIDTH and HEIGHT (16 bits each) per spatial layer
  if (ss & 0x08) {
    // G: N_G picture descriptions, each TID|U|R|-|- then R P_DIFF bytes.
    if (p >= end) return -1;
    const ng = buf[p++];
    for (let g = 0; g < ng; g++) {
      if (p >= end) return -1;
      const r = (buf[p++] >> 2) & 0x03;
      p += r;
    }
  }
  return p <= end ? p : -1;
}
