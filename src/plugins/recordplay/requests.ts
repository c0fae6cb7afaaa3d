/**
 * Record&Play request checks (JANUS-REFERENCE 2.7): Janus 1.1.2's error codes and parameter tables.
 */
import { checkParams, type PluginParam } from '../../core/plugin-params.ts';

export const RECORDPLAY_ERROR = {
  NO_MESSAGE: 411,
  INVALID_JSON: 412,
  INVALID_REQUEST: 413,
  INVALID_ELEMENT: 414,
  MISSING_ELEMENT: 415,
  NOT_FOUND: 416,
  INVALID_RECORDING: 417,
  INVALID_STATE: 418,
  INVALID_SDP: 419,
  RECORDING_EXISTS: 420,
  UNKNOWN_ERROR: 499,
} as const;

export class RecordPlayError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export const P = {
  request: [{ name: 'request', type: 'string', required: true }],
  configure: [{ name: 'video-bitrate-max', type: 'positive' }, { name: 'video-keyframe-interval', type: 'positive' }],
  record: [
    { name: 'name', type: 'string', required: true, nonEmpty: true }, { name: 'id', type: 'positive' }, { name: 'filename', type: 'string' },
    { name: 'audiocodec', type: 'string' }, { name: 'videocodec', type: 'string' }, { name: 'videoprofile', type: 'string' },
    { name: 'opusred', type: 'boolean' }, { name: 'textdata', type: 'boolean' }, { name: 'update', type: 'boolean' },
  ],
  play: [{ name: 'id', type: 'positive', required: true }, { name: 'restart', type: 'boolean' }],
} satisfies Record<string, readonly PluginParam[]>;

export function check(obj: Record<string, unknown>, table: readonly PluginParam[]): void {
  const e = checkParams(obj, table, { missing: RECORDPLAY_ERROR.MISSING_ELEMENT, invalid: RECORDPLAY_ERROR.INVALID_ELEMENT });
  if (e) throw new RecordPlayError(e.code, e.error);
}
