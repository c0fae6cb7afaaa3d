/**
 * Fuzzing the .jcfg parser: mutated real Janus sample files, token soup and random bytes. Each input
 * must parse or throw a ConfigError with a plausible line; nothing else, and never hang. The cases run
 * in a worker thread so a watchdog can stop a hang. Reproduce with JCFG_FUZZ_SEED=<seed>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { parseJcfgWithLines } from '../../src/config/jcfg.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { prng } from '../helpers/prng.ts';

const CASES_PER_KIND = 2000;
/** A single parse taking longer than this counts as a failure (the parser is linear). */
const SLOW_CASE_MS = 250;
/** No progress for this long: the worker is stuck. */
const WATCHDOG_MS = 5000;

interface FuzzInput {
  seed: number;
  samples: Array<{ name: string; text: string }>;
  progress: SharedArrayBuffer;
}

type FuzzReport = { ok: true; cases: number; parsed: number } | { ok: false; index: number; problem: string; input: string };


const SPECIALS = ['{', '}', '(', ')', '[', ']', '"', '=', ':', ';', ',', '#', '/', '*', '\\', '@', '\n', ' ', '\t', '.', 'e', 'x', 'L', '-', '+', '0', '9', 'a', '_', '\r', '\u0000', 'é', '\ufeff'];
const TOKENS = ['a', 'b_c', 'room-1', '=', ':', ';', ',', '{', '}', '(', ')', '[', ']', '"s"', '"x\\n"', '"\\x41"', '"', '1', '-2', '0x1F', '9223372036854775807', '99999999999999999999', '1.5', '.5', '1e3', 'true', 'FALSE', '# c\n', '// c\n', '/* c */', '/*', '\n', ' ', '@include "f"'];

function makeCases(seed: number, samples: FuzzInput['samples']): (i: number) => string {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const randomText = (n: number) => Array.from({ length: n }, () => pick(SPECIALS)).join('');

  function mutate(text: string): string {
    let s = text;
    const rounds = 1 + int(8);
    for (let r = 0; r < rounds; r++) {
      const at = int(s.length + 1);
      const len = int(Math.min(40, s.length - at + 1));
      switch (int(6)) {
        case 0: s = s.slice(0, at) + s.slice(at + len); break; // delete
        case 1: s = s.slice(0, at) + randomText(1 + int(6)) + s.slice(at); break; // insert
        case 2: s = s.slice(0, at) + s.slice(int(s.length), int(s.length) + len) + s.slice(at); break; // duplicate
        case 3: s = s.slice(0, at); break; // truncate
        case 4: s = s.slice(0, at) + pick(SPECIALS) + s.slice(at + 1); break; // replace one
        default: s = s.slice(0, at) + pick(TOKENS) + s.slice(at); break; // insert a token
      }
    }
    return s;
  }

  return (i: number) => {
    switch (i % 3) {
      case 0:
        return mutate(pick(samples).text);
      case 1:
        return Array.from({ length: int(80) }, () => pick(TOKENS)).join(pick(['', ' ', '\n']));
      default:
        return Buffer.from(Array.from({ length: int(300) }, () => int(256))).toString(pick(['latin1', 'utf8'] as const));
    }
  };
}

function runCases({ seed, samples, progress }: FuzzInput): FuzzReport {
  const current = new Int32Array(progress);
  const next = makeCases(seed, samples);
  let parsed = 0;
  const total = CASES_PER_KIND * 3;
  for (let i = 0; i < total; i++) {
    Atomics.store(current, 0, i);
    const input = next(i);
    const started = performance.now();
    try {
      parseJcfgWithLines(input, `case-${i}.jcfg`);
      parsed++;
    } catch (err) {
      const maxLine = input.split('\n').length;
      if (!(err instanceof ConfigError)) {
        return { ok: false, index: i, problem: `threw ${String(err)}`, input };
      }
      if (err.file !== `case-${i}.jcfg` || err.line === undefined || err.line < 1 || err.line > maxLine) {
        return { ok: false, index: i, problem: `ConfigError with a bad location: ${err.message}`, input };
      }
    }
    const took = performance.now() - started;
    if (took > SLOW_CASE_MS) return { ok: false, index: i, problem: `took ${took.toFixed(0)} ms`, input };
  }
  return { ok: true, cases: total, parsed };
}

