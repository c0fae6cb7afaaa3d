/**
 * Fuzz and flood a running Portunus (HTTP, WebSocket and admin HTTP listeners on 127.0.0.1, in this
 * process) and fuzz the JSON splitting/parsing helpers directly.
 *
 * A bystander WebSocket session (attached to the test plugin) must come through untouched. Over
 * WebSocket every message gets one reply per JSON value up to the first invalid piece, which gets a
 * 454; only an oversize message closes the socket (1009). Over HTTP every answer has a sensible status
 * and never a 5xx. A flood over 4 sockets and a keep-alive HTTP agent is answered in full, memory stays
 * bounded, nothing is logged at error level, and /metrics counts exactly the refusals we caused.
 *
 * Seeded: the seed is printed as a test diagnostic and named in every failure; FUZZ_SEED=<n> replays.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { createLogger } from '../../src/core/log.ts';
import { TestPlugin } from '../../src/plugins/portunus-test/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { parseJson, splitJsonValues } from '../../src/transports/json.ts';
import { TEST_PLUGIN, transportConfig } from '../helpers/transport.ts';
import { prng, type Rng } from '../helpers/prng.ts';

// ---- seed and random helpers ------------------------------------------------------------------

const SEED = seedFromEnv();

function seedFromEnv(): number {
  const env = process.env.FUZZ_SEED;
  if (env === undefined || env.trim() === '') return Date.now() % 1_000_000_000;
  const n = Number(env);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got '${env}'`);
  return n;
}



/** One independent stream per test, so a test replays the same whatever ran before it. */
function rngFor(label: string): Rng {
  let h = SEED >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x9e3779b1) >>> 0;
  return prng(h);
}

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, a: readonly T[]): T => a[int(r, a.length)];

/** Run a test body; a failure names the seed to replay it. */
function seeded(fn: (t: TestContext) => Promise<void> | void) {
  return async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    try {
      await fn(t);
    } catch (err) {
      if (err instanceof Error) err.message = `${err.message}\n    (replay with FUZZ_SEED=${SEED})`;
      throw err;
    }
  };
}

const preview = (data: string | Buffer) => {
  const s = typeof data === 'string' ? data : `<${data.length} bytes> ${data.toString('utf8')}`;
  return JSON.stringify(s.length > 160 ? `${s.slice(0, 160)}...(${s.length})` : s);
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A body as the server reads it: UTF-8, invalid sequences replaced. */
const bodyText = (body: string | Buffer | undefined) => (body === undefined ? '' : (typeof body === 'string' ? Buffer.from(body) : body).toString('utf8'));

/** A JSON text as Janus (jansson) accepts it: valid JSON whose top level is an object or an array. */
function jsonOk(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}

// ---- generators -------------------------------------------------------------------------------

const TOKENS = [
  '{', '}', '[', ']', '"', ':', ',', '\\', '\\"', '\\u', '\\u00', '\\ud83d', '\\n', 'null', 'true', 'false', '-', '0', '1',
  '1e400', '-0.0e-0', '0x1', '"janus"', '"transaction"', '"ping"', '"create"', '"session_id"', '"__proto__"', ' ', '\n',
  '\t', '\r', '\u00a0', '\ufeff', '\u0000', '\u2028', '\ud800', '\udfff', '\u{1f600}', '\u00e9', 'x', '/*', '*/', "'", 'NaN',
  'Infinity', 'undefined', '{}', '[]', '""', '{"a":1}', '[1,2]',
];

/** A string of JSON-ish tokens, printable ASCII and random code points (lone surrogates included). */
function randomText(r: Rng, maxLen: number): string {
  const n = int(r, maxLen + 1);
  let s = '';
  while (s.length < n) {
    const k = r();
    if (k < 0.6) s += pick(r, TOKENS);
    else if (k < 0.9) s += String.fromCharCode(0x20 + int(r, 95));
    else s += String.fromCodePoint(int(r, 0x110000));
  }
  return s;
}

function randomBytes(r: Rng, maxLen: number): Buffer {
  const b = Buffer.alloc(int(r, maxLen + 1));
  for (let i = 0; i < b.length; i++) b[i] = int(r, 256);
  return b;
}

const KEYS = ['janus', 'transaction', 'session_id', 'handle_id', 'body', 'jsep', 'plugin', 'candidate', 'candidates', 'id',
  'opaque_id', 'apisecret', 'token', 'request', 'type', 'sdp', 'completed', '__proto__', 'constructor', 'prototype',
  'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', ''];
const VERBS = ['create', 'attach', 'message', 'trickle', 'hangup', 'detach', 'keepalive', 'info', 'ping', 'claim', 'x',
  '__proto__', 'constructor', 'toString', ''];
const TRICKY_STRINGS = ['', '}', ']', '{', '[', '"', '\\', '\\"}', '"}{"', '}{', '][', '\u0000', '\u2028', '\u{1f600}', '\ud800',
  'janus.plugin.portunus.test', 'a'.repeat(100)];

/** A random JSON value (always valid); keys such as __proto__ are written as text, so they are real keys. */
function randomJson(r: Rng, depth: number): string {
  const k = int(r, depth > 3 ? 7 : 10);
  switch (k) {
    case 0: return 'null';
    case 1: return r() < 0.5 ? 'true' : 'false';
    case 2: return String(Math.floor((r() - 0.3) * 2 ** 53));
    case 3: return String(r() * 1e6);
    case 4: return JSON.stringify(pick(r, VERBS));
    case 5: return JSON.stringify(pick(r, TRICKY_STRINGS));
    case 6: return JSON.stringify(randomText(r, 12));
    case 7: return `[${Array.from({ length: int(r, 4) }, () => randomJson(r, depth + 1)).join(',')}]`;
    default: return randomJsonObject(r, depth + 1);
  }
}

function randomJsonObject(r: Rng, depth: number, withEnvelope = false): string {
  const parts: string[] = [];
  if (withEnvelope) {
    parts.push(`"janus":${JSON.stringify(pick(r, VERBS))}`, `"transaction":"rj${int(r, 1e6)}"`);
  }
  const n = int(r, 6);
  for (let i = 0; i < n; i++) parts.push(`${JSON.stringify(pick(r, KEYS))}:${randomJson(r, depth)}`);
  // Shuffle so the envelope keys are not always first (and may be shadowed by a duplicate key).
  for (let i = parts.length - 1; i > 0; i--) {
    const j = int(r, i + 1);
    [parts[i], parts[j]] = [parts[j], parts[i]];
  }
  return `{${parts.join(',')}}`;
}

interface Ids {
  sid: number;
  hid: number;
}

const PLUGIN_REQUESTS = ['ping', 'ping', 'async', 'fail', 'throw', 'offer', 'nope', '__proto__', 'constructor', 'toString'];
const SDPS = [
  '', 'v=0', 'garbage', 'v=0\r\n', 'm=audio\r\n', '\r\n\r\n\r\n', 'a='.repeat(50),
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP\r\nm=\r\na=rtpmap:\r\na=fmtp:x\r\na=ssrc:\r\n',
];

/** A well-formed Janus request on the given session/handle (destroy only when allowed). */
function template(r: Rng, ids: Ids, allowDestroy: boolean): Record<string, unknown> {
  const transaction = `fz${int(r, 1e9)}`;
  const session_id = ids.sid;
  const handle_id = ids.hid;
  switch (int(r, allowDestroy ? 14 : 13)) {
    case 0: return { janus: 'ping', transaction };
    case 1: return { janus: 'info', transaction };
    case 2: return { janus: 'create', transaction };
    case 3: return { janus: 'keepalive', transaction, session_id };
    case 4: return { janus: 'attach', transaction, session_id, plugin: TEST_PLUGIN, opaque_id: 'fuzz' };
    case 5: return { janus: 'message', transaction, session_id, handle_id, body: { request: pick(r, PLUGIN_REQUESTS) } };
    case 6:
      return { janus: 'message', transaction, session_id, handle_id, body: { request: 'ping' }, jsep: { type: pick(r, ['offer', 'answer', 'pranswer', '']), sdp: pick(r, SDPS) } };
    case 7:
      return { janus: 'trickle', transaction, session_id, handle_id, candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } };
    case 8: return { janus: 'trickle', transaction, session_id, handle_id, candidates: [{ completed: true }, 1, null, { sdpMid: '0' }] };
    case 9: return { janus: 'hangup', transaction, session_id, handle_id };
    case 10: return { janus: 'detach', transaction, session_id, handle_id };
    case 11: return { janus: 'claim', transaction, session_id };
    case 12: return { janus: 'ping', transaction, session_id, handle_id, apisecret: 'nope', token: 'nope' };
    default: return { janus: 'destroy', transaction, session_id };
  }
}

