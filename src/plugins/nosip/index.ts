/**
 * janus.plugin.nosip (JANUS-REFERENCE 2.9): the SIP plugin's media half without SIP. The application
 * does its own signalling: `generate` turns the browser's JSEP into a barebone RTP/AVP SDP (our
 * bridge sockets, advertised as sdp_ip), `process` turns the far side's barebone SDP into JSEP for the
 * browser, and media is relayed without transcoding (src/interop/sip/rtp-bridge.ts). Events
 * {nosip:"event", result:{event:"generated"|"processed"|"hangingup"}}; errors 440-450/499.
 */
import type { GatewayFacade, Jsep, MediaPacket, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import { parsePortRangeString, type PortRange } from '../../media/udp-ports.ts';
import { parseSdp } from '../../core/webrtc/sdp.ts';
import { bridgedLines, defaultLocalIp, RtpBridge } from '../../interop/sip/rtp-bridge.ts';
import { SdpError, sipAnswerFromWebrtc, sipMediaLines, sipOfferFromWebrtc, webrtcAnswerFromSip, webrtcOfferFromSip } from '../../interop/sip/sdp-translate.ts';

export const NOSIP_ERROR = {
  UNKNOWN_ERROR: 499, NO_MESSAGE: 440, INVALID_JSON: 441, INVALID_REQUEST: 442, MISSING_ELEMENT: 443, INVALID_ELEMENT: 444,
  WRONG_STATE: 445, MISSING_SDP: 446, INVALID_SDP: 447, IO_ERROR: 448, RECORDING_ERROR: 449, TOO_STRICT: 450,
} as const;

class NoSipError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

interface NoSipSession {
  handle: PluginHandle;
  bridge: RtpBridge | undefined;
  /** The browser's offer (we generated the barebone offer) or the far side's barebone offer. */
  webrtcOffer?: string;
  remoteOffer?: string;
  destroyed: boolean;
  queue: Promise<void>;
}

export class NoSipPlugin implements Plugin {
  readonly package = 'janus.plugin.nosip';
  readonly name = 'JANUS NoSIP plugin';
  readonly description = 'Bridges WebRTC to plain RTP with barebone SDPs, signalling left to the application (Portunus).';
  readonly author = 'Portunus developers';
  readonly version = 1;
  readonly versionString = '0.0.1';
  #gw!: GatewayFacade;
  #localIp = '127.0.0.1';
  #sdpIp = '127.0.0.1';
  #range: PortRange | undefined;

  init(gateway: GatewayFacade, config: Record<string, unknown>): void {
    this.#gw = gateway;
    const g = (config.general ?? {}) as Record<string, unknown>;
    const s = (v: unknown, d: string): string => (typeof v === 'string' && v.trim() !== '' ? v.trim() : d);
    this.#localIp = s(g.local_ip, defaultLocalIp());
    this.#sdpIp = s(g.sdp_ip, this.#localIp);
    this.#range = parsePortRangeString(s(g.rtp_port_range, '10000-60000'));
  }

  destroy(): void {}

  createSession(handle: PluginHandle): void {
    handle.pluginState = { handle, bridge: undefined, destroyed: false, queue: Promise.resolve() } satisfies NoSipSession;
  }

  handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): PluginResult {
    const s = handle.pluginState as NoSipSession | undefined;
    if (!s) return { kind: 'error', reason: 'No session associated with this handle' };
    s.queue = s.queue.then(() => this.#process(s, transaction, body, jsep)).catch((err: unknown) => {
      const code = err instanceof NoSipError ? err.code : NOSIP_ERROR.UNKNOWN_ERROR;
      if (!s.destroyed) this.#gw.pushEvent(handle, { nosip: 'event', error_code: code, error: err instanceof Error ? err.message : String(err) }, { transaction });
    });
    return { kind: 'ack' };
  }

  async #bridgeFor(s: NoSipSession, sdp: string): Promise<RtpBridge> {
    if (s.bridge) return s.bridge;
    const lines = bridgedLines(sdp);
    try {
      s.bridge = await RtpBridge.open({ localIp: this.#localIp, range: this.#range }, lines);
    } catch (err) {
      throw new NoSipError(NOSIP_ERROR.IO_ERROR, `Could not allocate RTP/RTCP ports: ${(err as Error).message}`);
    }
    const gw = this.#gw;
    s.bridge.attach({ rtp: (p) => gw.relayRtp(s.handle, p), rtcp: (p) => gw.relayRtcp(s.handle, p) });
    return s.bridge;
  }

  async #process(s: NoSipSession, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<void> {
    if (s.destroyed) return;
    const request = body.request;
    if (request === undefined) throw new NoSipError(NOSIP_ERROR.MISSING_ELEMENT, 'Missing element (request)');
    if (typeof request !== 'string') throw new NoSipError(NOSIP_ERROR.INVALID_ELEMENT, 'Invalid element type (request should be a string)');
    const push = (result: Record<string, unknown>, j?: Jsep): void => {
      if (!s.destroyed) this.#gw.pushEvent(s.handle, { nosip: 'event', result }, { transaction, ...(j ? { jsep: j } : {}) });
    };
    const sdpSafe = <T>(f: () => T): T => {
      try {
        return f();
      } catch (err) {
        throw new NoSipError(NOSIP_ERROR.INVALID_SDP, `Invalid SDP: ${err instanceof SdpError ? err.message : String(err)}`);
      }
    };
    switch (request.toLowerCase()) {
      case 'generate': {
        if (!jsep) throw new NoSipError(NOSIP_ERROR.MISSING_SDP, 'Missing SDP');
        sdpSafe(() => parseSdp(jsep.sdp));
        const bridge = await this.#bridgeFor(s, jsep.sdp);
        const sid = String(Math.floor(Math.random() * 1e9));
        if (jsep.type === 'offer') {
          const sdp = sdpSafe(() => sipOfferFromWebrtc(jsep.sdp, this.#sdpIp, bridge, sid));
          s.webrtcOffer = jsep.sdp;
          push({ event: 'generated', type: 'offer', sdp });
          return;
        }
        if (!s.remoteOffer) throw new NoSipError(NOSIP_ERROR.WRONG_STATE, 'Wrong state (no barebone offer to answer)');
        const remote = s.remoteOffer;
        const sdp = sdpSafe(() => sipAnswerFromWebrtc(jsep.sdp, remote, this.#sdpIp, bridge, sid));
        bridge.setRemote(sdpSafe(() => sipMediaLines(remote)));
        push({ event: 'generated', type: 'answer', sdp });
        return;
      }
      case 'process': {
        const type = body.type;
        const sdp = body.sdp;
        if (type === undefined) throw new NoSipError(NOSIP_ERROR.MISSING_ELEMENT, 'Missing element (type)');
        if (sdp === undefined) throw new NoSipError(NOSIP_ERROR.MISSING_ELEMENT, 'Missing element (sdp)');
        if (typeof type !== 'string') throw new NoSipError(NOSIP_ERROR.INVALID_ELEMENT, 'Invalid element type (type should be a string)');
        if (typeof sdp !== 'string') throw new NoSipError(NOSIP_ERROR.INVALID_ELEMENT, 'Invalid element type (sdp should be a string)');
        if (type === 'offer') {
          const offer = sdpSafe(() => webrtcOfferFromSip(sdp));
          await this.#bridgeFor(s, sdp);
          s.remoteOffer = sdp;
          push({ event: 'processed' }, { type: 'offer', sdp: offer.sdp });
          return;
        }
        if (type !== 'answer') throw new NoSipError(NOSIP_ERROR.INVALID_ELEMENT, "Invalid element (type should be 'offer' or 'answer')");
        if (!s.webrtcOffer || !s.bridge) throw new NoSipError(NOSIP_ERROR.WRONG_STATE, 'Wrong state (no offer generated)');
        const offer = s.webrtcOffer;
        const ans = sdpSafe(() => webrtcAnswerFromSip(offer, sdp));
        s.bridge.setRemote(ans.lines, ans.toSip, ans.toWebrtc);
        push({ event: 'processed' }, { type: 'answer', sdp: ans.sdp });
        return;
      }
      case 'hangup':
        this.#close(s);
        push({ event: 'hangingup' });
        this.#gw.closePc(s.handle);
        return;
      case 'recording':
        throw new NoSipError(NOSIP_ERROR.RECORDING_ERROR, 'Recording is not supported yet');
      default:
        throw new NoSipError(NOSIP_ERROR.INVALID_REQUEST, `Unknown request '${request.slice(0, 64)}'`);
    }
  }

  #close(s: NoSipSession): void {
    s.bridge?.close();
    s.bridge = undefined;
    s.webrtcOffer = undefined;
    s.remoteOffer = undefined;
  }

  setupMedia(): void {}

  incomingRtp(handle: PluginHandle, packet: MediaPacket): void {
    (handle.pluginState as NoSipSession).bridge?.fromWebrtcRtp(packet);
  }

  incomingRtcp(handle: PluginHandle, packet: MediaPacket): void {
    (handle.pluginState as NoSipSession).bridge?.fromWebrtcRtcp(packet);
  }

  hangupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as NoSipSession | undefined;
    if (s) this.#close(s);
  }

  destroySession(handle: PluginHandle): void {
    const s = handle.pluginState as NoSipSession | undefined;
    if (!s) return;
    s.destroyed = true;
    this.#close(s);
  }

  querySession(handle: PluginHandle): Record<string, unknown> {
    const s = handle.pluginState as NoSipSession;
    return { media: s.bridge?.stats() ?? [], destroyed: s.destroyed ? 1 : 0 };
  }
}

export default (): Plugin => new NoSipPlugin();
