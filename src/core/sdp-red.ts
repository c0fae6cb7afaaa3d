/**
 * Opus RED (RFC 2198) in SDP, as Janus 1.1.2 negotiates it with `opusred` (Record&Play, VideoCall):
 * - recording: when the request asks for it and the offer has red/48000/2 on its audio m-line, the
 *   answer accepts RED (its payload type first, fmtp "opus/opus"), the RED packets are recorded as
 *   they arrive and the MJR header notes the RED payload type ("or");
 * - playback: a recording with "or" is offered with RED again (same payload type); a viewer whose
 *   answer keeps red/48000/2 gets the RED packets as recorded, any other viewer gets the primary
 *   (newest) Opus block of each packet as plain Opus.
 */
import type { Codec, MediaSection } from './webrtc/sdp.ts';

/** The payload type of red/48000/2 on an offered audio m-line (0: none). */
export function offeredRedPt(m: MediaSection): number {
  const red = m.codecs.find((c) => c.name.toLowerCase() === 'red' && c.clockRate === 48000 && m.formats.includes(String(c.payloadType)));
  return red?.payloadType ?? 0;
}

/** Accept RED on an answered Opus m-line: RED first, then Opus (Janus JANUS_SDP_OA_ACCEPT_OPUSRED). */
export function acceptRed(answered: MediaSection, redPt: number, opus: Codec): void {
  answered.codecs = [{ payloadType: redPt, name: 'red', clockRate: 48000, channels: 2, fmtp: `${opus.payloadType}/${opus.payloadType}`, rtcpFb: [] }, ...answered.codecs];
  answered.formats = [String(redPt), ...answered.formats];
}

/** True when a viewer's answer keeps RED (Janus looks for the rtpmap text anywhere in it). */
export function answerKeepsRed(sdp: string): boolean {
  return sdp.includes('red/48000/2');
}
