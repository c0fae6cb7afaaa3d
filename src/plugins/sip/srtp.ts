/**
 * The SIP plugin's SDES-SRTP choices (Janus' `srtp` and `srtp_profile` in call/accept): which lines
 * get a=crypto in our offers and answers, and the SRTP contexts the bridge uses once both keys are
 * known. Keys and SDP attributes: src/interop/sip/sdes.ts.
 */
import {
  answeringCrypto, newCrypto, sameKey, sdesContexts, sdpCryptos, SDES_SUITES, srtpContext, withCrypto, type CryptoAttr, type SdesContexts, type SdesSuite,
} from '../../interop/sip/sdes.ts';
import type { RtpBridge } from '../../interop/sip/rtp-bridge.ts';
import { SIP_ERROR, SipRequestError } from './requests.ts';

export type SrtpMode = 'sdes_optional' | 'sdes_mandatory';

/**
 * A call's SDES per m-line index: our key (and RTP/SAVP or not), the far side's key once known,
 * and the contexts the bridge uses; whether SRTP is required.
 */
export interface CallSdes {
  mandatory: boolean;
  local: Map<number, { crypto: CryptoAttr; savp: boolean }>;
  remote: Map<number, CryptoAttr>;
  contexts: Map<number, SdesContexts>;
}

function useKeys(sdes: CallSdes, index: number, local: CryptoAttr, remote: CryptoAttr, bridge: RtpBridge): void {
  const contexts = sdesContexts(local, remote);
  sdes.remote.set(index, remote);
  sdes.contexts.set(index, contexts);
  bridge.setSrtp(index, contexts);
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
  return { sdp: withCrypto(sipOffer, local), sdes: { mandatory, local, remote: new Map(), contexts: new Map() } };
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
    if (remote) useKeys(sdes, index, crypto, remote, bridge);
    else if (sdes.mandatory || line.savp) ok = false;
  }
  return ok;
}

/**
 * An incoming offer's SDES (per line: the first supported a=crypto; our key with its tag and suite).
 * `refuse`: a line requires SRTP (RTP/SAVP) with nothing we support, or the app wants SRTP and the
 * offer has none.
 */
export function sdesForOffer(sipOffer: string, required: boolean): { sdes: CallSdes | undefined; refuse: boolean } {
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
  const sdes = local.size > 0 ? { mandatory: [...lines.values()].some((l) => l.savp), local, remote, contexts: new Map() } : undefined;
  return { sdes, refuse };
}

/** Our SIP answer with our keys, and the bridge switched to SRTP on those lines. */
export function answerWithSdes(sipAnswer: string, sdes: CallSdes, bridge: RtpBridge): string {
  for (const [index, { crypto }] of sdes.local) {
    const theirs = sdes.remote.get(index);
    if (theirs) useKeys(sdes, index, crypto, theirs, bridge);
  }
  return withCrypto(sipAnswer, sdes.local);
}

/**
 * A re-INVITE offer from the far side on an SDES call: a new key of theirs replaces the receive
 * context (ours keeps sending with its state), and our answer names the tag they offered for our
 * suite (RFC 4568 section 7.1.4 / 5.1.2). Lines where they offer nothing keep their keys.
 */
export function sdesReoffer(sdes: CallSdes, peerOffer: string, ourAnswer: string, bridge: RtpBridge): string {
  const offered = sdpCryptos(peerOffer);
  const answer = new Map(sdes.local);
  for (const [index, mine] of sdes.local) {
    const theirs = offered.get(index)?.cryptos.find((c) => c.suite === mine.crypto.suite);
    if (!theirs) continue;
    answer.set(index, { crypto: { ...mine.crypto, tag: theirs.tag }, savp: mine.savp });
    const known = sdes.remote.get(index);
    const current = sdes.contexts.get(index);
    if (known && current && sameKey(known, theirs)) continue;
    const contexts = current ? { tx: current.tx, rx: srtpContext(theirs) } : sdesContexts(mine.crypto, theirs);
    sdes.remote.set(index, theirs);
    sdes.contexts.set(index, contexts);
    bridge.setSrtp(index, contexts);
  }
  return withCrypto(ourAnswer, answer);
}
