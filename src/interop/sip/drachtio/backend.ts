/**
 * The drachtio backend: the SIP stack is a drachtio server (drachtio-server 0.8.x) reached over its
 * TCP control protocol with drachtio-srf 5.x. The server owns the SIP address (one for all accounts),
 * the transaction and dialog layers; we send requests and responses through srf and get the far
 * side's requests routed to us ("route|invite", ...). Every account shares the server's SIP
 * address; its Contact carries an `acct` URI parameter so the INVITEs a registrar sends back find
 * the right account. Digest authentication (401/407) is srf's, from the password (no HA1: srf's
 * digest client only takes a password).
 */
import { randomBytes } from 'node:crypto';
import type { AccountConfig, AccountEvents, CallEvents, CallOptions, SipAccount, SipBackend, SipCall, SipResponseInfo } from '../backend.ts';
import { DrachtioCall, type CallContext } from './call.ts';
import { headerObject, requestInfo, responseInfo, Srf, stopSrf, type SrfConnection, type SrfRequest, type SrfResponse } from './srf.ts';

type Log = { debug(msg: string): void; warn(msg: string): void };

export interface DrachtioServerOptions {
  host: string;
  port: number;
  secret: string;
  /** How long createAccount waits for the server connection (ms). */
  connectTimeoutMs?: number;
}

/**
 * "udp/127.0.0.1:5060,tcp/127.0.0.1:5060" (the authenticate reply) -> the server's address for a
 * transport, or its first one (with that one's transport) when it does not listen on the one asked.
 */
export function sipHostport(hostports: string, transport: 'udp' | 'tcp'): { transport: string; hostport: string } | undefined {
  const list = hostports.split(',').map((h) => h.trim()).filter(Boolean);
  const pick = list.find((h) => h.toLowerCase().startsWith(`${transport}/`)) ?? list[0];
  const m = pick ? /^([a-z]+)\/(.+)$/i.exec(pick) : null;
  return m ? { transport: m[1].toLowerCase(), hostport: m[2] } : undefined;
}

/** A SIP response as a promise: resolves on the final response to `req`. */
function finalResponse(req: SrfRequest): Promise<SrfResponse> {
  return new Promise((resolve) => req.on('response', (res) => {
    if (res.status >= 200) resolve(res);
  }));
}

class DrachtioAccount implements SipAccount {
  readonly token = randomBytes(6).toString('hex');
  readonly #user: string;
  readonly #regCallId = `${randomBytes(10).toString('hex')}@portunus`;
  #cseq = 0;
  #registered = false;
  #refresh: NodeJS.Timeout | undefined;
  readonly #subscriptions = new Map<string, { callId: string; uri: string }>();
  closed = false;

  constructor(private readonly srf: SrfConnection, readonly config: AccountConfig, readonly events: AccountEvents, private readonly address: { transport: string; hostport: string }, private readonly log: Log) {
    this.#user = Srf.parseUri(config.identity)?.user ?? 'portunus';
  }

  get contact(): string {
    return `sip:${this.#user}@${this.address.hostport};transport=${this.address.transport};acct=${this.token}`;
  }

