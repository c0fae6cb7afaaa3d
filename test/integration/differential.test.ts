/**
 * Differential test: the same Janus API requests go to Portunus (in-process) and to the real Janus
 * 1.1.2 (../shared/tools/reference-janus/start), over HTTP and WebSocket, and the answers must match in
 * HTTP status, `janus` verbs, error codes and key sets (never ids or reason texts).
 *
 * Every case also asserts the fact from JANUS-REFERENCE.md (section 4) it covers, on both servers.
 * PORTUNUS_DIFF_TARGETS=janus runs the cases against the reference only (to record real Janus
 * behaviour). The reference Janus is required: when it cannot start, the suite fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/log.ts';
import { loadPlugins } from '../../src/plugins/registry.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { JanusHttpClient, JanusWsClient, newTransaction, type HttpResult } from '../helpers/janus-client.ts';
import { REFERENCE_ADMIN_SECRET, startReferenceJanus, type ReferenceJanus } from '../helpers/reference-janus.ts';

const ECHOTEST = 'janus.plugin.echotest';
const TEST_PLUGIN = 'janus.plugin.portunus.test';
const ONLY_REFERENCE = process.env.PORTUNUS_DIFF_TARGETS === 'janus';

// The EchoTest cases are registered only once Portunus ships janus.plugin.echotest (found the way the
// Gateway finds plugins); until then handle-level cases use the test plugin on Portunus, which is
// enough because those checks happen in the core before any plugin sees the request.
const portunusPlugins = (await loadPlugins(loadConfig({ env: {} }).config, silentLogger())).map((p) => p.package);
const PORTUNUS_HAS_ECHOTEST = portunusPlugins.includes(ECHOTEST);

/** Keys of `server_info` Portunus may add beyond Janus's. */
const PORTUNUS_EXTRA_INFO_KEYS = new Set(['portunus-version']);

interface Target {
  name: 'janus' | 'portunus';
  http: JanusHttpClient;
  admin: JanusHttpClient;
  wsUrl: string;
  /** Plugin to attach when a case needs any live handle. */
  handlePlugin: string;
  ws?: JanusWsClient;
}

/**
 * The comparable outline of a value: objects keep their (sorted) keys, arrays their items, and
 * primitives become their type name, except a few values that are the protocol itself.
 */
const KEPT_VALUES = new Set(['janus', 'code', 'plugin']);
function shape(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => shape(v));
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, shape(obj[k], k)]));
  }
  if (KEPT_VALUES.has(key)) return value;
  return value === null ? 'null' : typeof value;
}

function httpObs(r: HttpResult): { status: number; body: unknown; empty: boolean } {
  return { status: r.status, body: shape(r.body), empty: r.text === '' };
}

/** A session id nobody created (53-bit, like Janus's). */
function unusedId(): number {
  return 1_000_000_000 + Math.floor(Math.random() * 2 ** 50);
}

const code = (reply: any): number | undefined => reply?.error?.code;

function expectError(reply: any, expected: number): void {
  assert.equal(reply?.janus, 'error', `expected error ${expected}, got ${JSON.stringify(reply)}`);
  assert.equal(code(reply), expected);
}

/** The info reply outline: top-level keys, and each registry entry's keys (names differ by design). */
function infoShape(reply: any, who: Target['name']): unknown {
  const keys = Object.keys(reply).filter((k) => !(who === 'portunus' && PORTUNUS_EXTRA_INFO_KEYS.has(k))).sort();
  const entryKeys = (group: Record<string, unknown> | undefined) =>
    [...new Set(Object.values(group ?? {}).map((e) => Object.keys(e as object).sort().join(',')))];
  return {
    janus: reply.janus,
    keys,
    transports: entryKeys(reply.transports),
    plugins: entryKeys(reply.plugins),
    dependencies: typeof reply.dependencies,
  };
}

type Obs = unknown;

/** Info replies: name the top-level keys missing from Portunus, or extra, then compare the rest. */
function compareInfo(portunus: any, janus: any): void {
  const p = portunus.info ?? portunus;
  const j = janus.info ?? janus;
  const missing = j.keys.filter((k: string) => !p.keys.includes(k));
  const extra = p.keys.filter((k: string) => !j.keys.includes(k));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'server_info keys differ from Janus');
  assert.deepEqual(portunus, janus, 'portunus differs from janus');
}