function loadSamples(): FuzzInput['samples'] {
  const dirs = ['/etc/janus', fileURLToPath(new URL('../../config/', import.meta.url))];
  const samples = dirs
    .filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).filter((n) => n.endsWith('.jcfg')).map((n) => ({ name: n, text: readFileSync(join(d, n), 'utf8') })));
  // A fallback so the test still fuzzes structure without the Janus package.
  if (samples.length === 0) samples.push({ name: 'builtin', text: 'general: {\n\ta = 1\n\tb = "x" # c\n\tl = ( { x = [1, 2] } )\n}\n' });
  return samples;
}

if (!isMainThread && workerData?.jcfgFuzz) {
  parentPort?.postMessage(runCases(workerData.jcfgFuzz as FuzzInput));
}

/** Run the cases in a worker (tsx registered there too) under a watchdog. */
function fuzzInWorker(input: FuzzInput): Promise<FuzzReport> {
  const self = import.meta.url;
  const tsxApi = import.meta.resolve('tsx/esm/api'); // absolute: eval'd code resolves from the cwd
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(self)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: { jcfgFuzz: input } });
  const current = new Int32Array(input.progress);
  return new Promise((resolve, reject) => {
    let last = -1;
    let lastChange = Date.now();
    const watchdog = setInterval(() => {
      const now = Atomics.load(current, 0);
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > WATCHDOG_MS) {
        clearInterval(watchdog);
        void worker.terminate();
        reject(new Error(`parser hung on case ${now} (seed ${input.seed}; rerun with JCFG_FUZZ_SEED=${input.seed})`));
      }
    }, 200);
    worker.once('message', (report: FuzzReport) => {
      clearInterval(watchdog);
      void worker.terminate();
      resolve(report);
    });
    worker.once('error', (err) => {
      clearInterval(watchdog);
      reject(err);
    });
  });
}

if (isMainThread) {
  test('fuzz: mutated samples, token soup and random bytes parse or throw ConfigError', { timeout: 120_000 }, async () => {
    const seed = process.env.JCFG_FUZZ_SEED ? Number(process.env.JCFG_FUZZ_SEED) : (Math.random() * 2 ** 32) >>> 0;
    const input: FuzzInput = { seed, samples: loadSamples(), progress: new SharedArrayBuffer(4) };
    let report: FuzzReport;
    try {
      report = await fuzzInWorker(input);
    } catch (err) {
      console.error(`jcfg fuzz seed: ${seed}`);
      throw err;
    }
    if (!report.ok) {
      console.error(`jcfg fuzz seed: ${seed}, case ${report.index}: ${report.problem}\ninput: ${JSON.stringify(report.input)}`);
    }
    assert.ok(report.ok, `case failed (seed ${seed}; rerun with JCFG_FUZZ_SEED=${seed})`);
    assert.equal(report.cases, CASES_PER_KIND * 3);
    // Sanity: the generator is not so destructive that nothing ever parses.
    assert.ok(report.parsed > 0, 'no input parsed at all');
  });

  test('fuzz: every unmodified sample parses (except files that are not valid libconfig)', () => {
    for (const { name, text } of loadSamples()) {
      try {
        parseJcfgWithLines(text, name);
      } catch (err) {
        assert.ok(err instanceof ConfigError, `${name}: ${String(err)}`);
        // Debian's janus.transport.mqtt.jcfg has unquoted paths (certfile = /etc/ssl/...).
        assert.equal(name, 'janus.transport.mqtt.jcfg', err.message);
      }
    }
  });
}
