import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJcfg, parseJcfgWithLines, MAX_DEPTH } from '../../src/config/jcfg.ts';
import { ConfigError } from '../../src/core/errors.ts';

/** Assert that parsing `text` fails with a ConfigError at `line` (and `key` when given). */
function assertFails(text: string, line: number, match: RegExp, key?: string): ConfigError {
  let caught: unknown;
  try {
    parseJcfg(text, 'test.jcfg');
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.file, 'test.jcfg');
  assert.equal(caught.line, line, caught.message);
  assert.match(caught.message, match);
  if (key !== undefined) assert.equal(caught.key, key, caught.message);
  return caught;
}

test('settings with = or :, optional ; or , terminators', () => {
  assert.deepEqual(parseJcfg('a = 1; b : 2, c = 3\nd=4;'), { a: 1, b: 2, c: 3, d: 4 });
  assert.deepEqual(parseJcfg(''), {});
  assert.deepEqual(parseJcfg('  \n# only a comment\n'), {});
});

test('setting names may hold -, _, * and digits', () => {
  assert.deepEqual(parseJcfg('room-1234 = 1\nh264_sample = 2\n*x* = 3'), { 'room-1234': 1, h264_sample: 2, '*x*': 3 });
});

test('groups, nested, empty', () => {
  assert.deepEqual(parseJcfg('general: { debug_level = 4\n nested = { x = "y" } }\nempty: {}'), {
    general: { debug_level: 4, nested: { x: 'y' } },
    empty: {},
  });
});

test('lists are heterogeneous and may hold groups and lists', () => {
  assert.deepEqual(parseJcfg('l = ( 1, "two", 3.5, true, { a = 1 }, ( 2 ), [ 3 ] )'), {
    l: [1, 'two', 3.5, true, { a: 1 }, [2], [3]],
  });
  assert.deepEqual(parseJcfg('l = ()'), { l: [] });
  assert.deepEqual(parseJcfg('l = ( 1, 2, )'), { l: [1, 2] }, 'trailing comma');
});

test('arrays hold scalars of one type', () => {
  assert.deepEqual(parseJcfg('a = [ "/bin", "/usr" ]\nb = [1, 2, 0x10]\nc = []\nd = [true, FALSE]'), {
    a: ['/bin', '/usr'],
    b: [1, 2, 16],
    c: [],
    d: [true, false],
  });
  assertFails('a = [1, "x"]', 1, /same type/, 'a');
  assertFails('a = [1,\n 2.5]', 2, /same type/, 'a');
  assertFails('a = [ { b = 1 } ]', 1, /scalar/, 'a');
  assertFails('a = [ ( 1 ) ]', 1, /scalar/, 'a');
});

test('strings: escapes, \\xNN bytes (UTF-8), adjacent concatenation, newlines', () => {
  assert.deepEqual(parseJcfg(String.raw`s = "a\\b\"c\nd\te\rf\fg"`), { s: 'a\\b"c\nd\te\rf\fg' });
  assert.deepEqual(parseJcfg(String.raw`s = "\x41\x62 \xc3\xa9"`), { s: 'Ab é' });
  assert.deepEqual(parseJcfg('s = "ab" "cd"\n  /* c */ "ef" # x\n "gh"; t = 1'), { s: 'abcdefgh', t: 1 });
  assert.deepEqual(parseJcfg('s = "# not a comment // nor this /* */"'), { s: '# not a comment // nor this /* */' });
  assert.deepEqual(parseJcfg('s = "multi\nline"\nt = 2'), { s: 'multi\nline', t: 2 });
  assert.deepEqual(parseJcfg('s = "ünïcode ✓"'), { s: 'ünïcode ✓' });
  assert.deepEqual(parseJcfg('s = ""'), { s: '' });
});

test('integers: decimal, signed, hex, L/LL suffixes', () => {
  assert.deepEqual(parseJcfg('a = 42\nb = -7\nc = +3\nd = 0x1F\ne = 0XffL\nf = 100LL\ng = 0'), {
    a: 42,
    b: -7,
    c: 3,
    d: 31,
    e: 255,
    f: 100,
    g: 0,
  });
});

test('64-bit integers beyond 2^53 come back as bigint, never rounded', () => {
  const v = parseJcfg(
    'safe = 9007199254740991\nbig = 9007199254740993\nmin = -9223372036854775808L\nmax = 9223372036854775807\nhex = 0xFFFFFFFFFFFFFFFF\nneg = -9007199254740993',
  );
  assert.equal(v.safe, Number.MAX_SAFE_INTEGER);
  assert.equal(v.big, 9007199254740993n);
  assert.equal(v.min, -9223372036854775808n);
  assert.equal(v.max, 9223372036854775807n);
  assert.equal(v.hex, 18446744073709551615n);
  assert.equal(v.neg, -9007199254740993n);
  assertFails('x = 1\ny = 9223372036854775808', 2, /out of 64-bit range/);
  assertFails('y = 0x10000000000000000', 1, /out of 64-bit range/);
});

test('floats', () => {
  assert.deepEqual(parseJcfg('a = 1.5\nb = -0.25\nc = .5\nd = 2.\ne = 1e3\nf = 2.5E-2\ng = -1.5e+2'), {
    a: 1.5,
    b: -0.25,
    c: 0.5,
    d: 2,
    e: 1000,
    f: 0.025,
    g: -150,
  });
  assertFails('f = 1e999', 1, /float out of range/);
});

