/**
 * Minimal Janus API clients for tests and benchmarks, usable against the real Janus and Portunus:
 * HTTP (POST JSON, long-poll GET) and WebSocket (subprotocol janus-protocol, replies matched by
 * transaction, every message kept for later inspection).
 */
import { WebSocket } from 'ws';

/** A Janus message: always an object with a `janus` verb; the rest is loosely typed on purpose. */
export type JanusReply = { janus: string; transaction?: string; [key: string]: any };

let txCounter = 0;
export function newTransaction(): string {
  return `t${process.pid.toString(36)}${(++txCounter).toString(36)}`;
}

export interface HttpResult {
  status: number;
  text: string;
  /** Parsed body, or undefined when empty or not JSON. */
  body: any;
  headers: Headers;
}

function parseMaybe(text: string): any {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Janus API over HTTP. `base` is the API root, e.g. http://127.0.0.1:8088/janus (or /admin). */
export class JanusHttpClient {
  constructor(readonly base: string) {}

  /** Raw request to base + path; `redirect: manual` so 302s are visible. */
  async fetch(path: string, init: RequestInit = {}): Promise<HttpResult> {
    const res = await fetch(`${this.base}${path}`, { redirect: 'manual', ...init });
    const text = await res.text();
    return { status: res.status, text, body: parseMaybe(text), headers: res.headers };
  }

  /** POST a body: an object is JSON-encoded, a string is sent as is. */
  post(path: string, body: unknown): Promise<HttpResult> {
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    return this.fetch(path, { method: 'POST', body: payload, headers: { 'content-type': 'application/json' } });
  }

  get(path: string): Promise<HttpResult> {
    return this.fetch(path, { method: 'GET' });
  }

  /** POST a request with a fresh transaction; returns the JSON reply, throwing on a non-200 status. */
  async request(path: string, body: Record<string, unknown>): Promise<JanusReply> {
    const r = await this.post(path, { transaction: newTransaction(), ...body });
    if (r.status !== 200 || typeof r.body !== 'object' || r.body === null) {
      throw new Error(`POST ${this.base}${path}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    }
    return r.body as JanusReply;
  }

  /** Long poll a session: one event (or keepalive), or an array when maxev > 1. */
  poll(sessionId: number | string, maxev = 1): Promise<HttpResult> {
    return this.get(`/${sessionId}?rid=${Date.now()}${maxev > 1 ? `&maxev=${maxev}` : ''}`);
  }

  async createSession(): Promise<number> {
    return successId(await this.request('', { janus: 'create' }));
  }

  async attach(sessionId: number, plugin: string): Promise<number> {
    return successId(await this.request(`/${sessionId}`, { janus: 'attach', plugin }));
  }

  async detach(sessionId: number, handleId: number): Promise<void> {
    expectVerb(await this.request(`/${sessionId}/${handleId}`, { janus: 'detach' }), 'success');
  }

  async destroy(sessionId: number): Promise<void> {
    expectVerb(await this.request(`/${sessionId}`, { janus: 'destroy' }), 'success');
  }
}

interface Waiter {
  pred: (m: JanusReply) => boolean;
  resolve: (m: JanusReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Janus API over WebSocket. Every received message lands in `messages`; waiters pick from it. */
export class JanusWsClient {
  readonly messages: JanusReply[] = [];
  #waiters: Waiter[] = [];
  #closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      let m: JanusReply;
      try {
        m = JSON.parse(text) as JanusReply;
      } catch {
        m = { janus: '<unparsable>', text };
      }
      this.messages.push(m);
      for (const w of [...this.#waiters]) {
        if (!w.pred(m)) continue;
        clearTimeout(w.timer);
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(m);
      }
    });
    this.#closed = new Promise((ok) => ws.once('close', (code) => ok(code)));
    ws.once('close', () => {
      for (const w of this.#waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error('WebSocket closed while waiting for a message'));
      }
    });
  }

  static connect(url: string, protocol = 'janus-protocol'): Promise<JanusWsClient> {
    return new Promise((ok, fail) => {
      const ws = new WebSocket(url, protocol);
      const client = new JanusWsClient(ws);
      ws.once('open', () => ok(client));
      ws.once('error', fail);
    });
  }

  /** Send an object as JSON, or a string as is. */
  send(body: unknown): void {
    this.ws.send(typeof body === 'string' ? body : JSON.stringify(body));
  }

  /** The first message matching `pred`, already received or arriving within `timeoutMs`. */
  waitFor(pred: (m: JanusReply) => boolean, timeoutMs = 5000): Promise<JanusReply> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.findIndex((w) => w.timer === timer), 1);
        reject(new Error(`timed out after ${timeoutMs} ms; received ${JSON.stringify(this.messages).slice(-800)}`));
      }, timeoutMs);
      this.#waiters.push({ pred, resolve, reject, timer });
    });
  }

  /**
   * Send a request with a fresh transaction (unless the body has one) and resolve with its direct
   * reply: the first message with that transaction that is not a plugin `event` (which may come
   * before the `ack` of an asynchronous request).
   */
  request(body: Record<string, unknown>, timeoutMs = 5000): Promise<JanusReply> {
    const transaction = typeof body.transaction === 'string' ? body.transaction : newTransaction();
    const reply = this.waitFor((m) => m.transaction === transaction && m.janus !== 'event', timeoutMs);
    this.send({ ...body, transaction });
    return reply;
  }

  /** Send raw text and resolve with the next message received after it. */
  sendRawAndWait(text: string, timeoutMs = 5000): Promise<JanusReply> {
    const index = this.messages.length;
    const reply = this.waitFor((m) => this.messages.indexOf(m) >= index, timeoutMs);
    this.send(text);
    return reply;
  }

  async createSession(): Promise<number> {
    return successId(await this.request({ janus: 'create' }));
  }

  async attach(sessionId: number, plugin: string): Promise<number> {
    return successId(await this.request({ janus: 'attach', session_id: sessionId, plugin }));
  }

  async detach(sessionId: number, handleId: number): Promise<void> {
    expectVerb(await this.request({ janus: 'detach', session_id: sessionId, handle_id: handleId }), 'success');
  }

  async destroy(sessionId: number): Promise<void> {
    expectVerb(await this.request({ janus: 'destroy', session_id: sessionId }), 'success');
  }

  /** Drop the stored messages (long-running clients, e.g. benchmarks). */
  clear(): void {
    this.messages.length = 0;
  }

  close(): Promise<number> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve(this.ws.readyState);
    this.ws.close();
    return this.#closed;
  }
}

function expectVerb(reply: JanusReply, verb: string): JanusReply {
  if (reply.janus !== verb) throw new Error(`expected '${verb}', got ${JSON.stringify(reply)}`);
  return reply;
}

function successId(reply: JanusReply): number {
  const id = expectVerb(reply, 'success').data?.id;
  if (typeof id !== 'number') throw new Error(`no data.id in ${JSON.stringify(reply)}`);
  return id;
}
