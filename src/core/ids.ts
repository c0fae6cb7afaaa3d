import { randomBytes } from 'node:crypto';

/** A random positive integer below 2^53, safe as a JSON number in every client (JANUS-REFERENCE 1). */
export function randomId53(): number {
  for (;;) {
    const b = randomBytes(8);
    const hi = b.readUInt32BE(0) & 0x1fffff; // 21 bits
    const lo = b.readUInt32BE(4);
    const id = hi * 0x100000000 + lo;
    if (id > 0) return id;
  }
}

/** A fresh id not present in `taken`. */
export function freshId(taken: { has(id: number): boolean }): number {
  for (;;) {
    const id = randomId53();
    if (!taken.has(id)) return id;
  }
}