interface Case {
  name: string;
  /** Runs on one server and returns the observation to compare. */
  run: (t: Target) => Promise<Obs>;
  /** The JANUS-REFERENCE fact, asserted on each server's raw observation. */
  expect: (o: any) => void;
  /** How Portunus's observation must relate to Janus's; default: deep equality. */
  compare?: (portunus: any, janus: any) => void;
}

async function runCase(c: Case, targets: Target[]): Promise<void> {
  const observed: Array<{ who: string; o: any }> = [];
  for (const t of targets) {
    const o = await c.run(t);
    observed.push({ who: t.name, o });
    try {
      c.expect(o);
    } catch (err) {
      throw new Error(`${t.name}: ${(err as Error).message}\nobserved: ${JSON.stringify(o)}`);
    }
  }
  if (observed.length === 2) {
    const [janus, portunus] = observed;
    if (c.compare) c.compare(portunus.o, janus.o);
    else assert.deepEqual(portunus.o, janus.o, 'portunus differs from janus');
  }
}

// ---------------------------------------------------------------------------------------------------
// HTTP cases. `req` posts with a fresh transaction; returns the comparable observation.

async function req(t: Target, path: string, body: Record<string, unknown>, withTx = true) {
  return httpObs(await t.http.post(path, withTx ? { transaction: newTransaction(), ...body } : body));
}

async function httpSessionAndHandle(t: Target): Promise<[number, number]> {
  const sid = await t.http.createSession();
  return [sid, await t.http.attach(sid, t.handlePlugin)];
}

