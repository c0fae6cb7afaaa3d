/** The transport building blocks on their own: JSON splitting and formats, the HTTP event queues. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { silentLogger } from '../../src/core/log.ts';
import { HttpEvents } from '../../src/transports/http-events.ts';
import { normaliseBase, parseMaxev, parsePathId } from '../../src/transports/http.ts';
import { jsonSerializer, parseJson, splitJsonValues } from '../../src/transports/json.ts';

describe('splitJsonValues', () => {
  test('one object, several objects, whitespace between', () => {
    assert.deepEqual(splitJsonValues('{"a":1}'), ['{"a":1}']);
    assert.deepEqual(splitJsonValues('{"a":1}{"b":2}'), ['{"a":1}', '{"b":2}']);
    assert.deepEqual(splitJsonValues(' {"a":1}\n\t{"b":[1,{"c":2}]}  '), ['{"a":1}', '{"b":[1,{"c":2}]}']);
    assert.deepEqual(splitJsonValues('[1,2][3]'), ['[1,2]', '[3]']);
    assert.deepEqual(splitJsonValues(''), []);
  });

  test('brackets and escaped quotes inside strings', () => {
    const a = JSON.stringify({ s: '}{][', t: 'quote \\" and \\\\' });
    const b = JSON.stringify({ u: '"}' });
    const pieces = splitJsonValues(a + b);
    assert.deepEqual(pieces, [a, b]);
    assert.deepEqual(pieces.map((p) => JSON.parse(p)), [JSON.parse(a), JSON.parse(b)]);
  });

  test('garbage and unterminated values come back as the last piece', () => {
    assert.deepEqual(splitJsonValues('{"a":1}oops'), ['{"a":1}', 'oops']);
    assert.deepEqual(splitJsonValues('{"a":1}{"b":'), ['{"a":1}', '{"b":']);
    assert.deepEqual(splitJsonValues('42'), ['42']);
  });
});

describe('parseJson', () => {
  test('valid, invalid, empty', () => {
    assert.deepEqual(parseJson('{"a":1}'), { ok: true, value: { a: 1 } });
    const bad = parseJson('{');
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.error.code, 454);
    const empty = parseJson('  ');
    assert.equal(!empty.ok && empty.error.code, 454);
  });
});

describe('jsonSerializer', () => {
  const v = { janus: 'event', list: [1, { a: 'x,\ny' }], empty: {}, none: [] };
  test('compact, plain and indented all parse back to the same value', () => {
    for (const f of ['compact', 'plain', 'indented'] as const) assert.deepEqual(JSON.parse(jsonSerializer(f)(v)), v, f);
  });
  test('plain is one line with spaces after separators', () => {
    assert.equal(jsonSerializer('plain')(v), '{"janus": "event", "list": [1, {"a": "x,\\ny"}], "empty": {}, "none": []}');
  });
  test('indented uses 3 spaces as Janus does', () => {
    assert.ok(jsonSerializer('indented')({ a: 1 }).startsWith('{\n   "a": 1'));
    assert.equal(jsonSerializer(undefined)({ a: 1 }), jsonSerializer('indented')({ a: 1 }));
  });
});

describe('HTTP path and query parsing', () => {
  test('parsePathId reads leading digits like strtoull', () => {
    assert.equal(parsePathId('123'), 123);
    assert.equal(parsePathId('123abc'), 123);
    assert.equal(parsePathId('abc'), undefined);
    assert.equal(parsePathId('0'), undefined);
    assert.equal(parsePathId(''), undefined);
    assert.equal(parsePathId(undefined), undefined);
  });
  test('parseMaxev', () => {
    assert.equal(parseMaxev(undefined), 1);
    assert.equal(parseMaxev('0'), 1);
    assert.equal(parseMaxev('-3'), 1);
    assert.equal(parseMaxev('x'), 1);
    assert.equal(parseMaxev('10'), 10);
    assert.equal(parseMaxev(['5', '6']), 1);
    assert.equal(parseMaxev('99999999'), 1000);
  });
  test('normaliseBase', () => {
    assert.equal(normaliseBase('/janus'), '/janus');
    assert.equal(normaliseBase('/janus/'), '/janus');
    assert.equal(normaliseBase('janus'), '/janus');
    assert.equal(normaliseBase('/'), '/');
    assert.equal(normaliseBase(''), '/');
  });
});

describe('HttpEvents', () => {
  test('bounded queue drops the oldest event with a warning', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(chunk.toString()); cb(); } });
    const ev = new HttpEvents({ logger: pino({ level: 'warn' }, sink), longPollTimeout: 1, maxQueued: 3 });
    for (let i = 1; i <= 5; i++) ev.sendEvent({ janus: 'event', session_id: 7, n: i });
    const { answer } = ev.poll(7, 10);
    assert.deepEqual(((await answer) as Array<{ n: number }>).map((e) => e.n), [3, 4, 5]);
    assert.equal(lines.length, 1, 'one warning per overflow, not one per event');
    assert.match(lines[0], /dropping its oldest events/);
  });

  test('events without a session id are dropped', () => {
    const ev = new HttpEvents({ logger: silentLogger(), longPollTimeout: 1 });
    ev.sendEvent({ janus: 'event' });
    assert.equal(ev.queueCount, 0);
  });

  test('sessionOver hands the last events to a waiting poll and forgets the queue', async () => {
    const ev = new HttpEvents({ logger: silentLogger(), longPollTimeout: 5 });
    const { answer } = ev.poll(9, 5);
    ev.sendEvent({ janus: 'detached', session_id: 9 });
    ev.sessionOver(9, 'destroyed');
    assert.deepEqual(await answer, [{ janus: 'detached', session_id: 9 }]);
    assert.equal(ev.queueCount, 0);
  });

  test('a cancelled poll leaves events for the next one; idle queues are forgotten', async () => {
    const ev = new HttpEvents({ logger: silentLogger(), longPollTimeout: 5 });
    const first = ev.poll(4, 1);
    first.cancel();
    assert.equal(await first.answer, undefined);
    assert.equal(ev.queueCount, 0, 'a poll on a session nobody sends to leaves nothing behind');
    ev.sendEvent({ janus: 'event', session_id: 4, n: 1 });
    assert.deepEqual(await ev.poll(4, 1).answer, { janus: 'event', session_id: 4, n: 1 });
    assert.equal(ev.queueCount, 0);
  });

  test('closeAll answers waiting polls with keepalives', async () => {
    const ev = new HttpEvents({ logger: silentLogger(), longPollTimeout: 30 });
    const a = ev.poll(1, 1);
    const b = ev.poll(2, 3);
    ev.closeAll();
    assert.deepEqual(await a.answer, { janus: 'keepalive' });
    assert.deepEqual(await b.answer, [{ janus: 'keepalive' }]);
  });
});
