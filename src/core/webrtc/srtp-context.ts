/**
 * The SRTP boundary of a PeerEndpoint: keys come from the DTLS handshake (RFC 5764 section 4.2),
 * packets go through protect/unprotect. A packet that fails authentication or replays returns null
 * and is counted.
 */
import type { RTCDtlsTransport } from 'werift';
import { SrtpSession, type SrtpProfileId } from './srtp.ts';

/**
 * Profiles we offer in the DTLS use_srtp extension (RFC 5764 section 4.1.2). Only
 * SRTP_AES128_CM_HMAC_SHA1_80, which every WebRTC endpoint must implement (RFC 8827 section 6.5):
 * when offered GCM too, the DTLS server (a browser answering us) picks GCM, and with node:crypto GCM
 * needs a new cipher object per packet, about three times the CPU of our AES-CM path (bench/media).
 */
export const SRTP_PROFILES = [1 /* AES_CM_128_HMAC_SHA1_80 */] as const;

/** The SRTP boundary of a PeerEndpoint: our SrtpSession (tx protects, rx unprotects in place). */
export type SrtpContext = SrtpSession;

interface DtlsKeys {
  profile: number;
  localKey: Buffer;
  localSalt: Buffer;
  remoteKey: Buffer;
  remoteSalt: Buffer;
}

/** Key material negotiated by a connected DTLS transport. */
export function dtlsKeys(dtls: RTCDtlsTransport): DtlsKeys {
  const socket = dtls.dtls;
  const profile = socket?.srtp.srtpProfile;
  if (!socket || !profile) throw new Error('DTLS negotiated no SRTP profile');
  const keyLen = 16;
  const saltLen = profile === 7 ? 12 : 14;
  const k = socket.extractSessionKeys(keyLen, saltLen);
  return { profile, localKey: k.localKey, localSalt: k.localSalt, remoteKey: k.remoteKey, remoteSalt: k.remoteSalt };
}

/** Our SRTP (srtp.ts): RFC 3711 with the 128-packet replay window of section 3.3.2. */
export function createSrtpContext(dtls: RTCDtlsTransport): SrtpSession {
  const k = dtlsKeys(dtls);
  return new SrtpSession(k.profile as SrtpProfileId, { key: k.localKey, salt: k.localSalt }, { key: k.remoteKey, salt: k.remoteSalt });
}
