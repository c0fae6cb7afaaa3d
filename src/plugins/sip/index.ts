/**
 * janus.plugin.sip (JANUS-REFERENCE 2.8): browsers to SIP phones, PBXs and trunks. Each handle gets
 * its own SIP account (user agent and port) on the configured backend (embedded sip.js, or a drachtio
 * server); calls bridge the browser's PeerConnection to plain RTP on sockets from rtp_port_range,
 * without transcoding (src/interop/sip). All requests are asynchronous, as in Janus; events are
 * {sip:"event", result:{event:...}, call_id} and errors {sip:"event", error_code 440-454/499, error}.
 */
import type { GatewayFacade, Jsep, MediaPacket, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { parsePortRangeString, type PortRange } from '../../media/udp-ports.ts';
import type { AccountConfig, CallEvents, IncomingRequestInfo, SipAccount, SipBackend, SipCall } from '../../interop/sip/backend.ts';
import { EmbeddedSipBackend } from '../../interop/sip/embedded.ts';
import { DrachtioSipBackend } from '../../interop/sip/drachtio/backend.ts';
import { bridgedLines, defaultLocalIp, RtpBridge } from '../../interop/sip/rtp-bridge.ts';
import {
  answerReoffer, sipAnswerFromWebrtc, sipMediaLines, sipOfferFromWebrtc, webrtcAnswerFromSip, webrtcOfferFromSip, withDirection, SdpError,
} from '../../interop/sip/sdp-translate.ts';
import { check, customHeaders, plain, SIP_ERROR, SipRequestError, sipUri } from './requests.ts';
import { CallRecording, isUnsafePath, type SipRecordingPolicy } from './recording.ts';

export { SIP_ERROR } from './requests.ts';

interface SipSettings {
  localIp: string;
  localMediaIp: string;
  sdpIp: string;
  range: PortRange | undefined;
  registerTtl: number;
  userAgent: string;
  t1x64: number;
  transport: 'udp' | 'tcp';
}

type CallStatus = 'calling' | 'ringing' | 'incoming' | 'accepting' | 'incall' | 'closing';

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
      localIp: this.#settings.localIp, t1x64: this.#settings.t1x64,
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

  #callEvents(s: SipSession, call: ActiveCall): CallEvents {
    return {
      progress: (resp, sdp) => {
        if (s.call !== call) return;
        if (resp.code === 180) {
          call.status = 'ringing';
          this.#event(s, { event: 'ringing', call_id: call.callId });
        } else this.#event(s, { event: resp.code === 183 ? 'progress' : 'proceeding', code: resp.code, call_id: call.callId, ...(sdp ? {} : {}) });
      },
      accepted: (_resp, sdp) => {
        if (s.call !== call || call.status === 'closing') return;
        if (!sdp || !call.webrtcOffer) {
          void this.#endCall(s, call, 488, 'Not Acceptable Here', true);
          return;
        }
        try {
          const ans = webrtcAnswerFromSip(call.webrtcOffer, sdp);
          call.bridge.setRemote(ans.lines, ans.toSip, ans.toWebrtc);
          call.audioCodec = mainAudio(ans.lines);
          call.status = 'incall';
          this.#event(s, { event: 'accepted', username: call.peer, call_id: call.callId }, { jsep: { type: 'answer', sdp: ans.sdp } });
        } catch (err) {
          this.#gw.log.warn(`sip: unusable SIP answer: ${(err as Error).message}`);
          void this.#endCall(s, call, 488, 'Not Acceptable Here', true);
        }
      },
      ended: (code, reason) => this.#ended(s, call, code, reason),
      reoffer: (sdp) => {
        const ours = call.sip?.localSdp ?? '';
        try {
          call.bridge.setRemote(sipMediaLines(sdp));
          const lines = sipMediaLines(sdp);
          const held = lines.length > 0 && lines.every((l) => l.direction === 'sendonly' || l.direction === 'inactive');
          this.#event(s, { event: held ? 'holding' : 'resuming', call_id: call.callId, ...(held ? { direction: lines[0].direction } : {}) });
          return answerReoffer(ours, sdp);
        } catch {
          return ours;
        }
      },
      info: (info) => this.#event(s, { event: 'info', sender: info.from, ...(info.displayName ? { displayname: info.displayName } : {}), type: info.contentType ?? '', content: info.body, call_id: call.callId }),
      message: (info) => this.#event(s, { event: 'message', sender: info.from, ...(info.displayName ? { displayname: info.displayName } : {}), content: info.body, content_type: info.contentType ?? 'text/plain', call_id: call.callId }),
      refer: (referTo, referredBy) => this.#event(s, { event: 'transfer', refer_to: referTo, ...(referredBy ? { referred_by: referredBy } : {}), call_id: call.callId }),
    };
  }

  async #call(s: SipSession, body: Record<string, unknown>, jsep: Jsep | undefined, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['uri', 'string', true], ['headers', 'object'], ['srtp', 'string'], ['autoaccept_reinvites', 'boolean']]);
    if (!s.account || !s.registered) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (register first)');
    if (s.call) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (already in a call?)');
    const uri = sipUri(body.uri as string, 'uri');
    const headers = customHeaders(body.headers);
    if (body.srtp === 'sdes_mandatory') throw new SipRequestError(SIP_ERROR.TOO_STRICT, 'Too strict (SDES-SRTP is not supported yet)');
    if (!jsep || jsep.type !== 'offer') throw new SipRequestError(SIP_ERROR.MISSING_SDP, 'Missing SDP');
    const bridge = await this.#openBridge(jsep.sdp);
    let sipOffer: string;
    try {
      sipOffer = sipOfferFromWebrtc(jsep.sdp, this.#settings.sdpIp, bridge, sessionIdOf());
    } catch (err) {
      bridge.close();
      throw new SipRequestError(SIP_ERROR.MISSING_SDP, `Error parsing SDP: ${err instanceof SdpError ? err.message : String(err)}`);
    }
    const call: ActiveCall = { sip: undefined, callId: '', status: 'calling', bridge, webrtcOffer: jsep.sdp, peer: uri, onHold: false, recording: new CallRecording() };
    s.call = call;
    this.#wireBridge(s, bridge);
    try {
      call.sip = await s.account.call(uri, sipOffer, headers, this.#callEvents(s, call));
    } catch (err) {
      s.call = undefined;
      bridge.close();
      throw new SipRequestError(SIP_ERROR.LIBSOFIA_ERROR, `Error sending INVITE: ${(err as Error).message}`);
    }
    call.callId = call.sip.callId;
    if (call.status === 'calling') reply({ event: 'calling', call_id: call.callId });
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
    if (!sdp) {
      await sip.decline(488).catch(() => undefined);
      return;
    }
    let bridge: RtpBridge;
    let offer: { sdp: string };
    try {
      offer = webrtcOfferFromSip(sdp);
      bridge = await this.#openBridge(sdp);
    } catch (err) {
      this.#gw.log.warn(`sip: refusing incoming call: ${(err as Error).message}`);
      await sip.decline(488).catch(() => undefined);
      return;
    }
    const call: ActiveCall = { sip, callId: info.callId, status: 'incoming', bridge, sipOffer: sdp, peer: info.from, onHold: false, recording: new CallRecording() };
    s.call = call;
    this.#wireBridge(s, bridge);
    sip.setEvents(this.#callEvents(s, call));
    await sip.ring().catch(() => undefined);
    this.#event(s, {
      event: 'incomingcall', username: info.from, ...(info.displayName ? { displayname: info.displayName } : {}), callee: info.to, call_id: info.callId,
    }, { jsep: { type: 'offer', sdp: offer.sdp } });
  }

  async #accept(s: SipSession, body: Record<string, unknown>, jsep: Jsep | undefined, reply: (r: Record<string, unknown>) => void): Promise<void> {
    check(body, [['headers', 'object'], ['srtp', 'string'], ['autoaccept_reinvites', 'boolean']]);
    const call = s.call;
    if (!call || call.status !== 'incoming' || !call.sip || !call.sipOffer) throw new SipRequestError(SIP_ERROR.WRONG_STATE, 'Wrong state (no call to accept)');
    const headers = customHeaders(body.headers);
    if (!jsep || jsep.type !== 'answer') throw new SipRequestError(SIP_ERROR.MISSING_SDP, 'Missing SDP');
    let answer: string;
    try {
      answer = sipAnswerFromWebrtc(jsep.sdp, call.sipOffer, this.#settings.sdpIp, call.bridge, sessionIdOf());
    } catch (err) {
      throw new SipRequestError(SIP_ERROR.MISSING_SDP, `Error parsing SDP: ${(err as Error).message}`);
    }
    call.bridge.setRemote(sipMediaLines(call.sipOffer));
    call.audioCodec = mainAudio(sipMediaLines(answer));
    call.status = 'accepting';
    reply({ event: 'accepting', call_id: call.callId });
    await call.sip.accept(answer, headers);
    if (s.call !== call) return;
    call.status = 'incall';
    this.#event(s, { event: 'accepted', call_id: call.callId });
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
    const offer = sipOfferFromWebrtc(jsep.sdp, this.#settings.sdpIp, call.bridge, sessionIdOf());
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
    if (body.replace !== undefined) throw new SipRequestError(SIP_ERROR.INVALID_ELEMENT, 'Attended transfer (replace) is not supported yet');
    const target = sipUri(body.uri as string, 'uri');
    reply({ event: 'transferring', call_id: call.callId });
    const r = await call.sip.refer(target);
    this.#event(s, { event: 'referred', code: r.code, reason: r.reason, call_id: call.callId });
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
