/**
 * Parser for libconfig syntax, the format of Janus' .jcfg files.
 *
 * Settings `name = value` / `name : value` with an optional `;` or `,`; groups `{}`, lists `()` of any
 * values, arrays `[]` of same-typed scalars; strings with escapes and adjacent-string concatenation;
 * decimal/hex integers (L/LL suffix), floats, case-insensitive booleans; `#`, `//` and block comments.
 * Integers beyond Number.MAX_SAFE_INTEGER come back as bigint. `@include` is refused.
 * Every failure is a ConfigError carrying file, line and (when known) the setting's dotted path.
 */
import { ConfigError } from '../core/errors.ts';

export type JcfgValue = string | number | bigint | boolean | JcfgValue[] | JcfgGroup;
export interface JcfgGroup {
  [name: string]: JcfgValue;
}

export interface JcfgParseResult {
  value: JcfgGroup;
  /** Line of every setting, keyed by dotted path: "general.debug_level", "rooms.0.name". */
  lines: Map<string, number>;
}

/** Deepest nesting of groups, lists and arrays accepted. */
export const MAX_DEPTH = 64;

type TokenType = 'name' | 'string' | 'int' | 'float' | 'bool' | 'punct' | 'eof';
interface Token {
  type: TokenType;
  text: string;
  value?: JcfgValue;
  line: number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

const HEX_RE = /0[xX][0-9A-Fa-f]+(?:LL|L)?/y;
const FLOAT_RE = /[-+]?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)/y;
const INT_RE = /[-+]?\d+(?:LL|L)?/y;
const WORD_RE = /[A-Za-z*][-A-Za-z0-9_*]*/y;
const PUNCT = '=:;,{}()[]';
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', t: '\t', r: '\r', f: '\f' };

function isWordChar(c: string): boolean {
  return /[-A-Za-z0-9_*.]/.test(c);
}

class Lexer {
  pos = 0;
  line = 1;
  /** Dotted path of the setting being read, named in lexical errors. */
  context: string | undefined;
  private peeked: Token | undefined;

  constructor(
    private readonly text: string,
    private readonly file: string | undefined,
  ) {
    if (text.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  fail(message: string, line = this.line, key = this.context): never {
    throw new ConfigError(message, { file: this.file, line, key });
  }

  peek(): Token {
    this.peeked ??= this.lex();
    return this.peeked;
  }

  next(): Token {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  private skipBlank(): void {
    const s = this.text;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === '\n') {
        this.line++;
        this.pos++;
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
        this.pos++;
      } else if (c === '#' || (c === '/' && s[this.pos + 1] === '/')) {
        const eol = s.indexOf('\n', this.pos);
        this.pos = eol < 0 ? s.length : eol;
      } else if (c === '/' && s[this.pos + 1] === '*') {
        const end = s.indexOf('*/', this.pos + 2);
        if (end < 0) this.fail('unterminated /* comment');
        this.countLines(this.pos, end);
        this.pos = end + 2;
      } else {
        return;
      }
    }
  }

  private countLines(from: number, to: number): void {
    for (let i = from; i < to; i++) if (this.text.charCodeAt(i) === 10) this.line++;
  }

  private match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    return m ? m[0] : undefined;
  }

  private lex(): Token {
    this.skipBlank();
    const s = this.text;
    const line = this.line;
    if (this.pos >= s.length) return { type: 'eof', text: '', line };
    const c = s[this.pos];
    if (PUNCT.includes(c)) {
      this.pos++;
      return { type: 'punct', text: c, line };
    }
    if (c === '"') return this.lexString();
    if (c === '@') {
      if (s.startsWith('@include', this.pos)) this.fail('@include is not supported');
      this.fail("unexpected character '@'");
    }
    if (/[0-9+\-.]/.test(c)) return this.lexNumber(line);
    const word = this.match(WORD_RE);
    if (word !== undefined) {
      this.pos += word.length;
      if (/^(true|false)$/i.test(word)) return { type: 'bool', text: word, value: word.toLowerCase() === 'true', line };
      return { type: 'name', text: word, line };
    }
    this.fail(`unexpected character ${JSON.stringify(c)}`);
  }

  private lexNumber(line: number): Token {
    let type: TokenType = 'int';
    let text = this.match(HEX_RE);
    if (text === undefined) {
      text = this.match(FLOAT_RE);
      if (text !== undefined) type = 'float';
      else text = this.match(INT_RE);
    }
    const after = text === undefined ? '' : (this.text[this.pos + text.length] ?? '');
    if (text === undefined || (after !== '' && isWordChar(after))) {
      const bad = this.text.slice(this.pos, this.pos + 20).split(/[\s;,)\]}]/)[0];
      this.fail(`invalid number '${bad}'`);
    }
    this.pos += text.length;
    if (type === 'float') {
      const value = Number(text);
      if (!Number.isFinite(value)) this.fail(`float out of range '${text.slice(0, 30)}'`, line);
      return { type, text, value, line };
    }
    return { type, text, value: this.intValue(text, line), line };
  }

  private intValue(text: string, line: number): number | bigint {
    const digits = text.replace(/L{1,2}$/, '');
    const hex = /^0[xX]/.test(digits);
    // Skip BigInt on absurdly long literals (it is not linear in their length).
    const significant = digits.replace(hex ? /^0[xX]0*/ : /^[-+]?0*/, '').length;
    if (significant > (hex ? 16 : 19)) this.fail(`integer out of 64-bit range '${text.slice(0, 30)}'`, line);
    const big = BigInt(digits);
    if (hex ? big > UINT64_MAX : big < INT64_MIN || big > INT64_MAX) {
      this.fail(`integer out of 64-bit range '${text}'`, line);
    }
    return big >= -SAFE_MAX && big <= SAFE_MAX ? Number(big) : big;
  }

  private lexString(): Token {
    const s = this.text;
    const line = this.line;
    const chunks: Buffer[] = [];
    let i = this.pos + 1;
    let runStart = i;
    const flush = (end: number) => {
      if (end > runStart) chunks.push(Buffer.from(s.slice(runStart, end), 'utf8'));
    };
    for (;;) {
      if (i >= s.length) this.fail('unterminated string', line);
      const c = s[i];
      if (c === '"') break;
      if (c === '\n') this.line++;
      if (c !== '\\') {
        i++;
        continue;
      }
      flush(i);
      const e = s[i + 1];
      if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        chunks.push(Buffer.from(ESCAPES[e], 'utf8'));
        i += 2;
      } else if (e === 'x' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 2, i + 4))) {
        chunks.push(Buffer.from([parseInt(s.slice(i + 2, i + 4), 16)]));
        i += 4;
      } else {
        this.fail(`invalid escape sequence '\\${e ?? ''}' in string`);
      }
      runStart = i;
    }
    flush(i);
    this.pos = i + 1;
    const value = Buffer.concat(chunks).toString('utf8');
    return { type: 'string', text: value, value, line };
  }
}

