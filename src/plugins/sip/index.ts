/**
 * janus.plugin.sip (JANUS-REFERENCE 2.8): browsers to SIP phones, PBXs and trunks. Each handle gets
 * its own SIP account (user agent and port) on the configured backend (embedded sip.js, or a drachtio
 * server); calls bridge the browser's PeerConnection to plain RTP on sockets from rtp_port_range,
 * without transcoding (src/interop/sip). All requests are asynchronous, as in Janus; events are
 * {sip:"event", result:{event:...}, call_id} and errors {sip:"event", error_code 440-454/499, error}.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayFacade, Jsep, MediaPacket, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { parsePortRangeString, type PortRange } from '../../media/udp-ports.ts';
import type { AccountConfig, CallEvents, CallOptions, IncomingRequestInfo, SipAccount, SipBackend, SipCall } from '../../interop/sip/backend.ts';
import { EmbeddedSipBackend } from '../../interop/sip/embedded.ts';
import { DrachtioSipBackend } from '../../interop/sip/drachtio/backend.ts';
import { bridgedLines, defaultLocalIp, RtpBridge } from '../../interop/sip/rtp-bridge.ts';
import {
  answerReoffer, sipAnswerFromWebrtc, sipMediaLines, sipOfferFromWebrtc, webrtcAnswerFromSip, webrtcOfferFromSip, withDirection, SdpError,
} from '../../interop/sip/sdp-translate.ts';
import { check, customHeaders, plain, SIP_ERROR, SipRequestError, sipUri } from './requests.ts';
import { CallRecording, isUnsafePath, type SipRecordingPolicy } from './recording.ts';
import { answerWithSdes, applySdesAnswer, offerWithSdes, reofferWithSdes, sdesForOffer, sdesReoffer, srtpRequest, type CallSdes } from './srtp.ts';

export { SIP_ERROR } from './requests.ts';

/** How long a received REFER can be followed by a `call` with its refer_id. */
const REFERRAL_TTL_MS = 5 * 60_000;

interface SipSettings {
  localIp: string;
  localMediaIp: string;
  sdpIp: string;
  range: PortRange | undefined;
  registerTtl: number;
  userAgent: string;
  t1x64: number;
  transport: 'udp' | 'tcp';
  /** Outgoing calls not answered after this many ms are CANCELled (0: never, as Janus). */
  noAnswerMs: number;
  /** TLS certificates from sips_certs_dir (agent.pem: key and certificate; cafile.pem: CA to verify peers). */
  tls: { key: Buffer; cert: Buffer; ca?: Buffer } | undefined;
}

/** 'offered': an outgoing late-offer call got the far side's offer and waits for late_ack. */
type CallStatus = 'calling' | 'ringing' | 'incoming' | 'accepting' | 'offered' | 'incall' | 'closing';

interface ActiveCall {
  sip: SipCall | undefined;
  callId: string;
  status: CallStatus;
  bridge: RtpBridge;
  /** The browser's offer (outgoing) and the SIP offer (incoming), for the answers. */
  webrtcOffer?: string;
  sipOffer?: string;
  peer: string;
  onHold: boolean;
  /** The audio codec in use (for recordings). */
  audioCodec?: { name: string; clockRate: number };
  recording: CallRecording;
  /** How the hangup event must read when we end the call for a reason of our own (no answer). */
  endAs?: { code: number; reason: string };
  noAnswerTimer?: NodeJS.Timeout;
  /** SDES-SRTP keys and contexts (src/plugins/sip/srtp.ts). */
  sdes?: CallSdes;
}

interface SipSession {
  handle: PluginHandle;
  account: SipAccount | undefined;
  accountConfig: AccountConfig | undefined;
  username: string | undefined;
  registered: boolean;
  call: ActiveCall | undefined;
  destroyed: boolean;
  queue: Promise<void>;
  /** Id helpers name in master_id (Janus' master_id), set on the account's owner. */
  masterId: number;
  /** Helper handles sharing this account for more calls; on a helper, its master. */
  helpers: Set<SipSession>;
  master: SipSession | undefined;
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : fallback;
}

function sessionIdOf(): string {
  return String(Math.floor(Math.random() * 1e9));
}

/**
 * sips_certs_dir as Sofia reads it: agent.pem holds the private key and the certificate chain,
 * cafile.pem (optional) the CAs peers are verified against. Unreadable: no TLS, with a warning.
 */
function loadSipsCerts(dir: string, log: { warn(msg: string): void }): { key: Buffer; cert: Buffer; ca?: Buffer } | undefined {
  try {
    const agent = readFileSync(join(dir, 'agent.pem'));
    const ca = existsSync(join(dir, 'cafile.pem')) ? readFileSync(join(dir, 'cafile.pem')) : undefined;
    return { key: agent, cert: agent, ...(ca ? { ca } : {}) };
  } catch (err) {
    log.warn(`sip: no TLS, cannot read ${dir}/agent.pem: ${(err as Error).message}`);
    return undefined;
  }
}

/** The first audio line's main codec, named as recordings name it (opus, pcmu, pcma, g722). */
function mainAudio(lines: Array<{ kind: string; codecs: Array<{ name: string; clockRate: number }> }>): { name: string; clockRate: number } | undefined {
  const c = lines.find((l) => l.kind === 'audio')?.codecs.find((x) => x.name.toLowerCase() !== 'telephone-event');
  return c ? { name: c.name.toLowerCase(), clockRate: c.clockRate } : undefined;
}

export class SipPlugin implements Plugin {
  readonly package = 'janus.plugin.sip';
  readonly name = 'JANUS SIP plugin';
  readonly description = 'Bridges WebRTC peers to SIP endpoints (Portunus, sip.js or drachtio).';
  readonly author = 'Portunus developers';
  readonly version = 8;
  readonly versionString = '0.0.8';
  #gw!: GatewayFacade;
  #backend!: SipBackend;
  #settings!: SipSettings;
  readonly #sessions = new Set<SipSession>();
  readonly #masters = new Map<number, SipSession>();
  #nextMasterId = Math.floor(Math.random() * 1e6) + 1;
  /** REFERs received (Janus' refer_id), for the `call` that follows one. */
  readonly #referrals = new Map<number, { sip: SipCall | undefined; referredBy: string | undefined; expires: number }>();
  #nextReferId = Math.floor(Math.random() * 1e6) + 1;
  #recordingPolicy: SipRecordingPolicy = { baseDir: process.cwd(), protectedFolders: [] };

