/**
 * The mixer's clock: the tick catches up after a late wake-up, skips a backlog after a stall
 * instead of bursting through it, and reports its lateness. (Load shedding by encoder complexity is
 * tested with the mixer: a process that ends right after its first WASM work can hang on exit in
 * Node 20, seen here as a flaky test-file hang.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TickClock } from '../../src/audiobridge/tick-clock.ts';

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* stall the thread */ }
}

test('the tick keeps real time, skips after a stall and reports lateness', async () => {
  let n = 0;
  const clock = new TickClock(() => {
    n++;
    if (n === 5) busyWait(400); // a 400 ms stall: 20 periods, more than the 10 it may catch up here
  }, 20, 10);
  const t0 = performance.now();
  clock.start();
  await new Promise((r) => setTimeout(r, 1000));
  clock.stop();
  const elapsed = performance.now() - t0;
  const s = clock.report();
  assert.ok(s.skipped >= 5, `a backlog after the stall is skipped: ${JSON.stringify(s)}`);
  assert.ok(s.lateMaxMs >= 200, `the stall shows as lateness: ${s.lateMaxMs}`);
  // Ticks run + ticks skipped account for the elapsed periods (within timer slack).
  const periods = elapsed / 20;
  assert.ok(Math.abs(s.ticks + s.skipped - periods) <= 4, `ticks ${s.ticks} + skipped ${s.skipped} ~ ${periods.toFixed(1)} periods`);
});