test('booleans are case-insensitive', () => {
  assert.deepEqual(parseJcfg('a = true\nb = FALSE\nc = True\nd = fAlSe'), { a: true, b: false, c: true, d: false });
  assert.deepEqual(parseJcfg('true_thing = 1'), { true_thing: 1 }, 'a name that starts like a boolean');
});

test('comments: #, //, /* */ (multi-line)', () => {
  const text = '# hash\na = 1 # trailing\n// slashes\nb = 2 // trailing\n/* block\n spanning\n lines */ c = 3\nd /* inline */ = 4';
  const { value, lines } = parseJcfgWithLines(text);
  assert.deepEqual(value, { a: 1, b: 2, c: 3, d: 4 });
  assert.equal(lines.get('c'), 7);
  assert.equal(lines.get('d'), 8);
});

test('line numbers of settings, including nested ones and list elements', () => {
  const text = 'general: {\n\tdebug_level = 4\n\n\tadmin_secret = "x"\n}\nrooms = (\n { id = 1 },\n {\n  id = 2 }\n)';
  const { lines } = parseJcfgWithLines(text);
  assert.equal(lines.get('general'), 1);
  assert.equal(lines.get('general.debug_level'), 2);
  assert.equal(lines.get('general.admin_secret'), 4);
  assert.equal(lines.get('rooms'), 6);
  assert.equal(lines.get('rooms.0.id'), 7);
  assert.equal(lines.get('rooms.1.id'), 9);
});

test('CRLF line endings and a byte-order mark', () => {
  const { value, lines } = parseJcfgWithLines('\ufeffa = 1\r\nb = "x"\r\n');
  assert.deepEqual(value, { a: 1, b: 'x' });
  assert.equal(lines.get('b'), 2);
});

test('syntax errors name file, line and key', () => {
  assertFails('a = 1\nb 2', 2, /expected '=' or ':'/, 'b');
  assertFails('a = 1\nb =\n', 3, /expected a value, found end of file/, 'b');
  assertFails('a = 1\nb = ;', 2, /expected a value/, 'b');
  assertFails('a = 1\ns = "abc\n\n', 2, /unterminated string/, 's');
  assertFails('a = 1\n/* open\n\n', 2, /unterminated \/\* comment/);
  assertFails('g: {\n a = 1\n\n', 1, /missing '}'/, 'g');
  assertFails('g: { a = 1\n a = 2 }', 2, /duplicate setting/, 'g.a');
  assertFails('a = 1\n\nb = 12abc', 3, /invalid number '12abc'/, 'b');
  assertFails('a = 1\nb = 0x', 2, /invalid number/, 'b');
  assertFails('a = 1.2.3', 1, /invalid number/, 'a');
  assertFails('a = "x\\q"', 1, /invalid escape/, 'a');
  assertFails('a = "\\x4"', 1, /invalid escape/, 'a');
  assertFails('a = 1\n}', 2, /expected a setting name, found '}'/);
  assertFails('a = 1\n= 2', 2, /expected a setting name/);
  assertFails('a = ( 1 2 )', 1, /expected ',' or '\)'/, 'a');
  assertFails('a = (\n1,\n', 1, /missing '\)'/, 'a');
  assertFails('a = [1,\n', 1, /missing '\]'/, 'a');
  assertFails('x = 1\ncertfile = /etc/ssl/cert.pem', 2, /unexpected character "\/"/, 'certfile');
  assertFails('a = bareword', 1, /expected a value, found 'bareword'/, 'a');
  assertFails('a = 1\n\u0000', 2, /unexpected character/);
  assertFails('g: { h: { x = $ } }', 1, /unexpected character/, 'g.h.x');
});

test('@include is refused', () => {
  assertFails('a = 1\n@include "other.cfg"\n', 2, /@include is not supported/);
});

test(`nesting is limited to ${MAX_DEPTH} levels`, () => {
  const ok = `a = ${'('.repeat(MAX_DEPTH)}${')'.repeat(MAX_DEPTH)}`;
  assert.doesNotThrow(() => parseJcfg(ok));
  assertFails(`a = ${'('.repeat(MAX_DEPTH + 1)}${')'.repeat(MAX_DEPTH + 1)}`, 1, /nesting deeper/);
  let groups = '';
  for (let i = 0; i < MAX_DEPTH + 1; i++) groups += `g${i} = {\n`;
  assertFails(groups, MAX_DEPTH + 1, /nesting deeper/);
  assertFails(`a = ${'['.repeat(100_000)}`, 1, /scalar|nesting/);
});

test('huge inputs stay fast', () => {
  const started = performance.now();
  assertFails(`a = ${'7'.repeat(1_000_000)}`, 1, /out of 64-bit range/);
  assertFails(`a = ${'7'.repeat(1_000_000)}.5`, 1, /float out of range/);
  assert.equal((parseJcfg(`a = "${'x'.repeat(1_000_000)}"`).a as string).length, 1_000_000);
  assert.equal((parseJcfg(`a = (${'1,'.repeat(100_000)})`).a as number[]).length, 100_000);
  assert.ok(performance.now() - started < 2000);
});

test('every error is a ConfigError whose message carries the location', () => {
  const err = assertFails('a = 1\nb = "', 2, /unterminated/);
  assert.match(err.message, /^test\.jcfg, line 2, key 'b': /);
  assert.equal(err.name, 'ConfigError');
});

test('the file name is optional', () => {
  try {
    parseJcfg('a = ');
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.file, undefined);
    assert.equal(err.line, 1);
  }
});
