/**
 * Helpers for tests of the core: a real Gateway with the test plugin, and a RecordingConnection that
 * plays the part of a transport connection (it records the events and session-over notices the
 * core delivers, as a transport would write them to a socket).
 */
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/core/gateway.ts';
import { silentLogger } from '../../src/core/log.ts';
import { TestPlugin } from '../../src/plugins/portunus-test/index.ts';
import type { PortunusConfig } from '../../src/config/types.ts';
import type { JanusMessage, SessionOverReason, TransportConnection } from '../../src/core/transport.ts';

let nextConnId = 1;

export class RecordingConnection implements TransportConnection {
  readonly id = nextConnId++;
  readonly transport: string;
  readonly remoteAddress = '127.0.0.1';
  readonly kind: 'http' | 'ws';
  readonly events: JanusMessage[] = [];
  readonly over: Array<{ sessionId: number; reason: SessionOverReason }> = [];
  #waiters: Array<{ pred: (e: JanusMessage) => boolean; resolve: (e: JanusMessage) => void }> = [];

  constructor(kind: 'http' | 'ws' = 'ws') {
    this.kind = kind;
    this.transport = kind === 'http' ? 'janus.transport.http' : 'janus.transport.websockets';
  }
  sendEvent(event: JanusMessage): void {
    this.events.push(event);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pred(event)) return true;
      w.resolve(event);
      return false;
    });
  }
  sessionOver(sessionId: number, reason: SessionOverReason): void {
    this.over.push({ sessionId, reason });
  }
  /** Resolves with the first event (already received or future) that matches. */
  waitFor(pred: (e: JanusMessage) => boolean, timeoutMs = 2000): Promise<JanusMessage> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for event')), timeoutMs);
      this.#waiters.push({ pred, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    });
  }
}

export function testConfig(mutate?: (c: PortunusConfig) => void): PortunusConfig {
  const { config } = loadConfig({ env: {} });
  // Tests gather ICE candidates on loopback only.
  config.nat.ice_enforce_list = 'lo';
  mutate?.(config);
  return config;
}

export async function startGateway(mutate?: (c: PortunusConfig) => void): Promise<{ gw: Gateway; plugin: TestPlugin }> {
  const plugin = new TestPlugin();
  const gw = new Gateway(testConfig(mutate), silentLogger(), [plugin]);
  await gw.start();
  return { gw, plugin };
}

let tx = 0;
export function txn(): string {
  return `t${++tx}`;
}

/** A small API client over a Gateway and a connection: returns replies, throws on nothing. */
export class CoreClient {
  constructor(readonly gw: Gateway, readonly conn: TransportConnection = new RecordingConnection()) {}
  req(body: Record<string, unknown>): Promise<JanusMessage> {
    return this.gw.handleRequest(this.conn, { transaction: txn(), ...body });
  }
  admin(body: Record<string, unknown>): Promise<JanusMessage> {
    return this.gw.handleAdminRequest(this.conn, { transaction: txn(), ...body });
  }
  async createSession(extra: Record<string, unknown> = {}): Promise<number> {
    const r = await this.req({ janus: 'create', ...extra });
    if (r.janus !== 'success') throw new Error(`create failed: ${JSON.stringify(r)}`);
    return (r.data as { id: number }).id;
  }
  async attach(sessionId: number, plugin = 'janus.plugin.portunus.test', extra: Record<string, unknown> = {}): Promise<number> {
    const r = await this.req({ janus: 'attach', session_id: sessionId, plugin, ...extra });
    if (r.janus !== 'success') throw new Error(`attach failed: ${JSON.stringify(r)}`);
    return (r.data as { id: number }).id;
  }
}

export function errorCode(reply: JanusMessage): number | undefined {
  return (reply.error as { code?: number } | undefined)?.code;
}

/** A well-formed offer/answer with ICE credentials and a DTLS fingerprint (no real peer behind it). */
export const VALID_SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=rtcp-mux\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n';
