/**
 * The embedded SIP backend: one sip.js 0.21 UserAgent per account over our own transport
 * (transport.ts: UDP/TCP with the RFC 3261 retransmission timers sip.js leaves out). sip.js does the
 * transaction and dialog layers and digest authentication (RFC 3261 section 22, 401/407 answered
 * from the password or the HA1); SDP reaches sip.js through a SessionDescriptionHandler that only
 * hands over the strings the plugin computed (SDP translation and media live outside sip.js).
 */
import {
  Info, Invitation, Inviter, Messager, Registerer, RegistererState, SessionState, Subscriber, UserAgent,
  type Core, type Message, type Notification, type Referral, type Session,
  type SessionDescriptionHandler, type BodyAndContentType, type Bye, type URI,
} from 'sip.js';

type IncomingResponse = Core.IncomingResponse;
type IncomingRequestMessage = Core.IncomingRequestMessage;
import type { AccountConfig, AccountEvents, CallEvents, CallOptions, IncomingRequestInfo, SipAccount, SipBackend, SipCall, SipResponseInfo } from './backend.ts';
import { newViaToken, SipSocketTransport, type SipTransportOptions } from './transport.ts';
import { uriTarget } from './message-scan.ts';

type Log = { debug(msg: string): void; warn(msg: string): void };

function responseInfo(r: IncomingResponse): SipResponseInfo {
  const m = r.message;
  const headers: Record<string, string> = {};
  for (const name of Object.keys(m.headers)) headers[name] = m.getHeader(name) ?? '';
  return { code: m.statusCode ?? 0, reason: m.reasonPhrase ?? '', headers };
}

function requestInfo(m: IncomingRequestMessage): IncomingRequestInfo {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(m.headers)) headers[name] = m.getHeader(name) ?? '';
  return {
    from: m.from.uri.toString(), ...(m.from.displayName ? { displayName: m.from.displayName } : {}), to: m.to.uri.toString(),
    callId: m.callId, ...(m.getHeader('content-type') ? { contentType: m.getHeader('content-type') } : {}), body: m.body ?? '', headers,
  };
}

/** The SDP of a call as sip.js sees it: we give our description and receive theirs. */
class CallSdh implements SessionDescriptionHandler {
  constructor(private readonly call: EmbeddedCall) {}
  async getDescription(): Promise<BodyAndContentType> {
    return { body: await this.call.describe(), contentType: 'application/sdp' };
  }
  hasDescription(contentType: string): boolean {
    return contentType.toLowerCase().startsWith('application/sdp');
  }
  async setDescription(sdp: string): Promise<void> {
    this.call.learn(sdp);
  }
  sendDtmf(): boolean {
    return false;
  }
  close(): void {}
}

class EmbeddedCall implements SipCall {
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  #events: CallEvents | undefined;
  /** We sent an offer and wait for the answer. */
  #offering = false;
  /** The INVITE offer of an incoming call, already known to the plugin. */
  #initialOffer: string | undefined;
  #ended = false;
  #answerWaiter: ((sdp: string | undefined) => void) | undefined;

  /** An offerless INVITE (late offer): our 200 OK carries the offer and the ACK the answer. */
  #lateOffer = false;

  /** How long an outgoing late offer waits for the app's answer (64*T1). */
  ackTimeoutMs = 32_000;

  constructor(readonly session: Session, readonly incoming: boolean, readonly callId: string) {
    if (incoming) {
      const body = (session as Invitation).body;
      if (body) this.#initialOffer = body;
      else this.#lateOffer = true;
    }
  }

  setEvents(events: CallEvents): void {
    this.#events = events;
  }

  describe(): string | Promise<string> {
    return this.#pendingAck?.answer ?? this.localSdp ?? '';
  }

  /**
   * Outgoing late offer (INVITE without SDP): the far side's offer came in the 200 OK and sip.js
   * waits, in describe(), for the answer the ACK must carry; the app gives it with lateAck() (or
   * the call gives up after 64*T1 and sip.js sends ACK + BYE).
   */
  #lateOutgoing = false;
  #pendingAck: { answer: Promise<string>; resolve(sdp: string): void; reject(err: Error): void; timer: NodeJS.Timeout } | undefined;

  expectLateOffer(): void {
    this.#lateOutgoing = true;
  }

