/**
 * A small, defensive reader of SIP message heads (RFC 3261 section 7) for the transport layer: the
 * start line, the headers it routes and retransmits by (Via, CSeq, Call-ID, Route, Content-Length)
 * and where the body starts. sip.js parses the message fully afterwards; this only has to be right
 * about routing and never throw. Anything malformed or over the caps is `undefined` (dropped).
 */

/** Largest message we accept on any transport (UDP datagrams cannot be larger anyway). */
export const MAX_SIP_MESSAGE = 65_535;
const MAX_HEADERS = 200;

/** Compact header forms (RFC 3261 section 7.3.3) we care about. */
const COMPACT: Record<string, string> = { v: 'via', i: 'call-id', l: 'content-length', f: 'from', t: 'to', m: 'contact', c: 'content-type', k: 'supported' };

export interface SipHead {
  request: boolean;
  /** Request method, or the CSeq method of a response. */
  method: string;
  /** Status code of a response, 0 for requests. */
  status: number;
  /** Request-URI of a request, '' for responses. */
  uri: string;
  /** Header values by lower-case long name, in order; comma lists are not split. */
  headers: Map<string, string[]>;
  cseq: number;
  /** Byte offset of the body (after the empty line). */
  bodyOffset: number;
  contentLength: number;
}

export interface ViaValue {
  transport: string;
  host: string;
  port: number | undefined;
  params: Map<string, string>;
}

/** The byte offset just past "\r\n\r\n" (or "\n\n"), or -1. */
export function headEnd(buf: Buffer): number {
  const crlf = buf.indexOf('\r\n\r\n');
  if (crlf >= 0) return crlf + 4;
  const lf = buf.indexOf('\n\n');
  return lf >= 0 ? lf + 2 : -1;
}

export function scanSipMessage(buf: Buffer): SipHead | undefined {
  if (buf.length === 0 || buf.length > MAX_SIP_MESSAGE) return undefined;
  const end = headEnd(buf);
  if (end < 0) return undefined;
  const lines = buf.toString('latin1', 0, end).split(/\r?\n/);
  const first = lines[0];
  let request: boolean;
  let method = '';
  let status = 0;
  let uri = '';
  let m = /^SIP\/2\.0 ([1-6]\d\d) /.exec(first + ' ');
  if (m) {
    request = false;
    status = Number(m[1]);
  } else {
    m = /^([A-Za-z]{1,32}) (\S{1,4096}) SIP\/2\.0$/.exec(first);
    if (!m) return undefined;
    request = true;
    method = m[1].toUpperCase();
    uri = m[2];
  }
  const headers = new Map<string, string[]>();
  let count = 0;
  let last: string[] | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    if (line[0] === ' ' || line[0] === '\t') {
      // Folded continuation (RFC 3261 section 7.3.1).
      if (!last || last.length === 0) return undefined;
      last[last.length - 1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    if (++count > MAX_HEADERS) return undefined;
    let name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9!%*_+`'~.-]+$/.test(name)) return undefined;
    name = COMPACT[name] ?? name;
    let list = headers.get(name);
    if (!list) headers.set(name, (list = []));
    list.push(line.slice(colon + 1).trim());
    last = list;
  }
  const cseqText = headers.get('cseq')?.[0];
  const cm = cseqText ? /^(\d{1,10})\s+([A-Za-z]{1,32})$/.exec(cseqText) : null;
  if (!cm) return undefined;
  if (!request) method = cm[2].toUpperCase();
  if (!headers.get('via')?.[0] || !headers.get('call-id')?.[0]) return undefined;
  const clText = headers.get('content-length')?.[0];
  let contentLength = 0;
  if (clText !== undefined) {
    if (!/^\d{1,6}$/.test(clText)) return undefined;
    contentLength = Number(clText);
  }
  return { request, method, status, uri, headers, cseq: Number(cm[1]), bodyOffset: end, contentLength };
}

/** The first Via value of a header list ("SIP/2.0/UDP host:port;branch=...;rport"). */
export function topVia(head: SipHead): ViaValue | undefined {
  const raw = head.headers.get('via')?.[0];
  if (!raw) return undefined;
  const first = raw.split(',')[0].trim();
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]{2,4})\s+(\[[0-9a-fA-F:.]+\]|[^\s;:]+)(?::(\d{1,5}))?\s*(;.*)?$/.exec(first);
  if (!m) return undefined;
  const params = new Map<string, string>();
  for (const p of (m[4] ?? '').split(';')) {
    const t = p.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    params.set((eq < 0 ? t : t.slice(0, eq)).toLowerCase(), eq < 0 ? '' : t.slice(eq + 1));
  }
  const port = m[3] !== undefined ? Number(m[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { transport: m[1].toUpperCase(), host: m[2].replace(/^\[|\]$/g, ''), port, params };
}

export interface HostPort {
  host: string;
  port: number | undefined;
  transport: string | undefined;
}

/** Host, port and transport param of a SIP URI ("<sip:user@host:port;transport=tcp>" or bare). */
export function uriTarget(text: string): HostPort | undefined {
  const lt = text.indexOf('<');
  const inner = lt >= 0 ? text.slice(lt + 1, text.indexOf('>', lt) < 0 ? undefined : text.indexOf('>', lt)) : text;
  const m = /^sips?:(?:[^@]*@)?(\[[0-9a-fA-F:.]+\]|[^;:?>\s]+)(?::(\d{1,5}))?([^?>]*)/i.exec(inner.trim());
  if (!m) return undefined;
  const tp = /;transport=([a-z]+)/i.exec(m[3] ?? '');
  const port = m[2] !== undefined ? Number(m[2]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ''), port, transport: tp?.[1].toLowerCase() };
}

/** Whether a Route/Record-Route URI is a loose router (RFC 3261 section 16.12). */
export function isLooseRoute(text: string): boolean {
  return /;lr(?:[;=>\s]|$)/i.test(text);
}
