/**
 * The SIP plugin's SDES-SRTP choices (Janus' `srtp` and `srtp_profile` in call/accept): which lines
 * get a=crypto in our offers and answers, and the SRTP contexts the bridge uses once both keys are
 * known. Keys and SDP attributes: src/interop/sip/sdes.ts.
 */
import {
  answeringCrypto, newCrypto, sdesContexts, sdpCryptos, SDES_SUITES, withCrypto, type CryptoAttr, type SdesSuite,
} from '../../interop/sip/sdes.ts';
import type { RtpBridge } from '../../interop/sip/rtp-bridge.ts';
import { SIP_ERROR, SipRequestError } from './requests.ts';

export type SrtpMode = 'sdes_optional' | 'sdes_mandatory';

/** Our side of a call's SDES: our key per m-line index, and whether SRTP is required. */
export interface CallSdes {
  mandatory: boolean;
  local: Map<number, { crypto: CryptoAttr; savp: boolean }>;
}

/** The `srtp` / `srtp_profile` of a request, checked as Janus does (444 on bad values). */
export function srtpRequest(body: Record<string, unknown>): { mode: SrtpMode | undefined; suite: SdesSuite } {
  const mode = body.srtp;
  if (mode !== undefined && mode !== 'sdes_optional' && mode !== 'sdes_mandatory') {
    throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid element (srtp can only be sdes_optional or sdes_mandatory)');
  }
  const profile = body.srtp_profile ?? 'AES_CM_128_HMAC_SHA1_80';
  if (typeof profile !== 'string' || !SDES_SUITES.includes(profile as SdesSuite)) {
    throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid element (unsupported SRTP profile)');
  }
  return { mode, suite: profile as SdesSuite };
}

/** Our SIP offer with a fresh key on every active line (RTP/SAVP when mandatory, RTP/AVP when optional). */
export function offerWithSdes(sipOffer: string, mode: SrtpMode, suite: SdesSuite): { sdp: string; sdes: CallSdes } {
  const mandatory = mode === 'sdes_mandatory';
  const local = new Map<number, { crypto: CryptoAttr; savp: boolean }>();
  for (const index of sdpCryptos(sipOffer).keys()) local.set(index, { crypto: newCrypto(1, suite), savp: mandatory });
  return { sdp: withCrypto(sipOffer, local), sdes: { mandatory, local } };
}

/** Our later offers (re-INVITE for update) keep the call's keys. */
export function reofferWithSdes(sipOffer: string, sdes: CallSdes): string {
  return withCrypto(sipOffer, sdes.local);
}

/**
 * The far side's answer to our SDES offer: SRTP on each line it answered with our tag and suite.
 * False when SRTP was required and a line came back without it (the call must end: 488).
 */
export function applySdesAnswer(sdes: CallSdes, sipAnswer: string, bridge: RtpBridge): boolean {
  const answer = sdpCryptos(sipAnswer);
  let ok = true;
  for (const [index, { crypto }] of sdes.local) {
    const line = answer.get(index);
    if (!line) continue; // rejected line: nothing flows on it
    const remote = answeringCrypto(crypto, line);
    if (remote) bridge.setSrtp(index, sdesContexts(crypto, remote));
    else if (sdes.mandatory || line.savp) ok = false;
  }
  return ok;
}

/**
 * An incoming offer's SDES (per line: the first supported a=crypto; our key with its tag and suite).
 * `refuse`: a line requires SRTP (RTP/SAVP) with nothing we support, or the app wants SRTP and the
 * offer has none.
 */
export function sdesForOffer(sipOffer: string, required: boolean): { sdes: CallSdes | undefined; remote: Map<number, CryptoAttr>; refuse: boolean } {
  const lines = sdpCryptos(sipOffer);
  const local = new Map<number, { crypto: CryptoAttr; savp: boolean }>();
  const remote = new Map<number, CryptoAttr>();
  let refuse = false;
  for (const [index, line] of lines) {
    const theirs = line.cryptos[0];
    if (!theirs) {
      if (line.savp || required) refuse = true;
      continue;
    }
    remote.set(index, theirs);
    local.set(index, { crypto: newCrypto(theirs.tag, theirs.suite), savp: line.savp });
  }
  const sdes = local.size > 0 ? { mandatory: [...lines.values()].some((l) => l.savp), local } : undefined;
  return { sdes, remote, refuse };
}

/** Our SIP answer with our keys, and the bridge switched to SRTP on those lines. */
export function answerWithSdes(sipAnswer: string, sdes: CallSdes, remote: Map<number, CryptoAttr>, bridge: RtpBridge): string {
  for (const [index, { crypto }] of sdes.local) {
    const theirs = remote.get(index);
    if (theirs) bridge.setSrtp(index, sdesContexts(crypto, theirs));
  }
  return withCrypto(sipAnswer, sdes.local);
}
