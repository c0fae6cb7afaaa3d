/**
 * SRTP packet index estimation (RFC 3711 s3.3.1 and Appendix A) and the replay list (s3.3.2).
 */

/**
 * Guess the rollover counter v of a packet with sequence number `seq`, given the receiver's
 * current ROC and highest sequence number s_l (RFC 3711 Appendix A). The packet index is then
 * 2^16 * v + seq. v may be roc - 1 (a late packet from before the last wrap; -1 when roc is 0,
 * which no valid packet can have) or roc + 1 (the sequence has wrapped).
 */
export function estimateRoc(roc: number, sl: number, seq: number): number {
  if (sl < 32768) {
    return seq - sl > 32768 ? roc - 1 : roc;
  }
  return sl - 32768 > seq ? roc + 1 : roc;
}

/** Result of ReplayWindow.check. */
export const ReplayCheck = { OK: 0, REPLAY: 1, TOO_OLD: 2 } as const;

/**
 * The replay list as a sliding window of 128 packet indices below the highest authenticated one
 * (s3.3.2; the size libsrtp and Janus use). Bit k of the 128-bit mask (four 32-bit words, w[0]
 * lowest) says index `top - k` was received. Indices are up to 48 bits (RTP) or 31 bits (SRTCP):
 * exact in a double.
 */
export class ReplayWindow {
  static readonly SIZE = 128;
  /** Highest index accepted, -1 before the first. */
  top = -1;
  private readonly w = new Uint32Array(4);

  /** Whether `index` may be accepted: new, or inside the window and not seen yet. */
  check(index: number): number {
    if (index < 0) return ReplayCheck.TOO_OLD;
    if (index > this.top) return ReplayCheck.OK;
    const d = this.top - index;
    if (d >= ReplayWindow.SIZE) return ReplayCheck.TOO_OLD;
    return this.w[d >> 5] & (1 << (d & 31)) ? ReplayCheck.REPLAY : ReplayCheck.OK;
  }

  /** Record `index` as received (after it passed `check` and authentication). */
  accept(index: number): void {
    const w = this.w;
    if (index > this.top) {
      const s = this.top < 0 ? ReplayWindow.SIZE : index - this.top;
      this.top = index;
      if (s >= ReplayWindow.SIZE) {
        w[0] = 1;
        w[1] = 0;
        w[2] = 0;
        w[3] = 0;
        return;
      }
      // shift the 128-bit mask up by s bits
      const q = s >> 5;
      const r = s & 31;
      for (let i = 3; i >= 0; i--) {
        const src = i - q;
        let v = src >= 0 ? w[src] << r : 0;
        if (r !== 0 && src - 1 >= 0) v |= w[src - 1] >>> (32 - r);
        w[i] = v;
      }
      w[0] |= 1;
      return;
    }
    const d = this.top - index;
    if (d < ReplayWindow.SIZE) w[d >> 5] |= 1 << (d & 31);
  }
}
