import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { applyMediaV8Tuning, HEAP_GROWING_PERCENT, INTERRUPT_BUDGET, v8TuningFlags } from '../../src/core/webrtc/v8-tuning.ts';

const HEAP = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
const BUDGET = `--interrupt-budget=${INTERRUPT_BUDGET}`;

test('v8 tuning: each flag is set unless the command line sets it', () => {
  assert.deepEqual(v8TuningFlags([]), [HEAP, BUDGET]);
  assert.deepEqual(v8TuningFlags(['--import', 'tsx']), [HEAP, BUDGET]);
  assert.deepEqual(v8TuningFlags(['--heap-growing-percent=0']), [BUDGET]);
  assert.deepEqual(v8TuningFlags(['--heap_growing_percent=50']), [BUDGET]);
  assert.deepEqual(v8TuningFlags(['--interrupt-budget=67584']), [HEAP]);
  assert.deepEqual(v8TuningFlags(['--interrupt_budget=1', '--heap-growing-percent=1']), []);
  // Similar names are not the flags.
  assert.deepEqual(v8TuningFlags(['--heap-growing-percentage=5', '--interrupt-budget-factor=2']), [HEAP, BUDGET]);
});

test('v8 tuning: applied once per process', () => {
  assert.deepEqual(applyMediaV8Tuning([]), [HEAP, BUDGET]);
  assert.deepEqual(applyMediaV8Tuning([]), []);
});

test('v8 tuning: this V8 knows both flags', () => {
  // setFlagsFromString does not throw on a flag V8 lacks (e.g. one renamed in a later Node); V8
  // writes "unrecognized flag" to stderr instead, so that is what is checked, in a child process.
  // The made-up flag shows the check can see a rejection.
  const script = `const v8 = require('node:v8'); for (const f of ${JSON.stringify([HEAP, BUDGET, '--no-such-flag-here'])}) v8.setFlagsFromString(f);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  const rejected = [...r.stderr.matchAll(/unrecognized flag (\S+)/g)].map((m) => m[1]);
  assert.deepEqual(rejected, ['--no-such-flag-here']);
});
