/**
 * HMAC-SHA1 (RFC 2104, SHA-1 per FIPS 180-4 s6.1) for SRTP authentication (RFC 3711 s4.2.1),
 * computed in JavaScript over preallocated state: no allocation per packet.
 *
 * Why not node:crypto here: createHmac + update + digest costs about 2-4 us per packet whatever its
 * size (an object, a key import, three native crossings and a result Buffer), while the work for an
 * audio-sized packet is three SHA-1 blocks. HMAC(K, m) = H((K^opad) || H((K^ipad) || m)); the
 * states after the single K^ipad and K^opad blocks are computed once per key, so a packet costs
 * ceil((len + 4 + 9) / 64) + 1 compressions. Where node:crypto has the one-shot `hash()` (Node
 * 20.12+), OneShotHmacSha1 below is faster at every SRTP size (60 bytes: about 0.9 against 1.3 us;
 * 1012 bytes: 1.8 against 7 us), so SrtpContext uses this class only without it, and only up to
 * `NATIVE_THRESHOLD` bytes (createHmac past that).
 */
import { hash } from 'node:crypto';

/** Without one-shot hashing, lengths above this go to createHmac (crossover measured at 400-500 bytes). */
export const NATIVE_THRESHOLD = 400;

export class HmacSha1 {
  private readonly innerState = new Int32Array(5);
  private readonly outerState = new Int32Array(5);
  private readonly h = new Int32Array(5);
  private readonly w = new Int32Array(80);
  private readonly tail = new Uint8Array(128);
  /** The 20-byte MAC of the last `compute` call. */
  readonly digest = Buffer.alloc(20);

  /** `key`: at most 64 bytes (SRTP session auth keys are 20). */
  constructor(key: Buffer) {
    if (key.length > 64) throw new RangeError('HMAC-SHA1 key longer than a block');
    const pad = new Uint8Array(64);
    for (const [state, byte] of [
      [this.innerState, 0x36],
      [this.outerState, 0x5c],
    ] as const) {
      pad.fill(byte);
      for (let i = 0; i < key.length; i++) pad[i] = key[i] ^ byte;
      this.init();
      this.block(pad, 0);
      state.set(this.h);
    }
  }

  /**
   * MAC of `buf[off, off+len)` followed by the 32-bit big-endian `suffix` when `suffix >= 0` (the
   * ROC for SRTP, s4.2); the result lands in `this.digest`.
   */
  compute(buf: Uint8Array, off: number, len: number, suffix: number): Buffer {
    const h = this.h;
    h.set(this.innerState);
    const full = len >> 6;
    for (let i = 0; i < full; i++) this.block(buf, off + (i << 6));
    // tail: remaining bytes, suffix, 0x80, zeros, 64-bit bit length (ipad block included)
    const t = this.tail;
    const rem = len & 63;
    let n = 0;
    for (let i = off + (full << 6), e = off + len; i < e; i++) t[n++] = buf[i];
    let msgLen = len;
    if (suffix >= 0) {
      t[n++] = (suffix >>> 24) & 0xff;
      t[n++] = (suffix >>> 16) & 0xff;
      t[n++] = (suffix >>> 8) & 0xff;
      t[n++] = suffix & 0xff;
      msgLen += 4;
    }
    t[n++] = 0x80;
    const blocks = rem + (suffix >= 0 ? 4 : 0) + 9 > 64 ? 2 : 1;
    const end = blocks << 6;
    while (n < end - 8) t[n++] = 0;
    const bits = (msgLen + 64) * 8;
    const hi = Math.floor(bits / 0x100000000);
    t[end - 8] = (hi >>> 24) & 0xff;
    t[end - 7] = (hi >>> 16) & 0xff;
    t[end - 6] = (hi >>> 8) & 0xff;
    t[end - 5] = hi & 0xff;
    t[end - 4] = (bits >>> 24) & 0xff;
    t[end - 3] = (bits >>> 16) & 0xff;
    t[end - 2] = (bits >>> 8) & 0xff;
    t[end - 1] = bits & 0xff;
    this.block(t, 0);
    if (blocks === 2) this.block(t, 64);
    // outer: H(K^opad || inner digest): one block, 20 + 64 bytes = 672 bits
    for (let i = 0; i < 5; i++) {
      const v = h[i];
      t[i * 4] = v >>> 24;
      t[i * 4 + 1] = (v >>> 16) & 0xff;
      t[i * 4 + 2] = (v >>> 8) & 0xff;
      t[i * 4 + 3] = v & 0xff;
    }
    t[20] = 0x80;
    for (let i = 21; i < 62; i++) t[i] = 0;
    t[62] = 672 >> 8;
    t[63] = 672 & 0xff;
    h.set(this.outerState);
    this.block(t, 0);
    const d = this.digest;
    for (let i = 0; i < 5; i++) {
      const v = h[i];
      d[i * 4] = v >>> 24;
      d[i * 4 + 1] = (v >>> 16) & 0xff;
      d[i * 4 + 2] = (v >>> 8) & 0xff;
      d[i * 4 + 3] = v & 0xff;
    }
    return d;
  }