  lateAck(sdp: string): void {
    const p = this.#pendingAck;
    if (!p) throw new Error('no late offer waiting for an answer');
    this.#pendingAck = undefined;
    clearTimeout(p.timer);
    this.localSdp = sdp;
    p.resolve(sdp);
  }

  #waitForAck(timeoutMs: number): void {
    let resolve!: (sdp: string) => void;
    let reject!: (err: Error) => void;
    const answer = new Promise<string>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    answer.catch(() => undefined);
    const timer = setTimeout(() => {
      this.#pendingAck = undefined;
      reject(new Error('no answer for the late offer in time'));
    }, timeoutMs);
    timer.unref();
    this.#pendingAck = { answer, resolve, reject, timer };
  }

  /** Our next description is an offer (INVITE or re-INVITE): the next one we learn is the answer. */
  markOffering(): void {
    this.#offering = true;
  }

  learn(sdp: string): void {
    if (this.#lateOutgoing) {
      // The offer in the 200 OK of our offerless INVITE (RFC 3264 section 4).
      this.#lateOutgoing = false;
      this.remoteSdp = sdp;
      this.#waitForAck(this.ackTimeoutMs);
      this.#events?.lateOffer?.(sdp);
      return;
    }
    if (this.#initialOffer !== undefined && sdp === this.#initialOffer) {
      this.#initialOffer = undefined;
      this.remoteSdp = sdp;
      return;
    }
    if (this.#offering) {
      this.#offering = false;
      this.remoteSdp = sdp;
      const w = this.#answerWaiter;
      this.#answerWaiter = undefined;
      w?.(sdp);
      if (this.#lateOffer) {
        // RFC 3264 section 4 / RFC 3261 section 13.2.1: the answer to the offer in our 200 OK, from the ACK.
        this.#lateOffer = false;
        this.#events?.lateAnswer?.(sdp);
      }
      return;
    }
    // A re-INVITE offer from the far side (hold, unhold, address change).
    this.remoteSdp = sdp;
    if (this.#events) this.localSdp = this.#events.reoffer(sdp);
  }

  wire(): void {
    const s = this.session;
    s.delegate = {
      onBye: (bye: Bye) => {
        void bye.accept();
        this.#end(200, 'Session Terminated', false);
      },
      onInfo: (info: Info) => {
        void info.accept();
        this.#events?.info(requestInfo(info.request));
      },
      onMessage: (message: Message) => {
        void message.accept();
        this.#events?.message(requestInfo(message.request));
      },
      onRefer: (referral: Referral) => {
        void referral.accept();
        const replaces = referral.replaces;
        let decoded: string | undefined;
        try {
          decoded = replaces ? decodeURIComponent(replaces) : undefined;
        } catch {
          decoded = undefined;
        }
        this.#events?.refer(referral.referTo.uri.toString(), referral.referredBy, decoded);
      },
    };
    s.stateChange.addListener((state) => {
      // After the request delegates had their say (a final response sets the real code first).
      if (state === SessionState.Terminated) setImmediate(() => this.#end(487, 'Request Terminated', false));
    });
  }

  #end(code: number, reason: string, byUs: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#answerWaiter?.(undefined);
    this.#events?.ended(code, reason, byUs);
  }

  endWith(code: number, reason: string): void {
    this.#end(code, reason, false);
  }

  async ring(): Promise<void> {
    if (this.session instanceof Invitation) await this.session.progress({ statusCode: 180 });
  }

  async accept(sdp: string, headers: string[] = []): Promise<void> {
    if (!(this.session instanceof Invitation)) throw new Error('not an incoming call');
    this.localSdp = sdp;
    if (this.#lateOffer) this.#offering = true;
    await this.session.accept({ extraHeaders: headers });
  }

  async decline(code: number, headers: string[] = []): Promise<void> {
    if (!(this.session instanceof Invitation)) throw new Error('not an incoming call');
    this.#ended = true;
    await this.session.reject({ statusCode: code, extraHeaders: headers });
    this.#events?.ended(code, 'Declined', true);
  }

  async hangup(headers: string[] = []): Promise<void> {
    const s = this.session;
    const pending = this.#pendingAck;
    if (pending) {
      // A late offer still unanswered: sip.js ACKs and BYEs the 200 OK when the answer fails.
      this.#pendingAck = undefined;
      clearTimeout(pending.timer);
      pending.reject(new Error('call hung up'));
    }
    const wasEnded = this.#ended;
    this.#ended = true;
    try {
      if (s.state === SessionState.Established) await s.bye({ requestOptions: { extraHeaders: headers } });
      else if (s instanceof Inviter && (s.state === SessionState.Establishing || s.state === SessionState.Initial)) await s.cancel();
      else if (s instanceof Invitation && s.state !== SessionState.Terminated) await s.reject({ statusCode: 480 });
    } finally {
      if (!wasEnded) this.#events?.ended(200, 'Session Terminated', true);
    }
  }

  async reinvite(sdp: string): Promise<string | undefined> {
    this.localSdp = sdp;
    this.#offering = true;
    const answer = new Promise<string | undefined>((resolve) => (this.#answerWaiter = resolve));
    await this.session.invite({
      requestDelegate: {
        onReject: () => {
          this.#offering = false;
          const w = this.#answerWaiter;
          this.#answerWaiter = undefined;
          w?.(undefined);
        },
      },
    });
    return answer;
  }

  #request(kind: 'info' | 'message', contentType: string, body: string, headers: string[]): Promise<SipResponseInfo> {
    return new Promise((resolve, reject) => {
      const options = {
        requestDelegate: { onAccept: (r: IncomingResponse) => resolve(responseInfo(r)), onReject: (r: IncomingResponse) => resolve(responseInfo(r)) },
        requestOptions: { extraHeaders: headers, body: { contentDisposition: 'render', contentType, content: body } },
      };
      (kind === 'info' ? this.session.info(options) : this.session.message(options)).catch(reject);
    });
  }

  #referReplacing(target: string, replaces: string): Promise<SipResponseInfo> {
    const d = this.session.dialog;
    if (!d) return Promise.reject(new Error('no dialog to transfer'));
    const from = this.session.userAgent.configuration.uri.toString();
    return new Promise((resolve) => {
      d.refer({ onAccept: (r) => resolve(responseInfo(r)), onReject: (r) => resolve(responseInfo(r)) }, { extraHeaders: referReplacingHeaders(from, target, replaces) });
    });
  }

  info(contentType: string, body: string, headers: string[] = []): Promise<SipResponseInfo> {
    return this.#request('info', contentType, body, headers);
  }

  message(contentType: string, body: string, headers: string[] = []): Promise<SipResponseInfo> {
    return this.#request('message', contentType, body, headers);
  }

  dialogIds(): { callId: string; localTag: string; remoteTag: string } | undefined {
    const d = this.session.dialog;
    return d ? { callId: d.callId, localTag: d.localTag, remoteTag: d.remoteTag } : undefined;
  }

  refer(target: string, replaces?: string): Promise<SipResponseInfo> {
    const uri = UserAgent.makeURI(target);
    if (!uri) return Promise.reject(new Error('invalid transfer target'));
    if (replaces !== undefined) return this.#referReplacing(target, replaces);
    return new Promise((resolve, reject) => {
      this.session.refer(uri, {
        requestDelegate: { onAccept: (r) => resolve(responseInfo(r)), onReject: (r) => resolve(responseInfo(r)) },
      }).catch(reject);
    });
  }
}

/**
 * An attended transfer's REFER (RFC 3515 + RFC 3891 section 5): Refer-To names the target with a
 * Replaces header in the URI (escaped, RFC 3261 section 19.1.1), so the transferee's INVITE replaces
 * our other dialog. sip.js only builds that from the other Session's Contact; Janus uses the URI the
 * app gives, and so do we, through the dialog's REFER directly.
 */
function referReplacingHeaders(from: string, target: string, replaces: string): string[] {
  return [`Referred-By: <${from}>`, `Refer-To: <${target}?Replaces=${encodeURIComponent(replaces)}>`];
}

/** Headers a target URI carries (RFC 3261 section 19.1.5) that we put in the INVITE: Replaces only. */
function uriHeaders(uri: URI): string[] {
  const out: string[] = [];
  const value = uri.getHeader('replaces') ?? uri.getHeader('Replaces');
  const v = Array.isArray(value) ? value[0] : value;
  if (v) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(v);
    } catch {
      throw new Error('invalid Replaces in the target URI');
    }
    if (/[\r\n\0]/.test(decoded) || decoded.length > 512) throw new Error('invalid Replaces in the target URI');
    out.push(`Replaces: ${decoded}`);
  }
  uri.clearHeaders();
  return out;
}

