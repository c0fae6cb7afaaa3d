/**
 * Logging: Janus' debug_level (0 none .. 7 huge) onto pino levels, and createLogger writing JSON lines
 * to a given destination with only the levels the debug_level lets through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, pinoLevelFor, silentLogger } from '../../src/core/log.ts';

/** A pino destination that keeps every line written to it. */
function sink(): { lines: string[]; write: (line: string) => void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

test('pinoLevelFor maps debug_level 0..7 as documented', () => {
  const expected = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'debug', 'trace'];
  for (let level = 0; level <= 7; level++) assert.equal(pinoLevelFor(level), expected[level], `debug_level ${level}`);
  // Out of range: below 0 is still "none", above 7 still the most verbose.
  assert.equal(pinoLevelFor(-1), 'silent');
  assert.equal(pinoLevelFor(8), 'trace');
  assert.equal(pinoLevelFor(100), 'trace');
});

test('createLogger writes one JSON line per record to the destination', () => {
  const dest = sink();
  const logger = createLogger(4, dest);
  assert.equal(logger.level, 'info');
  logger.info({ session: 42 }, 'session created');
  assert.equal(dest.lines.length, 1);
  const line = dest.lines[0];
  assert.ok(line.endsWith('\n'), 'one record per line');
  assert.equal(line.indexOf('\n'), line.length - 1, 'a single line');
  const rec = JSON.parse(line);
  assert.equal(rec.level, 30, 'pino info');
  assert.equal(rec.msg, 'session created');
  assert.equal(rec.session, 42);
  assert.equal(rec.name, 'portunus');
  assert.equal(typeof rec.time, 'number');

  // Children keep the destination and add their bindings.
  logger.child({ transport: 'janus.transport.http' }).warn('slow');
  assert.equal(dest.lines.length, 2);
  const child = JSON.parse(dest.lines[1]);
  assert.equal(child.level, 40);
  assert.equal(child.transport, 'janus.transport.http');
  assert.equal(child.name, 'portunus');
});

test('at debug_level 4 debug and trace are dropped, info and above kept', () => {
  const dest = sink();
  const logger = createLogger(4, dest);
  logger.debug('hidden debug');
  logger.trace('hidden trace');
  assert.equal(logger.isLevelEnabled('debug'), false);
  assert.deepEqual(dest.lines, []);
  logger.info('shown');
  logger.warn('shown');
  logger.error('shown');
  logger.fatal('shown');
  assert.deepEqual(dest.lines.map((l) => JSON.parse(l).level), [30, 40, 50, 60]);
});

test('the level follows debug_level at both ends', () => {
  const verbose = sink();
  const v = createLogger(7, verbose);
  v.trace('t');
  v.debug('d');
  assert.deepEqual(verbose.lines.map((l) => JSON.parse(l).level), [10, 20]);

  const five = sink();
  const f = createLogger(5, five);
  f.trace('dropped');
  f.debug('kept');
  assert.deepEqual(five.lines.map((l) => JSON.parse(l).msg), ['kept']);

  const quiet = sink();
  const q = createLogger(1, quiet);
  q.error('dropped');
  q.fatal('kept');
  assert.deepEqual(quiet.lines.map((l) => JSON.parse(l).level), [60]);

  const none = sink();
  const n = createLogger(0, none);
  n.fatal('dropped');
  assert.equal(n.level, 'silent');
  assert.deepEqual(none.lines, []);
});

test('silentLogger is silent', () => {
  const logger = silentLogger();
  assert.equal(logger.level, 'silent');
  assert.equal(logger.isLevelEnabled('fatal'), false);
});
