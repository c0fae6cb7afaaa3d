/**
 * The SRTP boundary of a PeerEndpoint: keys come from the DTLS handshake (RFC 5764 section 4.2),
 * packets go through protect/unprotect. A packet that fails authentication or replays returns null
 * and is counted.
 */
import { RtpPacket, SrtpSession, SrtcpSession, type RTCDtlsTransport } from 'werift';

/** Profiles we offer in the DTLS use_srtp extension, preferred first (RFC 5764, RFC 7714). */
export const SRTP_PROFILES = [7 /* AEAD_AES_128_GCM */, 1 /* AES_CM_128_HMAC_SHA1_80 */] as const;

export interface SrtpContext {
  protectRtp(packet: Buffer): Buffer | null;
  unprotectRtp(packet: Buffer): Buffer | null;
  protectRtcp(packet: Buffer): Buffer | null;
  unprotectRtcp(packet: Buffer): Buffer | null;
  readonly stats: { authFailed: number; replayed: number };
}

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

/** SRTP through werift's sessions (first version; has no replay window of its own). */
class WeriftSrtp implements SrtpContext {
  readonly #srtp: SrtpSession;
  readonly #srtcp: SrtcpSession;
  readonly stats = { authFailed: 0, replayed: 0 };
  constructor(k: DtlsKeys) {
    const config = { keys: { localMasterKey: k.localKey, localMasterSalt: k.localSalt, remoteMasterKey: k.remoteKey, remoteMasterSalt: k.remoteSalt }, profile: k.profile as 1 | 7 };
    this.#srtp = new SrtpSession(config);
    this.#srtcp = new SrtcpSession(config);
  }
  protectRtp(packet: Buffer): Buffer | null {
    try {
      const p = RtpPacket.deSerialize(packet);
      return this.#srtp.encrypt(p.payload, p.header);
    } catch {
      return null;
    }
  }
  unprotectRtp(packet: Buffer): Buffer | null {
    try {
      return this.#srtp.decrypt(packet);
    } catch {
      this.stats.authFailed++;
      return null;
    }
  }
  protectRtcp(packet: Buffer): Buffer | null {
    try {
      return this.#srtcp.encrypt(packet);
    } catch {
      return null;
    }
  }
  unprotectRtcp(packet: Buffer): Buffer | null {
    try {
      return this.#srtcp.decrypt(packet);
    } catch {
      this.stats.authFailed++;
      return null;
    }
  }
}

export function createSrtpContext(dtls: RTCDtlsTransport): SrtpContext {
  return new WeriftSrtp(dtlsKeys(dtls));
}