const httpCases: Case[] = [
  {
    name: 'info (GET /janus/info)',
    run: async (t) => {
      const r = await t.http.get('/info');
      return { status: r.status, info: infoShape(r.body, t.name) };
    },
    expect: (o) => {
      assert.equal(o.status, 200);
      assert.equal(o.info.janus, 'server_info');
    },
    compare: compareInfo,
  },
  {
    name: 'info (POST)',
    run: async (t) => ({ info: infoShape(await t.http.request('', { janus: 'info' }), t.name) }),
    expect: (o) => assert.equal(o.info.janus, 'server_info'),
    compare: compareInfo,
  },
  {
    name: 'ping',
    run: (t) => req(t, '', { janus: 'ping' }),
    expect: (o) => assert.equal(o.body.janus, 'pong'),
  },
  {
    name: 'create',
    run: (t) => req(t, '', { janus: 'create' }),
    expect: (o) => assert.deepEqual(o.body.data, { id: 'number' }),
  },
  {
    name: 'create with a chosen id, then the same id again (468)',
    run: async (t) => {
      const id = unusedId();
      const first = await t.http.request('', { janus: 'create', id });
      assert.equal(first.data?.id, id, 'the chosen id is used');
      return { first: shape(first), again: (await req(t, '', { janus: 'create', id })).body };
    },
    expect: (o) => {
      assert.equal(o.first.janus, 'success');
      expectError(o.again, 468);
    },
  },
  {
    name: 'attach to an unknown plugin (460)',
    run: async (t) => req(t, `/${await t.http.createSession()}`, { janus: 'attach', plugin: 'janus.plugin.nope' }),
    expect: (o) => expectError(o.body, 460),
  },
  {
    name: 'missing transaction (456)',
    run: (t) => req(t, '', { janus: 'ping' }, false),
    expect: (o) => {
      expectError(o.body, 456);
      assert.equal(o.body.transaction, undefined, 'no transaction in the reply');
    },
  },
  {
    name: 'unknown verb at the root (457)',
    run: (t) => req(t, '', { janus: 'frobnicate' }),
    expect: (o) => expectError(o.body, 457),
  },
  {
    name: 'unknown verb at a session path (453)',
    run: async (t) => req(t, `/${await t.http.createSession()}`, { janus: 'frobnicate' }),
    expect: (o) => expectError(o.body, 453),
  },
  {
    name: 'unknown verb at a handle path (453)',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      return req(t, `/${sid}/${hid}`, { janus: 'frobnicate' });
    },
    expect: (o) => expectError(o.body, 453),
  },
  {
    name: 'unknown session (458)',
    run: (t) => req(t, `/${unusedId()}`, { janus: 'keepalive' }),
    expect: (o) => expectError(o.body, 458),
  },
  {
    name: 'unknown handle (459)',
    run: async (t) => req(t, `/${await t.http.createSession()}/${unusedId()}`, { janus: 'message', body: {} }),
    expect: (o) => expectError(o.body, 459),
  },
  {
    name: 'keepalive without a session (457)',
    run: (t) => req(t, '', { janus: 'keepalive' }),
    expect: (o) => expectError(o.body, 457),
  },
  {
    name: 'keepalive with a string session id (457)',
    run: async (t) => req(t, '', { janus: 'keepalive', session_id: String(await t.http.createSession()) }),
    expect: (o) => expectError(o.body, 457),
  },
  {
    name: 'keepalive on a session (ack)',
    run: async (t) => req(t, `/${await t.http.createSession()}`, { janus: 'keepalive' }),
    expect: (o) => assert.equal(o.body.janus, 'ack'),
  },
  {
    name: 'trickle with both candidate and candidates (454)',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      return req(t, `/${sid}/${hid}`, { janus: 'trickle', candidate: { completed: true }, candidates: [] });
    },
    expect: (o) => expectError(o.body, 454),
  },
  {
    name: 'JSON array body (455 over HTTP)',
    run: async (t) => httpObs(await t.http.post('', JSON.stringify([{ janus: 'ping', transaction: 'x' }]))),
    expect: (o) => {
      assert.equal(o.status, 200);
      expectError(o.body, 455);
    },
  },
  {
    name: 'JSON null fields are present with the wrong type (467); a null jsep is 455, a null candidate is acked',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      const verbOrCode = (r: any) => (r.body?.janus === 'error' ? r.body.error.code : r.body?.janus);
      return [
        verbOrCode(httpObs(await t.http.post('', { janus: 'create', transaction: 'n1', id: null }))),
        verbOrCode(httpObs(await t.http.post(`/${sid}`, { janus: 'attach', transaction: 'n2', plugin: null }))),
        verbOrCode(httpObs(await t.http.post(`/${sid}/${hid}`, { janus: 'message', transaction: 'n3', body: null }))),
        verbOrCode(httpObs(await t.http.post(`/${sid}/${hid}`, { janus: 'message', transaction: 'n4', body: {}, jsep: null }))),
        verbOrCode(httpObs(await t.http.post(`/${sid}/${hid}`, { janus: 'message', transaction: 'n5', body: {}, jsep: 'x' }))),
        verbOrCode(httpObs(await t.http.post(`/${sid}/${hid}`, { janus: 'trickle', transaction: 'n6', candidate: null }))),
        verbOrCode(httpObs(await t.http.post('', { janus: 'ping', transaction: null }))),
        verbOrCode(httpObs(await t.http.post('', { janus: null, transaction: 'n8' }))),
      ];
    },
    expect: (o) => assert.deepEqual(o, [467, 467, 467, 455, 455, 'ack', 467, 467]),
  },
  {
    name: 'a JSON scalar body (454: only objects and arrays are JSON texts for Janus)',
    run: async (t) => {
      const replies = [];
      for (const body of ['null', '"x"', '123', ' ']) replies.push(httpObs(await t.http.post('', body)));
      return replies;
    },
    expect: (o) => {
      for (const r of o) {
        assert.equal(r.status, 200);
        expectError(r.body, 454);
      }
    },
  },
  {
    name: 'invalid JSON (454)',
    run: async (t) => httpObs(await t.http.post('', '{"janus":')),
    expect: (o) => {
      assert.equal(o.status, 200);
      expectError(o.body, 454);
    },
  },
  {
    name: 'message without body (456)',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      return req(t, `/${sid}/${hid}`, { janus: 'message' });
    },
    expect: (o) => expectError(o.body, 456),
  },
  {
    name: 'message with a body that is not an object (467)',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      return req(t, `/${sid}/${hid}`, { janus: 'message', body: 'hello' });
    },
    expect: (o) => expectError(o.body, 467),
  },
  {
    name: 'jsep with an unknown type (464)',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      return req(t, `/${sid}/${hid}`, { janus: 'message', body: {}, jsep: { type: 'bogus', sdp: 'v=0\r\n' } });
    },
    expect: (o) => expectError(o.body, 464),
  },
  {
    name: 'hangup on a handle without a PeerConnection (success)',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      return req(t, `/${sid}/${hid}`, { janus: 'hangup' });
    },
    expect: (o) => assert.equal(o.body.janus, 'success'),
  },
  {
    name: 'trickle completed (ack)',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      return req(t, `/${sid}/${hid}`, { janus: 'trickle', candidate: { completed: true } });
    },
    expect: (o) => assert.equal(o.body.janus, 'ack'),
  },
  {
    name: 'detach, then the detached event on the long poll',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      const reply = await req(t, `/${sid}/${hid}`, { janus: 'detach' });
      // Janus's EchoTest sometimes pushes {"result":"done"} as it hangs up on detach: skip plugin events.
      let poll = await t.http.poll(sid);
      while (poll.body?.janus === 'event') poll = await t.http.poll(sid);
      return { reply, event: httpObs(poll) };
    },
    expect: (o) => {
      assert.equal(o.reply.body.janus, 'success');
      assert.equal(o.event.body.janus, 'detached');
    },
  },
  {
    name: 'long poll with maxev > 1 returns an array',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      await t.http.request(`/${sid}/${hid}`, { janus: 'detach' });
      // As above: drop the plugin event EchoTest may push on detach (and poll again if that was all).
      for (;;) {
        const r = await t.http.poll(sid, 5);
        if (!Array.isArray(r.body)) return httpObs(r);
        r.body = r.body.filter((m: { janus?: string }) => m.janus !== 'event');
        if (r.body.length > 0) return httpObs(r);
      }
    },
    expect: (o) => {
      assert.ok(Array.isArray(o.body));
      assert.equal(o.body[0].janus, 'detached');
    },
  },
  {
    name: 'destroy, then the session is gone (458)',
    run: async (t) => {
      const sid = await t.http.createSession();
      return { destroy: await req(t, `/${sid}`, { janus: 'destroy' }), after: await req(t, `/${sid}`, { janus: 'keepalive' }) };
    },
    expect: (o) => {
      assert.equal(o.destroy.body.janus, 'success');
      expectError(o.after.body, 458);
    },
  },
  {
    name: 'long poll on an unknown session (HTTP 404, empty body)',
    run: async (t) => httpObs(await t.http.poll(unusedId())),
    expect: (o) => assert.deepEqual(o, { status: 404, body: 'undefined', empty: true }),
  },
  {
    name: 'POST /janus/info (HTTP 400)',
    run: async (t) => ({ status: (await t.http.post('/info', { janus: 'info', transaction: 'x' })).status }),
    expect: (o) => assert.equal(o.status, 400),
  },
  {
    name: 'GET on a handle path (302 to the session path)',
    run: async (t) => {
      const [sid, hid] = await httpSessionAndHandle(t);
      const r = await t.http.get(`/${sid}/${hid}`);
      return { status: r.status, location: r.headers.get('location')?.replace(String(sid), '<sid>') };
    },
    expect: (o) => assert.deepEqual(o, { status: 302, location: '/janus/<sid>' }),
  },
  {
    name: 'admin request sent to the Janus API (457)',
    run: (t) => req(t, '', { janus: 'list_sessions', admin_secret: REFERENCE_ADMIN_SECRET }),
    expect: (o) => expectError(o.body, 457),
  },
  {
    name: 'admin info without a secret',
    run: async (t) => {
      const r = await t.admin.post('', { janus: 'info', transaction: newTransaction() });
      return { status: r.status, info: infoShape(r.body, t.name) };
    },
    expect: (o) => assert.equal(o.info.janus, 'server_info'),
    compare: compareInfo,
  },
  {
    name: 'admin ping without a secret',
    run: async (t) => httpObs(await t.admin.post('', { janus: 'ping', transaction: newTransaction() })),
    expect: (o) => assert.equal(o.body.janus, 'pong'),
  },
  {
    name: 'admin request with a wrong secret (403)',
    run: async (t) => httpObs(await t.admin.post('', { janus: 'list_sessions', transaction: newTransaction(), admin_secret: 'wrong' })),
    expect: (o) => expectError(o.body, 403),
  },
  {
    name: 'admin request without a secret (403)',
    run: async (t) => httpObs(await t.admin.post('', { janus: 'list_sessions', transaction: newTransaction() })),
    expect: (o) => expectError(o.body, 403),
  },
  {
    name: 'admin list_sessions with the right secret',
    run: async (t) =>
      httpObs(await t.admin.post('', { janus: 'list_sessions', transaction: newTransaction(), admin_secret: REFERENCE_ADMIN_SECRET })),
    expect: (o) => {
      assert.equal(o.body.janus, 'success');
      assert.ok(Array.isArray(o.body.sessions));
    },
  },
];