/** 1 to 3 random edits of a text: truncate, delete, insert, replace, duplicate. */
function mutate(r: Rng, text: string): string {
  let s = text;
  const n = 1 + int(r, 3);
  for (let i = 0; i < n; i++) {
    const at = int(r, s.length + 1);
    switch (int(r, 5)) {
      case 0: s = s.slice(0, at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + int(r, 8)); break;
      case 2: s = s.slice(0, at) + pick(r, TOKENS) + s.slice(at); break;
      case 3: s = s.slice(0, at) + pick(r, TOKENS) + s.slice(at + 1); break;
      default: s = s.slice(0, at) + s.slice(int(r, at + 1), at) + s.slice(at); break;
    }
  }
  return s;
}

const JSON_WS = [' ', '\n', '\r\n', '\t', '  \n\t'];
const jsonWs = (r: Rng) => (r() < 0.4 ? '' : pick(r, JSON_WS));

/** Text that cannot start a JSON object/array nor be whitespace: what follows it cannot be recovered. */
function garbage(r: Rng): string {
  return pick(r, ['x', '}', ']', ',', ':', '5', '-', '"', "'", '\\', 'null', '/', '<', '\u00e9', '\u0000']) + randomText(r, 20);
}

/** Requests that poke at prototype-ish keys and names; each is valid JSON and gets one reply. */
function protoCases(ids: Ids): string[] {
  const { sid, hid } = ids;
  return [
    '{"__proto__":{"janus":"ping","transaction":"p1"}}',
    '{"janus":"ping","transaction":"p2","__proto__":{"polluted":true}}',
    '{"janus":"ping","transaction":"p3","constructor":{"prototype":{"polluted":true}}}',
    '{"janus":"create","transaction":"p4","__proto__":{"id":7}}',
    `{"janus":"attach","transaction":"p5","session_id":${sid},"plugin":"__proto__"}`,
    `{"janus":"attach","transaction":"p6","session_id":${sid},"plugin":"constructor"}`,
    `{"janus":"attach","transaction":"p7","session_id":${sid},"plugin":"toString"}`,
    '{"janus":"__proto__","transaction":"p8"}',
    `{"janus":"constructor","transaction":"p9","session_id":${sid}}`,
    `{"janus":"hasOwnProperty","transaction":"p10","session_id":${sid},"handle_id":${hid}}`,
    `{"janus":"message","transaction":"p11","session_id":${sid},"handle_id":${hid},"body":{"__proto__":{"request":"ping"}}}`,
    `{"janus":"message","transaction":"p12","session_id":${sid},"handle_id":${hid},"body":{"request":"ping"},"jsep":{"__proto__":{"type":"offer","sdp":"v=0"}}}`,
    '{"janus":"ping","transaction":{"__proto__":"x"}}',
    '{"janus":"ping","transaction":"p13","session_id":{"__proto__":1}}',
    `{"janus":"trickle","transaction":"p14","session_id":${sid},"handle_id":${hid},"candidate":{"__proto__":{"completed":true}}}`,
    `{"janus":"keepalive","transaction":"p15","session_id":${sid},"__proto__":{"session_id":1}}`,
    '{"janus":"info","transaction":"p16","constructor":null,"toString":1,"valueOf":"x","__defineGetter__":[]}',
    '[{"__proto__":1}]',
    '{"transaction":"p17","janus":"ping","janus":"create","transaction":"p18"}',
  ];
}

// ---- WebSocket test client --------------------------------------------------------------------

const REPLY_KINDS = new Set(['success', 'error', 'ack', 'pong', 'server_info']);
const EVENT_KINDS = new Set(['event', 'detached', 'hangup', 'webrtcup', 'media', 'slowlink', 'timeout', 'trickle']);

