/**
 * The byte stream an RTSP server sends on its TCP connection: responses (RFC 2326 s7, status line,
 * headers, optional body of Content-Length bytes) interleaved with binary frames carrying RTP/RTCP
 * (s10.12: '$', one channel byte, a 16-bit length, the packet). RtspStreamParser takes chunks as
 * they arrive and hands out complete items; everything is untrusted: the header block, the header
 * count and the body are capped, and a malformed response raises RtspProtocolError (the connection
 * is then dropped), never anything else.
 */

export class RtspProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RtspProtocolError';
  }
}

export interface RtspResponse {
  status: number;
  reason: string;
  /** Header names in lower case; repeated headers joined with ", " (WWW-Authenticate kept apart). */
  headers: Map<string, string>;
  /** Every WWW-Authenticate challenge offered. */
  challenges: string[];
  body: string;
}

export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_HEADERS = 64;
export const MAX_BODY_BYTES = 64 * 1024;
/** Buffered bytes beyond which a peer that never completes an item is cut off. */
const MAX_PENDING = MAX_HEADER_BYTES + MAX_BODY_BYTES + 4;

export interface RtspStreamSink {
  response(r: RtspResponse): void;
  /** An interleaved frame; `payload` is a copy the sink may keep. */
  frame(channel: number, payload: Buffer): void;
}

function findHeaderEnd(buf: Buffer, from: number): number {
  const limit = Math.min(buf.length, from + MAX_HEADER_BYTES + 4);
  for (let i = from; i + 3 < limit; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** Parse the status line and headers of one response (text without the blank line). */
export function parseResponseHead(text: string): Omit<RtspResponse, 'body'> {
  const lines = text.split(/\r?\n/);
  const m = /^RTSP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!m) throw new RtspProtocolError('bad status line');
  const headers = new Map<string, string>();
  const challenges: string[] = [];
  let count = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    if (++count > MAX_HEADERS) throw new RtspProtocolError('too many headers');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new RtspProtocolError('bad header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!/^[a-z0-9-]{1,64}$/.test(name)) throw new RtspProtocolError('bad header name');
    if (name === 'www-authenticate') challenges.push(value);
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { status: Number(m[1]), reason: (m[2] ?? '').slice(0, 256), headers, challenges };
}

export class RtspStreamParser {
  #buf: Buffer = Buffer.alloc(0);
  /** A response head waiting for its body. */
  #pending: (Omit<RtspResponse, 'body'> & { length: number }) | undefined;

  constructor(private readonly sink: RtspStreamSink) {}

  /** Feed bytes from the connection. Throws RtspProtocolError on garbage. */
  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let off = 0;
    const buf = this.#buf;
    for (;;) {
      if (this.#pending) {
        const p = this.#pending;
        if (buf.length - off < p.length) break;
        const body = buf.toString('utf8', off, off + p.length);
        off += p.length;
        this.#pending = undefined;
        this.sink.response({ status: p.status, reason: p.reason, headers: p.headers, challenges: p.challenges, body });
        continue;
      }
      if (off >= buf.length) break;
      if (buf[off] === 0x24) {
        // s10.12 interleaved frame: $ channel length(16) payload
        if (buf.length - off < 4) break;
        const channel = buf[off + 1];
        const len = buf.readUInt16BE(off + 2);
        if (buf.length - off < 4 + len) break;
        this.sink.frame(channel, Buffer.from(buf.subarray(off + 4, off + 4 + len)));
        off += 4 + len;
        continue;
      }
      if (buf[off] === 13 || buf[off] === 10) {
        off++; // stray line ends between messages
        continue;
      }
      if (buf[off] !== 0x52) throw new RtspProtocolError('expected a response or an interleaved frame'); // 'R'
      const end = findHeaderEnd(buf, off);
      if (end < 0) {
        if (buf.length - off > MAX_HEADER_BYTES) throw new RtspProtocolError('response header too large');
        break;
      }
      const head = parseResponseHead(buf.toString('latin1', off, end));
      off = end + 4;
      const cl = head.headers.get('content-length');
      let length = 0;
      if (cl !== undefined) {
        if (!/^\d{1,9}$/.test(cl)) throw new RtspProtocolError('bad Content-Length');
        length = Number(cl);
        if (length > MAX_BODY_BYTES) throw new RtspProtocolError('body too large');
      }
      this.#pending = { ...head, length };
    }
    this.#buf = off >= buf.length ? Buffer.alloc(0) : buf.subarray(off);
    if (this.#buf.length > MAX_PENDING) throw new RtspProtocolError('peer sends an endless item');
  }

  reset(): void {
    this.#buf = Buffer.alloc(0);
    this.#pending = undefined;
  }
}

/** Parse a Transport header of a SETUP reply (s12.39) into the parameters we use. */
export function parseTransport(value: string): { interleaved?: [number, number]; serverPort?: [number, number]; clientPort?: [number, number]; ssrc?: number; source?: string } {
  const out: ReturnType<typeof parseTransport> = {};
  const first = value.split(',')[0];
  for (const part of first.split(';')) {
    const [k, v] = part.trim().split('=', 2);
    const pair = (): [number, number] | undefined => {
      const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v ?? '');
      if (!m) return undefined;
      const a = Number(m[1]);
      const b = m[2] !== undefined ? Number(m[2]) : a + 1;
      return a <= 65535 && b <= 65535 ? [a, b] : undefined;
    };
    switch (k.toLowerCase()) {
      case 'interleaved': { const p = pair(); if (p && p[0] < 256 && p[1] < 256) out.interleaved = p; break; }
      case 'server_port': { const p = pair(); if (p) out.serverPort = p; break; }
      case 'client_port': { const p = pair(); if (p) out.clientPort = p; break; }
      case 'ssrc': if (v && /^[0-9a-fA-F]{1,8}$/.test(v)) out.ssrc = parseInt(v, 16); break;
      case 'source': if (v && v.length < 64) out.source = v; break;
    }
  }
  return out;
}

/** Session header (s12.37): id and timeout in seconds (default 60). */
export function parseSession(value: string): { id: string; timeout: number } {
  const [id, ...params] = value.split(';');
  let timeout = 60;
  for (const p of params) {
    const m = /^\s*timeout\s*=\s*(\d{1,6})\s*$/i.exec(p);
    if (m) timeout = Number(m[1]);
  }
  const sid = id.trim();
  if (!/^[\x21-\x7e]{1,256}$/.test(sid)) throw new RtspProtocolError('bad Session header');
  return { id: sid, timeout: timeout || 60 };
}
