/**
 * janus.plugin.portunus.test: a tiny plugin that proves the plugin contract end to end without
 * media. Requests: {"request":"ping"} answers synchronously {"result":"pong"}; {"request":"async"}
 * acks, then pushes {"result":"async-done"}; {"request":"fail"} returns a plugin error (462);
 * {"request":"throw"} throws; {"request":"offer"} pushes an event carrying a JSEP offer, so the
 * client's answer is accepted; anything else gets {"error_code":499,"error":"..."} as Janus plugins do.
 * Admin `message_plugin` accepts "ping". Useful in production too, to check a transport end to end.
 */
import type { GatewayFacade, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';

/** A data-channel-only offer, as a plugin writes it: the core adds ICE, DTLS and candidates. */
const OFFER_SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n';

interface TestState {
  messages: number;
}

export class TestPlugin implements Plugin {
  readonly package = 'janus.plugin.portunus.test';
  readonly name = 'Portunus test plugin';
  readonly description = 'Answers ping synchronously and async asynchronously; proves the plugin contract.';
  readonly author = 'Portunus developers';
  readonly version = 1;
  readonly versionString = '0.0.1';
  #gw: GatewayFacade | undefined;
  readonly sessions = new Set<PluginHandle>();

  init(gateway: GatewayFacade): void {
    this.#gw = gateway;
  }
  destroy(): void {
    this.sessions.clear();
  }
  createSession(handle: PluginHandle): void {
    handle.pluginState = { messages: 0 } satisfies TestState;
    this.sessions.add(handle);
  }
  handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>): PluginResult {
    const state = handle.pluginState as TestState;
    state.messages++;
    switch (body.request) {
      case 'ping':
        return { kind: 'ok', data: { result: 'pong' } };
      case 'async':
        setImmediate(() => this.#gw?.pushEvent(handle, { result: 'async-done' }, { transaction }));
        return { kind: 'ack' };
      case 'offer':
        setImmediate(() => this.#gw?.pushEvent(handle, { result: 'offer' }, { transaction, jsep: { type: 'offer', sdp: OFFER_SDP } }));
        return { kind: 'ack' };
      case 'fail':
        return { kind: 'error', reason: 'Requested failure' };
      case 'throw':
        throw new Error('Requested exception');
      default:
        return { kind: 'ok', data: { error_code: 499, error: `Unknown request '${String(body.request)}'` } };
    }
  }
  handleAdminMessage(body: Record<string, unknown>): Record<string, unknown> {
    if (body.request === 'ping') return { result: 'pong', sessions: this.sessions.size };
    return { error_code: 499, error: `Unknown request '${String(body.request)}'` };
  }
  setupMedia(): void {}
  hangupMedia(): void {}
  destroySession(handle: PluginHandle): void {
    this.sessions.delete(handle);
  }
  querySession(handle: PluginHandle): Record<string, unknown> {
    return { messages: (handle.pluginState as TestState).messages };
  }
}

export default (): Plugin => new TestPlugin();
