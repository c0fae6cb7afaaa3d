/**
 * The VideoRoom's error codes (janus_videoroom.c, JANUS_VIDEOROOM_ERROR_*) and a typed error that
 * carries one. Every failed request is answered {videoroom:"event", error_code, error}.
 */
export const VR_ERROR = {
  UNKNOWN_ERROR: 499,
  NO_MESSAGE: 421,
  INVALID_JSON: 422,
  INVALID_REQUEST: 423,
  JOIN_FIRST: 424,
  ALREADY_JOINED: 425,
  NO_SUCH_ROOM: 426,
  ROOM_EXISTS: 427,
  NO_SUCH_FEED: 428,
  MISSING_ELEMENT: 429,
  INVALID_ELEMENT: 430,
  INVALID_SDP_TYPE: 431,
  PUBLISHERS_FULL: 432,
  UNAUTHORIZED: 433,
  ALREADY_PUBLISHED: 434,
  NOT_PUBLISHED: 435,
  ID_EXISTS: 436,
  INVALID_SDP: 437,
} as const;

export class VideoRoomError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'VideoRoomError';
  }
}

export const vrError = (code: number, message: string): VideoRoomError => new VideoRoomError(code, message);

export function errorBody(err: unknown): Record<string, unknown> {
  if (err instanceof VideoRoomError) return { videoroom: 'event', error_code: err.code, error: err.message };
  return { videoroom: 'event', error_code: VR_ERROR.UNKNOWN_ERROR, error: err instanceof Error ? err.message : String(err) };
}
