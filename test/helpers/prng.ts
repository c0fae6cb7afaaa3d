/** A small seedable PRNG (mulberry32) for fuzz tests: the same seed replays the same cases. */
export type Rng = () => number;

export function prng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed for this run: FUZZ_SEED when given (to replay a failure), else a fresh one. */
export function fuzzSeed(): number {
  return Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
}
