/**
 * G.711 (ITU-T G.711) A-law and mu-law, by lookup tables built once: decoding is one table read,
 * encoding one read in a 16K table indexed by the top 14 bits of the linear sample.
 */

function alawToLinear(a: number): number {
  a ^= 0x55;
  const seg = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t += seg === 0 ? 8 : 0x108;
  if (seg > 1) t <<= seg - 1;
  return a & 0x80 ? t : -t;
}

function ulawToLinear(u: number): number {
  u = ~u & 0xff;
  let t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

function linearToAlaw(pcm: number): number {
  let mask: number;
  if (pcm >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  const ends = [0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff];
  let seg = 0;
  while (seg < 8 && pcm > ends[seg]) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let a = seg << 4;
  a |= seg < 2 ? (pcm >> 4) & 0x0f : (pcm >> (seg + 3)) & 0x0f;
  return a ^ mask;
}

function linearToUlaw(pcm: number): number {
  const BIAS = 0x84;
  let mask: number;
  if (pcm < 0) {
    pcm = BIAS - pcm - 1;
    mask = 0x7f;
  } else {
    pcm += BIAS;
    mask = 0xff;
  }
  if (pcm > 0x7fff) pcm = 0x7fff;
  const ends = [0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff];
  let seg = 0;
  while (seg < 8 && pcm > ends[seg]) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((pcm >> (seg + 3)) & 0x0f)) ^ mask;
}

const ALAW_DECODE = new Int16Array(256);
const ULAW_DECODE = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  ALAW_DECODE[i] = alawToLinear(i);
  ULAW_DECODE[i] = ulawToLinear(i);
}
const ALAW_ENCODE = new Uint8Array(16384);
const ULAW_ENCODE = new Uint8Array(16384);
for (let i = 0; i < 16384; i++) {
  const v = (i - 8192) << 2;
  ALAW_ENCODE[i] = linearToAlaw(v);
  ULAW_ENCODE[i] = linearToUlaw(v);
}

export type G711Law = 'pcma' | 'pcmu';

/** Decode `len` G.711 bytes into `out`; returns samples written. */
export function g711Decode(law: G711Law, src: Uint8Array, off: number, len: number, out: Int16Array): number {
  const table = law === 'pcma' ? ALAW_DECODE : ULAW_DECODE;
  const n = Math.min(len, out.length);
  for (let i = 0; i < n; i++) out[i] = table[src[off + i]];
  return n;
}

/** Encode `samples` of `pcm` into `out`; returns bytes written. */
export function g711Encode(law: G711Law, pcm: Int16Array, samples: number, out: Uint8Array): number {
  const table = law === 'pcma' ? ALAW_ENCODE : ULAW_ENCODE;
  const n = Math.min(samples, out.length);
  for (let i = 0; i < n; i++) out[i] = table[(pcm[i] >> 2) + 8192];
  return n;
}
