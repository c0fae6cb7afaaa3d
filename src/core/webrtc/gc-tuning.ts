/**
 * V8 heap tuning for a media process, applied once by the media core at start.
 *
 * Seen in bench/echo (`--trace-gc`, `--trace-incremental-marking`, perf): while media flows, every
 * packet leaves a few short-lived objects (node's datagram Buffer, cipher and hash outputs), so the
 * young generation grows to its maximum (16 MB semi-space) and is scavenged every 2-3 s. V8 starts
 * a full mark-compact whenever the old generation's headroom below its limit is smaller than the
 * young generation's capacity (a scavenge could promote all of it); with the default growing factor
 * (about 1.8 for this ~35 MB heap) that headroom is about the young generation's size, so nearly
 * every scavenge was followed by a full mark-compact of the whole heap that reclaimed almost
 * nothing (37.3 -> 37.0 MB) yet cost 15-20 % of the server's CPU during streaming (concurrent
 * marking, sweeping, finalisation). A larger growing factor keeps the headroom above the young
 * generation, so full collections happen only when the old generation really grows.
 *
 * `--heap-growing-percent` is read by V8 each time it sets the next limit (after every full GC), so
 * it takes effect at run time. Setting it on the command line (any value, 0 = V8's own heuristic)
 * takes precedence: then nothing is changed here.
 */
import { setFlagsFromString } from 'node:v8';

/** Old-generation limit = live size x (1 + this / 100) after each full GC. */
export const HEAP_GROWING_PERCENT = 100;

const FLAG = '--heap-growing-percent';
let applied = false;

/** The flag to set, or undefined when the command line (`execArgv`) already sets one. */
export function gcTuningFlag(execArgv: readonly string[]): string | undefined {
  // V8 accepts the flag with dashes or underscores.
  const given = execArgv.some((a) => {
    const name = a.split('=', 1)[0].replaceAll('_', '-');
    return name === FLAG;
  });
  return given ? undefined : `${FLAG}=${HEAP_GROWING_PERCENT}`;
}

/** Apply the tuning once per process. Returns the flag set, or undefined. */
export function applyMediaGcTuning(execArgv: readonly string[] = process.execArgv): string | undefined {
  if (applied) return undefined;
  applied = true;
  const flag = gcTuningFlag(execArgv);
  if (flag) setFlagsFromString(flag);
  return flag;
}
