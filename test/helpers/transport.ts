/**
 * Helpers for the transport integration tests: start Portunus with every listener on 127.0.0.1 and an
 * ephemeral port, talk to it with fetch and the `ws` client, make a throwaway self-signed certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { silentLogger } from '../../src/core/log.ts';
import type { JanusMessage } from '../../src/core/transport.ts';
import type { PortunusConfig } from '../../src/config/types.ts';
import { TestPlugin } from '../../src/plugins/portunus-test/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { testConfig } from './core.ts';

export const TEST_PLUGIN = 'janus.plugin.portunus.test';

/** Every listener bound to 127.0.0.1, port 0; HTTP and WS API on, everything else off unless `mutate` says so. */
export function transportConfig(mutate?: (c: PortunusConfig) => void): PortunusConfig {
  return testConfig((c) => {
    const h = c.http;
    h.http = true;
    h.https = false;
    h.admin_http = false;
    h.admin_https = false;
    h.ip = h.secure_ip = h.admin_ip = h.admin_secure_ip = '127.0.0.1';
    h.interface = h.secure_interface = h.admin_interface = h.admin_secure_interface = '';
    h.port = h.secure_port = h.admin_port = h.admin_secure_port = 0;
    h.demos = false;
    const w = c.websockets;
    w.ws = true;
    w.wss = false;
    w.admin_ws = false;
    w.admin_wss = false;
    w.ws_ip = w.wss_ip = w.admin_ws_ip = w.admin_wss_ip = '127.0.0.1';
    w.ws_interface = w.wss_interface = w.admin_ws_interface = w.admin_wss_interface = '';
    w.ws_port = w.wss_port = w.admin_ws_port = w.admin_wss_port = 0;
    w.ws_unix = w.wss_unix = '';
    mutate?.(c);
  });
}

export async function startTestServer(mutate?: (c: PortunusConfig) => void): Promise<RunningServer> {
  return startServer(transportConfig(mutate), { logger: silentLogger(), plugins: [new TestPlugin()] });
}

let tx = 0;
export function txn(): string {
  return `tt${++tx}`;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: () => any;
}

export async function httpRequest(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** POST a JSON body (object, or raw text) and return the parsed reply; fails on non-200. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<any> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const r = await httpRequest(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json', ...headers } });
  if (r.status !== 200) throw new Error(`POST ${url}: HTTP ${r.status} ${r.text}`);
  return r.json();
}

/** A Janus API client over HTTP for one server. */
export class HttpJanus {
  constructor(readonly base: string) {}
  req(path: string, body: Record<string, unknown>): Promise<any> {
    return postJson(`${this.base}${path}`, { transaction: txn(), ...body });
  }
  async create(): Promise<number> {
    const r = await this.req('', { janus: 'create' });
    if (r.janus !== 'success') throw new Error(JSON.stringify(r));
    return r.data.id;
  }
  async attach(sid: number, plugin = TEST_PLUGIN): Promise<number> {
    const r = await this.req(`/${sid}`, { janus: 'attach', plugin });
    if (r.janus !== 'success') throw new Error(JSON.stringify(r));
    return r.data.id;
  }
}

/** A `ws` client that buffers every message and lets a test wait for the next ones. */
export class WsClient {
  readonly messages: any[] = [];
  #waiters: Array<{ pred: (m: any) => boolean; resolve: (m: any) => void }> = [];
  #seen = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      this.messages.push(m);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static open(url: string, protocols: string | string[] | undefined = 'janus-protocol', options: Record<string, unknown> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, options);
      const client = new WsClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
    });
  }

  send(body: unknown): void {
    this.ws.send(typeof body === 'string' ? body : JSON.stringify(body));
  }

  /** The first message (received so far or later) matching `pred`. */
  waitFor(pred: (m: any) => boolean, timeoutMs = 3000): Promise<any> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(this.messages)}`)), timeoutMs);
      this.#waiters.push({ pred, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }

  /** Send a request and wait for the reply carrying its transaction (first non-event one). */
  async request(body: Record<string, unknown>): Promise<any> {
    const transaction = txn();
    this.send({ transaction, ...body });
    return this.waitFor((m) => m.transaction === transaction && m.janus !== 'event');
  }

  /** The next message not yet returned by next(). */
  async next(timeoutMs = 3000): Promise<any> {
    const index = this.#seen++;
    if (this.messages.length > index) return this.messages[index];
    return this.waitFor(() => this.messages.length > index, timeoutMs).then(() => this.messages[index]);
  }

  closed(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1, reason: '' });
    return new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  close(): Promise<{ code: number; reason: string }> {
    const done = this.closed();
    this.ws.close();
    return done;
  }
}

/** Refused upgrade: resolves with the HTTP status the server answered. */
export function wsRefusal(url: string, protocols?: string | string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once('open', () => {
      ws.close();
      reject(new Error(`connection with protocols ${String(protocols)} was accepted (protocol '${ws.protocol}')`));
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('error', () => {});
  });
}

/** A self-signed certificate for localhost / 127.0.0.1 in a temporary folder. */
export function selfSignedCert(): { dir: string; certPem: string; certKey: string; cert: Buffer; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'portunus-tls-'));
  const certPem = join(dir, 'cert.pem');
  const certKey = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', certKey, '-out', certPem, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { dir, certPem, certKey, cert: readFileSync(certPem), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An HTTPS request trusting `ca` only. */
export function httpsJson(url: string, ca: Buffer, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export type { JanusMessage };