  init(gateway: GatewayFacade, config: Record<string, unknown>, global: PortunusConfig): void {
    this.#gw = gateway;
    const tmpExt = global.general.recordings_tmp_ext;
    this.#recordingPolicy = { baseDir: process.cwd(), protectedFolders: global.general.protected_folders, ...(tmpExt ? { tmpExt } : {}) };
    const g = (config.general ?? {}) as Record<string, unknown>;
    const localIp = str(g.local_ip, defaultLocalIp());
    const localMediaIp = str(g.local_media_ip, localIp);
    this.#settings = {
      localIp, localMediaIp, sdpIp: str(g.sdp_ip, localMediaIp),
      range: parsePortRangeString(str(g.rtp_port_range, '10000-60000')),
      registerTtl: Number(g.register_ttl) > 0 ? Number(g.register_ttl) : 3600,
      userAgent: str(g.user_agent, 'Portunus SIP'),
      t1x64: Number(g.sip_timer_t1x64) > 0 ? Number(g.sip_timer_t1x64) : 32000,
      transport: g.force_tcp === true || g.force_tcp === 'true' ? 'tcp' : 'udp',
      noAnswerMs: Number(g.no_answer_timeout) > 0 ? Math.round(Number(g.no_answer_timeout) * 1000) : 0,
      tls: typeof g.sips_certs_dir === 'string' && g.sips_certs_dir !== '' ? loadSipsCerts(g.sips_certs_dir, gateway.log) : undefined,
    };
    const log = { debug: (m: string) => gateway.log.debug(m), warn: (m: string) => gateway.log.warn(m) };
    // sip_backend = "drachtio": a drachtio server does the SIP (src/interop/sip/drachtio).
    this.#backend = str(g.sip_backend, 'embedded') === 'drachtio'
      ? new DrachtioSipBackend({ host: str(g.drachtio_host, '127.0.0.1'), port: Number(g.drachtio_port) > 0 ? Number(g.drachtio_port) : 9022, secret: str(g.drachtio_secret, 'cymru') }, log)
      : new EmbeddedSipBackend(log);
  }

  async destroy(): Promise<void> {
    for (const s of this.#sessions) this.#teardown(s);
    await this.#backend.close();
  }

  createSession(handle: PluginHandle): void {
    const s: SipSession = {
      handle, account: undefined, accountConfig: undefined, username: undefined, registered: false, call: undefined, destroyed: false, queue: Promise.resolve(),
      masterId: 0, helpers: new Set(), master: undefined,
    };
    handle.pluginState = s;
    this.#sessions.add(s);
  }

  handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): PluginResult {
    const s = handle.pluginState as SipSession | undefined;
    if (!s) return { kind: 'error', reason: 'No session associated with this handle' };
    s.queue = s.queue.then(() => this.#process(s, transaction, body, jsep)).catch((err: unknown) => {
      const code = err instanceof SipRequestError ? err.code : SIP_ERROR.UNKNOWN_ERROR;
      const msg = err instanceof Error ? err.message : String(err);
      if (!(err instanceof SipRequestError)) this.#gw.log.warn(`sip: request failed: ${msg}`);
      if (!s.destroyed) this.#gw.pushEvent(handle, { sip: 'event', error_code: code, error: msg }, { transaction });
    });
    return { kind: 'ack' };
  }

  #event(s: SipSession, result: Record<string, unknown>, options: { transaction?: string; jsep?: Jsep } = {}): void {
    if (s.destroyed) return;
    // Janus puts call_id next to result, not in it.
    const { call_id: given, ...rest } = result;
    const callId = given ?? s.call?.callId;
    this.#gw.pushEvent(s.handle, { sip: 'event', ...(callId ? { call_id: callId } : {}), result: rest }, options);
  }

  async #process(s: SipSession, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<void> {
    if (s.destroyed) return;
    check(body, [['request', 'string', true]]);
    const request = (body.request as string).toLowerCase();
    const reply = (result: Record<string, unknown>, j?: Jsep): void => this.#event(s, result, { transaction, ...(j ? { jsep: j } : {}) });
    switch (request) {
      case 'register': return this.#register(s, body, reply);
      case 'unregister': return this.#unregister(s, reply);
      case 'call': return this.#call(s, body, jsep, reply);
      case 'accept': return this.#accept(s, body, jsep, reply);
      case 'decline': return this.#decline(s, body, reply);
      case 'hangup': return this.#hangup(s, body, reply);
      case 'hold': case 'unhold': return this.#hold(s, request === 'hold', body, reply);
      case 'update': return this.#update(s, jsep, reply);
      case 'info': return this.#info(s, body, reply);
      case 'dtmf_info': return this.#dtmfInfo(s, body, reply);
      case 'message': return this.#message(s, body, reply);
      case 'transfer': return this.#transfer(s, body, reply);
      case 'late_ack': return this.#lateAck(s, jsep, reply);
      case 'subscribe': return this.#subscribe(s, body, reply);
      case 'unsubscribe': return this.#unsubscribe(s, body, reply);
      case 'recording': return this.#recording(s, body, reply);
      default: throw new SipRequestError(SIP_ERROR.INVALID_REQUEST, `Unknown request (${request})`);
    }
  }

  async #register(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [
      ['type', 'string'], ['send_register', 'boolean'], ['force_udp', 'boolean'], ['force_tcp', 'boolean'], ['sips', 'boolean'],
      ['username', 'string'], ['secret', 'string'], ['ha1_secret', 'string'], ['authuser', 'string'], ['display_name', 'string'],
      ['user_agent', 'string'], ['proxy', 'string'], ['outbound_proxy', 'string'], ['headers', 'object'], ['refresh', 'boolean'],
      ['register_ttl', 'integer'], ['master_id', 'integer'],
    ]);
    const type = (body.type as string | undefined) ?? '';
    if (type !== '' && type !== 'guest' && type !== 'helper') throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, `Invalid element (unsupported type ${type.slice(0, 32)})`);
    if (type === 'helper') return this.#registerHelper(s, body, reply);
    if (body.refresh === true) {
      if (!s.account || !s.registered) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (not registered)');
      await s.account.register();
      return;
    }
    if (s.account && s.registered) throw new SipRequestError(SIP_ERROR.ALREADY_REGISTERED, `Already registered (${s.username})`);
    const guest = type === 'guest' || body.send_register === false;
    if (!guest && body.username === undefined) throw new SipRequestError(SIP_ERROR.MISSING_ELEMENT, 'Missing element (username)');
    if (!guest && body.secret === undefined && body.ha1_secret === undefined) throw new SipRequestError(SIP_ERROR.MISSING_ELEMENT, 'Missing element (secret or ha1_secret)');
    const username = body.username !== undefined ? sipUri(body.username as string, 'username') : `sip:guest-${Math.floor(Math.random() * 1e8)}@${this.#settings.localIp}`;
    const proxy = body.proxy !== undefined ? sipUri(body.proxy as string, 'proxy') : undefined;
    const outbound = body.outbound_proxy !== undefined ? sipUri(body.outbound_proxy as string, 'outbound_proxy') : undefined;
    const headers = customHeaders(body.headers);
    // TLS (Janus: sips, a sips: proxy or transport=tls) needs sips_certs_dir.
    const wantsTls = body.sips === true || [proxy, outbound].some((u) => u !== undefined && (/^sips:/i.test(u) || /;transport=tls/i.test(u)));
    if (wantsTls && !this.#settings.tls) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid element (TLS requested but sips_certs_dir is not configured)');
    const ttl = typeof body.register_ttl === 'number' && body.register_ttl > 0 ? body.register_ttl : this.#settings.registerTtl;
    const cfg: AccountConfig = {
      identity: username,
      ...(body.display_name !== undefined ? { displayName: plain(body.display_name as string, 'display_name') } : {}),
      ...(body.authuser !== undefined ? { authUser: plain(body.authuser as string, 'authuser') } : {}),
      ...(body.secret !== undefined ? { secret: body.secret as string } : {}),
      ...(body.ha1_secret !== undefined ? { ha1Secret: body.ha1_secret as string } : {}),
      ...(proxy ? { proxy } : {}), ...(outbound ? { outboundProxy: outbound } : {}),
      userAgent: body.user_agent !== undefined ? plain(body.user_agent as string, 'user_agent') : this.#settings.userAgent,
      registerTtl: ttl, headers,
      transport: body.force_tcp === true ? 'tcp' : body.force_udp === true ? 'udp' : this.#settings.transport,
      localIp: this.#settings.localIp, t1x64: this.#settings.t1x64, ...(wantsTls && this.#settings.tls ? { tls: this.#settings.tls } : {}),
    };
    await this.#dropAccount(s);
    s.masterId = this.#nextMasterId++;
    this.#masters.set(s.masterId, s);
    s.username = username;
    s.accountConfig = cfg;
    s.account = await this.#backend.createAccount(cfg, {
      registered: (expires) => {
        s.registered = true;
        this.#event(s, { event: 'registered', username, register_sent: true, master_id: s.masterId, ...(expires ? { expires } : {}) });
      },
      registrationFailed: (code, reason) => {
        s.registered = false;
        this.#event(s, { event: 'registration_failed', code, reason });
      },
      unregistered: () => {
        if (!s.registered) return;
        s.registered = false;
        this.#event(s, { event: 'unregistered', username, register_sent: true });
      },
      incomingCall: (call, sdp, info) => void this.#incoming(s, call, sdp, info),
      message: (info) => this.#event(s, { event: 'message', sender: info.from, ...(info.displayName ? { displayname: info.displayName } : {}), content: info.body, content_type: info.contentType ?? 'text/plain', call_id: info.callId }),
      notify: (info) => this.#event(s, { event: 'notify', notify: info.event, ...(info.headers['subscription-state'] ? { substate: info.headers['subscription-state'] } : {}), content: info.body, content_type: info.contentType, call_id: info.callId }),
    });
    if (guest) {
      s.registered = true;
      reply({ event: 'registered', username, register_sent: false, master_id: s.masterId });
      return;
    }
    reply({ event: 'registering' });
    await s.account.register();
  }

  /** A helper handle: more calls on the master's account (Janus' type "helper" with master_id). */
  async #registerHelper(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    if (body.master_id === undefined) throw new SipRequestError(SIP_ERROR.MISSING_ELEMENT, 'Missing element (master_id)');
    const master = this.#masters.get(body.master_id as number);
    if (!master || master.destroyed || !master.account) throw new SipRequestError(SIP_ERROR.HELPER_ERROR, 'Invalid master_id (no such master)');
    if (s.account) throw new SipRequestError(SIP_ERROR.ALREADY_REGISTERED, 'Already registered (this handle has its own account)');
    s.master = master;
    s.account = master.account;
    s.username = master.username;
    s.registered = true;
    master.helpers.add(s);
    reply({ event: 'registered', username: master.username, register_sent: false, helper: true, master_id: master.masterId });
  }

  async #unregister(s: SipSession, reply: (r: Record<string, unknown>) => void): Promise<void> {
    if (!s.account || !s.registered) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (not registered)');
    if (s.master) throw new SipRequestError(SIP_ERROR.HELPER_ERROR, 'Helper handles cannot unregister their master');
    reply({ event: 'unregistering' });
    await s.account.unregister();
  }

  async #openBridge(sdp: string): Promise<RtpBridge> {
    let lines: ReturnType<typeof bridgedLines>;
    try {
      lines = bridgedLines(sdp);
    } catch (err) {
      throw new SipRequestError(SIP_ERROR.MISSING_SDP, `Error parsing SDP: ${(err as Error).message}`);
    }
    try {
      return await RtpBridge.open({ localIp: this.#settings.localMediaIp, range: this.#settings.range }, lines);
    } catch (err) {
      throw new SipRequestError(SIP_ERROR.IO_ERROR, `Could not allocate RTP/RTCP ports: ${(err as Error).message}`);
    }
  }

  #wireBridge(s: SipSession, bridge: RtpBridge): void {
    const gw = this.#gw;
    bridge.attach({ rtp: (p) => gw.relayRtp(s.handle, p), rtcp: (p) => gw.relayRtcp(s.handle, p) });
    bridge.onPeerRtp = (buf, video) => {
      if (!video) s.call?.recording.peer?.saveRtp(buf);
    };
  }

  /**
   * The far side's SIP answer to our offer (in the 200 OK of our INVITE, or in the ACK of a late-offer
   * call): the browser gets `accepted` with the JSEP answer; an unusable answer ends the call (488).
   */
  #farAnswer(s: SipSession, call: ActiveCall, sdp: string | undefined): void {
    if (s.call !== call || call.status === 'closing') return;
    try {
      if (!sdp || !call.webrtcOffer) throw new Error('no SDP answer');
      const ans = webrtcAnswerFromSip(call.webrtcOffer, sdp);
      call.bridge.setRemote(ans.lines, ans.toSip, ans.toWebrtc);
      if (call.sdes && !applySdesAnswer(call.sdes, sdp, call.bridge)) throw new Error('SDES-SRTP required but the answer has no usable a=crypto');
      call.audioCodec = mainAudio(ans.lines);
      call.status = 'incall';
      this.#event(s, { event: 'accepted', username: call.peer, call_id: call.callId }, { jsep: { type: 'answer', sdp: ans.sdp } });
    } catch (err) {
      this.#gw.log.warn(`sip: unusable SIP answer: ${(err as Error).message}`);
      void this.#endCall(s, call, 488, 'Not Acceptable Here', true);
    }
  }

  #callEvents(s: SipSession, call: ActiveCall): CallEvents {
    return {
      progress: (resp, sdp) => {
        if (s.call !== call) return;
        if (resp.code === 180) {
          call.status = 'ringing';
          this.#event(s, { event: 'ringing', call_id: call.callId });
        } else this.#event(s, { event: resp.code === 183 ? 'progress' : 'proceeding', code: resp.code, call_id: call.callId, ...(sdp ? {} : {}) });
      },
      accepted: (_resp, sdp) => this.#farAnswer(s, call, sdp),
      lateAnswer: (sdp) => this.#farAnswer(s, call, sdp),
      ended: (code, reason) => this.#ended(s, call, call.endAs?.code ?? code, call.endAs?.reason ?? reason),
      reoffer: (sdp) => {
        const ours = call.sip?.localSdp ?? '';
        try {
          call.bridge.setRemote(sipMediaLines(sdp));
          const lines = sipMediaLines(sdp);
          const held = lines.length > 0 && lines.every((l) => l.direction === 'sendonly' || l.direction === 'inactive');
          this.#event(s, { event: held ? 'holding' : 'resuming', call_id: call.callId, ...(held ? { direction: lines[0].direction } : {}) });
          const answer = answerReoffer(ours, sdp);
          return call.sdes ? sdesReoffer(call.sdes, sdp, answer, call.bridge) : answer;
        } catch {
          return ours;
        }
      },
      info: (info) => this.#event(s, { event: 'info', sender: info.from, ...(info.displayName ? { displayname: info.displayName } : {}), type: info.contentType ?? '', content: info.body, call_id: call.callId }),
      message: (info) => this.#event(s, { event: 'message', sender: info.from, ...(info.displayName ? { displayname: info.displayName } : {}), content: info.body, content_type: info.contentType ?? 'text/plain', call_id: call.callId }),
      refer: (referTo, referredBy, replaces) => {
        // Janus' refer_id: a later `call` with it follows this REFER (Referred-By, NOTIFY sipfrag here).
        const referId = this.#nextReferId++;
        this.#referrals.set(referId, { sip: call.sip, referredBy, expires: Date.now() + REFERRAL_TTL_MS });
        this.#sweepReferrals();
        this.#event(s, {
          event: 'transfer', refer_id: referId, refer_to: referTo, ...(referredBy ? { referred_by: referredBy } : {}), ...(replaces ? { replaces } : {}), call_id: call.callId,
        });
      },
    };
  }

  #sweepReferrals(): void {
    const now = Date.now();
    for (const [id, r] of this.#referrals) if (r.expires < now) this.#referrals.delete(id);
  }

  async #call(s: SipSession, body: Record<string, unknown>, jsep: Jsep | undefined, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['uri', 'string', true], ['headers', 'object'], ['srtp', 'string'], ['srtp_profile', 'string'], ['autoaccept_reinvites', 'boolean'], ['refer_id', 'integer'], ['late_offer', 'boolean']]);
    const srtp = srtpRequest(body);
    if (!s.account || !s.registered) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (register first)');
    if (s.call) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (already in a call?)');
    const uri = sipUri(body.uri as string, 'uri');
    const headers = customHeaders(body.headers);
    let referrer: SipCall | undefined;
    if (body.refer_id !== undefined) {
      this.#sweepReferrals();
      const referral = this.#referrals.get(body.refer_id as number);
      if (!referral) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid refer_id (no such transfer)');
      this.#referrals.delete(body.refer_id as number);
      referrer = referral.sip;
      if (referral.referredBy && !/[\r\n\0]/.test(referral.referredBy)) headers.push(`Referred-By: ${referral.referredBy}`);
    }
    if (body.late_offer === true) return this.#callLate(s, uri, headers, referrer, srtp.mode === 'sdes_mandatory', jsep, reply);
    if (!jsep || jsep.type !== 'offer') throw new SipRequestError(SIP_ERROR.MISSING_SDP, 'Missing SDP');
    const bridge = await this.#openBridge(jsep.sdp);
    let sipOffer: string;
    try {
      sipOffer = sipOfferFromWebrtc(jsep.sdp, this.#settings.sdpIp, bridge, sessionIdOf());
    } catch (err) {
      bridge.close();
      throw new SipRequestError(SIP_ERROR.MISSING_SDP, `Error parsing SDP: ${err instanceof SdpError ? err.message : String(err)}`);
    }
    let sdes: CallSdes | undefined;
    if (srtp.mode) ({ sdp: sipOffer, sdes } = offerWithSdes(sipOffer, srtp.mode, srtp.suite));
    const call: ActiveCall = {
      sip: undefined, callId: '', status: 'calling', bridge, webrtcOffer: jsep.sdp, peer: uri, onHold: false, recording: new CallRecording(), ...(sdes ? { sdes } : {}),
    };
    this.#wireBridge(s, bridge);
    await this.#invite(s, call, uri, sipOffer, headers, this.#callEvents(s, call), referrer ? { referrer } : {}, reply);
  }

  /** Send the INVITE of an outgoing call set up in `call`: `calling`, then the no-answer timer. */
  async #invite(
    s: SipSession, call: ActiveCall, uri: string, sdp: string, headers: string[], events: CallEvents, options: CallOptions, reply: (r: Record<string, unknown>) => void,
  ): Promise<void> {
    s.call = call;
    try {
      call.sip = await s.account!.call(uri, sdp, headers, events, options);
    } catch (err) {
      s.call = undefined;
      call.bridge.close();
      throw new SipRequestError(SIP_ERROR.LIBSOFIA_ERROR, `Error sending INVITE: ${(err as Error).message}`);
    }
    call.callId = call.sip.callId;
    if (call.status === 'calling') reply({ event: 'calling', call_id: call.callId });
    this.#armNoAnswer(s, call);
  }

  /**
   * An offerless INVITE (`late_offer: true`, no JSEP; Janus after 1.1.2, PR 3660): the far side
   * offers in its 2xx, the app gets `accepted` with a JSEP offer and answers with `late_ack`.
   */
  async #callLate(
    s: SipSession, uri: string, headers: string[], referrer: SipCall | undefined, srtpRequired: boolean, jsep: Jsep | undefined, reply: (r: Record<string, unknown>) => void,
  ): Promise<void> {
    if (jsep) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid element (late_offer calls carry no JSEP)');
    const bridge = await RtpBridge.open({ localIp: this.#settings.localMediaIp, range: this.#settings.range }, []);
    const call: ActiveCall = { sip: undefined, callId: '', status: 'calling', bridge, peer: uri, onHold: false, recording: new CallRecording() };
    const events = { ...this.#callEvents(s, call), lateOffer: (sdp: string) => void this.#farLateOffer(s, call, sdp, srtpRequired) };
    await this.#invite(s, call, uri, '', headers, events, { lateOffer: true, ...(referrer ? { referrer } : {}) }, reply);
  }

  /**
   * No-answer timeout (config no_answer_timeout, seconds): an outgoing call still unanswered is
   * CANCELled (RFC 3261 section 9.1) and the app gets hangup 408 Request Timeout. RFC 3261 Timer C
   * only guards proxies; a UA that rings forever would otherwise keep the call open for good.
   */
  #armNoAnswer(s: SipSession, call: ActiveCall): void {
    const ms = this.#settings.noAnswerMs;
    if (ms <= 0 || s.call !== call) return;
    call.noAnswerTimer = setTimeout(() => {
      if (s.call !== call || (call.status !== 'calling' && call.status !== 'ringing')) return;
      void this.#endCall(s, call, 408, 'Request Timeout', true);
    }, ms);
    call.noAnswerTimer.unref();
  }

  async #incoming(s: SipSession, sip: SipCall, sdp: string | undefined, info: IncomingRequestInfo): Promise<void> {
    if (s.destroyed) return;
    if (s.call) {
      // Busy: a free helper handle takes the call, as in Janus.
      const helper = [...s.helpers].find((h) => !h.destroyed && !h.call);
      if (helper) return this.#incoming(helper, sip, sdp, info);
      // Otherwise Janus answers 486 and tells the app about the missed call.
      await sip.decline(486).catch(() => undefined);
      this.#event(s, { event: 'missed_call', caller: info.from, ...(info.displayName ? { displayname: info.displayName } : {}), callee: info.to, call_id: info.callId });
      return;
    }
    if (!sdp) return this.#incomingOfferless(s, sip, info);
    let taken: Awaited<ReturnType<SipPlugin['takeSipOffer']>>;
    try {
      taken = await this.takeSipOffer(sdp, false);
    } catch (err) {
      this.#gw.log.warn(`sip: refusing incoming call: ${(err as Error).message}`);
      await sip.decline(488).catch(() => undefined);
      return;
    }
    const { bridge, offer, sdes } = taken;
    if (this.#takenMeanwhile(s, bridge)) return this.#incoming(s, sip, sdp, info);
    const call: ActiveCall = {
      sip, callId: info.callId, status: 'incoming', bridge, sipOffer: sdp, peer: info.from, onHold: false, recording: new CallRecording(),
      ...(sdes.sdes ? { sdes: sdes.sdes } : {}),
    };
    s.call = call;
    this.#wireBridge(s, bridge);
    sip.setEvents(this.#callEvents(s, call));
    await sip.ring().catch(() => undefined);
    this.#event(s, {
      event: 'incomingcall', username: info.from, ...(info.displayName ? { displayname: info.displayName } : {}), callee: info.to, call_id: info.callId,
    }, { jsep: { type: 'offer', sdp: offer.sdp } });
  }

  /**
   * Opening a bridge awaits: another INVITE may have taken the handle (or it went away) meanwhile.
   * Then this bridge is closed and the INVITE goes back through #incoming (helper, 486 or nothing).
   */
  #takenMeanwhile(s: SipSession, bridge: RtpBridge): boolean {
    if (!s.destroyed && !s.call) return false;
    bridge.close();
    return true;
  }

  /** A SIP offer (incoming INVITE, or the 2xx of our offerless INVITE): its SDES, the browser's offer, the bridge. */
  private async takeSipOffer(sdp: string, srtpRequired: boolean): Promise<{ bridge: RtpBridge; offer: { sdp: string }; sdes: ReturnType<typeof sdesForOffer> }> {
    const sdes = sdesForOffer(sdp, srtpRequired);
    if (sdes.refuse) throw new Error('the offer has no SDES-SRTP we can use and SRTP is required');
    const offer = webrtcOfferFromSip(sdp);
    return { bridge: await this.#openBridge(sdp), offer, sdes };
  }

  /** Our SIP answer to the call's SIP offer from the browser's JSEP answer; the bridge aimed at the far side. */
  #answerSipOffer(call: ActiveCall & { sipOffer: string }, jsep: Jsep | undefined): string {
    if (!jsep || jsep.type !== 'answer') throw new SipRequestError(SIP_ERROR.MISSING_SDP, 'Missing SDP');
    let answer: string;
    try {
      answer = sipAnswerFromWebrtc(jsep.sdp, call.sipOffer, this.#settings.sdpIp, call.bridge, sessionIdOf());
      if (call.sdes) answer = answerWithSdes(answer, call.sdes, call.bridge);
    } catch (err) {
      throw new SipRequestError(SIP_ERROR.MISSING_SDP, `Error parsing SDP: ${(err as Error).message}`);
    }
    call.bridge.setRemote(sipMediaLines(call.sipOffer));
    call.audioCodec = mainAudio(sipMediaLines(answer));
    return answer;
  }

  /**
   * An INVITE without SDP (late offer), as Janus since 0.2: `incomingcall` without JSEP; the app
   * accepts with a JSEP offer, our SIP offer goes in the 200 OK, and the far side's answer in the
   * ACK reaches the app in an `accepted` event with the JSEP answer. The bridge opens at accept,
   * once the browser's m-lines are known.
   */
  async #incomingOfferless(s: SipSession, sip: SipCall, info: IncomingRequestInfo): Promise<void> {
    const bridge = await RtpBridge.open({ localIp: this.#settings.localMediaIp, range: this.#settings.range }, []);
    if (this.#takenMeanwhile(s, bridge)) return this.#incoming(s, sip, undefined, info);
    const call: ActiveCall = { sip, callId: info.callId, status: 'incoming', bridge, peer: info.from, onHold: false, recording: new CallRecording() };
    s.call = call;
    sip.setEvents(this.#callEvents(s, call));
    await sip.ring().catch(() => undefined);
    this.#event(s, { event: 'incomingcall', username: info.from, ...(info.displayName ? { displayname: info.displayName } : {}), callee: info.to, call_id: info.callId });
  }

  async #acceptWithOffer(
    s: SipSession, call: ActiveCall & { sip: SipCall }, jsep: Jsep | undefined, headers: string[], srtp: ReturnType<typeof srtpRequest>, reply: (r: Record<string, unknown>) => void,
  ): Promise<void> {
    if (!jsep || jsep.type !== 'offer') throw new SipRequestError(SIP_ERROR.MISSING_SDP, 'Missing SDP (the call had no offer: accept with a JSEP offer)');
    const bridge = await this.#openBridge(jsep.sdp);
    let offer: string;
    try {
      offer = sipOfferFromWebrtc(jsep.sdp, this.#settings.sdpIp, bridge, sessionIdOf());
    } catch (err) {
      bridge.close();
      throw new SipRequestError(SIP_ERROR.MISSING_SDP, `Error parsing SDP: ${(err as Error).message}`);
    }
    // Our offer in the 200 OK carries our keys when the app asks for SRTP (fixed in Janus after 1.1.2).
    if (srtp.mode) ({ sdp: offer, sdes: call.sdes } = offerWithSdes(offer, srtp.mode, srtp.suite));
    call.bridge.close();
    call.bridge = bridge;
    call.webrtcOffer = jsep.sdp;
    this.#wireBridge(s, bridge);
    call.status = 'accepting';
    reply({ event: 'accepting', call_id: call.callId });
    await call.sip.accept(offer, headers);
  }

  async #accept(s: SipSession, body: Record<string, unknown>, jsep: Jsep | undefined, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['headers', 'object'], ['srtp', 'string'], ['srtp_profile', 'string'], ['autoaccept_reinvites', 'boolean']]);
    const srtp = srtpRequest(body);
    const call = s.call;
    if (!call || call.status !== 'incoming' || !call.sip) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (no call to accept)');
    const headers = customHeaders(body.headers);
    if (srtp.mode === 'sdes_mandatory' && call.sipOffer && !call.sdes) throw new SipRequestError(SIP_ERROR.TOO_STRICT, 'Too strict (SDES-SRTP mandatory but the offer has none)');
    if (!call.sipOffer) return this.#acceptWithOffer(s, call as ActiveCall & { sip: SipCall }, jsep, headers, srtp, reply);
    const answer = this.#answerSipOffer(call as ActiveCall & { sipOffer: string }, jsep);
    call.status = 'accepting';
    reply({ event: 'accepting', call_id: call.callId });
    await call.sip.accept(answer, headers);
    if (s.call !== call) return;
    call.status = 'incall';
    this.#event(s, { event: 'accepted', call_id: call.callId });
  }

  /**
   * `late_ack` (Janus after 1.1.2, PR 3660): the browser's answer to the far side's offer that came
   * in the 2xx of our offerless INVITE; it goes out in the ACK.
   */
  async #lateAck(s: SipSession, jsep: Jsep | undefined, reply: (r: Record<string, unknown>) => void): Promise<void> {
    const call = s.call;
    if (!call || call.status !== 'offered' || !call.sip?.lateAck || !call.sipOffer) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (no late offer to answer)');
    const answer = this.#answerSipOffer(call as ActiveCall & { sipOffer: string }, jsep);
    call.sip.lateAck(answer);
    call.status = 'incall';
    reply({ event: 'ack_sent', call_id: call.callId });
  }

  /** The far side's offer in the 2xx of our offerless INVITE: `accepted` with a JSEP offer. */
  async #farLateOffer(s: SipSession, call: ActiveCall, sdp: string, srtpRequired: boolean): Promise<void> {
    if (s.call !== call || call.status === 'closing') return;
    try {
      const { bridge, offer, sdes } = await this.takeSipOffer(sdp, srtpRequired);
      if (s.call !== call) {
        bridge.close();
        return;
      }
      call.bridge.close();
      call.bridge = bridge;
      this.#wireBridge(s, bridge);
      call.sipOffer = sdp;
      if (sdes.sdes) call.sdes = sdes.sdes;
      call.status = 'offered';
      this.#event(s, { event: 'accepted', username: call.peer, call_id: call.callId }, { jsep: { type: 'offer', sdp: offer.sdp } });
    } catch (err) {
      this.#gw.log.warn(`sip: unusable offer in the 2xx: ${(err as Error).message}`);
      void this.#endCall(s, call, 488, 'Not Acceptable Here', true);
    }
  }

  async #decline(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['code', 'integer'], ['headers', 'object']]);
    const call = s.call;
    if (!call || call.status !== 'incoming' || !call.sip) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (no incoming call)');
    const code = typeof body.code === 'number' ? body.code : 486;
    if (code < 400 || code > 699) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid SIP response code specified');
    reply({ event: 'declining', code, call_id: call.callId });
    call.status = 'closing';
    await call.sip.decline(code, customHeaders(body.headers));
  }

  async #hangup(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['headers', 'object']]);
    const call = s.call;
    if (!call) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (no call)');
    const headers = customHeaders(body.headers);
    reply({ event: 'hangingup', call_id: call.callId });
    await this.#endCall(s, call, 200, 'Session Terminated', true, headers);
  }

  async #endCall(s: SipSession, call: ActiveCall, code: number, reason: string, local: boolean, headers: string[] = []): Promise<void> {
    if (call.status === 'closing' && s.call !== call) return;
    call.status = 'closing';
    // A call we end for a reason (488 unusable answer, 408 no answer) reports that reason, not the BYE's.
    if (code !== 200) call.endAs ??= { code, reason };
    try {
      await call.sip?.hangup(headers);
    } catch (err) {
      this.#gw.log.debug(`sip: hangup: ${(err as Error).message}`);
    }
    this.#ended(s, call, code, reason);
    void local;
  }

  #ended(s: SipSession, call: ActiveCall, code: number, reason: string): void {
    if (s.call !== call) return;
    s.call = undefined;
    clearTimeout(call.noAnswerTimer);
    call.bridge.close();
    void call.recording.stop({ own: true, peer: true });
    this.#event(s, { event: 'hangup', code, reason, call_id: call.callId });
    this.#gw.closePc(s.handle);
  }

  #incall(s: SipSession): ActiveCall & { sip: SipCall } {
    const call = s.call;
    if (!call || call.status !== 'incall' || !call.sip) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (not in a call?)');
    return call as ActiveCall & { sip: SipCall };
  }

  async #hold(s: SipSession, hold: boolean, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['direction', 'string']]);
    const call = this.#incall(s);
    const direction = hold ? ((body.direction as string | undefined) ?? 'sendonly') : 'sendrecv';
    if (direction !== 'sendonly' && direction !== 'recvonly' && direction !== 'inactive' && direction !== 'sendrecv') {
      throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid element (direction)');
    }
    const current = call.sip.localSdp;
    if (!current) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (no SDP)');
    reply({ event: hold ? 'holding' : 'resuming', call_id: call.callId, ...(hold ? { direction } : {}) });
    call.onHold = hold;
    const answer = await call.sip.reinvite(withDirection(current, direction));
    if (answer) call.bridge.setRemote(sipMediaLines(answer));
  }

  async #update(s: SipSession, jsep: Jsep | undefined, reply: (r: Record<string, unknown>) => void): Promise<void> {
    const call = this.#incall(s);
    if (!jsep || jsep.type !== 'offer') throw new SipRequestError(SIP_ERROR.MISSING_SDP, 'Missing SDP');
    reply({ event: 'updatingcall', call_id: call.callId });
    let offer = sipOfferFromWebrtc(jsep.sdp, this.#settings.sdpIp, call.bridge, sessionIdOf());
    if (call.sdes) offer = reofferWithSdes(offer, call.sdes);
    const answer = await call.sip.reinvite(offer);
    if (!answer) throw new SipRequestError(SIP_ERROR.LIBSOFIA_ERROR, 'The re-INVITE was refused');
    const ans = webrtcAnswerFromSip(jsep.sdp, answer);
    call.webrtcOffer = jsep.sdp;
    call.bridge.setRemote(ans.lines, ans.toSip, ans.toWebrtc);
    this.#event(s, { event: 'updated', call_id: call.callId }, { jsep: { type: 'answer', sdp: ans.sdp } });
  }

  async #info(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['type', 'string', true], ['content', 'string', true], ['headers', 'object']]);
    const call = this.#incall(s);
    const type = plain(body.type as string, 'type');
    await call.sip.info(type, body.content as string, customHeaders(body.headers));
    reply({ event: 'infosent', call_id: call.callId });
  }

  async #dtmfInfo(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['digit', 'string', true], ['duration', 'integer']]);
    const call = this.#incall(s);
    const digit = body.digit as string;
    if (!/^[0-9*#A-Da-d]$/.test(digit)) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Invalid element (digit should be one character)');
    const duration = typeof body.duration === 'number' && body.duration > 0 ? body.duration : 160;
    // application/dtmf-relay, as Janus (and most PBXs) use for SIP INFO DTMF.
    await call.sip.info('application/dtmf-relay', `Signal=${digit}\r\nDuration=${duration}\r\n`);
    reply({ event: 'dtmfsent', call_id: call.callId });
  }

  async #message(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['content', 'string', true], ['content_type', 'string'], ['uri', 'string'], ['headers', 'object']]);
    const contentType = body.content_type !== undefined ? plain(body.content_type as string, 'content_type') : 'text/plain';
    const headers = customHeaders(body.headers);
    if (body.uri !== undefined) {
      if (!s.account) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (register first)');
      const r = await s.account.message(sipUri(body.uri as string, 'uri'), contentType, body.content as string, headers);
      reply({ event: 'messagesent', code: r.code, reason: r.reason });
      return;
    }
    const call = this.#incall(s);
    const r = await call.sip.message(contentType, body.content as string, headers);
    reply({ event: 'messagesent', call_id: call.callId, code: r.code, reason: r.reason });
  }

  async #transfer(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['uri', 'string', true], ['replace', 'string']]);
    const call = this.#incall(s);
    const target = sipUri(body.uri as string, 'uri');
    let replaces: string | undefined;
    if (body.replace !== undefined) {
      // Attended transfer, as Janus: `replace` is the Call-ID of another call of this account (the
      // master's or a helper's); the far side's INVITE to the target replaces that dialog (RFC 3891).
      const other = this.#accountCall(s, body.replace as string);
      const ids = other?.sip?.dialogIds?.();
      if (!other || !ids) throw new SipRequestError(SIP_ERROR.NO_SUCH_CALLID, `No such call-ID ${(body.replace as string).slice(0, 128)}`);
      replaces = `${ids.callId};to-tag=${ids.remoteTag};from-tag=${ids.localTag}`;
    }
    reply({ event: 'transferring', call_id: call.callId });
    const r = await call.sip.refer(target, replaces);
    this.#event(s, { event: 'referred', code: r.code, reason: r.reason, call_id: call.callId });
  }

  /** A call in progress on the same account as `s` (its master and the master's helpers), by Call-ID. */
  #accountCall(s: SipSession, callId: string): ActiveCall | undefined {
    const master = s.master ?? s;
    for (const x of [master, ...master.helpers]) if (x.call && x.call.callId === callId && x.call.status === 'incall') return x.call;
    return undefined;
  }

  async #subscribe(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['event', 'string', true], ['to', 'string'], ['accept', 'string'], ['subscribe_ttl', 'integer']]);
    if (!s.account || !s.registered || !s.username) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (register first)');
    const event = plain(body.event as string, 'event', 64);
    const to = body.to !== undefined ? sipUri(body.to as string, 'to') : s.username;
    reply({ event: 'subscribing' });
    const r = await s.account.subscribe(to, event, body.accept !== undefined ? plain(body.accept as string, 'accept') : undefined, (body.subscribe_ttl as number | undefined) ?? 3600);
    this.#event(s, { event: 'subscribe_succeeded', code: r.code, reason: r.reason });
  }

  async #unsubscribe(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['event', 'string', true]]);
    if (!s.account) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (register first)');
    await s.account.unsubscribe(body.event as string);
    reply({ event: 'unsubscribed' });
  }

  async #recording(s: SipSession, body: Record<string, unknown>, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['action', 'string', true], ['audio', 'boolean'], ['video', 'boolean'], ['peer_audio', 'boolean'], ['peer_video', 'boolean'], ['filename', 'string']]);
    const call = this.#incall(s);
    const action = body.action as string;
    if (action !== 'start' && action !== 'stop') throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, "Invalid action (should be start|stop)");
    const which = { own: body.audio === true, peer: body.peer_audio === true };
    if (!which.own && !which.peer && body.video !== true && body.peer_video !== true) {
      throw new SipRequestError(SIP_ERROR.RECORDING_ERROR, 'Invalid request (at least one of audio, video, peer_audio and peer_video should be true)');
    }
    if (action === 'stop') {
      await call.recording.stop(which);
    } else {
      if (!call.audioCodec) throw new SipRequestError(SIP_ERROR.RECORDING_ERROR, 'Error starting recorder (no audio negotiated)');
      const base = typeof body.filename === 'string' ? body.filename : `sip-${s.handle.handleId}-${Date.now() * 1000}`;
      try {
        await call.recording.start(this.#recordingPolicy, base, which, call.audioCodec);
      } catch (err) {
        if (isUnsafePath(err)) throw new SipRequestError(SIP_ERROR.RECORDING_ERROR, 'Error starting recorder (filename not allowed)');
        throw new SipRequestError(SIP_ERROR.RECORDING_ERROR, `Error starting recorder: ${(err as Error).message}`);
      }
    }
    reply({ event: 'recordingupdated', call_id: call.callId, ...call.recording.info() });
  }

  setupMedia(): void {}

  incomingRtp(handle: PluginHandle, packet: MediaPacket): void {
    const s = handle.pluginState as SipSession;
    const call = s.call;
    if (!call || call.status !== 'incall') return;
    if (!packet.video) call.recording.own?.saveRtp(packet.buffer);
    call.bridge.fromWebrtcRtp(packet);
  }

  incomingRtcp(handle: PluginHandle, packet: MediaPacket): void {
    const s = handle.pluginState as SipSession;
    s.call?.bridge.fromWebrtcRtcp(packet);
  }

  hangupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as SipSession | undefined;
    const call = s?.call;
    // As Janus: the PeerConnection going away ends the SIP call.
    if (s && call && call.status !== 'closing') void this.#endCall(s, call, 200, 'Session Terminated', true);
  }

  async #dropAccount(s: SipSession): Promise<void> {
    const a = s.account;
    s.account = undefined;
    s.registered = false;
    if (s.master) {
      // A helper only borrows its master's account.
      s.master.helpers.delete(s);
      s.master = undefined;
      return;
    }
    if (this.#masters.get(s.masterId) === s) this.#masters.delete(s.masterId);
    for (const h of s.helpers) {
      h.account = undefined;
      h.registered = false;
      h.master = undefined;
    }
    s.helpers.clear();
    await a?.close();
  }

  #teardown(s: SipSession): void {
    s.destroyed = true;
    const call = s.call;
    s.call = undefined;
    if (call) {
      call.bridge.close();
      void call.sip?.hangup().catch(() => undefined);
    }
    void this.#dropAccount(s).catch(() => undefined);
  }

  destroySession(handle: PluginHandle): void {
    const s = handle.pluginState as SipSession | undefined;
    if (!s) return;
    this.#sessions.delete(s);
    this.#teardown(s);
  }

  querySession(handle: PluginHandle): Record<string, unknown> {
    const s = handle.pluginState as SipSession;
    return {
      username: s.username ?? null, registration_status: s.registered ? 'registered' : 'unregistered',
      call_status: s.call?.status ?? 'idle', ...(s.call ? { call_id: s.call.callId, media: s.call.bridge.stats(), recording: s.call.recording.info() } : {}),
      destroyed: s.destroyed ? 1 : 0,
    };
  }
}

export default (): Plugin => new SipPlugin();