// ---------------------------------------------------------------------------------------------------
// WebSocket cases, on one connection per server (cases run one after another).

function ws(t: Target): JanusWsClient {
  if (!t.ws) throw new Error(`${t.name}: no WebSocket connection`);
  return t.ws;
}

async function wreq(t: Target, body: Record<string, unknown>): Promise<unknown> {
  return shape(await ws(t).request(body));
}

async function wsSessionAndHandle(t: Target): Promise<[number, number]> {
  const sid = await ws(t).createSession();
  return [sid, await ws(t).attach(sid, t.handlePlugin)];
}

const wsCases: Case[] = [
  {
    name: 'info',
    run: async (t) => infoShape(await ws(t).request({ janus: 'info' }), t.name),
    expect: (o) => assert.equal(o.janus, 'server_info'),
    compare: compareInfo,
  },
  { name: 'ping', run: (t) => wreq(t, { janus: 'ping' }), expect: (o) => assert.equal(o.janus, 'pong') },
  { name: 'create', run: (t) => wreq(t, { janus: 'create' }), expect: (o) => assert.deepEqual(o.data, { id: 'number' }) },
  {
    name: 'create with a chosen id, then the same id again (468)',
    run: async (t) => {
      const id = unusedId();
      const first = await ws(t).request({ janus: 'create', id });
      assert.equal(first.data?.id, id, 'the chosen id is used');
      return { first: shape(first), again: await wreq(t, { janus: 'create', id }) };
    },
    expect: (o) => {
      assert.equal(o.first.janus, 'success');
      expectError(o.again, 468);
    },
  },
  {
    name: 'attach to an unknown plugin (460)',
    run: async (t) => wreq(t, { janus: 'attach', session_id: await ws(t).createSession(), plugin: 'janus.plugin.nope' }),
    expect: (o) => expectError(o, 460),
  },
  {
    name: 'missing transaction (456)',
    run: async (t) => shape(await ws(t).sendRawAndWait(JSON.stringify({ janus: 'ping' }))),
    expect: (o) => {
      expectError(o, 456);
      assert.equal(o.transaction, undefined);
    },
  },
  { name: 'unknown verb at the root (457)', run: (t) => wreq(t, { janus: 'frobnicate' }), expect: (o) => expectError(o, 457) },
  {
    name: 'unknown verb at session level (453)',
    run: async (t) => wreq(t, { janus: 'frobnicate', session_id: await ws(t).createSession() }),
    expect: (o) => expectError(o, 453),
  },
  {
    name: 'unknown verb at handle level (453)',
    run: async (t) => {
      const [sid, hid] = await wsSessionAndHandle(t);
      return wreq(t, { janus: 'frobnicate', session_id: sid, handle_id: hid });
    },
    expect: (o) => expectError(o, 453),
  },
  {
    name: 'unknown session (458)',
    run: (t) => wreq(t, { janus: 'keepalive', session_id: unusedId() }),
    expect: (o) => expectError(o, 458),
  },
  {
    name: 'unknown handle (459)',
    run: async (t) => wreq(t, { janus: 'message', session_id: await ws(t).createSession(), handle_id: unusedId(), body: {} }),
    expect: (o) => expectError(o, 459),
  },
  { name: 'keepalive without a session (457)', run: (t) => wreq(t, { janus: 'keepalive' }), expect: (o) => expectError(o, 457) },
  {
    name: 'keepalive with a string session id (457)',
    run: async (t) => wreq(t, { janus: 'keepalive', session_id: String(await ws(t).createSession()) }),
    expect: (o) => expectError(o, 457),
  },
  {
    name: 'keepalive on a session (ack)',
    run: async (t) => wreq(t, { janus: 'keepalive', session_id: await ws(t).createSession() }),
    expect: (o) => assert.equal(o.janus, 'ack'),
  },
  {
    name: 'trickle with both candidate and candidates (454)',
    run: async (t) => {
      const [sid, hid] = await wsSessionAndHandle(t);
      return wreq(t, { janus: 'trickle', session_id: sid, handle_id: hid, candidate: { completed: true }, candidates: [] });
    },
    expect: (o) => expectError(o, 454),
  },
  {
    name: 'JSON array message (456 over WebSocket)',
    run: async (t) => shape(await ws(t).sendRawAndWait(JSON.stringify([{ janus: 'ping', transaction: 'x' }]))),
    expect: (o) => expectError(o, 456),
  },
  {
    name: 'a JSON scalar message (454)',
    run: async (t) => shape(await ws(t).sendRawAndWait('123')),
    expect: (o) => expectError(o, 454),
  },
  {
    name: 'invalid JSON (454)',
    run: async (t) => shape(await ws(t).sendRawAndWait('{"janus":')),
    expect: (o) => expectError(o, 454),
  },
  {
    name: 'message without body (456)',
    run: async (t) => {
      const [sid, hid] = await wsSessionAndHandle(t);
      return wreq(t, { janus: 'message', session_id: sid, handle_id: hid });
    },
    expect: (o) => expectError(o, 456),
  },
  {
    name: 'message with a body that is not an object (467)',
    run: async (t) => {
      const [sid, hid] = await wsSessionAndHandle(t);
      return wreq(t, { janus: 'message', session_id: sid, handle_id: hid, body: ['x'] });
    },
    expect: (o) => expectError(o, 467),
  },
  {
    name: 'jsep with an unknown type (464)',
    run: async (t) => {
      const [sid, hid] = await wsSessionAndHandle(t);
      return wreq(t, { janus: 'message', session_id: sid, handle_id: hid, body: {}, jsep: { type: 'bogus', sdp: 'v=0\r\n' } });
    },
    expect: (o) => expectError(o, 464),
  },
  {
    name: 'hangup on a handle without a PeerConnection (success)',
    run: async (t) => {
      const [sid, hid] = await wsSessionAndHandle(t);
      return wreq(t, { janus: 'hangup', session_id: sid, handle_id: hid });
    },
    expect: (o) => assert.equal(o.janus, 'success'),
  },
  {
    name: 'trickle completed (ack)',
    run: async (t) => {
      const [sid, hid] = await wsSessionAndHandle(t);
      return wreq(t, { janus: 'trickle', session_id: sid, handle_id: hid, candidate: { completed: true } });
    },
    expect: (o) => assert.equal(o.janus, 'ack'),
  },
  {
    name: 'detach, then the detached event',
    run: async (t) => {
      const [sid, hid] = await wsSessionAndHandle(t);
      const reply = await wreq(t, { janus: 'detach', session_id: sid, handle_id: hid });
      const event = await ws(t).waitFor((m) => m.janus === 'detached' && m.sender === hid);
      return { reply, event: shape(event) };
    },
    expect: (o) => {
      assert.equal(o.reply.janus, 'success');
      assert.equal(o.event.janus, 'detached');
    },
  },
  {
    name: 'destroy, then the session is gone (458)',
    run: async (t) => {
      const sid = await ws(t).createSession();
      return { destroy: await wreq(t, { janus: 'destroy', session_id: sid }), after: await wreq(t, { janus: 'keepalive', session_id: sid }) };
    },
    expect: (o) => {
      assert.equal(o.destroy.janus, 'success');
      expectError(o.after, 458);
    },
  },
  {
    name: 'admin request sent to the Janus API (457)',
    run: (t) => wreq(t, { janus: 'list_sessions', admin_secret: REFERENCE_ADMIN_SECRET }),
    expect: (o) => expectError(o, 457),
  },
];

