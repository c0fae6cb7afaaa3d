/**
 * Keyframe detection on RTP payloads (the bytes after the RTP header, padding excluded: pass
 * `view.buf, view.payloadOffset, view.payloadLength`). Every read is bounds-checked against
 * `off + len`; garbage yields false, never an exception, and nothing is allocated.
 */

function inBounds(buf: Buffer, off: number, len: number): boolean {
  return off >= 0 && len > 0 && off + len <= buf.length;
}

/**
 * VP8 (RFC 7741). A keyframe starts in the packet whose payload descriptor (s4.2) has S=1 and
 * PID=0 and whose VP8 payload header (s4.3) has P=0 (inverse key frame flag); the key frame header
 * then carries the start code 0x9d 0x01 0x2a (RFC 6386 s9.1), checked as well.
 *
 *       0 1 2 3 4 5 6 7
 *      +-+-+-+-+-+-+-+-+
 *      |X|R|N|S|R| PID |   descriptor
 *   X: |I|L|T|K| RSV   |
 *   I: |M| PictureID   |   (+1 byte if M)
 *   L: |   TL0PICIDX   |
 * T/K: |TID|Y| KEYIDX  |
 *      +-+-+-+-+-+-+-+-+
 *      |Size0|H| VER |P|   payload header, then Size1, Size2, start code 9d 01 2a
 */
export function isVp8Keyframe(buf: Buffer, off: number, len: number): boolean {
  if (!inBounds(buf, off, len)) return false;
  const end = off + len;
  const d0 = buf[off];
  if ((d0 & 0x10) === 0 || (d0 & 0x07) !== 0) return false; // S=1, PID=0
  let p = off + 1;
  if (d0 & 0x80) {
    if (p >= end) return false;
    const x = buf[p++];
    if (x & 0x80) {
      if (p >= end) return false;
      p += buf[p] & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    }
    if (x & 0x40) p++; // TL0PICIDX
    if (x & 0x30) p++; // TID/Y/KEYIDX
  }
  // payload header (3 bytes) + start code (3 bytes)
  if (p + 6 > end) return false;
  if (buf[p] & 0x01) return false;
  return buf[p + 3] === 0x9d && buf[p + 4] === 0x01 && buf[p + 5] === 0x2a;
}

/**
 * VP9 (RFC 9628 s4.2). Keyframe: start of a frame (B=1) that is not inter-picture predicted (P=0)
 * in the base spatial layer (SID=0 when L is present). When the VP9 uncompressed header follows
 * (VP9 bitstream spec s6.2: frame_marker=2, profile bits, show_existing_frame, frame_type) it must
 * also say KEY_FRAME.
 *
 *       +-+-+-+-+-+-+-+-+
 *       |I|P|L|F|B|E|V|Z|
 *   I:  |M| PICTURE ID  |  (+1 byte if M)
 *   L:  | TID |U| SID |D|
 *       |   TL0PICIDX   |  (non-flexible mode, F=0)
 *  F&P: | P_DIFF      |N|  (up to 3, N = another follows)
 *   V:  | N_S |Y|G|-|-|-|  scalability structure:
 *       Y: (WIDTH 16, HEIGHT 16) x (N_S+1);  G: N_G, then N_G x (|TID|U| R |-|-|, R x P_DIFF)
 */
export function isVp9Keyframe(buf: Buffer, off: number, len: number): boolean {
  if (!inBounds(buf, off, len)) return false;
  const end = off + len;
  const d0 = buf[off];
  const I = d0 & 0x80;
  const P = d0 & 0x40;
  const L = d0 & 0x20;
  const F = d0 & 0x10;
  const B = d0 & 0x08;
  const V = d0 & 0x02;
  if (P || !B) return false;
  let p = off + 1;
  if (I) {
    if (p >= end) return false;
    p += buf[p] & 0x80 ? 2 : 1;
  }
  if (L) {
    if (p >= end) return false;
    if ((buf[p] >> 1) & 0x07) return false; // SID != 0
    p += F ? 1 : 2; // layer byte (+ TL0PICIDX in non-flexible mode)
  }
  // F && P would carry P_DIFF entries; P=0 here so there are none.
  if (V) {
    if (p >= end) return false;
    const ss = buf[p++];
    const ns = (ss >> 5) + 1;
    if (ss & 0x10) p += 4 * ns;
    if (ss & 0x08) {
      if (p >= end) return false;
      let ng = buf[p++];
      while (ng-- > 0) {
        if (p >= end) return false;
        const r = (buf[p] >> 2) & 0x03;
        p += 1 + r;
      }
    }
  }
  if (p > end) return false;
  if (p === end) return true; // descriptor only: trust it
  const h = buf[p];
  if (h >> 6 !== 2) return false; // frame_marker
  const profile = ((h >> 4) & 1) << 1 | ((h >> 5) & 1);
  if (profile === 3) {
    if (h & 0x08) return false; // reserved_zero
    if (h & 0x04) return false; // show_existing_frame
    return (h & 0x02) === 0; // frame_type
  }
  if (h & 0x08) return false; // show_existing_frame
  return (h & 0x04) === 0; // frame_type: 0 = KEY_FRAME
}

/** H.264 NAL unit types that start a decodable picture: IDR slice (5) and SPS (7). */
function h264KeyNal(type: number): boolean {
  return type === 5 || type === 7;
}

/**
 * H.264 (RFC 6184). NAL header |F|NRI| Type | (s5.3). Keyframe when the packet holds an IDR slice
 * or an SPS: as a single NAL unit (types 1-23, s5.6), inside a STAP-A/B aggregate (24/25, s5.7.1:
 * [DON,] then 16-bit size + NAL unit, repeated), or as the first fragment of an FU-A/B (28/29,
 * s5.8: FU indicator, FU header |S|E|R| Type |[, DON]).
 */
export function isH264Keyframe(buf: Buffer, off: number, len: number): boolean {
  if (!inBounds(buf, off, len)) return false;
  const end = off + len;
  const type = buf[off] & 0x1f;
  if (type >= 1 && type <= 23) return h264KeyNal(type);
  if (type === 24 || type === 25) {
    let p = off + 1 + (type === 25 ? 2 : 0);
    while (p + 2 < end) {
      const size = (buf[p] << 8) | buf[p + 1];
      p += 2;
      if (size === 0 || p + size > end) return false;
      if (h264KeyNal(buf[p] & 0x1f)) return true;
      p += size;
    }
    return false;
  }
  if (type === 28 || type === 29) {
    if (off + 2 > end) return false;
    const fu = buf[off + 1];
    return (fu & 0x80) !== 0 && h264KeyNal(fu & 0x1f);
  }
  return false;
}

/** Dispatch on a codec name as in SDP/Janus ('vp8', 'vp9', 'h264', any case). Others: false. */
export function isKeyframe(codec: string, buf: Buffer, off: number, len: number): boolean {
  switch (codec) {
    case 'vp8':
    case 'VP8':
      return isVp8Keyframe(buf, off, len);
    case 'vp9':
    case 'VP9':
      return isVp9Keyframe(buf, off, len);
    case 'h264':
    case 'H264':
      return isH264Keyframe(buf, off, len);
    default: {
      const c = codec.toLowerCase();
      if (c === 'vp8') return isVp8Keyframe(buf, off, len);
      if (c === 'vp9') return isVp9Keyframe(buf, off, len);
      if (c === 'h264') return isH264Keyframe(buf, off, len);
      return false;
    }
  }
}
