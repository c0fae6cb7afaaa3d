/**
 * A single-producer single-consumer ring of variable-size records in a SharedArrayBuffer, to move
 * RTP payloads between the main thread and a mixer worker without postMessage (which clones and
 * allocates per message). Record: id (u32), length (u16), aux (u16), then the bytes, padded to 4.
 * A record that would not fit before the end of the buffer is preceded by a wrap marker.
 */

const HEADER_INTS = 2; // [write position, read position], in bytes, as Int32
const RECORD_HEADER = 8;
const WRAP = 0xffff;

export class SpscRing {
  readonly #idx: Int32Array;
  readonly #data: Buffer;
  readonly #cap: number;
  /** Records dropped because the ring was full (producer side). */
  overflows = 0;

  static allocate(capacity: number): SharedArrayBuffer {
    return new SharedArrayBuffer(HEADER_INTS * 4 + (capacity & ~3));
  }

  constructor(sab: SharedArrayBuffer) {
    this.#idx = new Int32Array(sab, 0, HEADER_INTS);
    this.#data = Buffer.from(sab, HEADER_INTS * 4);
    this.#cap = this.#data.length;
  }

  /** Append a record; false (and counted) when there is no room. */
  write(id: number, src: Uint8Array, off: number, len: number, aux = 0): boolean {
    if (len < 0 || len >= WRAP) return false;
    const need = RECORD_HEADER + ((len + 3) & ~3);
    const cap = this.#cap;
    let w = Atomics.load(this.#idx, 0);
    const r = Atomics.load(this.#idx, 1);
    const used = (w - r + cap) % cap;
    // Keep one record header's worth free so "full" never looks like "empty".
    const tail = cap - w;
    const wrapCost = tail < need ? tail : 0;
    if (used + need + wrapCost + RECORD_HEADER >= cap) {
      this.overflows++;
      return false;
    }
    const d = this.#data;
    if (wrapCost > 0) {
      if (tail >= RECORD_HEADER) d.writeUInt16LE(WRAP, w + 4);
      w = 0;
    }
    d.writeUInt32LE(id >>> 0, w);
    d.writeUInt16LE(len, w + 4);
    d.writeUInt16LE(aux & 0xffff, w + 6);
    for (let i = 0; i < len; i++) d[w + RECORD_HEADER + i] = src[off + i];
    w += need;
    if (w >= cap) w = 0;
    Atomics.store(this.#idx, 0, w);
    return true;
  }

  /**
   * Hand every waiting record to `fn(id, buf, off, len, aux)` (`buf` is the ring itself: use the
   * bytes during the call); returns the number of records read.
   */
  drain(fn: (id: number, buf: Buffer, off: number, len: number, aux: number) => void): number {
    const cap = this.#cap;
    const d = this.#data;
    const w = Atomics.load(this.#idx, 0);
    let r = Atomics.load(this.#idx, 1);
    let n = 0;
    while (r !== w) {
      if (cap - r < RECORD_HEADER || d.readUInt16LE(r + 4) === WRAP) {
        r = 0;
        continue;
      }
      const id = d.readUInt32LE(r);
      const len = d.readUInt16LE(r + 4);
      const aux = d.readUInt16LE(r + 6);
      fn(id, d, r + RECORD_HEADER, len, aux);
      r += RECORD_HEADER + ((len + 3) & ~3);
      if (r >= cap) r = 0;
      n++;
    }
    Atomics.store(this.#idx, 1, r);
    return n;
  }
}
