/**
 * SDES-SRTP for the SIP side (Janus' `srtp`: sdes_optional / sdes_mandatory): keys exchanged in the
 * SDP as `a=crypto` attributes (RFC 4568), media protected with SRTP/SRTCP (RFC 3711) by the core's
 * SrtpContext. Suites: AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32 (RFC 4568 section 6.2).
 *
 * a=crypto:<tag> <crypto-suite> inline:<base64(key || salt)>[|<lifetime>][|<MKI>:<length>] [<session params>]
 *
 * Lines with an MKI, several key params or session parameters (UNENCRYPTED_SRTP and friends) are
 * not supported and skipped, so the offerer's next line (or plain RTP when optional) is used. A
 * mandatory offer is RTP/SAVP with the attribute, an optional one RTP/AVP with it (the "best effort"
 * convention Janus and most PBXs follow).
 */
import { randomBytes } from 'node:crypto';
import { parseSdp, writeSdp } from '../../core/webrtc/sdp.ts';
import { SrtpContext, SrtpProfile, type SrtpProfileId } from '../../core/webrtc/srtp.ts';

export const SDES_SUITES = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const;
export type SdesSuite = (typeof SDES_SUITES)[number];

const KEY_LEN = 16;
const SALT_LEN = 14;

export interface CryptoAttr {
  tag: number;
  suite: SdesSuite;
  key: Buffer;
  salt: Buffer;
}

/** The value of one a=crypto attribute, or undefined when it is malformed or not supported. */
export function parseCrypto(value: string): CryptoAttr | undefined {
  if (value.length > 512) return undefined;
  const m = /^(\d{1,9}) ([A-Za-z0-9_]+) inline:([A-Za-z0-9+/=]+)((?:\|[^\s|]+)*)$/.exec(value.trim());
  if (!m) return undefined;
  const suite = m[2] as SdesSuite;
  if (!SDES_SUITES.includes(suite)) return undefined;
  // Lifetime is fine (we never send 2^31 packets); an MKI is not (RFC 4568 section 6.1).
  if (m[4].split('|').some((p) => p.includes(':'))) return undefined;
  const raw = Buffer.from(m[3], 'base64');
  if (raw.length !== KEY_LEN + SALT_LEN) return undefined;
  return { tag: Number(m[1]), suite, key: raw.subarray(0, KEY_LEN), salt: raw.subarray(KEY_LEN) };
}

export function formatCrypto(c: CryptoAttr): string {
  return `${c.tag} ${c.suite} inline:${Buffer.concat([c.key, c.salt]).toString('base64')}`;
}

/** A fresh master key and salt (RFC 4568 section 6.1: from a cryptographically strong source). */
export function newCrypto(tag: number, suite: SdesSuite): CryptoAttr {
  const raw = randomBytes(KEY_LEN + SALT_LEN);
  return { tag, suite, key: raw.subarray(0, KEY_LEN), salt: raw.subarray(KEY_LEN) };
}

function profileOf(suite: SdesSuite): SrtpProfileId {
  return suite === 'AES_CM_128_HMAC_SHA1_32' ? SrtpProfile.AES128_CM_HMAC_SHA1_32 : SrtpProfile.AES128_CM_HMAC_SHA1_80;
}

/** One direction pair of a line: we protect with our key, unprotect with theirs. */
export interface SdesContexts {
  tx: SrtpContext;
  rx: SrtpContext;
}

/** One direction's SRTP/SRTCP context from a key (32 SSRCs: PBXs switch sources). */
export function srtpContext(c: CryptoAttr): SrtpContext {
  return new SrtpContext(profileOf(c.suite), c.key, c.salt, { maxSsrcs: 32 });
}

export function sdesContexts(local: CryptoAttr, remote: CryptoAttr): SdesContexts {
  return { tx: srtpContext(local), rx: srtpContext(remote) };
}

export function sameKey(a: CryptoAttr, b: CryptoAttr): boolean {
  return a.suite === b.suite && a.key.equals(b.key) && a.salt.equals(b.salt);
}

export interface LineCrypto {
  /** RTP/SAVP (SRTP required) rather than RTP/AVP. */
  savp: boolean;
  /** The supported a=crypto attributes, in the order given. */
  cryptos: CryptoAttr[];
  /** How many a=crypto attributes the line had, supported or not. */
  offered: number;
}

/** The SDES state of each audio/video m-line of a SIP description, by m-line index. */
export function sdpCryptos(sipSdp: string): Map<number, LineCrypto> {
  const out = new Map<number, LineCrypto>();
  parseSdp(sipSdp).media.forEach((m, i) => {
    if (m.port === 0 || (m.kind !== 'audio' && m.kind !== 'video')) return;
    const attrs = m.other.filter(([n]) => n === 'crypto').map(([, v]) => v ?? '');
    const cryptos = attrs.map(parseCrypto).filter((c): c is CryptoAttr => c !== undefined);
    out.set(i, { savp: /^RTP\/SAVP$/i.test(m.protocol), cryptos, offered: attrs.length });
  });
  return out;
}

/** Our description with one a=crypto per listed line (replacing any), RTP/SAVP where `savp`. */
export function withCrypto(sipSdp: string, lines: Map<number, { crypto: CryptoAttr; savp: boolean }>): string {
  const desc = parseSdp(sipSdp);
  desc.media.forEach((m, i) => {
    const l = lines.get(i);
    if (!l || m.port === 0) return;
    m.protocol = l.savp ? 'RTP/SAVP' : 'RTP/AVP';
    m.other = [...m.other.filter(([n]) => n !== 'crypto'), ['crypto', formatCrypto(l.crypto)]];
  });
  return writeSdp(desc);
}

/** The attribute of `answer` that answers our offered `local` (same tag and suite, RFC 4568 section 5.1.2). */
export function answeringCrypto(local: CryptoAttr, answer: LineCrypto | undefined): CryptoAttr | undefined {
  return answer?.cryptos.find((c) => c.tag === local.tag && c.suite === local.suite);
}
