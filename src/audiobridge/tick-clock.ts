/**
 * A 20 ms tick that keeps real time: each wake-up runs every tick that has come due (so a late
 * wake-up is caught up, not lost), and sleeps until the next one. When it falls more than
 * `maxCatchUp` ticks behind (a stall of a second by default), it skips ahead rather than bursting. It measures how late
 * each tick ran, for the mixer's stats.
 */
import { performance } from 'node:perf_hooks';

export interface TickStats {
  ticks: number;
  skipped: number;
  /** Lateness of ticks since the last report, in ms. */
  lateAvgMs: number;
  lateMaxMs: number;
}

export class TickClock {
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  ticks = 0;
  skipped = 0;
  #lateSum = 0;
  #lateMax = 0;
  #lateN = 0;

  constructor(readonly onTick: () => void, readonly periodMs = 20, readonly maxCatchUp = 50) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#next = performance.now() + this.periodMs;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stats since the previous call. */
  report(): TickStats {
    const s = { ticks: this.ticks, skipped: this.skipped, lateAvgMs: this.#lateN ? this.#lateSum / this.#lateN : 0, lateMaxMs: this.#lateMax };
    this.#lateSum = 0;
    this.#lateMax = 0;
    this.#lateN = 0;
    return s;
  }

  #schedule(): void {
    if (!this.#running) return;
    const wait = Math.max(0, this.#next - performance.now());
    this.#timer = setTimeout(this.#wake, wait);
  }

  /** More than `maxCatchUp` periods behind: drop the backlog instead of bursting through it. */
  #skipIfStalled(now: number): void {
    if (now - this.#next <= this.maxCatchUp * this.periodMs) return;
    const behind = Math.floor((now - this.#next) / this.periodMs);
    this.skipped += behind;
    this.#next += behind * this.periodMs;
  }

  readonly #wake = (): void => {
    if (!this.#running) return;
    let now = performance.now();
    while (this.#running && now >= this.#next) {
      const late = now - this.#next;
      this.#lateSum += late;
      this.#lateN++;
      if (late > this.#lateMax) this.#lateMax = late;
      this.#skipIfStalled(now);
      this.#next += this.periodMs;
      this.ticks++;
      this.onTick();
      now = performance.now();
    }
    this.#schedule();
  };
}