class EmbeddedAccount implements SipAccount {
  readonly ua: UserAgent;
  readonly transport: SipSocketTransport;
  #registerer: Registerer | undefined;
  readonly #calls = new WeakMap<Session, EmbeddedCall>();
  readonly #subscribers = new Map<string, Subscriber>();
  readonly #user: string;
  readonly #token: string;
  readonly #protocol: 'udp' | 'tcp' | 'tls';

  private constructor(readonly config: AccountConfig, readonly events: AccountEvents, readonly log: Log, uri: URI) {
    this.#user = uri.user ?? 'portunus';
    const token = newViaToken();
    this.#token = token;
    const outbound = config.outboundProxy ?? config.proxy;
    const target = outbound ? uriTarget(outbound) : undefined;
    const protocol = config.tls ? 'tls' : config.transport;
    this.#protocol = protocol;
    const transportOptions: SipTransportOptions = {
      protocol, ...(config.tls ? { tls: config.tls } : {}), localIp: config.localIp, advertisedIp: config.advertisedIp, viaToken: token,
      ...(target ? { outboundProxy: target } : {}), ...(config.t1x64 ? { t1x64: config.t1x64 } : {}), log,
      // Raw SIP on stderr for debugging (PORTUNUS_SIP_TRACE=1).
      ...(process.env.PORTUNUS_SIP_TRACE ? { onSipIn: (t: string) => process.stderr.write(`<<< sip in\n${t}\n`), onSipOut: (t: string) => process.stderr.write(`>>> sip out\n${t}\n`) } : {}),
    };
    const authUser = config.authUser ?? this.#user;
    this.ua = new UserAgent({
      uri,
      ...(config.displayName ? { displayName: config.displayName } : {}),
      authorizationUsername: authUser,
      ...(config.secret !== undefined ? { authorizationPassword: config.secret } : {}),
      ...(config.ha1Secret !== undefined ? { authorizationHa1: config.ha1Secret } : {}),
      userAgentString: config.userAgent ?? 'Portunus SIP',
      viaHost: token,
      contactName: this.#user,
      contactParams: { transport: protocol },
      forceRport: true,
      hackIpInContact: false,
      logBuiltinEnabled: false,
      logLevel: 'error',
      logConnector: (level, category, _label, content) => {
        if (level === 'error' || level === 'warn') log.debug(`sip.js ${category}: ${content}`);
      },
      transportConstructor: SipSocketTransport,
      transportOptions,
      sessionDescriptionHandlerFactory: (session: Session) => {
        const call = this.#calls.get(session);
        if (!call) throw new Error('no call for this session');
        return new CallSdh(call);
      },
      delegate: {
        onInvite: (invitation) => this.#onInvite(invitation),
        onMessage: (message) => {
          void message.accept();
          this.events.message(requestInfo(message.request));
        },
        onNotify: (notification) => {
          void notification.accept();
          this.events.notify({ ...requestInfo(notification.request), event: notification.request.getHeader('event') ?? '' });
        },
      },
    });
    this.transport = this.ua.transport as SipSocketTransport;
  }