// EchoTest on both servers: registered only when Portunus has the plugin (see PORTUNUS_HAS_ECHOTEST).
const echoHttpCases: Case[] = [
  {
    name: 'echotest: attach, message (ack, then the event on the long poll), detach',
    run: async (t) => {
      const sid = await t.http.createSession();
      const attach = await t.http.request(`/${sid}`, { janus: 'attach', plugin: ECHOTEST });
      const hid = attach.data.id as number;
      const message = await req(t, `/${sid}/${hid}`, { janus: 'message', body: { audio: true } });
      const event = httpObs(await t.http.poll(sid));
      const detach = await req(t, `/${sid}/${hid}`, { janus: 'detach' });
      return { attach: shape(attach), message, event, detach };
    },
    expect: (o) => {
      assert.equal(o.attach.janus, 'success');
      assert.equal(o.message.body.janus, 'ack');
      assert.equal(o.event.body.janus, 'event');
      assert.equal(o.event.body.plugindata.plugin, ECHOTEST);
      assert.equal(o.detach.body.janus, 'success');
    },
  },
];
const echoWsCases: Case[] = [
  {
    name: 'echotest: attach, message (ack and event in either order), detach',
    run: async (t) => {
      const c = ws(t);
      const sid = await c.createSession();
      const attach = await c.request({ janus: 'attach', session_id: sid, plugin: ECHOTEST });
      const hid = attach.data.id as number;
      const transaction = newTransaction();
      const ack = await c.request({ janus: 'message', session_id: sid, handle_id: hid, body: { audio: true }, transaction });
      const event = await c.waitFor((m) => m.janus === 'event' && m.transaction === transaction);
      const detach = await wreq(t, { janus: 'detach', session_id: sid, handle_id: hid });
      return { attach: shape(attach), ack: shape(ack), event: shape(event), detach };
    },
    expect: (o) => {
      assert.equal(o.ack.janus, 'ack');
      assert.equal(o.event.plugindata.plugin, ECHOTEST);
      assert.equal(o.detach.janus, 'success');
    },
  },
];

