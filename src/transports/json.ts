/**
 * JSON in and out of the transports: the `json` output format option, parsing of request bodies, the
 * splitting of several concatenated JSON objects in one WebSocket message, and the error replies a
 * transport builds itself (before the core sees a request).
 */
import { Errors, type JanusError } from '../core/errors.ts';
import type { JanusMessage } from '../core/transport.ts';

export type JsonFormat = 'indented' | 'plain' | 'compact';

/**
 * Serializer for the `json` option. Janus (jansson): indented = 3-space indent, plain = one line with a
 * space after ':' and ',', compact = no spaces at all.
 */
export function jsonSerializer(format: JsonFormat | string | undefined): (value: unknown) => string {
  if (format === 'compact') return (v) => JSON.stringify(v);
  if (format === 'plain') return toPlain;
  return (v) => JSON.stringify(v, null, 3);
}

/**
 * One line with readable separators. JSON.stringify escapes newlines inside strings, so every raw
 * newline in its indented output is structural and can be folded without looking at the content.
 */
function toPlain(v: unknown): string {
  return JSON.stringify(v, null, 1)
    .replace(/([[{])\n */g, '$1')
    .replace(/\n *([\]}])/g, '$1')
    .replace(/,\n */g, ', ');
}

export type ParseResult = { ok: true; value: unknown } | { ok: false; error: JanusError };

/**
 * Parse one JSON text. The single place where request bytes become values, so a lossless parser for
 * 64-bit plugin ids (JANUS-REFERENCE 1: "JSON parsing must not silently round them") can go here.
 */
export function parseJson(text: string): ParseResult {
  if (text.trim() === '') return { ok: false, error: Errors.invalidJson('Request payload missing') };
  try {
    const value = JSON.parse(text) as unknown;
    // Janus (jansson) takes only an object or an array as a JSON text: a bare scalar is a JSON error.
    if (typeof value !== 'object' || value === null) return { ok: false, error: Errors.invalidJson("'[' or '{' expected") };
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: Errors.invalidJson(err instanceof Error ? err.message : String(err)) };
  }
}

/**
 * Split a text holding one or more concatenated top-level JSON values ("{...}{...}", whitespace allowed
 * between them) into their source texts, in order. Janus 1.1.2 accepts this on WebSocket (PR #3123).
 * Objects and arrays are delimited by bracket counting outside strings; anything else (a stray scalar,
 * an unterminated object) is returned as the last piece so that parsing it reports the error.
 */
export function splitJsonValues(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && isWs(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const first = text.charCodeAt(i);
    if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) {
      out.push(text.slice(i));
      break;
    }
    const end = endOfValue(text, i);
    if (end < 0) {
      out.push(text.slice(i));
      break;
    }
    out.push(text.slice(i, end));
    i = end;
  }
  return out;
}

/** Index just past the object/array starting at `start`, or -1 when it is not closed. */
function endOfValue(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** `{janus:"error", error:{code, reason}}` for failures the transport detects itself (no transaction known). */
export function transportError(error: JanusError, transaction?: string): JanusMessage {
  const reply: JanusMessage = { janus: 'error' };
  if (transaction !== undefined) reply.transaction = transaction;
  reply.error = { code: error.code, reason: error.reason };
  return reply;
}
