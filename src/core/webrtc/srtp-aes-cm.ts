/**
 * AES in Counter Mode as SRTP uses it (RFC 3711 s4.1.1): keystream block j is
 * AES_k(IV + j), IV a 128-bit value whose low 16 bits are the block counter, so one packet's
 * keystream is at most 2^16 blocks. The data is XORed with the keystream in place.
 *
 * node:crypto has no "update into this buffer" and a Cipheriv cannot be re-seeded, so instead of
 * one createCipheriv per packet (key schedule + object, about 2 us) this keeps ONE persistent
 * AES-128-ECB cipher (ECB is stateless per block), writes the counter blocks into a preallocated
 * aligned buffer, encrypts them in one update() (its output Buffer is the only allocation) and
 * XORs 32 bits at a time. Measured on this machine: 100-byte payload 0.9 us against 2.3 us with a
 * fresh aes-128-ctr cipher; 1200 bytes about even (see bench/media/run.ts).
 */
import { createCipheriv, type Cipher } from 'node:crypto';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class AesCm {
  private readonly ecb: Cipher;
  private blocks: Buffer;
  private blocks32: Int32Array;
  /** Cached views blocks[0, 16 n) for n blocks, so update() gets one without allocating. */
  private views: Buffer[] = [];

  /** `key`: 16-byte AES-128 session key. */
  constructor(key: Buffer) {
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
    const ab = new ArrayBuffer(96 * 16);
    this.blocks = Buffer.from(ab);
    this.blocks32 = new Int32Array(ab);
  }

  /**
   * XOR `buf[off, off+len)` with the keystream starting at counter block `iv` (16 bytes; its low
   * 16 bits plus the block index must not pass 0xffff, which SRTP guarantees: they start at 0).
   */
  xor(buf: Buffer, off: number, len: number, iv: Buffer): void {
    if (len <= 0) return;
    const nb = (len + 15) >> 4;
    if (nb * 16 > this.blocks.length) this.growBlocks(nb);
    this.fillCounters(iv, nb);
    let view = this.views[nb];
    if (view === undefined) {
      view = this.blocks.subarray(0, nb * 16);
      this.views[nb] = view;
    }
    const ks = this.ecb.update(view);
    const start = buf.byteOffset + off;
    const words = len >> 2;
    if (words > 0 && (start & 3) === 0 && (ks.byteOffset & 3) === 0) {
      const d = new Int32Array(buf.buffer, start, words);
      const k = new Int32Array(ks.buffer, ks.byteOffset, words);
      for (let i = 0; i < words; i++) d[i] ^= k[i];
      for (let i = words << 2; i < len; i++) buf[off + i] ^= ks[i];
    } else {
      for (let i = 0; i < len; i++) buf[off + i] ^= ks[i];
    }
  }

  private fillCounters(iv: Buffer, nb: number): void {
    const base = (iv[14] << 8) | iv[15];
    if (LITTLE_ENDIAN) {
      const w = this.blocks32;
      const w0 = iv[0] | (iv[1] << 8) | (iv[2] << 16) | (iv[3] << 24);
      const w1 = iv[4] | (iv[5] << 8) | (iv[6] << 16) | (iv[7] << 24);
      const w2 = iv[8] | (iv[9] << 8) | (iv[10] << 16) | (iv[11] << 24);
      const w3 = iv[12] | (iv[13] << 8);
      for (let b = 0, j = 0; b < nb; b++, j += 4) {
        const c = (base + b) & 0xffff;
        w[j] = w0;
        w[j + 1] = w1;
        w[j + 2] = w2;
        w[j + 3] = w3 | ((c >> 8) << 16) | ((c & 0xff) << 24);
      }
    } else {
      const bl = this.blocks;
      for (let b = 0; b < nb; b++) {
        const o = b * 16;
        iv.copy(bl, o, 0, 14);
        const c = (base + b) & 0xffff;
        bl[o + 14] = c >> 8;
        bl[o + 15] = c & 0xff;
      }
    }
  }

  private growBlocks(nb: number): void {
    const ab = new ArrayBuffer(nb * 16);
    this.blocks = Buffer.from(ab);
    this.blocks32 = new Int32Array(ab);
    this.views = [];
  }
}
