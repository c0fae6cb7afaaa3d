import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { applyMediaV8Tuning, HEAP_GROWING_PERCENT, v8TuningFlags } from '../../src/core/webrtc/v8-tuning.ts';

const HEAP = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;

test('v8 tuning: each flag is set unless the command line sets it', () => {
  assert.deepEqual(v8TuningFlags([]), [HEAP]);
  assert.deepEqual(v8TuningFlags(['--import', 'tsx']), [HEAP]);
  assert.deepEqual(v8TuningFlags(['--heap-growing-percent=0']), []);
  assert.deepEqual(v8TuningFlags(['--heap_growing_percent=50']), []);
  // Similar names are not the flag.
  assert.deepEqual(v8TuningFlags(['--heap-growing-percentage=5']), [HEAP]);
});

test('v8 tuning: applied once per process', () => {
  assert.deepEqual(applyMediaV8Tuning([]), [HEAP]);
  assert.deepEqual(applyMediaV8Tuning([]), []);
});

test('v8 tuning: this V8 knows the flags', () => {
  // setFlagsFromString does not throw on a flag V8 lacks (e.g. one renamed in a later Node); V8
  // writes "unrecognized flag" to stderr instead, so that is what is checked, in a child process.
  // The made-up flag shows the check can see a rejection.
  // Every flag the module would set, so one added to its table is checked too.
  const flags = v8TuningFlags([]);
  assert.ok(flags.includes(HEAP));
  const script = `const v8 = require('node:v8'); for (const f of ${JSON.stringify([...flags, '--no-such-flag-here'])}) v8.setFlagsFromString(f);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  const rejected = [...r.stderr.matchAll(/unrecognized flag (\S+)/g)].map((m) => m[1]);
  assert.deepEqual(rejected, ['--no-such-flag-here']);
});
