import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMediaGcTuning, gcTuningFlag, HEAP_GROWING_PERCENT } from '../../src/core/webrtc/gc-tuning.ts';

test('gc tuning: the growing factor is set unless the command line sets one', () => {
  assert.equal(gcTuningFlag([]), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(gcTuningFlag(['--import', 'tsx']), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(gcTuningFlag(['--heap-growing-percent=0']), undefined);
  assert.equal(gcTuningFlag(['--heap_growing_percent=50']), undefined);
  // Similar names are not the flag.
  assert.equal(gcTuningFlag(['--heap-growing-percentage=5']), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
});

test('gc tuning: applied once per process', () => {
  const first = applyMediaGcTuning([]);
  assert.equal(first, `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(applyMediaGcTuning([]), undefined);
});
