/**
 * What the SIP plugin asks of a SIP stack: accounts (one per handle, as Janus gives each handle its
 * own user agent), registration, calls with SDP bodies, in-dialog requests. Two implementations:
 * embedded.ts (sip.js over our transport) and drachtio.ts (a drachtio server), chosen by config.
 * SDP here is always the SIP side's (plain RTP); translation to WebRTC is the plugin's business.
 */

export interface AccountConfig {
  /** Public identity, "sip:user@domain". */
  identity: string;
  displayName?: string;
  /** Digest credentials (RFC 3261 section 22 / RFC 2617). */
  authUser?: string;
  secret?: string;
  ha1Secret?: string;
  /** Registrar / proxy ("sip:host:port"); requests go there unless outboundProxy is set. */
  proxy?: string;
  outboundProxy?: string;
  userAgent?: string;
  /** Registration expiry asked for, seconds. */
  registerTtl: number;
  /** Extra headers ("Name: value", already checked) for REGISTER. */
  headers: string[];
  transport: 'udp' | 'tcp';
  /**
   * TLS (sips, `transport=tls`; RFC 3261 section 26.2) with these certificates: when set the
   * account speaks TLS over TCP instead of `transport`. Optional: backends without TLS refuse it.
   */
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer };
  localIp: string;
  advertisedIp?: string;
  t1x64?: number;
}

export interface SipResponseInfo {
  code: number;
  reason: string;
  headers: Record<string, string>;
}

export interface IncomingRequestInfo {
  from: string;
  displayName?: string;
  to: string;
  callId: string;
  contentType?: string;
  body: string;
  headers: Record<string, string>;
}

export interface AccountEvents {
  registered(expires: number): void;
  registrationFailed(code: number, reason: string): void;
  unregistered(): void;
  incomingCall(call: SipCall, offerSdp: string | undefined, info: IncomingRequestInfo): void;
  /** Out-of-dialog MESSAGE. */
  message(info: IncomingRequestInfo): void;
  notify(info: IncomingRequestInfo & { event: string }): void;
}

export interface CallEvents {
  /** 1xx from the far side. */
  progress(resp: SipResponseInfo, sdp: string | undefined): void;
  /** 2xx: the far side's SDP answer (or offer, for a late-offer call). */
  accepted(resp: SipResponseInfo, sdp: string | undefined): void;
  /** The call ended: BYE from the far side, a final error, CANCEL, or our own hangup. */
  ended(code: number, reason: string, byUs: boolean): void;
  /**
   * Late offer (RFC 3264 section 4): the incoming INVITE had no SDP, our accept() carried the offer
   * and this is the far side's answer from the ACK. Optional for backends that refuse offerless INVITEs.
   */
  lateAnswer?(sdp: string): void;
  /**
   * Outgoing late offer (call with CallOptions.lateOffer): the far side's offer from the 2xx; answer
   * it with SipCall.lateAck. Optional for backends without outgoing late offers.
   */
  lateOffer?(sdp: string): void;
  /** The far side re-offered (re-INVITE): return our SIP answer. */
  reoffer(sdp: string): string;
  info(info: IncomingRequestInfo): void;
  message(info: IncomingRequestInfo): void;
  /**
   * The far side asked us to transfer (REFER). `replaces` (attended transfer, RFC 3891): the
   * Replaces value carried in the Refer-To URI, unescaped ("call-id;to-tag=..;from-tag=..").
   */
  refer(referTo: string, referredBy: string | undefined, replaces?: string): void;
}

export interface SipCall {
  readonly callId: string;
  readonly incoming: boolean;
  /** Our current SIP SDP. */
  localSdp: string | undefined;
  setEvents(events: CallEvents): void;
  /** Incoming call: say 180 Ringing. */
  ring(): Promise<void>;
  /** Incoming call: 200 OK with our SDP (our answer, or our offer when the INVITE had none). */
  accept(sdp: string, headers?: string[]): Promise<void>;
  decline(code: number, headers?: string[]): Promise<void>;
  /** CANCEL, BYE or a final error, whatever fits the state. */
  hangup(headers?: string[]): Promise<void>;
  /** re-INVITE with a new SDP (hold/unhold/update); resolves with the far side's answer. */
  reinvite(sdp: string): Promise<string | undefined>;
  info(contentType: string, body: string, headers?: string[]): Promise<SipResponseInfo>;
  message(contentType: string, body: string, headers?: string[]): Promise<SipResponseInfo>;
  /**
   * Transfer (RFC 3515): blind, or attended when `replaces` ("call-id;to-tag=..;from-tag=..", RFC
   * 3891) names the dialog the transferee's INVITE must replace (Refer-To: <target?Replaces=...>).
   */
  refer(target: string, replaces?: string): Promise<SipResponseInfo>;
  /** Outgoing late offer: our answer to the far side's offer, sent in the ACK. */
  lateAck?(sdp: string): void;
  /** Call-ID and tags of the established dialog (for an attended transfer that replaces it). */
  dialogIds?(): { callId: string; localTag: string; remoteTag: string } | undefined;
}

export interface CallOptions {
  /** The call follows a REFER received on this call: report its progress there (NOTIFY sipfrag). */
  referrer?: SipCall;
  /** Send the INVITE without SDP (late offer, RFC 3264 section 4): the far side offers in its 2xx. */
  lateOffer?: boolean;
}

export interface SipAccount {
  /** Our Contact URI. */
  readonly contact: string;
  register(): Promise<void>;
  unregister(): Promise<void>;
  /** Headers in the URI (`?Replaces=`, RFC 3261 section 19.1.5) go into the INVITE. */
  call(uri: string, sdp: string, headers: string[], events: CallEvents, options?: CallOptions): Promise<SipCall>;
  message(uri: string, contentType: string, body: string, headers: string[]): Promise<SipResponseInfo>;
  subscribe(uri: string, event: string, accept: string | undefined, expires: number): Promise<SipResponseInfo>;
  unsubscribe(event: string): Promise<void>;
  close(): Promise<void>;
}

export interface SipBackend {
  readonly name: string;
  createAccount(config: AccountConfig, events: AccountEvents): Promise<SipAccount>;
  close(): Promise<void>;
}
