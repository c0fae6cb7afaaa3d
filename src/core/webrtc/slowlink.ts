/**
 * Janus' `slowlink` for one m-line (JANUS-REFERENCE 1.1): once per check, the packets lost in each
 * direction since the previous check, scaled to a second, are compared with `slowlink_threshold`
 * (0 = off). Uplink counts losses in what we receive (our receive statistics, RFC 3550 A.3);
 * downlink counts what the peer reports lost in its RR/SR blocks about our streams. Each direction
 * fires at most once per SLOWLINK_MIN_INTERVAL_MS.
 */

export const SLOWLINK_MIN_INTERVAL_MS = 3000;

export class SlowLinkMonitor {
  #lastCheckMs = -1;
  readonly #lastFired = [-Infinity, -Infinity];

  /**
   * `uplinkLost`/`downlinkLost`: packets lost since the previous check. Calls `fire(uplink, lost)`
   * with the lost-per-second figure for each direction over the threshold.
   */
  check(nowMs: number, threshold: number, uplinkLost: number, downlinkLost: number, fire: (uplink: boolean, lost: number) => void): void {
    const prev = this.#lastCheckMs;
    this.#lastCheckMs = nowMs;
    if (threshold <= 0 || prev < 0) return;
    const seconds = Math.max(0.5, (nowMs - prev) / 1000);
    this.#direction(0, Math.round(uplinkLost / seconds), nowMs, threshold, fire);
    this.#direction(1, Math.round(downlinkLost / seconds), nowMs, threshold, fire);
  }

  #direction(i: number, lost: number, nowMs: number, threshold: number, fire: (uplink: boolean, lost: number) => void): void {
    if (lost < threshold || nowMs - this.#lastFired[i] < SLOWLINK_MIN_INTERVAL_MS) return;
    this.#lastFired[i] = nowMs;
    fire(i === 0, lost);
  }
}
