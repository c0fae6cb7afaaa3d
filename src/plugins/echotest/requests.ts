/**
 * The EchoTest request (JANUS-REFERENCE 2.1): one unnamed asynchronous message whose attributes are
 * all optional. Validation follows Janus 1.1.2 word for word (checked against the reference Janus):
 * attributes are type-checked in Janus' order and the first bad one is reported as 413
 * "Invalid element type (<name> should be <type>)"; substream/temporal above 2 are 413
 * "Invalid value (...)"; a message with none of the attributes that do something (and no SDP) is 413
 * "Message error: no supported attributes found". 411/412 cover a missing or non-object body, which
 * the core already refuses before any plugin sees it (456/467), so they only guard direct calls.
 */

export const ECHOTEST_ERROR = {
  NO_MESSAGE: 411,
  INVALID_JSON: 412,
  INVALID_ELEMENT: 413,
  INVALID_SDP: 414,
} as const;

export interface EchoRequest {
  audio?: boolean;
  video?: boolean;
  bitrate?: number;
  record?: boolean;
  filename?: string;
  substream?: number;
  temporal?: number;
  /** Simulcast fallback timer, microseconds (0 = Janus' default of 250 ms). */
  fallback?: number;
  audiocodec?: string;
  videocodec?: string;
  videoprofile?: string;
  opusred?: boolean;
  minDelay?: number;
  maxDelay?: number;
}

export type ParsedRequest = { ok: true; request: EchoRequest } | { ok: false; code: number; error: string };

type Kind = 'boolean' | 'string' | 'positive' | 'integer';
const WHAT: Record<Kind, string> = { boolean: 'a boolean', string: 'a string', positive: 'a positive integer', integer: 'an integer' };

/** Janus' request_parameters, in its order (the first failing one is the one reported). */
const PARAMS: ReadonlyArray<readonly [string, Kind]> = [
  ['audio', 'boolean'],
  ['video', 'boolean'],
  ['bitrate', 'positive'],
  ['record', 'boolean'],
  ['filename', 'string'],
  ['substream', 'positive'],
  ['temporal', 'positive'],
  ['fallback', 'positive'],
  ['audiocodec', 'string'],
  ['videocodec', 'string'],
  ['videoprofile', 'string'],
  ['opusred', 'boolean'],
  ['min_delay', 'integer'],
  ['max_delay', 'integer'],
];

/** Attributes whose presence alone makes a message meaningful (audiocodec and filename do not). */
const ACTIONABLE = ['audio', 'video', 'videocodec', 'videoprofile', 'opusred', 'bitrate', 'substream', 'temporal', 'fallback', 'record', 'min_delay', 'max_delay'];

function typeOk(v: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'positive':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v);
  }
}

const fail = (code: number, error: string): ParsedRequest => ({ ok: false, code, error });

/** Validate a message body; `withSdp` says whether a JSEP offer came along. */
export function parseRequest(body: unknown, withSdp: boolean): ParsedRequest {
  if (body === undefined || body === null) return fail(ECHOTEST_ERROR.NO_MESSAGE, 'No message??');
  if (typeof body !== 'object' || Array.isArray(body)) return fail(ECHOTEST_ERROR.INVALID_JSON, 'JSON error: not an object');
  const b = body as Record<string, unknown>;
  for (const [name, kind] of PARAMS) {
    // A JSON null is a value of the wrong type, as for Janus (jansson sees the key).
    if (b[name] !== undefined && !typeOk(b[name], kind)) {
      return fail(ECHOTEST_ERROR.INVALID_ELEMENT, `Invalid element type (${name} should be ${WHAT[kind]})`);
    }
  }
  if (typeof b.substream === 'number' && b.substream > 2) return fail(ECHOTEST_ERROR.INVALID_ELEMENT, 'Invalid value (substream should be 0, 1 or 2)');
  if (typeof b.temporal === 'number' && b.temporal > 2) return fail(ECHOTEST_ERROR.INVALID_ELEMENT, 'Invalid value (temporal should be 0, 1 or 2)');
  if (!withSdp && !ACTIONABLE.some((k) => b[k] !== undefined)) {
    return fail(ECHOTEST_ERROR.INVALID_ELEMENT, 'Message error: no supported attributes found');
  }
  const request: EchoRequest = {};
  if (b.audio !== undefined) request.audio = b.audio as boolean;
  if (b.video !== undefined) request.video = b.video as boolean;
  if (b.bitrate !== undefined) request.bitrate = b.bitrate as number;
  if (b.record !== undefined) request.record = b.record as boolean;
  if (b.filename !== undefined) request.filename = b.filename as string;
  if (b.substream !== undefined) request.substream = b.substream as number;
  if (b.temporal !== undefined) request.temporal = b.temporal as number;
  if (b.fallback !== undefined) request.fallback = b.fallback as number;
  if (b.audiocodec !== undefined) request.audiocodec = b.audiocodec as string;
  if (b.videocodec !== undefined) request.videocodec = b.videocodec as string;
  if (b.videoprofile !== undefined) request.videoprofile = b.videoprofile as string;
  if (b.opusred !== undefined) request.opusred = b.opusred as boolean;
  if (b.min_delay !== undefined) request.minDelay = b.min_delay as number;
  if (b.max_delay !== undefined) request.maxDelay = b.max_delay as number;
  return { ok: true, request };
}

/** "opus,pcma" -> ['opus', 'pcma'], keeping only names in `known`; undefined when none is left. */
export function codecList(value: string | undefined, known: readonly string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  return list.length ? list.filter((s) => known.includes(s)) : undefined;
}
