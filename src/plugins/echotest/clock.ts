/**
 * A coarse monotonic clock for the simulcast hot path: performance.now() allocates on every call
 * (Node 20), so while any simulcast session needs time, a timer refreshes one shared reading every
 * few milliseconds and packets just read it. Precision (TICK_MS) is ample for the 250 ms fallback
 * timer and the timestamp step at a substream switch.
 */
import { performance } from 'node:perf_hooks';

const TICK_MS = 5;
let current = performance.now();
let users = 0;
let timer: NodeJS.Timeout | undefined;

/** The time in milliseconds (monotonic), at most TICK_MS old while someone holds the clock. */
export function coarseNow(): number {
  return current;
}

/** Start (or share) the ticking; pair every call with releaseClock(). */
export function holdClock(): void {
  current = performance.now();
  if (users++ > 0) return;
  timer = setInterval(() => {
    current = performance.now();
  }, TICK_MS);
  timer.unref();
}

export function releaseClock(): void {
  if (users === 0) return;
  if (--users > 0) return;
  clearInterval(timer);
  timer = undefined;
}
