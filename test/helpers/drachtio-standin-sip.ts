/**
 * SIP message handling for the drachtio stand-in (drachtio-standin.ts): a small RFC 3261 parser and
 * writer, independent of Portunus' own SIP code on purpose (the stand-in plays a separate server).
 * Header order is kept; names compare case-insensitively with the compact forms of section 7.3.3.
 */
import { randomBytes } from 'node:crypto';

const COMPACT: Record<string, string> = { v: 'via', i: 'call-id', l: 'content-length', f: 'from', t: 'to', m: 'contact', c: 'content-type', k: 'supported', o: 'event', r: 'refer-to', b: 'referred-by' };
export const MAX_SIP = 65_535;

export class SipMsg {
  constructor(public first: string, public headers: Array<[string, string]>, public body: string) {}

  get isResponse(): boolean {
    return this.first.startsWith('SIP/2.0 ');
  }
  get status(): number {
    return this.isResponse ? Number(this.first.split(' ')[1]) : 0;
  }
  get method(): string {
    return this.isResponse ? (this.get('cseq') ?? '').trim().split(/\s+/)[1] ?? '' : this.first.split(' ')[0];
  }
  get uri(): string {
    return this.isResponse ? '' : this.first.split(' ')[1] ?? '';
  }
  get cseq(): number {
    return Number.parseInt(this.get('cseq') ?? '', 10);
  }

  static norm(name: string): string {
    const l = name.trim().toLowerCase();
    return COMPACT[l] ?? l;
  }
  get(name: string): string | undefined {
    const n = SipMsg.norm(name);
    return this.headers.find(([h]) => SipMsg.norm(h) === n)?.[1];
  }
  /** Every value of a header, comma lists split (Via, Record-Route, Route). */
  all(name: string): string[] {
    const n = SipMsg.norm(name);
    return this.headers.filter(([h]) => SipMsg.norm(h) === n).flatMap(([, v]) => splitList(v));
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
  remove(name: string): void {
    const n = SipMsg.norm(name);
    this.headers = this.headers.filter(([h]) => SipMsg.norm(h) !== n);
  }
  set(name: string, value: string): void {
    const n = SipMsg.norm(name);
    const i = this.headers.findIndex(([h]) => SipMsg.norm(h) === n);
    if (i >= 0) this.headers[i] = [name, value];
    else this.headers.push([name, value]);
  }

  toString(): string {
    const lines = [this.first];
    for (const [h, v] of this.headers) if (SipMsg.norm(h) !== 'content-length') lines.push(`${h}: ${v}`);
    lines.push(`Content-Length: ${Buffer.byteLength(this.body, 'utf8')}`);
    return `${lines.join('\r\n')}\r\n\r\n${this.body}`;
  }

  /** `strict`: a message from the network (Via, From, To, Call-ID and CSeq required); the app's may omit them. */
  static parse(text: string, strict = true): SipMsg | undefined {
    if (text.length === 0 || text.length > MAX_SIP) return undefined;
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const lines = text.slice(0, end).split('\r\n');
    const first = lines.shift() ?? '';
    if (!/^(SIP\/2\.0 [1-6]\d\d .*|SIP\/2\.0 [1-6]\d\d|[A-Z]+ \S+ SIP\/2\.0)$/.test(first)) return undefined;
    const headers: Array<[string, string]> = [];
    for (const line of lines) {
      if (/^[ \t]/.test(line) && headers.length > 0) {
        headers[headers.length - 1][1] += ` ${line.trim()}`;
        continue;
      }
      const i = line.indexOf(':');
      if (i <= 0) return undefined;
      headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    }
    let body = text.slice(end + 4);
    const m = new SipMsg(first, headers, '');
    const cl = m.get('content-length');
    if (cl !== undefined) {
      const n = Number.parseInt(cl, 10);
      if (!(n >= 0)) return undefined;
      body = Buffer.from(body, 'utf8').subarray(0, n).toString('utf8');
    }
    m.body = body;
    if (strict && !wellFormed(m, text.slice(0, end))) return undefined;
    return m;
  }
}

const TOKEN = /^[A-Za-z0-9!%*_+`'~.-]+$/;

/** Balanced quotes and angle brackets, as a name-addr needs (RFC 3261 section 25.1). */
function balanced(v: string): boolean {
  const quotes = (v.match(/(?<!\\)"/g) ?? []).length;
  return quotes % 2 === 0 && (v.match(/</g) ?? []).length === (v.match(/>/g) ?? []).length;
}

/**
 * What a SIP parser such as sofia-sip's refuses from the network (the stand-in drops it): bare CR or
 * LF in the head, header names that are not tokens, a missing or malformed Via/From/To/Call-ID/CSeq,
 * a CSeq method other than the request's, a Request-URI that is not a URI.
 */
function wellFormed(m: SipMsg, head: string): boolean {
  if (/\r(?!\n)|(?<!\r)\n/.test(head)) return false;
  if (!m.headers.every(([h]) => TOKEN.test(h))) return false;
  for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) if (!m.has(h)) return false;
  if (!/^SIP\/2\.0\/[A-Za-z]+\s+[^\s;,]+/.test(m.get('via') ?? '')) return false;
  for (const h of ['from', 'to', 'contact', 'route', 'record-route']) {
    const v = m.get(h);
    if (v !== undefined && (!balanced(v) || (h !== 'contact' || v !== '*') && !/(sips?|tel):/i.test(v))) return false;
  }
  const cseq = /^(\d+)\s+([A-Za-z]+)$/.exec(m.get('cseq') ?? '');
  if (!cseq || (!m.isResponse && cseq[2] !== m.method)) return false;
  if (!m.isResponse && !/^(sips?|tel):[^\s<>"]+$/i.test(m.uri)) return false;
  const cl = m.get('content-length');
  return cl === undefined || /^\d+$/.test(cl);
}

/** Split a header value at top-level commas (not inside quotes or <...>). */
export function splitList(v: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '"' && v[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && c === '<') depth++;
    else if (!quoted && c === '>') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      out.push(v.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = v.slice(start).trim();
  if (last) out.push(last);
  return out;
}

/** A ;name=value parameter of a header value (outside the <...> URI). */
export function param(value: string | undefined, name: string): string | undefined {
  if (!value) return undefined;
  const close = value.lastIndexOf('>');
  const tail = close >= 0 ? value.slice(close + 1) : value;
  const m = new RegExp(`;\\s*${name}=([^;,\\s]+)`, 'i').exec(tail);
  return m?.[1];
}

/** The URI of a name-addr or addr-spec ("X" <sip:a@b>;tag=1 -> sip:a@b). */
export function uriOf(value: string): string {
  const m = /<([^>]*)>/.exec(value);
  return m ? m[1] : value.split(';')[0].trim();
}

/** host and port of a SIP URI (default 5060). */
export function hostPort(uri: string): { host: string; port: number } {
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?/i.exec(uri.trim());
  if (!m) throw new Error(`bad SIP URI ${uri}`);
  return { host: m[1], port: m[2] ? Number(m[2]) : 5060 };
}

export function token(n = 8): string {
  return randomBytes(n).toString('hex');
}

export function branch(): string {
  return `z9hG4bK${token(8)}`;
}

const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 202: 'Accepted', 400: 'Bad Request', 404: 'Not Found',
  408: 'Request Timeout', 480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 486: 'Busy Here',
  487: 'Request Terminated', 488: 'Not Acceptable Here', 500: 'Server Internal Error', 503: 'Service Unavailable',
};
export function reasonOf(code: number): string {
  return REASONS[code] ?? 'Unknown';
}
