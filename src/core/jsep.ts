/**
 * JSEP checks the core does before a plugin sees a message (JANUS-REFERENCE 1.1: bad type -> 464,
 * bad SDP -> 465). The full SDP parser belongs to the media core; here an SDP must at least be a
 * well-formed session description (RFC 8866 section 5: `v=0` first, every line `<letter>=<value>`).
 */
import { Errors } from './errors.ts';
import { validate } from './validate.ts';
import type { Jsep } from './plugin.ts';

const MAX_SDP_BYTES = 64 * 1024;

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
  if (sdp.length === 0) return 'empty';
  if (sdp.length > MAX_SDP_BYTES) return 'too large';
  const lines = sdp.split(/\r?\n/);
  if (lines[0] !== 'v=0') return 'must start with v=0';
  let media = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === '') {
      if (i === lines.length - 1) continue;
      return `empty line ${i + 1}`;
    }
    if (l.length < 2 || l[1] !== '=' || l[0] < 'a' || l[0] > 'z') return `malformed line ${i + 1}`;
    if (l[0] === 'm') media++;
  }
  if (media === 0) return 'no media line';
  return undefined;
}