  private init(): void {
    const h = this.h;
    h[0] = 0x67452301;
    h[1] = 0xefcdab89 | 0;
    h[2] = 0x98badcfe | 0;
    h[3] = 0x10325476;
    h[4] = 0xc3d2e1f0 | 0;
  }

  /** SHA-1 compression of the 64-byte block at `b[p]` into `this.h` (FIPS 180-4 s6.1.2). */
  private block(b: Uint8Array, p: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++, p += 4) w[i] = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    const h = this.h;
    let a = h[0];
    let bb = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    // four rounds of 20 steps: Ch, Parity, Maj, Parity (FIPS 180-4 s4.1.1, constants s4.2.1)
    let i = 0;
    for (; i < 20; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (~bb & d)) + e + 0x5a827999 + w[i]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = t;
    }
    for (; i < 40; i++) {
      const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0x6ed9eba1 + w[i]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = t;
    }
    for (; i < 60; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (bb & d) | (c & d)) + e - 0x70e44324 + w[i]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = t;
    }
    for (; i < 80; i++) {
      const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e - 0x359d3e2a + w[i]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = t;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + bb) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
  }
}

/** Largest authenticated length OneShotHmacSha1 takes (longer ones go to createHmac). */
export const ONE_SHOT_MAX = 2048;

/**
 * HMAC-SHA1 for long packets with node:crypto's one-shot `hash()` (Node 20.12+): the message is
 * copied after a preset K^ipad block and hashed in one native call, then K^opad || inner digest in a
 * second. Against createHmac + update + digest this skips the Hmac object and its key set-up per
 * packet (1000 bytes: about 3.0 against 4.4 us here). Same result as RFC 2104 HMAC.
 *
 * The digests come back as 'binary' (latin1) strings written into preallocated buffers: a Buffer
 * result costs an ArrayBuffer with its own native backing store per call, and `hash()` normalises
 * the 'buffer' encoding through a lower-casing slow path; a 20-character string is a plain heap
 * object (1012 bytes: about 1.5 against 3.2 us per MAC, and less for the GC to sweep).
 */
export class OneShotHmacSha1 {
  private readonly inner = Buffer.alloc(64 + ONE_SHOT_MAX + 4);
  private readonly outer = Buffer.alloc(64 + 20);
  /** inner[0, n) for each message end n, made once (no view per packet). */
  private readonly views: Buffer[] = [];
  /** The 20-byte MAC of the last `compute` call. */
  readonly digest = Buffer.alloc(20);

  /** `key`: at most 64 bytes (SRTP session auth keys are 20). */
  constructor(key: Buffer) {
    if (key.length > 64) throw new RangeError('HMAC-SHA1 key longer than a block');
    this.inner.fill(0x36, 0, 64);
    this.outer.fill(0x5c, 0, 64);
    for (let i = 0; i < key.length; i++) {
      this.inner[i] ^= key[i];
      this.outer[i] ^= key[i];
    }
  }

  /** Whether one-shot hashing is available here (Node 20.12+). */
  static get supported(): boolean {
    return typeof hash === 'function';
  }

  /**
   * MAC of `buf[off, off+len)` then the 32-bit `suffix` when `suffix >= 0`; len <= ONE_SHOT_MAX.
   * The result lands in `this.digest` (valid until the next call).
   */
  compute(buf: Buffer, off: number, len: number, suffix: number): Buffer {
    const m = this.inner;
    buf.copy(m, 64, off, off + len);
    let end = 64 + len;
    if (suffix >= 0) {
      m.writeUInt32BE(suffix >>> 0, end);
      end += 4;
    }
    let message = this.views[end];
    if (message === undefined) {
      message = m.subarray(0, end);
      this.views[end] = message;
    }
    this.outer.write(hash('sha1', message, 'binary'), 64, 20, 'latin1');
    this.digest.write(hash('sha1', this.outer, 'binary'), 0, 20, 'latin1');
    return this.digest;
  }
}