class Parser {
  readonly lines = new Map<string, number>();

  constructor(private readonly lex: Lexer) {}

  parseFile(): JcfgGroup {
    const root: JcfgGroup = {};
    this.parseSettings(root, '', 0, undefined);
    return root;
  }

  /** Settings up to `}` (when `open` is the line of the `{`) or to end of input. */
  private parseSettings(group: JcfgGroup, prefix: string, depth: number, open: { line: number } | undefined): void {
    const lex: Lexer = this.lex;
    for (;;) {
      const t = lex.next();
      if (t.type === 'eof') {
        if (open) lex.fail("missing '}' to close this group", open.line, prefix || undefined);
        return;
      }
      if (open && t.type === 'punct' && t.text === '}') return;
      if (t.type !== 'name') {
        const what = t.type === 'punct' ? `'${t.text}'` : `${t.type} '${t.text}'`;
        lex.fail(`expected a setting name, found ${what}`, t.line, prefix || undefined);
      }
      const path = prefix ? `${prefix}.${t.text}` : t.text;
      if (Object.hasOwn(group, t.text)) lex.fail('duplicate setting', t.line, path);
      const sep = lex.next();
      if (sep.type !== 'punct' || (sep.text !== '=' && sep.text !== ':')) {
        lex.fail(`expected '=' or ':' after '${t.text}'`, sep.line, path);
      }
      lex.context = path;
      group[t.text] = this.parseValue(path, depth);
      lex.context = prefix || undefined;
      this.lines.set(path, t.line);
      const term = lex.peek();
      if (term.type === 'punct' && (term.text === ';' || term.text === ',')) lex.next();
    }
  }

  private parseValue(path: string, depth: number): JcfgValue {
    const lex: Lexer = this.lex;
    const t = lex.next();
    if (t.type === 'punct') {
      if (t.text === '{' || t.text === '(' || t.text === '[') {
        if (depth >= MAX_DEPTH) lex.fail(`nesting deeper than ${MAX_DEPTH} levels`, t.line, path);
      }
      if (t.text === '{') {
        const group: JcfgGroup = {};
        this.parseSettings(group, path, depth + 1, t);
        return group;
      }
      if (t.text === '(') return this.parseSequence(path, depth + 1, t, ')');
      if (t.text === '[') return this.parseSequence(path, depth + 1, t, ']');
    }
    if (t.type === 'string') {
      let text = t.text;
      while (lex.peek().type === 'string') text += lex.next().text;
      return text;
    }
    if (t.type === 'int' || t.type === 'float' || t.type === 'bool') return t.value as JcfgValue;
    const what = t.type === 'eof' ? 'end of file' : `'${t.text}'`;
    lex.fail(`expected a value, found ${what}`, t.line, path);
  }

  /** A list `( ... )` of any values, or an array `[ ... ]` of scalars of one type. */
  private parseSequence(path: string, depth: number, open: Token, close: ')' | ']'): JcfgValue[] {
    const lex: Lexer = this.lex;
    const out: JcfgValue[] = [];
    let arrayKind: string | undefined;
    for (;;) {
      const t = lex.peek();
      if (t.type === 'punct' && t.text === close) {
        lex.next();
        return out;
      }
      if (t.type === 'eof') lex.fail(`missing '${close}' to close this ${close === ')' ? 'list' : 'array'}`, open.line, path);
      const elemPath = `${path}.${out.length}`;
      if (close === ']') {
        if (t.type !== 'string' && t.type !== 'int' && t.type !== 'float' && t.type !== 'bool') {
          lex.fail('arrays may only hold scalar values (use a list for groups)', t.line, path);
        }
        if (arrayKind !== undefined && arrayKind !== t.type) lex.fail('array elements must all have the same type', t.line, path);
        arrayKind = t.type;
      }
      out.push(this.parseValue(elemPath, depth));
      const sep = lex.next();
      if (sep.type === 'punct' && sep.text === close) return out;
      if (sep.type !== 'punct' || sep.text !== ',') {
        lex.fail(`expected ',' or '${close}'`, sep.line, path);
      }
    }
  }
}

/** Parse libconfig text, also returning the line of every setting. */
export function parseJcfgWithLines(text: string, file?: string): JcfgParseResult {
  const parser = new Parser(new Lexer(text, file));
  const value = parser.parseFile();
  return { value, lines: parser.lines };
}

/** Parse libconfig text into plain objects and arrays. Throws ConfigError on any syntax error. */
export function parseJcfg(text: string, file?: string): Record<string, unknown> {
  return parseJcfgWithLines(text, file).value;
}
