/**
 * JSEP checks the core does before a plugin sees a message (JANUS-REFERENCE 1.1: bad type -> 464,
 * bad SDP -> 465, using the media core's SDP parser).
 */
import { Errors } from './errors.ts';
import { validate } from './validate.ts';
import type { Jsep } from './plugin.ts';
import { parseSdp, SdpError } from './webrtc/sdp.ts';

export function checkJsep(jsep: Record<string, unknown>): Jsep {
  validate(jsep, [
    { name: 'type', type: 'string', required: true },
    { name: 'sdp', type: 'string', required: true },
  ]);
  const type = jsep.type as string;
  if (type !== 'offer' && type !== 'answer') throw Errors.jsepUnknownType(type);
  const sdp = jsep.sdp as string;
  const problem = sdpProblem(sdp);
  if (problem) throw Errors.jsepInvalidSdp(problem);
  return { ...jsep, type, sdp } as Jsep;
}

/** Why an SDP is not well formed, or undefined when it is. */
export function sdpProblem(sdp: string): string | undefined {
  try {
    parseSdp(sdp);
    return undefined;
  } catch (err) {
    if (err instanceof SdpError) return err.message;
    throw err;
  }
}
