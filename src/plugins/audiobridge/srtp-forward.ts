/**
 * SRTP for rtp_forward (Janus' `srtp_suite` + `srtp_crypto`): the forwarded mix is protected with
 * AES-CM and an HMAC-SHA1 tag of 80 or 32 bits (RFC 3711; suite names of RFC 4568 s6.2), keyed by
 * the base64 of the 16-byte master key followed by the 14-byte master salt.
 */
import { SrtpContext, SrtpProfile } from '../../core/webrtc/srtp.ts';
import { AB_ERROR, AudioBridgeError } from './errors.ts';

const KEY_BYTES = 16;
const SALT_BYTES = 14;

/** The sender context for a forwarder, or undefined when the request asks for plain RTP (Janus needs both fields). */
export function forwarderSrtp(suite: unknown, crypto: unknown): SrtpContext | undefined {
  if (suite === undefined || crypto === undefined) return undefined;
  if (suite !== 32 && suite !== 80) throw new AudioBridgeError(AB_ERROR.INVALID_ELEMENT, `Invalid SRTP suite (${String(suite)})`);
  const raw = Buffer.from(String(crypto), 'base64');
  if (raw.length !== KEY_BYTES + SALT_BYTES || raw.toString('base64').replace(/=+$/, '') !== String(crypto).replace(/=+$/, '')) {
    throw new AudioBridgeError(AB_ERROR.INVALID_ELEMENT, 'Invalid SRTP crypto (base64 of a 30-byte master key and salt expected)');
  }
  const profile = suite === 32 ? SrtpProfile.AES128_CM_HMAC_SHA1_32 : SrtpProfile.AES128_CM_HMAC_SHA1_80;
  return new SrtpContext(profile, raw.subarray(0, KEY_BYTES), raw.subarray(KEY_BYTES), { maxSsrcs: 1 });
}