  static async create(config: AccountConfig, events: AccountEvents, log: Log): Promise<EmbeddedAccount> {
    const uri = UserAgent.makeURI(config.identity);
    if (!uri) throw new Error('invalid SIP identity');
    const a = new EmbeddedAccount(config, events, log, uri);
    await a.ua.start();
    return a;
  }

  get contact(): string {
    return `sip:${this.#user}@${this.transport.hostPort};transport=${this.#protocol}`;
  }

  async register(): Promise<void> {
    if (!this.#registerer) {
      const registrar = this.config.proxy ? UserAgent.makeURI(this.config.proxy) : undefined;
      const r = new Registerer(this.ua, {
        expires: this.config.registerTtl, extraHeaders: this.config.headers, ...(registrar ? { registrar } : {}),
      });
      r.stateChange.addListener((state) => {
        if (state === RegistererState.Unregistered) this.events.unregistered();
      });
      this.#registerer = r;
    }
    await this.#registerer.register({
      requestDelegate: {
        onAccept: (response) => {
          const contacts = response.message.getHeaders('contact');
          const mine = contacts.find((c) => c.includes(this.#token)) ?? contacts[0] ?? '';
          const m = /;\s*expires=(\d+)/i.exec(mine) ?? /^(\d+)$/.exec(response.message.getHeader('expires') ?? '');
          this.events.registered(m ? Number(m[1]) : this.config.registerTtl);
        },
        onReject: (response) => this.events.registrationFailed(response.message.statusCode ?? 0, response.message.reasonPhrase ?? ''),
      },
    });
  }

