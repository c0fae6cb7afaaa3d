/**
 * Rate conversion between G.711's 8 kHz and the room rate, one 20 ms frame at a time: linear
 * interpolation going up, a box average going down (enough for narrowband telephone audio).
 */

/** `src` (srcN samples) to `dst` (dstN samples), dstN > srcN; `prev` is the last sample of the previous frame. */
export function upsampleLinear(src: Int16Array, srcN: number, dst: Int16Array, dstN: number, prev: number): void {
  const step = srcN / dstN;
  for (let i = 0; i < dstN; i++) {
    // Position in the source, shifted half a source sample back so the frame joins the previous one.
    const pos = (i + 1) * step - 1;
    const i0 = Math.floor(pos);
    const frac = pos - i0;
    const a = i0 < 0 ? prev : src[i0];
    const b = src[i0 + 1 < srcN ? i0 + 1 : srcN - 1];
    dst[i] = a + (b - a) * frac;
  }
}

/** `src` (srcN samples) to `dst` (dstN samples), dstN < srcN, averaging each output's span. */
export function downsampleAverage(src: Int16Array, srcN: number, dst: Int16Array, dstN: number): void {
  const ratio = srcN / dstN;
  for (let i = 0; i < dstN; i++) {
    const from = Math.floor(i * ratio);
    const to = Math.max(from + 1, Math.floor((i + 1) * ratio));
    let sum = 0;
    for (let k = from; k < to; k++) sum += src[k];
    dst[i] = sum / (to - from);
  }
}
