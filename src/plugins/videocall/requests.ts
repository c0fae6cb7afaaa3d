/**
 * VideoCall requests (JANUS-REFERENCE 2.3): error codes and parameter tables of Janus 1.1.2's
 * janus.plugin.videocall, and the checks that come before any state is looked at.
 */
import { checkParams, isObject, type ParamError, type PluginParam } from '../../core/plugin-params.ts';

export const VIDEOCALL_ERROR = {
  UNKNOWN_ERROR: 499,
  NO_MESSAGE: 470,
  INVALID_JSON: 471,
  INVALID_REQUEST: 472,
  REGISTER_FIRST: 473,
  INVALID_ELEMENT: 474,
  MISSING_ELEMENT: 475,
  USERNAME_TAKEN: 476,
  ALREADY_REGISTERED: 477,
  NO_SUCH_USERNAME: 478,
  USE_ECHO_TEST: 479,
  ALREADY_IN_CALL: 480,
  NO_CALL: 481,
  MISSING_SDP: 482,
  INVALID_SDP: 483,
} as const;

const CODES = { missing: VIDEOCALL_ERROR.MISSING_ELEMENT, invalid: VIDEOCALL_ERROR.INVALID_ELEMENT };

const REQUEST: readonly PluginParam[] = [{ name: 'request', type: 'string', required: true }];
const USERNAME: readonly PluginParam[] = [{ name: 'username', type: 'string', required: true }];
const SET: readonly PluginParam[] = [
  { name: 'audio', type: 'boolean' },
  { name: 'video', type: 'boolean' },
  { name: 'bitrate', type: 'positive' },
  { name: 'record', type: 'boolean' },
  { name: 'filename', type: 'string' },
  { name: 'restart', type: 'boolean' },
];

export interface SetRequest {
  audio?: boolean;
  video?: boolean;
  bitrate?: number;
  record?: boolean;
  filename?: string;
  restart?: boolean;
  substream?: number;
  temporal?: number;
  fallback?: number;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; code: number; error: string };

const bad = (e: ParamError): { ok: false; code: number; error: string } => ({ ok: false, code: e.code, error: e.error });

/** The request name (lower case) of a message body, or the error Janus answers first. */
export function requestName(body: unknown): Checked<string> {
  if (body === undefined || body === null) return { ok: false, code: VIDEOCALL_ERROR.NO_MESSAGE, error: 'No message??' };
  if (!isObject(body)) return { ok: false, code: VIDEOCALL_ERROR.INVALID_JSON, error: 'JSON error: not an object' };
  const e = checkParams(body, REQUEST, CODES);
  return e ? bad(e) : { ok: true, value: (body.request as string).toLowerCase() };
}

export function usernameOf(body: Record<string, unknown>): Checked<string> {
  const e = checkParams(body, USERNAME, CODES);
  return e ? bad(e) : { ok: true, value: body.username as string };
}

function layer(v: unknown, name: string, max: number | undefined): string | undefined {
  if (v === undefined) return undefined;
  const ok = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && (max === undefined || v <= max);
  if (ok) return undefined;
  return max === undefined ? `Invalid value (${name} should be a positive integer)` : `Invalid value (${name} should be 0, 1 or 2)`;
}

export function setRequest(body: Record<string, unknown>): Checked<SetRequest> {
  const e = checkParams(body, SET, CODES);
  if (e) return bad(e);
  const why = layer(body.substream, 'substream', 2) ?? layer(body.temporal, 'temporal', 2) ?? layer(body.fallback, 'fallback', undefined);
  if (why) return { ok: false, code: VIDEOCALL_ERROR.INVALID_ELEMENT, error: why };
  const r: SetRequest = {};
  for (const k of ['audio', 'video', 'bitrate', 'record', 'filename', 'restart', 'substream', 'temporal', 'fallback'] as const) {
    if (body[k] !== undefined) (r as Record<string, unknown>)[k] = body[k];
  }
  return { ok: true, value: r };
}
