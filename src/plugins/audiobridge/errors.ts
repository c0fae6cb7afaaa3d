/**
 * AudioBridge error codes (Janus 1.1.2's JANUS_AUDIOBRIDGE_ERROR_*, as observed on a running 1.1.2)
 * and the request-field checks that produce them, with Janus' wording.
 */

export const AB_ERROR = {
  NO_MESSAGE: 480,
  INVALID_JSON: 481,
  INVALID_REQUEST: 482,
  MISSING_ELEMENT: 483,
  INVALID_ELEMENT: 484,
  NO_SUCH_ROOM: 485,
  ROOM_EXISTS: 486,
  NOT_JOINED: 487,
  LIBOPUS_ERROR: 488,
  UNAUTHORIZED: 489,
  ID_EXISTS: 490,
  ALREADY_JOINED: 491,
  NO_SUCH_USER: 492,
  INVALID_SDP: 493,
  NO_SUCH_GROUP: 494,
  UNKNOWN_ERROR: 499,
} as const;

export class AudioBridgeError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'AudioBridgeError';
  }
}

export type FieldType = 'string' | 'boolean' | 'posint' | 'integer' | 'number' | 'array' | 'object' | 'string-array';

const TYPE_WORDS: Record<FieldType, string> = {
  string: 'a string',
  boolean: 'a boolean',
  posint: 'a positive integer',
  integer: 'an integer',
  number: 'a number',
  array: 'an array',
  object: 'an object',
  'string-array': 'an array of strings',
};

function hasType(v: unknown, t: FieldType): boolean {
  switch (t) {
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    case 'posint': return typeof v === 'number' && Number.isInteger(v) && v >= 0;
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'string-array': return Array.isArray(v) && v.every((x) => typeof x === 'string');
  }
}

/** Checks `body` against `[name, type, required]` rows, in order; throws Janus' 483/484. */
export function checkFields(body: Record<string, unknown>, rows: ReadonlyArray<readonly [string, FieldType, boolean?]>): void {
  for (const [name, type, required] of rows) {
    const v = body[name];
    if (v === undefined || v === null) {
      if (required) throw new AudioBridgeError(AB_ERROR.MISSING_ELEMENT, `Missing mandatory element (${name})`);
      continue;
    }
    if (!hasType(v, type)) throw new AudioBridgeError(AB_ERROR.INVALID_ELEMENT, `Invalid element type (${name} should be ${TYPE_WORDS[type]})`);
  }
}
