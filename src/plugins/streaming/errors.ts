/**
 * The Streaming plugin's error codes (Janus 1.1.2 janus_streaming.c) and a typed error carrying one.
 * Requests answer errors as `{streaming:"event", error_code, error}`.
 */
export const STREAMING_ERROR = {
  NO_MESSAGE: 450,
  INVALID_JSON: 451,
  INVALID_REQUEST: 452,
  MISSING_ELEMENT: 453,
  INVALID_ELEMENT: 454,
  NO_SUCH_MOUNTPOINT: 455,
  CANT_CREATE: 456,
  UNAUTHORIZED: 457,
  CANT_SWITCH: 458,
  CANT_RECORD: 459,
  INVALID_STATE: 460,
  UNKNOWN_ERROR: 470,
} as const;

export class StreamingError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'StreamingError';
  }
}

export const missing = (name: string): StreamingError => new StreamingError(STREAMING_ERROR.MISSING_ELEMENT, `Missing mandatory element (${name})`);
export const invalidType = (name: string, what: string): StreamingError =>
  new StreamingError(STREAMING_ERROR.INVALID_ELEMENT, `Invalid element type (${name} should be ${what})`);
export const invalid = (name: string): StreamingError => new StreamingError(STREAMING_ERROR.INVALID_ELEMENT, `Invalid element (${name})`);
export const noSuchMountpoint = (id: unknown): StreamingError => new StreamingError(STREAMING_ERROR.NO_SUCH_MOUNTPOINT, `No such mountpoint/stream ${String(id)}`);
export const unauthorized = (what: string): StreamingError => new StreamingError(STREAMING_ERROR.UNAUTHORIZED, `Unauthorized (wrong ${what})`);