/** A `ws` client that sorts what it receives into replies and events, and records anything odd. */
class Client {
  readonly replies: any[] = [];
  readonly events: any[] = [];
  /** Non-text frames, non-JSON text, messages without a known `janus`. */
  readonly bad: string[] = [];
  /** Replies the test expects in total on this socket (kept by the caller). */
  expected = 0;
  closeCode: number | undefined;
  readonly #waiters = new Set<() => void>();
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const text = data.toString('utf8');
      if (isBinary) this.bad.push(`binary frame: ${preview(text)}`);
      let m: any;
      try {
        m = JSON.parse(text);
      } catch {
        this.bad.push(`not JSON: ${preview(text)}`);
        return this.#wake();
      }
      if (typeof m !== 'object' || m === null || Array.isArray(m) || typeof m.janus !== 'string') this.bad.push(`no janus: ${preview(text)}`);
      else if (REPLY_KINDS.has(m.janus)) this.replies.push(m);
      else if (EVENT_KINDS.has(m.janus)) this.events.push(m);
      else this.bad.push(`unknown janus: ${preview(text)}`);
      this.#wake();
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number) => {
        this.closeCode = code;
        this.#wake();
        resolve(code);
      });
    });
  }

  static open(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'janus-protocol');
      const c = new Client(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  #wake(): void {
    for (const w of this.#waiters) w();
  }

  send(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Wait until `cond` holds; fails on timeout or when the socket closes first. */
  until(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (cond()) done();
        else if (this.closeCode !== undefined) done(new Error(`socket closed (${this.closeCode}) while waiting: ${what()}`));
      };
      const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms: ${what()}`)), timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Send one request and wait for its reply (by transaction). */
  async request(body: Record<string, unknown>, timeoutMs = 3000): Promise<any> {
    const transaction = `c${++clientTx}`;
    this.expected++;
    this.send(JSON.stringify({ ...body, transaction }));
    const find = () => {
      for (let i = this.replies.length - 1; i >= 0; i--) if (this.replies[i].transaction === transaction) return this.replies[i];
      return undefined;
    };
    await this.until(() => find() !== undefined, timeoutMs, () => `reply to ${JSON.stringify(body)}`);
    return find();
  }

  close(): Promise<number> {
    if (this.closeCode === undefined) this.ws.close();
    return this.closed;
  }
}
let clientTx = 0;

async function sessionOn(c: Client): Promise<Ids> {
  const created = await c.request({ janus: 'create' });
  assert.equal(created.janus, 'success', JSON.stringify(created));
  const attached = await c.request({ janus: 'attach', session_id: created.data.id, plugin: TEST_PLUGIN });
  assert.equal(attached.janus, 'success', JSON.stringify(attached));
  return { sid: created.data.id, hid: attached.data.id };
}

// ---- HTTP helpers -----------------------------------------------------------------------------

interface HttpResult {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

interface HttpSpec {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Write the body in pieces without a content-length (chunked). */
  chunked?: boolean;
}

function httpCall(port: number, agent: http.Agent, spec: HttpSpec, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers = { ...(spec.headers ?? {}) };
    if (spec.body !== undefined && !spec.chunked) headers['content-length'] = String(Buffer.byteLength(spec.body));
    const req = http.request({ host: '127.0.0.1', port, method: spec.method, path: spec.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (spec.body !== undefined && spec.chunked) {
      const b = Buffer.from(spec.body);
      for (let i = 0; i < b.length; i += 8192) req.write(b.subarray(i, i + 8192));
      req.end();
    } else {
      req.end(spec.body);
    }
  });
}

/** Raw bytes on a fresh TCP connection (half-closed after writing): the status line answered, if any. */
function rawCall(port: number, data: Buffer | string, timeoutMs = 3000): Promise<{ statusLine: string; head: string; all: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ statusLine: out.split('\r\n')[0], head: out.split('\r\n\r\n')[0], all: out, closed: false });
    }, timeoutMs);
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ statusLine: out.split('\r\n')[0], head: out.split('\r\n\r\n')[0], all: out, closed: true });
    });
    sock.end(data);
  });
}

/** A 200 answer holds a Janus message (or, for a long poll with maxev > 1, an array of them). */
function janusBody(res: HttpResult, what: string): any {
  let v: any;
  try {
    v = JSON.parse(res.text);
  } catch {
    assert.fail(`${what}: 200 with a body that is not JSON: ${preview(res.text)}`);
  }
  const list = Array.isArray(v) ? v : [v];
  assert.ok(list.length > 0, `${what}: empty array`);
  for (const m of list) assert.ok(m && typeof m === 'object' && typeof m.janus === 'string', `${what}: no janus field in ${preview(res.text)}`);
  return v;
}

// ---- the server under test --------------------------------------------------------------------

const MAX_MSG = 64 * 1024;
const MAX_BODY = 64 * 1024;
const HEAP_BOUND = 200 * 1024 * 1024;

describe('transport fuzz and flood against a running server', () => {
  let server: RunningServer;
  let wsUrl: string;
  let httpPort: number;
  let adminPort: number;
  let bystander: Client;
  let bystanderIds: Ids;
  let keepalives: NodeJS.Timeout | undefined;
  let heapBaseline = 0;
  const protoKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  /** Everything the server logs at error level or above (should stay empty). */
  const errorLogs: string[] = [];
  /** What /metrics must count, as we caused it. */
  const caused = { ws454: 0, http454: 0, http413Min: 0, pongs: 0 };
  const countPongs = (replies: any[]) => replies.filter((m) => m.janus === 'pong').length;

  before(async () => {
    const config = transportConfig((c) => {
      c.http.admin_http = true;
      c.http.long_poll_timeout = 1;
      c.http.max_body_size = MAX_BODY;
      c.websockets.max_message_size = MAX_MSG;
    });
    const logger = createLogger(2, { write: (line: string) => void errorLogs.push(line) });
    server = await startServer(config, { logger, plugins: [new TestPlugin()] });
    assert.ok(server.ports.ws && server.ports.http && server.ports.adminHttp);
    wsUrl = `ws://127.0.0.1:${server.ports.ws}`;
    httpPort = server.ports.http;
    adminPort = server.ports.adminHttp;

    bystander = await Client.open(wsUrl);
    bystanderIds = await sessionOn(bystander);
    const pong = await bystander.request({ janus: 'message', session_id: bystanderIds.sid, handle_id: bystanderIds.hid, body: { request: 'ping' } });
    assert.deepEqual(pong.plugindata?.data, { result: 'pong' });
    // Keep it alive the way a client does, throughout.
    keepalives = setInterval(() => {
      bystander.expected++;
      bystander.send(JSON.stringify({ janus: 'keepalive', session_id: bystanderIds.sid, transaction: `ka${++clientTx}` }));
    }, 1000);
    heapBaseline = process.memoryUsage().heapUsed;
  });

  after(async () => {
    clearInterval(keepalives);
    await bystander?.close();
    await server?.close();
  });

  const HTTP_454 = /^portunus_transport_errors_total\{transport="janus\.transport\.http",code="454"\}/;
  /** The sum of the samples of the lines matching `re` in Prometheus text. */
  const metricSum = (text: string, re: RegExp) => {
    let sum = 0;
    for (const line of text.split('\n')) if (re.test(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    return sum;
  };
  const metricsText = async () => {
    const agent = new http.Agent({ keepAlive: false });
    try {
      const res = await httpCall(adminPort, agent, { method: 'GET', path: '/metrics' });
      assert.equal(res.status, 200);
      return res.text;
    } finally {
      agent.destroy();
    }
  };

  const heapCheck = (where: string) => {
    const grown = process.memoryUsage().heapUsed - heapBaseline;
    assert.ok(grown < HEAP_BOUND, `${where}: heap grew by ${(grown / 1048576).toFixed(1)} MB`);
  };

  // ---- WebSocket fuzz ---------------------------------------------------------------------------

  interface WsCase {
    label: string;
    data: string | Buffer;
    binary: boolean;
    /** Replies expected (the last one a 454 when last454), or 'oversize' (closed with 1009). */
    expect: { replies: number; last454: boolean } | 'oversize';
    /** The expectation came from the generator, not from the oracle: check that they agree. */
    independent: boolean;
  }

  /**
   * What the WebSocket transport answers for a message text: one reply per value up to the first
   * invalid piece, which gets a 454 (used for random inputs; the structured generators state their
   * expectation independently and must agree with it).
   */
  function oracle(text: string): { replies: number; last454: boolean } {
    if (jsonOk(text)) return { replies: 1, last454: false };
    const pieces = splitJsonValues(text);
    if (pieces.length <= 1) return { replies: 1, last454: true };
    let n = 0;
    for (const p of pieces) {
      n++;
      if (!jsonOk(p)) return { replies: n, last454: true };
    }
    return { replies: n, last454: false };
  }

  function wsCase(r: Rng, ids: Ids): WsCase {
    const binary = r() < 0.25;
    const one = { replies: 1, last454: false };
    const bad = { replies: 1, last454: true };
    const mk = (label: string, data: string | Buffer, expect: WsCase['expect'] | undefined, b = binary): WsCase => {
      const seen = (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('utf8');
      return { label, data, binary: b, expect: expect ?? oracle(seen), independent: expect !== undefined };
    };
    const k = r();
    if (k < 0.14) return mk('random-text', randomText(r, 400), undefined, false);
    if (k < 0.22) return mk('random-bytes', randomBytes(r, 400), undefined, true);
    if (k < 0.42) return mk('mutated', mutate(r, JSON.stringify(template(r, ids, true))), undefined);
    if (k < 0.52) return mk('valid', JSON.stringify(template(r, ids, true)), one);
    if (k < 0.62) {
      // Any JSON value: objects and arrays get a reply each; a bare scalar is a JSON error (454) for Janus.
      const text = r() < 0.5 ? randomJsonObject(r, 0, true) : randomJson(r, 0);
      return mk('random-object', text, text[0] === '{' || text[0] === '[' ? one : bad);
    }
    if (k < 0.67) return mk('proto', pick(r, protoCases(ids)), one);
    if (k < 0.80) {
      // Several values, whitespace between them; maybe garbage after the j-th.
      const n = 2 + int(r, 5);
      const values = Array.from({ length: n }, () => (r() < 0.7 ? JSON.stringify(template(r, ids, false)) : randomJsonObject(r, 0, true)));
      if (r() < 0.5) return mk('concat', jsonWs(r) + values.join(jsonWs(r) || ' ') + jsonWs(r), { replies: n, last454: false });
      const j = 1 + int(r, n - 1);
      const text = values.slice(0, j).join(jsonWs(r)) + jsonWs(r) + garbage(r) + jsonWs(r) + values.slice(j).join(jsonWs(r));
      return mk('concat-garbage', text, { replies: j + 1, last454: true });
    }
    if (k < 0.84) {
      const n = 2 + int(r, 300);
      return mk('many-tiny', Array.from({ length: n }, () => (r() < 0.5 ? '{}' : '[]')).join(r() < 0.5 ? '' : ' '), { replies: n, last454: false });
    }
    if (k < 0.92) {
      const depth = 1000 + int(r, 9001);
      switch (int(r, 7)) {
        case 0: return mk('deep-array', '['.repeat(depth) + ']'.repeat(depth), one);
        case 1: return mk('deep-open', '['.repeat(depth), bad);
        case 2: return mk('deep-object', '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), one);
        case 3: return mk('deep-object-open', '{"a":'.repeat(depth), bad);
        case 4: {
          const body = `{"request":"ping","deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
          return mk('deep-body', `{"janus":"message","transaction":"deep","session_id":${ids.sid},"handle_id":${ids.hid},"body":${body}}`, one);
        }
        case 5: return mk('deep-then-ping', '['.repeat(depth) + ']'.repeat(depth) + '{"janus":"ping","transaction":"dp"}', { replies: 2, last454: false });
        default: return mk('deep-mixed', '[{"a":'.repeat(depth >> 2) + '1' + '}]'.repeat(depth >> 2), one);
      }
    }
    if (k < 0.995) {
      // Near the limit: a ping padded to max_message_size minus a little (or exactly), or a huge bad string.
      const size = MAX_MSG - (r() < 0.2 ? 0 : int(r, 256));
      if (r() < 0.7) {
        const head = `{"janus":"ping","transaction":"big","pad":"`;
        return mk('huge-near', head + 'a'.repeat(size - head.length - 2) + '"}', one);
      }
      return mk('huge-near-bad', '"' + 'b'.repeat(size - 1), bad);
    }
    const size = MAX_MSG + 1 + int(r, 8192);
    return mk('huge-over', r() < 0.5 ? 'x'.repeat(size) : `{"janus":"ping","transaction":"${'a'.repeat(size)}"}`, 'oversize');
  }

  test('WebSocket: thousands of random, mutated, nested, huge, concatenated, prototype-poking messages', { timeout: 60_000 }, seeded(async (t) => {
    const r = rngFor('ws-fuzz');
    const N = 3000;
    let c = await Client.open(wsUrl);
    let ids = await sessionOn(c);
    const byLabel: Record<string, number> = {};
    let oversize = 0;
    let pongs = 0;
    const finish = (cl: Client) => {
      assert.deepEqual(cl.bad, [], 'every frame is a text frame holding a Janus message');
      pongs += countPongs(cl.replies);
    };
    for (let i = 0; i < N; i++) {
      const kase = wsCase(r, ids);
      byLabel[kase.label] = (byLabel[kase.label] ?? 0) + 1;
      const what = () => `#${i} ${kase.label} ${kase.binary ? 'binary' : 'text'} ${preview(kase.data)} expecting ${JSON.stringify(kase.expect)}`;
      if (kase.independent && kase.expect !== 'oversize') {
        const seen = (typeof kase.data === 'string' ? Buffer.from(kase.data) : kase.data).toString('utf8');
        assert.deepEqual(oracle(seen), kase.expect, `splitting disagrees with the generator: ${what()}`);
      }
      if (kase.expect === 'oversize') {
        oversize++;
        c.send(kase.data, kase.binary);
        const code = await Promise.race([c.closed, sleep(3000).then(() => -1)]);
        assert.equal(code, 1009, `oversize message closes with 1009: ${what()}`);
        assert.equal(c.replies.length, c.expected, 'no reply for the oversize message, none missing before it');
        finish(c);
        c = await Client.open(wsUrl);
        ids = await sessionOn(c);
        continue;
      }
      const expect = kase.expect;
      const target = c.replies.length + expect.replies;
      c.expected += expect.replies;
      if (expect.last454) caused.ws454++;
      c.send(kase.data, kase.binary);
      await c.until(() => c.replies.length >= target, 5000, () => `${what()}; got ${JSON.stringify(c.replies.slice(target - expect.replies)).slice(0, 400)}`);
      if (expect.last454) assert.equal(c.replies[target - 1]?.error?.code, 454, `the last reply is a 454: ${what()} got ${JSON.stringify(c.replies[target - 1])}`);
      if (kase.label === 'huge-near') assert.equal(c.replies[target - 1].janus, 'pong', what());
      // Keep a usable session and handle around: fuzzed requests destroy and detach them.
      if (i % 250 === 249) ids = await sessionOn(c);
    }
    // A last round trip: no reply may still be on its way, none may be extra.
    const pong = await c.request({ janus: 'ping' });
    assert.equal(pong.janus, 'pong');
    await sleep(50);
    assert.equal(c.replies.length, c.expected, 'exactly the expected number of replies');
    assert.equal(c.closeCode, undefined, 'only oversize messages close the socket');
    finish(c);
    await c.close();
    caused.pongs += pongs;

    // A text frame that is not UTF-8 is a protocol error (RFC 6455: 1007), not a crash.
    const u = await Client.open(wsUrl);
    u.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false);
    assert.equal(await Promise.race([u.closed, sleep(3000).then(() => -1)]), 1007);

    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoKeysBefore, 'Object.prototype untouched');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    t.diagnostic(`ws cases: ${JSON.stringify(byLabel)}; oversize closes: ${oversize}`);
    heapCheck('after the WebSocket fuzz');
  }));

  // ---- HTTP fuzz --------------------------------------------------------------------------------

  const VALID_CTS = [undefined, 'application/json', 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz', 'application/octet-stream', 'x/y', 'application/json; charset=utf-16le', 'application/json; charset=bogus'];
  const INVALID_CTS = ['', ';;;==', '/', 'application/', 'a b/c'];

  function httpBody(r: Rng, ids: Ids): string | Buffer {
    const k = r();
    if (k < 0.25) return JSON.stringify(template(r, ids, false));
    if (k < 0.45) return mutate(r, JSON.stringify(template(r, ids, false)));
    if (k < 0.55) return randomText(r, 300);
    if (k < 0.60) return randomBytes(r, 300);
    if (k < 0.70) return r() < 0.5 ? randomJsonObject(r, 0, true) : randomJson(r, 0);
    if (k < 0.75) return pick(r, protoCases(ids));
    if (k < 0.80) return [JSON.stringify(template(r, ids, false)), JSON.stringify(template(r, ids, false))].join(jsonWs(r));
    if (k < 0.85) {
      const depth = 1000 + int(r, 9001);
      return pick(r, ['['.repeat(depth) + ']'.repeat(depth), '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), '['.repeat(depth)]);
    }
    if (k < 0.90) return pick(r, ['', ' ', '\n\t', '\ufeff{}', 'null', '[]', '"x"', '0']);
    return JSON.stringify([template(r, ids, false)]);
  }

  function pathSegment(r: Rng, ids: Ids): { seg: string; clean: boolean } {
    switch (int(r, 12)) {
      case 0: return { seg: String(ids.sid), clean: true };
      case 1: return { seg: String(1 + int(r, 2 ** 52)), clean: true };
      case 2: return { seg: pick(r, ['0', '00', '-1', '+1', '1e3', '0x10', '9'.repeat(40), '7'.repeat(101), `${ids.sid}abc`, 'abc', 'ping', 'info']), clean: true };
      case 3: return { seg: pctEncode(randomText(r, 20)) || 'x', clean: true };
      case 4: return { seg: pick(r, ['%41', '%2F', '%2e%2e', '%00', '%e2%82%ac']), clean: true };
      case 5: return { seg: pick(r, ['%', '%zz', '%ff%fe', '%e2%82', '%u0041']), clean: false };
      default: return { seg: String(pick(r, [ids.sid, ids.hid, 1, 2 ** 53 - 1])), clean: true };
    }
  }

  /** fastify (find-my-way) answers 414 for a decoded path parameter longer than maxParamLength (100). */
  const tooLong = (seg: string) => decodeURIComponent(seg).length > 100;

  /** Percent-encode the UTF-8 bytes of a string (lone surrogates become U+FFFD, where encodeURIComponent throws). */
  const pctEncode = (s: string) =>
    [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('');

  const PATH_CHARS = '!$&\'()*+,-./0123456789:;=@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~%#?\u00e9\u00ff';
  function malformedPath(r: Rng, ids: Ids): string {
    if (r() < 0.5) {
      return pick(r, [
        '/janus/%', '/janus/%zz', '/janus/%ff%fe', '/janus/%00', '//janus', '/janus//', '/janus/../janus', '/janus/./info',
        '/janus/%2e%2e/info', '/janus/;x', '/janus/info;', '/janus/info?', '/janus/info#frag', '/JANUS', `/janus/${'a'.repeat(3000)}`,
        '/janus/1/2/3', '/janus/1/2/3/4', `/janus/?${'q'.repeat(4000)}`, '*', '/janus/\u00e9', '/%', '/?&&&', `/janus/${ids.sid}?maxev=%`,
        `/janus/${ids.sid}/`, '/janus/info/', '/metrics', '/admin', '/', '/janus/%2Fjanus', 'http://evil.example/janus/info',
      ]);
    }
    let p = r() < 0.8 ? '/janus/' : '/';
    const n = 1 + int(r, 40);
    for (let i = 0; i < n; i++) p += PATH_CHARS[int(r, PATH_CHARS.length)];
    return p;
  }

  function randomQuery(r: Rng): string {
    const parts: string[] = [];
    const n = int(r, 6);
    for (let i = 0; i < n; i++) {
      const key = pick(r, ['maxev', 'maxev', 'rid', 'apisecret', 'token', '__proto__', 'constructor', 'maxev[]', '__proto__[maxev]', 'a[b][c]', '', '%zz']);
      const value = pick(r, ['1', '0', '-5', '3', '1000000000', 'abc', '%zz', '', '%', '1e3', pctEncode(randomText(r, 10))]);
      parts.push(r() < 0.1 ? key : `${key}=${value}`);
    }
    return parts.length || r() < 0.5 ? `?${parts.join(r() < 0.9 ? '&' : '&&')}` : '';
  }

  test('HTTP: random bodies, content types, paths, queries, methods, oversize bodies, raw garbage', { timeout: 60_000 }, seeded(async (t) => {
    const r = rngFor('http-fuzz');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const pollAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const statuses: Record<string, number> = {};
    const failures: string[] = [];
    let pongs = 0;
    try {
      const call = (spec: HttpSpec, a = agent) => httpCall(httpPort, a, spec);
      // A session and handle of our own over HTTP.
      const created = janusBody(await call({ method: 'POST', path: '/janus', body: '{"janus":"create","transaction":"h1"}' }), 'create');
      const sid = created.data.id as number;
      const attached = janusBody(await call({ method: 'POST', path: `/janus/${sid}`, body: `{"janus":"attach","transaction":"h2","plugin":"${TEST_PLUGIN}"}` }), 'attach');
      const ids: Ids = { sid, hid: attached.data.id };

      const check = async (label: string, spec: HttpSpec, expect: (res: HttpResult) => void, a = agent) => {
        let res: HttpResult;
        try {
          res = await call(spec, a);
        } catch (err) {
          failures.push(`${label} ${spec.method} ${spec.path}: ${(err as Error).message}`);
          return;
        }
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const what = `${label} ${spec.method} ${preview(spec.path)} ct=${JSON.stringify(spec.headers?.['content-type'])} body=${spec.body === undefined ? '-' : preview(spec.body)} -> ${res.status} ${preview(res.text)}`;
        try {
          assert.ok(res.status < 500, `5xx: ${what}`);
          // 414: fastify's maxParamLength (100) for a path id longer than any id.
          assert.ok([200, 302, 400, 403, 404, 413, 414, 415].includes(res.status), `unexpected status: ${what}`);
          if (res.status === 200 && spec.method !== 'HEAD' && spec.method !== 'OPTIONS') {
            const v = janusBody(res, what);
            pongs += (Array.isArray(v) ? v : [v]).filter((m: any) => m.janus === 'pong').length;
            // A POST whose body is not JSON is refused by the transport itself (counted in the metrics).
            if (spec.method === 'POST' && !jsonOk(bodyText(spec.body))) {
              assert.equal(v.error?.code, 454, `a body that is not JSON gets 454: ${what}`);
              caused.http454++;
            }
          }
          expect(res);
        } catch (err) {
          failures.push((err as Error).message);
        }
      };

      const jobs: Array<() => Promise<void>> = [];
      // POSTs with random bodies and content types to /janus, /janus/<seg>, /janus/<sid>/<seg>.
      for (let i = 0; i < 450; i++) {
        const body = httpBody(r, ids);
        const invalidCt = r() < 0.08;
        const ct = invalidCt ? pick(r, INVALID_CTS) : pick(r, VALID_CTS);
        const shape = int(r, 3);
        const s1 = pathSegment(r, ids);
        const s2 = pathSegment(r, ids);
        const path = shape === 0 ? '/janus' : shape === 1 ? `/janus/${s1.seg}` : `/janus/${ids.sid}/${s2.seg}`;
        const clean = shape === 0 || (shape === 1 ? s1.clean : s2.clean);
        const isInfo = shape === 1 && s1.seg === 'info';
        const headers: Record<string, string> = ct === undefined ? {} : { 'content-type': ct };
        const transportBad = !jsonOk(bodyText(body));
        const spec: HttpSpec = { method: 'POST', path, headers, body };
        jobs.push(() => check('post', spec, (res) => {
          if (!clean) return assert.equal(res.status, 400, 'a bad percent-escape in the path is a 400');
          if (shape !== 0 && tooLong(shape === 1 ? s1.seg : s2.seg)) return assert.equal(res.status, 414);
          if (invalidCt) return assert.equal(res.status, 415, 'an unparseable content type is a 415');
          if (isInfo) return assert.equal(res.status, 400, 'POST /janus/info is a 400');
          assert.equal(res.status, 200, 'a POST to a Janus path is answered 200');
          if (transportBad) assert.equal(JSON.parse(res.text).error?.code, 454);
        }));
      }
      // Oversize bodies, with and without a content-length.
      for (let i = 0; i < 12; i++) {
        const size = MAX_BODY + 1 + int(r, 16 * 1024);
        const chunked = r() < 0.5;
        const path = pick(r, ['/janus', `/janus/${ids.sid}`, `/janus/${ids.sid}/${ids.hid}`]);
        const body = r() < 0.5 ? 'x'.repeat(size) : `{"janus":"ping","transaction":"big","pad":"${'a'.repeat(size)}"}`;
        jobs.push(() => check('oversize', { method: 'POST', path, headers: { 'content-type': 'application/json' }, body, chunked }, (res) => {
          assert.equal(res.status, 413);
          caused.http413Min++;
        }));
      }
      // GET /janus/<sid>/<x>: a redirect to the session path (or 404 when <sid> is no id).
      for (let i = 0; i < 30; i++) {
        const s = pathSegment(r, ids);
        jobs.push(() => check('get-handle', { method: 'GET', path: `/janus/${ids.sid}/${s.seg}${randomQuery(r)}` }, (res) => {
          if (!s.clean) return assert.equal(res.status, 400);
          if (tooLong(s.seg)) return assert.equal(res.status, 414);
          assert.equal(res.status, 302);
          assert.equal(res.headers.location, `/janus/${ids.sid}`);
        }));
      }
      // Other methods.
      for (let i = 0; i < 30; i++) {
        const method = pick(r, ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND']);
        const path = pick(r, ['/janus', `/janus/${ids.sid}`, `/janus/${ids.sid}/${ids.hid}`, '/janus/info']);
        jobs.push(() => check('method', { method, path, body: method === 'HEAD' || method === 'TRACE' ? undefined : randomText(r, 50) }, (res) => {
          if (method === 'OPTIONS') assert.equal(res.status, 200);
          else if (method === 'HEAD') assert.ok([200, 302, 404].includes(res.status), `HEAD ${path}: ${res.status}`);
          else assert.equal(res.status, 404);
        }));
      }
      // Malformed URLs with random methods and bodies.
      for (let i = 0; i < 80; i++) {
        const method = pick(r, ['GET', 'POST', 'GET', 'POST', 'DELETE', 'OPTIONS']);
        const path = malformedPath(r, ids);
        const body = method === 'POST' ? httpBody(r, ids) : undefined;
        jobs.push(() => check('malformed-url', { method, path, body, headers: { 'content-type': 'application/json' } }, () => {}));
      }

      // Long polls with random query strings, all at once (each may be held for long_poll_timeout).
      const polls: Array<Promise<void>> = [];
      for (let i = 0; i < 60; i++) {
        const which = int(r, 4);
        const target = which === 0 ? bystanderIds.sid : which === 1 ? 1 + int(r, 2 ** 52) : ids.sid;
        const path = `/janus/${target}${randomQuery(r)}`;
        polls.push(check('long-poll', { method: 'GET', path }, (res) => {
          if (which === 1) return assert.equal(res.status, 404, 'no such session');
          // Our own session may have been destroyed by a fuzzed request meanwhile.
          if (which !== 0 && res.status === 404) return;
          assert.equal(res.status, 200);
          const v = JSON.parse(res.text);
          if (which === 0) {
            // Events of a WebSocket session never go to an HTTP poll.
            for (const m of Array.isArray(v) ? v : [v]) assert.equal(m.janus, 'keepalive', `poll on the bystander: ${res.text}`);
          }
        }, pollAgent));
      }

      // Shuffle the jobs and run them 8 at a time.
      for (let i = jobs.length - 1; i > 0; i--) {
        const j = int(r, i + 1);
        [jobs[i], jobs[j]] = [jobs[j], jobs[i]];
      }
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < jobs.length) await jobs[next++]();
      }));
      await Promise.all(polls);

      // Raw bytes on fresh connections: Node/fastify refuse them with a 4xx and close.
      const RAW = [
        () => randomBytes(r, 200),
        () => `GET ${randomText(r, 30)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        () => `POST /janus HTTP/1.1\r\nHost: x\r\nContent-Length: ${int(r, 100)}\r\n\r\n${randomText(r, 50)}`,
        () => 'POST /janus HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
        () => 'POST /janus HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}',
        () => 'POST /janus HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}',
        () => `POST /janus HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${randomText(r, 20)}\r\n`,
        () => `GET /janus/info HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20000)}\r\n\r\n`,
        () => `GET /janus/info HTTP/${int(r, 10)}.${int(r, 10)}\r\nHost: x\r\n\r\n`,
        () => `${pick(r, ['GET', 'POST', 'BREW', 'G\u00e9T', ''])} ${malformedPath(r, ids)} HTTP/1.1\r\n${randomText(r, 40)}\r\n\r\n`,
        () => 'GET /janus/info HTTP/1.1\r\nHost: x\r\n\r\n',
      ];
      // A half-closed connection may have its request handled and its answer dropped: take what these
      // add to the HTTP 454 counter from /metrics itself (bounded by the number of raw requests).
      const RAW_N = 40;
      const http454Before = metricSum(await metricsText(), HTTP_454);
      const rawResults: Record<string, number> = {};
      await Promise.all(Array.from({ length: RAW_N }, async () => {
        const data = pick(r, RAW)();
        const res = await rawCall(httpPort, data);
        const code = /^HTTP\/1\.[01] (\d{3})/.exec(res.statusLine)?.[1] ?? (res.statusLine === '' ? 'none' : 'junk');
        rawResults[code] = (rawResults[code] ?? 0) + 1;
        if (!res.closed) failures.push(`raw ${preview(data)}: connection not closed after a half-close`);
        if (!/^(200|400|404|413|414|431|none)$/.test(code)) failures.push(`raw ${preview(data)}: answered ${JSON.stringify(res.statusLine)}`);
      }));
      const rawHttp454 = metricSum(await metricsText(), HTTP_454) - http454Before;
      assert.ok(rawHttp454 >= 0 && rawHttp454 <= RAW_N, `raw requests added ${rawHttp454} HTTP 454s`);
      caused.http454 += rawHttp454;

      // A request line Node cannot parse is refused with "Connection: close", so that a keep-alive
      // client does not reuse the socket the server destroys (the agent above would see hang-ups).
      const unparseable = await rawCall(httpPort, Buffer.from('GET /janus/\xe9 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
      assert.match(unparseable.head, /^HTTP\/1\.1 400 /);
      assert.match(unparseable.head, /\r\nConnection: close(\r\n|$)/i);

      caused.pongs += pongs;
      t.diagnostic(`http statuses: ${JSON.stringify(statuses)}; raw: ${JSON.stringify(rawResults)}`);
      assert.deepEqual(failures.slice(0, 20), [], `${failures.length} HTTP fuzz failures`);
    } finally {
      agent.destroy();
      pollAgent.destroy();
    }
    heapCheck('after the HTTP fuzz');
  }));

  // ---- flood ------------------------------------------------------------------------------------

  test('flood: 5000 WebSocket messages over 4 sockets and 500 keep-alive HTTP requests, all answered', { timeout: 60_000 }, seeded(async (t) => {
    const r = rngFor('flood');
    const t0 = performance.now();
    const sockets = await Promise.all(Array.from({ length: 4 }, () => Client.open(wsUrl)));
    const sessions = await Promise.all(sockets.map((c) => sessionOn(c)));
    const PER_SOCKET = 1250;
    const plan = sockets.map((c, si) => {
      const ids = sessions[si];
      const want = new Map<string, string>();
      let invalid = 0;
      let missing = 0;
      for (let i = 0; i < PER_SOCKET; i++) {
        const transaction = `fl${si}-${i}`;
        const k = r();
        let body: string;
        if (k < 0.35) {
          body = JSON.stringify({ janus: 'ping', transaction });
          want.set(transaction, 'pong');
        } else if (k < 0.6) {
          body = JSON.stringify({ janus: 'message', transaction, session_id: ids.sid, handle_id: ids.hid, body: { request: 'ping' } });
          want.set(transaction, 'success');
        } else if (k < 0.75) {
          body = JSON.stringify({ janus: 'keepalive', transaction, session_id: ids.sid });
          want.set(transaction, 'ack');
        } else if (k < 0.9) {
          // Cut before the closing brace: never a complete value.
          const full = JSON.stringify({ janus: 'ping', transaction });
          body = full.slice(0, int(r, full.length - 1));
          invalid++;
        } else {
          body = JSON.stringify({ janus: 'ping' });
          missing++;
        }
        c.expected++;
        c.send(body, r() < 0.1);
      }
      return { c, want, invalid, missing };
    });
    await Promise.all(plan.map(({ c }) => c.until(() => c.replies.length >= c.expected, 15_000, () => `flood: ${c.replies.length}/${c.expected} replies`)));
    const wsMs = performance.now() - t0;
    let pongs = 0;
    for (const { c, want, invalid, missing } of plan) {
      const seen = new Map<string, number>();
      let e454 = 0;
      let e456 = 0;
      for (const m of c.replies) {
        if (typeof m.transaction === 'string' && m.transaction.startsWith('fl')) {
          seen.set(m.transaction, (seen.get(m.transaction) ?? 0) + 1);
          assert.equal(m.janus, want.get(m.transaction), `reply to ${m.transaction}: ${JSON.stringify(m)}`);
          if (m.janus === 'success') assert.deepEqual(m.plugindata?.data, { result: 'pong' });
        } else if (m.transaction === undefined) {
          if (m.error?.code === 454) e454++;
          else if (m.error?.code === 456) e456++;
          else assert.fail(`unexpected reply without transaction: ${JSON.stringify(m)}`);
        }
      }
      assert.equal(seen.size, want.size, 'every request with a transaction answered');
      for (const [tx, n] of seen) assert.equal(n, 1, `${tx} answered once`);
      assert.equal(e454, invalid);
      assert.equal(e456, missing);
      assert.equal(c.replies.length, c.expected);
      assert.deepEqual(c.bad, []);
      assert.deepEqual(c.events, [], 'no events on the flood sockets');
      caused.ws454 += invalid;
      pongs += countPongs(c.replies);
    }
    await Promise.all(sockets.map((c) => c.close()));
    heapCheck('after the WebSocket flood');

    // 500 HTTP requests at once through a keep-alive agent.
    const t1 = performance.now();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const created = JSON.parse((await httpCall(httpPort, agent, { method: 'POST', path: '/janus', body: '{"janus":"create","transaction":"hf"}' })).text);
      const sid = created.data.id;
      const attached = JSON.parse((await httpCall(httpPort, agent, { method: 'POST', path: `/janus/${sid}`, body: `{"janus":"attach","transaction":"ha","plugin":"${TEST_PLUGIN}"}` })).text);
      const hid = attached.data.id;
      const results = await Promise.all(Array.from({ length: 500 }, (_, i) => {
        const transaction = `hf${i}`;
        const k = r();
        let spec: HttpSpec;
        let want: string;
        if (k < 0.3) [spec, want] = [{ method: 'POST', path: '/janus', body: JSON.stringify({ janus: 'ping', transaction }) }, 'pong'];
        else if (k < 0.55) [spec, want] = [{ method: 'POST', path: `/janus/${sid}/${hid}`, body: JSON.stringify({ janus: 'message', transaction, body: { request: 'ping' } }) }, 'success'];
        else if (k < 0.7) [spec, want] = [{ method: 'POST', path: `/janus/${sid}`, body: JSON.stringify({ janus: 'keepalive', transaction }) }, 'ack'];
        else if (k < 0.85) [spec, want] = [{ method: 'POST', path: '/janus', body: `{"janus":"ping","transaction":"${transaction}"` }, '454'];
        else [spec, want] = [{ method: 'GET', path: '/janus/info' }, 'server_info'];
        return httpCall(httpPort, agent, spec).then((res) => ({ res, want, transaction }));
      }));
      for (const { res, want, transaction } of results) {
        assert.equal(res.status, 200, `${transaction}: ${res.status} ${res.text}`);
        const m = JSON.parse(res.text);
        if (want === '454') {
          assert.equal(m.error?.code, 454);
          caused.http454++;
        } else {
          assert.equal(m.janus, want, `${transaction}: ${res.text}`);
          if (want !== 'server_info') assert.equal(m.transaction, transaction);
          if (want === 'pong') pongs++;
        }
      }
    } finally {
      agent.destroy();
    }
    caused.pongs += pongs;
    t.diagnostic(`flood: ws ${wsMs.toFixed(0)} ms, http ${(performance.now() - t1).toFixed(0)} ms`);
    heapCheck('after the HTTP flood');
  }));

  // ---- afterwards ----------------------------------------------------------------------------

  test('afterwards: info answers, the bystander is intact, metrics count what happened, nothing logged as error', seeded(async () => {
    const agent = new http.Agent({ keepAlive: false });
    try {
      const info = await httpCall(httpPort, agent, { method: 'GET', path: '/janus/info' });
      assert.equal(info.status, 200);
      assert.equal(JSON.parse(info.text).janus, 'server_info');

      const pong = await bystander.request({ janus: 'message', session_id: bystanderIds.sid, handle_id: bystanderIds.hid, body: { request: 'ping' } });
      assert.equal(pong.janus, 'success');
      assert.deepEqual(pong.plugindata, { plugin: TEST_PLUGIN, data: { result: 'pong' } });
      clearInterval(keepalives);
      const last = await bystander.request({ janus: 'keepalive', session_id: bystanderIds.sid });
      assert.equal(last.janus, 'ack', 'the bystander session is still alive');
      await sleep(50);
      assert.deepEqual(bystander.events, [], 'the bystander got no events');
      assert.deepEqual(bystander.bad, []);
      assert.equal(bystander.closeCode, undefined);
      assert.equal(bystander.replies.length, bystander.expected, 'the bystander got exactly its own replies');
      for (const m of bystander.replies) {
        assert.ok(m.janus === 'success' || m.janus === 'ack', `bystander reply ${JSON.stringify(m)}`);
        if (m.session_id !== undefined) assert.equal(m.session_id, bystanderIds.sid);
      }
      assert.ok(server.gateway.sessionExists(bystanderIds.sid));

      const metrics = await httpCall(adminPort, agent, { method: 'GET', path: '/metrics' });
      assert.equal(metrics.status, 200);
      const value = (re: RegExp) => metricSum(metrics.text, re);
      assert.equal(value(/^portunus_transport_errors_total\{transport="janus\.transport\.websockets",code="454"\}/), caused.ws454, 'WebSocket 454s counted exactly');
      assert.equal(value(HTTP_454), caused.http454, 'HTTP 454s counted exactly');
      assert.ok(value(/^portunus_transport_errors_total\{transport="janus\.transport\.http",code="413"\}/) >= caused.http413Min, '413s counted');
      assert.equal(value(/^portunus_requests_total\{api="janus",verb="ping",code="0"\}/), caused.pongs, 'every successful ping counted once');
      assert.ok(value(/^portunus_requests_total\{api="janus",verb="unknown",code="456"\}/) > 0, 'requests without a transaction counted as 456');
      const codes = new Set([...metrics.text.matchAll(/^portunus_requests_total\{[^}]*code="(\d+)"\}/gm)].map((m) => m[1]));
      for (const code of ['0', '456', '457', '458', '459', '467']) assert.ok(codes.has(code), `requests_total has code ${code}: ${[...codes].join(',')}`);
    } finally {
      agent.destroy();
    }
    assert.deepEqual(errorLogs, [], 'nothing logged at error level');
    heapCheck('at the end');
  }));
});

// ---- unit fuzz of the JSON helpers --------------------------------------------------------------

describe('splitJsonValues and parseJson (unit fuzz)', () => {
  const isJsonWs = (c: string) => c === ' ' || c === '\n' || c === '\r' || c === '\t';

  /** The documented shape: pieces in order, separated only by JSON whitespace, all but the last closed. */
  function checkPieces(text: string, pieces: string[]): void {
    let pos = 0;
    pieces.forEach((piece, idx) => {
      while (pos < text.length && isJsonWs(text[pos])) pos++;
      assert.ok(piece.length > 0, 'no empty piece');
      assert.ok(text.startsWith(piece, pos), `piece ${idx} is the text at ${pos}`);
      if (idx < pieces.length - 1) {
        assert.ok(piece[0] === '{' || piece[0] === '[', `piece ${idx} opens an object or array`);
        assert.ok(piece.endsWith('}') || piece.endsWith(']'), `piece ${idx} is closed`);
      }
      pos += piece.length;
    });
    assert.ok([...text.slice(pos)].every(isJsonWs), 'only whitespace after the last piece');
  }

  function checkParse(text: string): void {
    const p = parseJson(text);
    let expected: unknown;
    let ok = true;
    try {
      expected = JSON.parse(text);
      ok = typeof expected === 'object' && expected !== null;
    } catch {
      ok = false;
    }
    assert.equal(p.ok, ok, `parseJson ok for ${preview(text)}`);
    if (p.ok) assert.deepEqual(p.value, expected);
    else {
      assert.equal(p.error.code, 454);
      assert.match(p.error.reason, /^JSON error: /);
    }
  }

  test('random JSON-ish text: never throws, pieces cover the text, parseJson agrees with JSON.parse on objects and arrays', seeded(() => {
    const r = rngFor('unit-split');
    let slowest = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = i % 5 === 4 ? randomBytes(r, 200).toString('utf8') : randomText(r, 200);
      const t0 = performance.now();
      const pieces = splitJsonValues(text);
      slowest = Math.max(slowest, performance.now() - t0);
      assert.ok(Array.isArray(pieces));
      checkPieces(text, pieces);
      checkParse(text);
      for (const piece of pieces) checkParse(piece);
    }
    assert.ok(slowest < 100, `slowest split took ${slowest.toFixed(1)} ms`);
  }));

  test('concatenated values split back into exactly those values; garbage ends the list', seeded(() => {
    const r = rngFor('unit-concat');
    for (let i = 0; i < 3000; i++) {
      const n = 1 + int(r, 5);
      const texts = Array.from({ length: n }, () => (r() < 0.6 ? randomJsonObject(r, 0, r() < 0.5) : `[${randomJson(r, 1)},${JSON.stringify(pick(r, TRICKY_STRINGS))}]`));
      const joined = jsonWs(r) + texts.map((s) => s + jsonWs(r)).join('');
      const pieces = splitJsonValues(joined);
      assert.deepEqual(pieces.map((p) => JSON.parse(p)), texts.map((s) => JSON.parse(s)), `split of ${preview(joined)}`);
      checkPieces(joined, pieces);
      if (n >= 2) {
        const j = 1 + int(r, n - 1);
        const withGarbage = texts.slice(0, j).join(jsonWs(r)) + jsonWs(r) + garbage(r) + texts.slice(j).join('');
        const gp = splitJsonValues(withGarbage);
        assert.equal(gp.length, j + 1, `garbage after value ${j}: ${preview(withGarbage)}`);
        assert.deepEqual(gp.slice(0, j).map((p) => JSON.parse(p)), texts.slice(0, j).map((s) => JSON.parse(s)));
        assert.equal(parseJson(gp[j]).ok, false);
        checkPieces(withGarbage, gp);
      }
    }
  }));

  test('pathological inputs are handled in linear time', () => {
    const cases: Array<[string, string, number | undefined]> = [
      ['deep open [', '['.repeat(1_000_000), 1],
      ['deep open {', '{'.repeat(1_000_000), 1],
      ['quotes', '"'.repeat(1_000_000), 1],
      ['backslashes', '\\'.repeat(1_000_000), 1],
      ['unterminated string', `{"a":"${'\\"'.repeat(300_000)}`, 1],
      ['many empty arrays', '[]'.repeat(200_000), 200_000],
      ['many objects, spaced', '{} '.repeat(200_000), 200_000],
      ['closers only', '}]'.repeat(500_000), 1],
      ['whitespace', ' \n\t\r'.repeat(250_000), 0],
      ['deep balanced', '['.repeat(500_000) + ']'.repeat(500_000), 1],
    ];
    for (const [name, text, count] of cases) {
      const t0 = performance.now();
      const pieces = splitJsonValues(text);
      const parsed = parseJson(text);
      const ms = performance.now() - t0;
      assert.ok(ms < 2000, `${name}: ${ms.toFixed(0)} ms`);
      if (count !== undefined) assert.equal(pieces.length, count, name);
      assert.equal(typeof parsed.ok, 'boolean');
    }
    assert.equal(parseJson('['.repeat(100_000) + ']'.repeat(100_000)).ok, true, 'deep nesting parses');
    const open = parseJson('['.repeat(100_000));
    assert.equal(open.ok, false);
    if (!open.ok) assert.equal(open.error.code, 454);
    for (const empty of ['', ' ', '\n\t\r ', '\u00a0', '\ufeff']) {
      const p = parseJson(empty);
      assert.equal(p.ok, false);
      if (!p.ok) assert.equal(p.error.code, 454);
    }
  });
});
