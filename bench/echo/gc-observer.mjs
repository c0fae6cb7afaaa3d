// Preload for bench/echo/profile.ts: prints every GC of the server's main thread as
// `GCOBS <kind> <start, monotonic us> <pause ms>`, on the clock of the profile tool's `window` lines,
// so GC pauses can be placed in the set-up and streaming windows:
//   npx tsx bench/echo/profile.ts --node-args "--import ./bench/echo/gc-observer.mjs" ...
import { PerformanceObserver, performance } from 'node:perf_hooks';

const KINDS = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
new PerformanceObserver((list) => {
  // Entries carry performance.now() times; shift them onto process.hrtime (CLOCK_MONOTONIC).
  const nowUs = Number(process.hrtime.bigint() / 1000n);
  const nowPerf = performance.now();
  for (const e of list.getEntries()) {
    const startUs = Math.round(nowUs - (nowPerf - e.startTime) * 1000);
    process.stderr.write(`GCOBS ${KINDS[e.detail?.kind] ?? e.detail?.kind} ${startUs} ${e.duration.toFixed(2)}\n`);
  }
}).observe({ entryTypes: ['gc'] });
