/**
 * Audio helpers for tests and benches: sine tone frames and a Goertzel detector (the power of one
 * frequency in a block of samples), to tell which tones a decoded mix contains.
 */

/** Fills `out` with `n` samples of a sine at `freq` Hz, continuing from sample index `start`. */
export function sineFrame(out: Int16Array, n: number, freq: number, rate: number, start: number, amplitude = 8000): void {
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * (start + i)) / rate));
}

/** Goertzel: the amplitude of `freq` in `pcm[off, off+n)` (channel `ch` of `channels`), normalised to a sine's peak. */
export function toneAmplitude(pcm: Int16Array, freq: number, rate: number, off = 0, n = pcm.length - off, channels = 1, ch = 0): number {
  const k = (2 * Math.PI * freq) / rate;
  const coeff = 2 * Math.cos(k);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = pcm[(off + i) * channels + ch] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / n;
}

/** Decibels of a ratio of amplitudes. */
export function db(ratio: number): number {
  return 20 * Math.log10(Math.max(ratio, 1e-9));
}
