/**
 * TextRoom request checks (JANUS-REFERENCE 2.4): Janus 1.1.2's error codes and parameter tables, in
 * its order, and its secret/pin check (JANUS_CHECK_SECRET: a protected room needs the element, of
 * type string, equal to the room's, else 419 "Unauthorized (wrong <name>)").
 */
import { checkParams, type ParamError, type PluginParam } from '../../core/plugin-params.ts';

export const TEXTROOM_ERROR = {
  NO_MESSAGE: 411,
  INVALID_JSON: 412,
  MISSING_ELEMENT: 413,
  INVALID_ELEMENT: 414,
  INVALID_REQUEST: 415,
  ALREADY_SETUP: 416,
  NO_SUCH_ROOM: 417,
  ROOM_EXISTS: 418,
  UNAUTHORIZED: 419,
  USERNAME_EXISTS: 420,
  ALREADY_IN_ROOM: 421,
  NOT_IN_ROOM: 422,
  NO_SUCH_USER: 423,
  UNKNOWN_ERROR: 499,
} as const;

const CODES = { missing: TEXTROOM_ERROR.MISSING_ELEMENT, invalid: TEXTROOM_ERROR.INVALID_ELEMENT };

/** A request failure: the TextRoom error code and Janus' wording. */
export class TextRoomError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

type Table = readonly PluginParam[];

export const P = {
  request: [{ name: 'request', type: 'string', required: true }],
  transaction: [{ name: 'textroom', type: 'string', required: true }, { name: 'transaction', type: 'string', required: true }],
  room: [{ name: 'room', type: 'positive', required: true }],
  roomOpt: [{ name: 'room', type: 'positive' }],
  roomStr: [{ name: 'room', type: 'string', required: true }],
  roomStrOpt: [{ name: 'room', type: 'string' }],
  adminKey: [{ name: 'admin_key', type: 'string', required: true }],
  create: [
    { name: 'description', type: 'string' }, { name: 'secret', type: 'string' }, { name: 'pin', type: 'string' },
    { name: 'post', type: 'string' }, { name: 'is_private', type: 'boolean' }, { name: 'history', type: 'positive' },
    { name: 'allowed', type: 'array' }, { name: 'permanent', type: 'boolean' },
  ],
  destroy: [{ name: 'permanent', type: 'boolean' }],
  edit: [
    { name: 'secret', type: 'string' }, { name: 'new_description', type: 'string' }, { name: 'new_secret', type: 'string' },
    { name: 'new_pin', type: 'string' }, { name: 'new_post', type: 'string' }, { name: 'new_is_private', type: 'boolean' },
    { name: 'permanent', type: 'boolean' },
  ],
  allowed: [{ name: 'secret', type: 'string' }, { name: 'action', type: 'string', required: true }, { name: 'allowed', type: 'array' }],
  kick: [{ name: 'secret', type: 'string' }, { name: 'username', type: 'string', required: true }],
  join: [
    { name: 'username', type: 'string', required: true }, { name: 'pin', type: 'string' }, { name: 'token', type: 'string' },
    { name: 'display', type: 'string' }, { name: 'history', type: 'boolean' },
  ],
  message: [{ name: 'text', type: 'string', required: true }, { name: 'to', type: 'string' }, { name: 'tos', type: 'array' }, { name: 'ack', type: 'boolean' }],
  announcement: [{ name: 'secret', type: 'string' }, { name: 'text', type: 'string', required: true }],
} satisfies Record<string, Table>;

/** Throws the TextRoom error for the first rule `obj` breaks. */
export function check(obj: Record<string, unknown>, table: Table): void {
  const e: ParamError | undefined = checkParams(obj, table, CODES);
  if (e) throw new TextRoomError(e.code, e.error);
}

/** JANUS_CHECK_SECRET: nothing to check when the room has no such secret. */
export function checkSecret(expected: string | undefined, obj: Record<string, unknown>, name: string): void {
  if (expected === undefined) return;
  check(obj, [{ name, type: 'string', required: true }]);
  if (obj[name] !== expected) throw new TextRoomError(TEXTROOM_ERROR.UNAUTHORIZED, `Unauthorized (wrong ${name})`);
}

/** All entries of an array are strings (the `allowed` and `tos` lists). */
export function allStrings(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