  async unregister(): Promise<void> {
    if (!this.#registerer) return;
    await this.#registerer.unregister();
  }

  #onInvite(invitation: Invitation): void {
    const call = new EmbeddedCall(invitation, true, invitation.request.callId);
    this.#calls.set(invitation, call);
    call.wire();
    this.events.incomingCall(call, invitation.body, requestInfo(invitation.request));
  }

  async call(uri: string, sdp: string, headers: string[], events: CallEvents, options: CallOptions = {}): Promise<SipCall> {
    const target = UserAgent.makeURI(uri);
    if (!target) throw new Error('invalid SIP URI');
    const inviter = new Inviter(this.ua, target, { extraHeaders: [...headers, ...uriHeaders(target)], ...(options.lateOffer ? { inviteWithoutSdp: true } : {}) });
    // A call made for a REFER we got: its progress goes to the referrer as NOTIFY sipfrag (RFC 3515 section 2.4.4).
    if (options.referrer instanceof EmbeddedCall) inviter._referred = options.referrer.session;
    const call = new EmbeddedCall(inviter, false, inviter.request.callId);
    call.localSdp = sdp;
    call.ackTimeoutMs = this.config.t1x64 ?? 32_000;
    if (options.lateOffer) call.expectLateOffer();
    else call.markOffering();
    call.setEvents(events);
    this.#calls.set(inviter, call);
    call.wire();
    await inviter.invite({
      requestDelegate: {
        onProgress: (r) => {
          const code = r.message.statusCode ?? 0;
          if (code > 100) events.progress(responseInfo(r), r.message.body || undefined);
        },
        // A late offer was handed up by lateOffer when it arrived; this fires after the ACK.
        onAccept: (r) => {
          if (!options.lateOffer) events.accepted(responseInfo(r), call.remoteSdp ?? (r.message.body || undefined));
        },
        onReject: (r) => call.endWith(r.message.statusCode ?? 0, r.message.reasonPhrase ?? ''),
      },
    });
    return call;
  }

  message(uri: string, contentType: string, body: string, headers: string[]): Promise<SipResponseInfo> {
    const target = UserAgent.makeURI(uri);
    if (!target) return Promise.reject(new Error('invalid SIP URI'));
    return new Promise((resolve, reject) => {
      new Messager(this.ua, target, body, contentType, { extraHeaders: headers }).message({
        requestDelegate: { onAccept: (r) => resolve(responseInfo(r)), onReject: (r) => resolve(responseInfo(r)) },
      }).catch(reject);
    });
  }

  async subscribe(uri: string, event: string, accept: string | undefined, expires: number): Promise<SipResponseInfo> {
    const target = UserAgent.makeURI(uri);
    if (!target) throw new Error('invalid SIP URI');
    await this.unsubscribe(event);
    const s = new Subscriber(this.ua, target, event, { expires, ...(accept ? { extraHeaders: [`Accept: ${accept}`] } : {}) });
    s.delegate = {
      onNotify: (n: Notification) => {
        void n.accept();
        this.events.notify({ ...requestInfo(n.request), event });
      },
    };
    this.#subscribers.set(event, s);
    await s.subscribe();
    return { code: 200, reason: 'OK', headers: {} };
  }

  async unsubscribe(event: string): Promise<void> {
    const s = this.#subscribers.get(event);
    if (!s) return;
    this.#subscribers.delete(event);
    await s.unsubscribe().catch(() => undefined);
  }

  async close(): Promise<void> {
    for (const e of [...this.#subscribers.keys()]) await this.unsubscribe(e);
    try {
      await this.ua.stop();
    } catch (err) {
      this.log.debug(`sip: stop failed: ${(err as Error).message}`);
    }
  }
}

export class EmbeddedSipBackend implements SipBackend {
  readonly name = 'embedded';
  readonly #accounts = new Set<EmbeddedAccount>();
  constructor(private readonly log: Log) {}

  async createAccount(config: AccountConfig, events: AccountEvents): Promise<SipAccount> {
    const a = await EmbeddedAccount.create(config, events, this.log);
    this.#accounts.add(a);
    const close = a.close.bind(a);
    a.close = async () => {
      this.#accounts.delete(a);
      await close();
    };
    return a;
  }

  async close(): Promise<void> {
    for (const a of [...this.#accounts]) await a.close();
  }
}
