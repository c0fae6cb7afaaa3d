/**
 * Request checks of the SIP plugin (JANUS-REFERENCE 2.8) with Janus 1.1.2's error codes, and the
 * custom-header check: header names are tokens, values carry no CR, LF or NUL (no header injection),
 * and sizes are capped.
 */

export const SIP_ERROR = {
  UNKNOWN_ERROR: 499,
  NO_MESSAGE: 440,
  INVALID_JSON: 441,
  INVALID_REQUEST: 442,
  MISSING_ELEMENT: 443,
  INVALID_ELEMENT: 444,
  ALREADY_REGISTERED: 445,
  INVALID_ADDRESS: 446,
  WRONG_STATE: 447,
  MISSING_SDP: 448,
  LIBSOFIA_ERROR: 449,
  IO_ERROR: 450,
  RECORDING_ERROR: 451,
  TOO_STRICT: 452,
  HELPER_ERROR: 453,
  NO_SUCH_CALLID: 454,
} as const;

export class SipRequestError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'SipRequestError';
  }
}

type Kind = 'string' | 'boolean' | 'integer' | 'object';
const WHAT: Record<Kind, string> = { string: 'a string', boolean: 'a boolean', integer: 'a positive integer', object: 'an object' };

function typeOk(v: unknown, k: Kind): boolean {
  switch (k) {
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    case 'integer': return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
  }
}

/** Janus' JANUS_VALIDATE_JSON_OBJECT: missing mandatory -> 443, wrong type -> 444. */
export function check(body: Record<string, unknown>, spec: ReadonlyArray<readonly [string, Kind, boolean?]>): void {
  for (const [name, kind, required] of spec) {
    const v = body[name];
    if (v === undefined) {
      if (required) throw new SipRequestError(SIP_ERROR.MISSING_ELEMENT, `Missing element (${name})`);
      continue;
    }
    if (!typeOk(v, kind)) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, `Invalid element type (${name} should be ${WHAT[kind]})`);
  }
}

const TOKEN = /^[A-Za-z0-9!%*_+`'~.-]{1,64}$/;
const MAX_HEADER = 1024;
const MAX_HEADERS_TOTAL = 8192;

/** Custom headers ({name: value}) as "Name: value" lines, refused when they could inject anything. */
export function customHeaders(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid element type (headers should be an object)');
  }
  const out: string[] = [];
  let total = 0;
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, `Invalid element type (header ${name.slice(0, 64)} should be a string)`);
    if (!TOKEN.test(name)) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid element (invalid header name)');
    if (/[\r\n\0]/.test(v)) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, `Invalid element (header ${name} contains CR/LF)`);
    const line = `${name}: ${v}`;
    if (line.length > MAX_HEADER) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, `Invalid element (header ${name} too long)`);
    total += line.length;
    if (total > MAX_HEADERS_TOTAL) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid element (headers too large)');
    out.push(line);
  }
  return out;
}

/** A sip: or sips: URI as Janus accepts it for identities and targets. */
export function sipUri(value: string, what: string): string {
  if (!/^sips?:[^\s<>"]{1,1024}$/i.test(value) || /[\r\n\0]/.test(value)) {
    throw new SipRequestError(SIP_ERROR.INVALID_ADDRESS, `Invalid ${what} address`);
  }
  return value;
}

/** A string that goes into a SIP message (display names, bodies' content types): no CR/LF. */
export function plain(value: string, what: string, max = 256): string {
  if (value.length > max || /[\r\n\0"]/.test(value)) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, `Invalid element (${what})`);
  return value;
}
