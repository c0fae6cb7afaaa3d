/**
 * V8 tuning for a media process, applied once by the media core at start. Each flag is one V8 reads
 * at run time, so `setFlagsFromString` works after start-up; a flag given on the command line
 * (`execArgv`, any value) takes precedence and is then left alone.
 *
 * `--heap-growing-percent` (streaming CPU). Seen in bench/echo (`--trace-gc`,
 * `--trace-incremental-marking`, perf): while media flows, every packet leaves a few short-lived
 * objects (node's datagram Buffer, cipher and hash outputs), so the young generation grows to its
 * maximum (16 MB semi-space) and is scavenged every 2-3 s. V8 starts a full mark-compact whenever
 * the old generation's headroom below its limit is smaller than the young generation's capacity (a
 * scavenge could promote all of it); with the default growing factor (about 1.8 for this ~35 MB
 * heap) that headroom is about the young generation's size, so nearly every scavenge was followed by
 * a full mark-compact of the whole heap that reclaimed almost nothing (37.3 -> 37.0 MB) yet cost
 * 15-20 % of the server's CPU during streaming. A larger growing factor keeps the headroom above the
 * young generation, so full collections happen only when the old generation really grows. V8 reads
 * it each time it sets the next limit (after every full GC).
 *
 * Not set: `--interrupt-budget` at 16 x V8's default (1081344). It left the once-per-peer set-up
 * path to the interpreter longer (profile tool, 20 peers: set-up median 6.75 -> 6.0 CPU-ms per peer)
 * but made streaming at 5 peers dearer (2 x 8 rounds each: median about 8.9 -> 11.1 CPU-s/100k), and
 * bench/echo at 5 peers showed the same; see bench/README, fourth pass.
 */
import { setFlagsFromString } from 'node:v8';

/** Old-generation limit = live size x (1 + this / 100) after each full GC. */
export const HEAP_GROWING_PERCENT = 100;

const TUNING: ReadonlyArray<readonly [flag: string, value: number]> = [
  ['--heap-growing-percent', HEAP_GROWING_PERCENT],
];

let applied = false;

/** The flags to set: those that the command line (`execArgv`) does not set already. */
export function v8TuningFlags(execArgv: readonly string[]): string[] {
  // V8 accepts flags with dashes or underscores.
  const given = new Set(execArgv.map((a) => a.split('=', 1)[0].replaceAll('_', '-')));
  return TUNING.filter(([flag]) => !given.has(flag)).map(([flag, value]) => `${flag}=${value}`);
}

/** Apply the tuning once per process. Returns the flags set (empty after the first call). */
export function applyMediaV8Tuning(execArgv: readonly string[] = process.execArgv): string[] {
  if (applied) return [];
  applied = true;
  const flags = v8TuningFlags(execArgv);
  for (const f of flags) setFlagsFromString(f);
  return flags;
}