// ---------------------------------------------------------------------------------------------------

let reference: ReferenceJanus | undefined;
let portunus: RunningServer | undefined;
const targets: Target[] = [];

before(async () => {
  reference = await startReferenceJanus();
  targets.push({
    name: 'janus',
    http: new JanusHttpClient(reference.httpUrl),
    admin: new JanusHttpClient(reference.adminUrl),
    wsUrl: reference.wsUrl,
    handlePlugin: ECHOTEST,
  });
  if (ONLY_REFERENCE) return;
  const { config } = loadConfig({
    env: {},
    cliOverrides: {
      'general.admin_secret': REFERENCE_ADMIN_SECRET,
      'http.ip': '127.0.0.1',
      'http.port': '0',
      'http.admin_http': 'true',
      'http.admin_ip': '127.0.0.1',
      'http.admin_port': '0',
      'websockets.ws_ip': '127.0.0.1',
      'websockets.ws_port': '0',
    },
  });
  portunus = await startServer(config, { logger: silentLogger() });
  const { http, adminHttp, ws: wsPort } = portunus.ports;
  assert.ok(http && adminHttp && wsPort, `Portunus listeners: ${JSON.stringify(portunus.ports)}`);
  targets.push({
    name: 'portunus',
    http: new JanusHttpClient(`http://127.0.0.1:${http}${config.http.base_path}`),
    admin: new JanusHttpClient(`http://127.0.0.1:${adminHttp}${config.http.admin_base_path}`),
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    handlePlugin: PORTUNUS_HAS_ECHOTEST ? ECHOTEST : TEST_PLUGIN,
  });
});

after(async () => {
  await Promise.allSettled(targets.map((t) => t.ws?.close()));
  await portunus?.close();
  await reference?.stop();
});

describe('differential over HTTP (Portunus vs Janus 1.1.2)', () => {
  for (const c of httpCases) it(c.name, () => runCase(c, targets));
  if (PORTUNUS_HAS_ECHOTEST || ONLY_REFERENCE) for (const c of echoHttpCases) it(c.name, () => runCase(c, targets));
});

describe('differential over WebSocket (Portunus vs Janus 1.1.2)', () => {
  before(async () => {
    for (const t of targets) t.ws = await JanusWsClient.connect(t.wsUrl);
  });
  for (const c of wsCases) it(c.name, () => runCase(c, targets));
  if (PORTUNUS_HAS_ECHOTEST || ONLY_REFERENCE) for (const c of echoWsCases) it(c.name, () => runCase(c, targets));
});