  get #from(): string {
    const dn = this.config.displayName ? `"${this.config.displayName.replace(/["\\]/g, '')}" ` : '';
    return `${dn}<${this.config.identity}>`;
  }

  get #auth(): { username: string; password: string } | undefined {
    if (this.config.secret === undefined) return undefined;
    return { username: this.config.authUser ?? this.#user, password: this.config.secret };
  }

  get #proxy(): string | undefined {
    return this.config.outboundProxy ?? this.config.proxy;
  }

  get #ctx(): CallContext {
    return {
      contact: `<${this.contact}>`, identity: this.config.identity,
      createUAS: (req, res, sdp, headers) => this.srf.createUAS(req, res, { localSdp: sdp, headers }),
      log: (m) => this.log.debug(m),
    };
  }

  #common(extra: Record<string, string>, lines: string[] = []): Record<string, string> {
    return headerObject(lines, { From: this.#from, 'User-Agent': this.config.userAgent ?? 'Portunus SIP', ...extra });
  }

  async #sendRegister(expires: number): Promise<SrfResponse> {
    const domain = Srf.parseUri(this.config.identity)?.host ?? '';
    const registrar = this.config.proxy ?? `sip:${domain}`;
    const req = await this.srf.request(registrar, {
      method: 'REGISTER',
      headers: this.#common({
        To: `<${this.config.identity}>`, Contact: `<${this.contact}>${expires === 0 ? ';expires=0' : ''}`, Expires: String(expires),
        // RFC 3261 10.2.4: refreshes keep the Call-ID and raise the CSeq.
        'Call-ID': this.#regCallId, CSeq: `${++this.#cseq} REGISTER`,
      }, this.config.headers),
      ...(this.config.outboundProxy ? { proxy: this.config.outboundProxy } : {}),
      ...(this.#auth ? { auth: this.#auth } : {}),
    });
    const res = await finalResponse(req);
    // srf's digest client re-sent the request with the next CSeq.
    const seq = Number.parseInt(res.get('cseq') ?? '', 10);
    if (seq > this.#cseq) this.#cseq = seq;
    return res;
  }

  async register(): Promise<void> {
    if (this.config.secret === undefined && this.config.ha1Secret !== undefined) {
      this.events.registrationFailed(500, 'ha1_secret is not supported by the drachtio backend');
      return;
    }
    const res = await this.#sendRegister(this.config.registerTtl);
    if (res.status >= 300) {
      this.#registered = false;
      this.events.registrationFailed(res.status, res.reason);
      return;
    }
    const contacts = (res.get('contact') ?? '').split(/,(?=\s*(?:"[^"]*"\s*)?<)/);
    const mine = contacts.find((c) => c.includes(this.token)) ?? contacts[0] ?? '';
    const m = /;\s*expires=(\d+)/i.exec(mine) ?? /^(\d+)$/.exec(res.get('expires') ?? '');
    const expires = m ? Number(m[1]) : this.config.registerTtl;
    this.#registered = true;
    this.#schedule(expires);
    this.events.registered(expires);
  }

  #schedule(expires: number): void {
    clearTimeout(this.#refresh);
    if (expires <= 0 || this.closed) return;
    // Refresh a little before expiry, as sip.js' Registerer does for the embedded backend.
    this.#refresh = setTimeout(() => void this.register().catch((err: Error) => this.log.debug(`drachtio: refresh failed: ${err.message}`)), Math.max(1, expires * 0.9) * 1000);
    this.#refresh.unref();
  }

  async unregister(): Promise<void> {
    clearTimeout(this.#refresh);
    const res = await this.#sendRegister(0);
    if (res.status < 300 && this.#registered) {
      this.#registered = false;
      this.events.unregistered();
    }
  }

  /** An INVITE routed to us by the server (the backend found this account for it). */
  incoming(req: SrfRequest, res: SrfResponse): void {
    const call = new DrachtioCall(req.get('call-id') ?? '', true, this.#ctx);
    call.received(req, res);
    this.events.incomingCall(call, req.body || undefined, requestInfo(req));
  }

  call(uri: string, sdp: string, headers: string[], events: CallEvents, options: CallOptions = {}): Promise<SipCall> {
    // Not on this backend (yet): offerless outgoing INVITEs; `referrer` (NOTIFY sipfrag) is not sent.
    if (options.lateOffer) return Promise.reject(new Error('late offer is not supported by the drachtio backend'));
    return new Promise((resolve, reject) => {
      let call: DrachtioCall | undefined;
      const dialog = this.srf.createUAC(uri, {
        localSdp: sdp,
        headers: this.#common({ To: `<${uri}>`, Contact: `<${this.contact}>`, 'Content-Type': 'application/sdp' }, headers),
        ...(this.#proxy ? { proxy: this.#proxy } : {}),
        ...(this.#auth ? { auth: this.#auth } : {}),
      }, {
        cbRequest: (err, req) => {
          if (err || !req) return reject(err ?? new Error('INVITE not sent'));
          call = new DrachtioCall(req.get('call-id') ?? '', false, this.#ctx);
          call.localSdp = sdp;
          call.setEvents(events);
          call.sent(req);
          resolve(call);
        },
        cbProvisional: (res) => {
          if (res.status > 100) events.progress(responseInfo(res), res.body || undefined);
        },
      });
      dialog.then((d) => {
        if (!call || call.isEnded) {
          // Answered after we gave up (CANCEL crossed the 200): end the dialog (RFC 3261 15).
          void d.destroy().catch(() => undefined);
          return;
        }
        call.attachDialog(d);
        events.accepted({ code: 200, reason: 'OK', headers: {} }, d.remote.sdp || undefined);
      }, (err: { status?: number; reason?: string; message?: string }) => {
        if (!call) return reject(err instanceof Error ? err : new Error(String(err.message)));
        call.end(err.status ?? 500, err.reason ?? err.message ?? 'Error', false);
      });
    });
  }

  async message(uri: string, contentType: string, body: string, headers: string[]): Promise<SipResponseInfo> {
    const req = await this.srf.request(uri, {
      method: 'MESSAGE', headers: this.#common({ To: `<${uri}>`, 'Content-Type': contentType }, headers), body,
      ...(this.#proxy ? { proxy: this.#proxy } : {}), ...(this.#auth ? { auth: this.#auth } : {}),
    });
    return responseInfo(await finalResponse(req));
  }

  async subscribe(uri: string, event: string, accept: string | undefined, expires: number): Promise<SipResponseInfo> {
    const known = this.#subscriptions.get(event);
    const callId = known?.callId ?? `${randomBytes(10).toString('hex')}@portunus`;
    const req = await this.srf.request(uri, {
      method: 'SUBSCRIBE',
      headers: this.#common({ To: `<${uri}>`, Contact: `<${this.contact}>`, Event: event, Expires: String(expires), 'Call-ID': callId, ...(accept ? { Accept: accept } : {}) }),
      ...(this.#proxy ? { proxy: this.#proxy } : {}), ...(this.#auth ? { auth: this.#auth } : {}),
    });
    const res = await finalResponse(req);
    if (res.status < 300) this.#subscriptions.set(event, { callId, uri });
    return responseInfo(res);
  }

  async unsubscribe(event: string): Promise<void> {
    const s = this.#subscriptions.get(event);
    if (!s) return;
    this.#subscriptions.delete(event);
    // Same Call-ID: the server sends it inside the subscription's dialog.
    const req = await this.srf.request(s.uri, {
      method: 'SUBSCRIBE', headers: this.#common({ To: `<${s.uri}>`, Contact: `<${this.contact}>`, Event: event, Expires: '0', 'Call-ID': s.callId }),
    }).catch(() => undefined);
    if (req) await finalResponse(req);
  }

  /** Out-of-dialog MESSAGE / NOTIFY routed to this account. */
  onRequest(req: SrfRequest, res: SrfResponse): void {
    res.send(200);
    if (req.method === 'MESSAGE') this.events.message(requestInfo(req));
    else if (req.method === 'NOTIFY') this.events.notify({ ...requestInfo(req), event: req.get('event') ?? '' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.#refresh);
    for (const e of [...this.#subscriptions.keys()]) await this.unsubscribe(e).catch(() => undefined);
    if (this.#registered) {
      await Promise.race([this.unregister().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }
}

export class DrachtioSipBackend implements SipBackend {
  readonly name = 'drachtio';
  readonly #srf: SrfConnection;
  readonly #accounts = new Map<string, DrachtioAccount>();
  #hostports: string | undefined;
  #connected: Promise<string>;
  #closed = false;

  constructor(private readonly options: DrachtioServerOptions, private readonly log: Log) {
    const srf = new Srf();
    this.#srf = srf;
    srf.on('error', (err) => log.warn(`drachtio: ${(err as Error)?.message ?? String(err)}`));
    this.#connected = new Promise((resolve) => {
      srf.on('connect', (err, hostport) => {
        if (err) {
          log.warn(`drachtio: ${err.message}`);
          return;
        }
        this.#hostports = hostport;
        log.debug(`drachtio: connected to ${options.host}:${options.port}, SIP on ${hostport}`);
        resolve(hostport);
      });
    });
    srf.invite((req, res) => {
      const account = this.#accountFor(req);
      if (!account) return res.send(404);
      account.incoming(req, res);
    });
    const outOfDialog = (req: SrfRequest, res: SrfResponse): void => {
      const account = this.#accountFor(req);
      if (!account) return res.send(404);
      account.onRequest(req, res);
    };
    srf.message(outOfDialog);
    srf.notify(outOfDialog);
    srf.connect({ host: options.host, port: options.port, secret: options.secret, reconnect: { retryMaxDelay: 5000 } });
  }

  /** Which account a request from the network is for: our `acct` Contact parameter, else the user part. */
  #accountFor(req: SrfRequest): DrachtioAccount | undefined {
    const uri = Srf.parseUri(req.uri);
    const token = uri?.params?.acct;
    if (token) return this.#accounts.get(token);
    const user = uri?.user;
    return [...this.#accounts.values()].find((a) => Srf.parseUri(a.config.identity)?.user === user);
  }

  async #address(transport: 'udp' | 'tcp'): Promise<{ transport: string; hostport: string }> {
    const timeout = this.options.connectTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const hostports = this.#hostports ?? await Promise.race([
      this.#connected,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`drachtio server ${this.options.host}:${this.options.port} not reachable`)), timeout); }),
    ]).finally(() => clearTimeout(timer));
    const hp = sipHostport(hostports, transport);
    if (!hp) throw new Error('drachtio server has no SIP address');
    return hp;
  }

  async createAccount(config: AccountConfig, events: AccountEvents): Promise<SipAccount> {
    if (this.#closed) throw new Error('backend closed');
    // The drachtio server owns the SIP transports: TLS would be its own sips listener, not ours.
    if (config.tls) throw new Error('TLS accounts are not supported by the drachtio backend');
    const account = new DrachtioAccount(this.#srf, config, events, await this.#address(config.transport), this.log);
    this.#accounts.set(account.token, account);
    const close = account.close.bind(account);
    account.close = async () => {
      await close();
      this.#accounts.delete(account.token);
    };
    return account;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const a of [...this.#accounts.values()]) await a.close();
    stopSrf(this.#srf);
  }
}
