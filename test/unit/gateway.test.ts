/** The Janus API core: every verb, every error code the core produces, timeouts, reclaim, auth. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CoreClient, RecordingConnection, startGateway, errorCode, txn, VALID_SDP } from '../helpers/core.ts';
import { signToken } from '../../src/core/auth.ts';

describe('core verbs', () => {
  test('info and ping at the root', async () => {
    const { gw } = await startGateway();
    const c = new CoreClient(gw);
    const info = await c.req({ janus: 'info' });
    assert.equal(info.janus, 'server_info');
    assert.ok((info.plugins as Record<string, unknown>)['janus.plugin.portunus.test']);
    assert.equal(typeof info.version, 'number');
    const pong = await c.req({ janus: 'ping' });
    assert.equal(pong.janus, 'pong');
    assert.ok(typeof pong.transaction === 'string');
    await gw.stop();
  });

  test('create, attach, sync and async messages, detach, destroy', async () => {
    const { gw, plugin } = await startGateway();
    const conn = new RecordingConnection();
    const c = new CoreClient(gw, conn);
    const sid = await c.createSession();
    assert.ok(Number.isSafeInteger(sid) && sid > 0 && sid < 2 ** 53);
    const hid = await c.attach(sid, undefined, { opaque_id: 'abc' });
    assert.ok(Number.isSafeInteger(hid) && hid > 0);
    assert.equal(plugin.sessions.size, 1);

    const sync = await c.req({ janus: 'message', session_id: sid, handle_id: hid, body: { request: 'ping' } });
    assert.equal(sync.janus, 'success');
    assert.equal(sync.sender, hid);
    assert.deepEqual(sync.plugindata, { plugin: 'janus.plugin.portunus.test', data: { result: 'pong' } });

    const t = txn();
    const ack = await gw.handleRequest(conn, { janus: 'message', transaction: t, session_id: sid, handle_id: hid, body: { request: 'async' } });
    assert.equal(ack.janus, 'ack');
    const ev = await conn.waitFor((e) => e.janus === 'event' && e.transaction === t);
    assert.equal(ev.session_id, sid);
    assert.equal(ev.sender, hid);
    assert.deepEqual((ev.plugindata as { data: unknown }).data, { result: 'async-done' });

    const ka = await c.req({ janus: 'keepalive', session_id: sid });
    assert.equal(ka.janus, 'ack');

    const hang = await c.req({ janus: 'hangup', session_id: sid, handle_id: hid });
    assert.equal(hang.janus, 'success');

    const det = await c.req({ janus: 'detach', session_id: sid, handle_id: hid });
    assert.equal(det.janus, 'success');
    const detached = await conn.waitFor((e) => e.janus === 'detached');
    assert.equal(detached.sender, hid);
    assert.equal(plugin.sessions.size, 0);
    assert.equal(errorCode(await c.req({ janus: 'message', session_id: sid, handle_id: hid, body: {} })), 459);

    const des = await c.req({ janus: 'destroy', session_id: sid });
    assert.equal(des.janus, 'success');
    assert.deepEqual(conn.over, [{ sessionId: sid, reason: 'destroyed' }]);
    assert.equal(errorCode(await c.req({ janus: 'keepalive', session_id: sid })), 458);
    await gw.stop();
  });

  test('create with a chosen id, and 468 when it is taken', async () => {
    const { gw } = await startGateway();
    const c = new CoreClient(gw);
    assert.equal(await c.createSession({ id: 4242 }), 4242);
    const dup = await c.req({ janus: 'create', id: 4242 });
    assert.equal(errorCode(dup), 468);
    assert.equal(errorCode(await c.req({ janus: 'create', id: 'x' })), 467);
    await gw.stop();
  });

  test('trickle: candidate, candidates, completed; both is 454, neither 456', async () => {
    const { gw } = await startGateway();
    const c = new CoreClient(gw);
    const sid = await c.createSession();
    const hid = await c.attach(sid);
    const cand = { sdpMid: '0', sdpMLineIndex: 0, candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' };
    assert.equal((await c.req({ janus: 'trickle', session_id: sid, handle_id: hid, candidate: cand })).janus, 'ack');
    assert.equal((await c.req({ janus: 'trickle', session_id: sid, handle_id: hid, candidates: [cand, cand] })).janus, 'ack');
    assert.equal((await c.req({ janus: 'trickle', session_id: sid, handle_id: hid, candidate: { completed: true } })).janus, 'ack');
    assert.equal(gw.sessions.get(sid)!.handles.get(hid)!.remoteCandidates.length, 3);
    assert.equal(errorCode(await c.req({ janus: 'trickle', session_id: sid, handle_id: hid, candidate: cand, candidates: [] })), 454);
    assert.equal(errorCode(await c.req({ janus: 'trickle', session_id: sid, handle_id: hid })), 456);
    assert.equal(errorCode(await c.req({ janus: 'trickle', session_id: sid, handle_id: hid, candidate: 'x' })), 467);
    await gw.stop();
  });
});

describe('error codes', () => {
  test('envelope and path errors: 455, 456, 457, 453, 458, 459, 460, 467', async () => {
    const { gw } = await startGateway();
    const ws = new RecordingConnection('ws');
    const http = new RecordingConnection('http');
    const c = new CoreClient(gw, ws);
    // JSON array: 455 over HTTP, 456 over WebSocket (JANUS-REFERENCE 4).
    assert.equal(errorCode(await gw.handleRequest(http, [1, 2])), 455);
    assert.equal(errorCode(await gw.handleRequest(ws, [1, 2])), 456);
    const noTx = await gw.handleRequest(ws, { janus: 'info' });
    assert.equal(errorCode(noTx), 456);
    assert.equal(noTx.transaction, undefined);
    assert.equal(errorCode(await gw.handleRequest(ws, { transaction: 5, janus: 'info' })), 467);
    const noVerb = await gw.handleRequest(ws, { transaction: 'abc' });
    assert.equal(errorCode(noVerb), 456);
    assert.equal(noVerb.transaction, 'abc');
    assert.equal(errorCode(await c.req({ janus: 'nonsense' })), 457);
    assert.equal(errorCode(await c.req({ janus: 'keepalive' })), 457);
    assert.equal(errorCode(await c.req({ janus: 'keepalive', session_id: 'abc' })), 457);
    assert.equal(errorCode(await c.req({ janus: 'keepalive', session_id: 12345 })), 458);
    const sid = await c.createSession();
    const unknownAtSession = await c.req({ janus: 'nonsense', session_id: sid });
    assert.equal(errorCode(unknownAtSession), 453);
    assert.equal(unknownAtSession.session_id, sid);
    assert.equal(errorCode(await c.req({ janus: 'message', session_id: sid, body: {} })), 457);
    assert.equal(errorCode(await c.req({ janus: 'attach', session_id: sid })), 456);
    assert.equal(errorCode(await c.req({ janus: 'attach', session_id: sid, plugin: 7 })), 467);
    assert.equal(errorCode(await c.req({ janus: 'attach', session_id: sid, plugin: 'janus.plugin.none' })), 460);
    assert.equal(errorCode(await c.req({ janus: 'detach', session_id: sid, handle_id: 99 })), 459);
    const hid = await c.attach(sid);
    assert.equal(errorCode(await c.req({ janus: 'attach', session_id: sid, handle_id: hid, plugin: 'x' })), 457);
    assert.equal(errorCode(await c.req({ janus: 'nonsense', session_id: sid, handle_id: hid })), 453);
    // Admin verbs on the Janus API are not at home here.
    assert.equal(errorCode(await c.req({ janus: 'list_sessions' })), 457);
    await gw.stop();
  });

  test('message errors: 456 no body, 467 body type, 464 jsep type, 465 bad sdp, 469 answer without offer, 462 plugin error', async () => {
    const { gw } = await startGateway();
    const conn = new RecordingConnection();
    const c = new CoreClient(gw, conn);
    const sid = await c.createSession();
    const hid = await c.attach(sid);
    const m = (extra: Record<string, unknown>) => c.req({ janus: 'message', session_id: sid, handle_id: hid, ...extra });
    assert.equal(errorCode(await m({})), 456);
    assert.equal(errorCode(await m({ body: 'x' })), 467);
    assert.equal(errorCode(await m({ body: {}, jsep: { type: 'pranswer', sdp: VALID_SDP } })), 464);
    assert.equal(errorCode(await m({ body: {}, jsep: { type: 'offer', sdp: 'garbage' } })), 465);
    assert.equal(errorCode(await m({ body: {}, jsep: { type: 'offer' } })), 456);
    assert.equal(errorCode(await m({ body: {}, jsep: { type: 'answer', sdp: VALID_SDP } })), 469);
    assert.equal(errorCode(await m({ body: { request: 'fail' } })), 462);
    assert.equal(errorCode(await m({ body: { request: 'throw' } })), 462);
    // An offer from the plugin makes the client's answer welcome.
    const ack = await m({ body: { request: 'offer' } });
    assert.equal(ack.janus, 'ack');
    const ev = await conn.waitFor((e) => e.janus === 'event' && (e.jsep as { type?: string } | undefined)?.type === 'offer');
    assert.ok(ev);
    assert.equal((await m({ body: { request: 'ping' }, jsep: { type: 'answer', sdp: VALID_SDP } })).janus, 'success');
    assert.equal(errorCode(await m({ body: {}, jsep: { type: 'answer', sdp: VALID_SDP } })), 469);
    await gw.stop();
  });
});

describe('sessions: timeout, reclaim, claim, drain', () => {
  test('session_timeout reaps an idle session with a timeout event; keepalive keeps it', async () => {
    const { gw, plugin } = await startGateway((c) => { c.general.session_timeout = 1; });
    const conn = new RecordingConnection();
    const c = new CoreClient(gw, conn);
    const idle = await c.createSession();
    const kept = await c.createSession();
    await c.attach(idle);
    await new Promise((r) => setTimeout(r, 600));
    await c.req({ janus: 'keepalive', session_id: kept });
    await new Promise((r) => setTimeout(r, 500));
    gw.reapNow();
    const ev = await conn.waitFor((e) => e.janus === 'timeout');
    assert.equal(ev.session_id, idle);
    assert.ok(!gw.sessionExists(idle));
    assert.ok(gw.sessionExists(kept));
    assert.equal(plugin.sessions.size, 0);
    assert.ok(conn.over.some((o) => o.sessionId === idle && o.reason === 'timeout'));
    await gw.stop();
  });

  test('transport loss destroys sessions when reclaim is off', async () => {
    const { gw } = await startGateway();
    const conn = new RecordingConnection();
    const c = new CoreClient(gw, conn);
    const sid = await c.createSession();
    gw.transportGone(conn);
    assert.ok(!gw.sessionExists(sid));
  });

  test('reclaim: a new connection claims the session within reclaim_session_timeout and gets its events', async () => {
    const { gw } = await startGateway((c) => { c.general.reclaim_session_timeout = 1; c.general.session_timeout = 0; });
    const first = new RecordingConnection();
    const c1 = new CoreClient(gw, first);
    const sid = await c1.createSession();
    const hid = await c1.attach(sid);
    const lost = await c1.createSession();
    gw.transportGone(first);
    assert.ok(gw.sessionExists(sid));
    const second = new RecordingConnection();
    const c2 = new CoreClient(gw, second);
    assert.equal((await c2.req({ janus: 'claim', session_id: sid })).janus, 'success');
    const t = txn();
    await gw.handleRequest(second, { janus: 'message', transaction: t, session_id: sid, handle_id: hid, body: { request: 'async' } });
    await second.waitFor((e) => e.transaction === t);
    assert.equal(first.events.filter((e) => e.janus === 'event').length, 0);
    // The unclaimed one goes after the window, measured from transport loss.
    await new Promise((r) => setTimeout(r, 1100));
    gw.reapNow();
    assert.ok(!gw.sessionExists(lost));
    assert.ok(gw.sessionExists(sid));
    await gw.stop();
  });

  test('claim from a live connection moves events and tells the old owner', async () => {
    const { gw } = await startGateway();
    const a = new RecordingConnection();
    const b = new RecordingConnection();
    const sid = await new CoreClient(gw, a).createSession();
    await new CoreClient(gw, b).req({ janus: 'claim', session_id: sid });
    assert.deepEqual(a.over, [{ sessionId: sid, reason: 'claimed' }]);
    await gw.stop();
  });

  test('accept_new_sessions false answers create with 472', async () => {
    const { gw } = await startGateway((c) => { c.general.accept_new_sessions = false; });
    const c = new CoreClient(gw);
    assert.equal(errorCode(await c.req({ janus: 'create' })), 472);
    await gw.stop();
  });
});

describe('auth', () => {
  test('api_secret: 403 without or with a wrong one, for create and session requests', async () => {
    const { gw } = await startGateway((c) => { c.general.api_secret = 's3cret'; });
    const c = new CoreClient(gw);
    assert.equal(errorCode(await c.req({ janus: 'create' })), 403);
    assert.equal(errorCode(await c.req({ janus: 'create', apisecret: 's3cre' })), 403);
    assert.equal(errorCode(await c.req({ janus: 'create', apisecret: 's3cret!' })), 403);
    const sid = await c.createSession({ apisecret: 's3cret' });
    assert.equal(errorCode(await c.req({ janus: 'keepalive', session_id: sid })), 403);
    assert.equal((await c.req({ janus: 'keepalive', session_id: sid, apisecret: 's3cret' })).janus, 'ack');
    // info and ping need no secret.
    assert.equal((await c.req({ janus: 'info' })).janus, 'server_info');
    assert.equal((await c.req({ janus: 'ping' })).janus, 'pong');
    await gw.stop();
  });

  test('stored tokens via the Admin API, scoped to plugins (405), 470 for unknown tokens', async () => {
    const { gw } = await startGateway((c) => { c.general.token_auth = true; c.general.admin_secret = 'adm'; });
    const c = new CoreClient(gw);
    const a = (b: Record<string, unknown>) => c.admin({ admin_secret: 'adm', ...b });
    assert.equal(errorCode(await c.req({ janus: 'create', token: 'tok' })), 403);
    // Without `plugins` a token may use every plugin.
    assert.deepEqual((await a({ janus: 'add_token', token: 'tok' })).data, { plugins: ['janus.plugin.portunus.test'] });
    assert.deepEqual((await a({ janus: 'add_token', token: 'none', plugins: [] })).data, { plugins: [] });
    const sid = await c.createSession({ token: 'tok' });
    assert.ok(await c.attach(sid, undefined, { token: 'tok' }));
    // A valid token that does not allow the plugin: 405.
    const sid2 = await c.createSession({ token: 'none' });
    assert.equal(errorCode(await c.req({ janus: 'attach', session_id: sid2, plugin: 'janus.plugin.portunus.test', token: 'none' })), 405);
    assert.deepEqual((await a({ janus: 'allow_token', token: 'none', plugins: ['janus.plugin.portunus.test'] })).data, { plugins: ['janus.plugin.portunus.test'] });
    assert.ok(await c.attach(sid2, undefined, { token: 'none' }));
    assert.deepEqual((await a({ janus: 'disallow_token', token: 'none', plugins: ['janus.plugin.portunus.test'] })).data, { plugins: [] });
    assert.equal(errorCode(await c.req({ janus: 'attach', session_id: sid2, plugin: 'janus.plugin.portunus.test', token: 'none' })), 405);
    const list = await a({ janus: 'list_tokens' });
    assert.deepEqual((list.data as { tokens: unknown[] }).tokens, [
      { token: 'tok', allowed_plugins: ['janus.plugin.portunus.test'] },
      { token: 'none', allowed_plugins: [] },
    ]);
    assert.equal(errorCode(await a({ janus: 'allow_token', token: 'nope', plugins: [] })), 470);
    assert.equal(errorCode(await a({ janus: 'add_token', token: 'x', plugins: ['janus.plugin.none'] })), 467);
    assert.equal((await a({ janus: 'remove_token', token: 'tok' })).janus, 'success');
    assert.equal(errorCode(await a({ janus: 'remove_token', token: 'tok' })), 470);
    assert.equal(errorCode(await c.req({ janus: 'create', token: 'tok' })), 403);
    assert.equal(errorCode(await c.req({ janus: 'keepalive', session_id: sid, token: 'tok' })), 403);
    await gw.stop();
  });

  test('signed tokens (token_auth_secret): valid, expired, wrong plugin', async () => {
    const secret = 'signing-key';
    const { gw } = await startGateway((c) => { c.general.token_auth = true; c.general.token_auth_secret = secret; });
    const c = new CoreClient(gw);
    const good = signToken(secret, Date.now() / 1000 + 60, ['janus.plugin.portunus.test']);
    const otherPlugin = signToken(secret, Date.now() / 1000 + 60, ['janus.plugin.echotest']);
    const expired = signToken(secret, Date.now() / 1000 - 1, ['janus.plugin.portunus.test']);
    const forged = good.replace(/:.*/, ':AAAA');
    assert.equal(errorCode(await c.req({ janus: 'create', token: expired })), 403);
    assert.equal(errorCode(await c.req({ janus: 'create', token: forged })), 403);
    const sid = await c.createSession({ token: good });
    assert.ok(await c.attach(sid, undefined, { token: good }));
    assert.equal(errorCode(await c.req({ janus: 'attach', session_id: sid, plugin: 'janus.plugin.portunus.test', token: otherPlugin })), 405);
    // Stored-token management is off with signed tokens.
    assert.equal(errorCode(await c.admin({ janus: 'list_tokens', admin_secret: 'janusoverlord' })), 490);
    await gw.stop();
  });
});

describe('admin API', () => {
  test('secret, info/ping without it, sessions, handles, handle_info, destroy/detach/hangup, settings, message_plugin', async () => {
    const { gw } = await startGateway((c) => { c.general.admin_secret = 'adm'; });
    const conn = new RecordingConnection();
    const c = new CoreClient(gw, conn);
    assert.equal((await c.admin({ janus: 'info' })).janus, 'server_info');
    assert.equal((await c.admin({ janus: 'ping' })).janus, 'pong');
    assert.equal(errorCode(await c.admin({ janus: 'list_sessions' })), 403);
    assert.equal(errorCode(await c.admin({ janus: 'list_sessions', admin_secret: 'wrong' })), 403);
    const a = (b: Record<string, unknown>) => c.admin({ admin_secret: 'adm', ...b });
    const s1 = await c.createSession();
    const s2 = await c.createSession();
    const h1 = await c.attach(s1, undefined, { opaque_id: 'op' });
    const h2 = await c.attach(s1);
    assert.deepEqual(new Set((await a({ janus: 'list_sessions' })).sessions as number[]), new Set([s1, s2]));
    assert.deepEqual(new Set((await a({ janus: 'list_handles', session_id: s1 })).handles as number[]), new Set([h1, h2]));
    const info = await a({ janus: 'handle_info', session_id: s1, handle_id: h1 });
    const i = info.info as Record<string, unknown>;
    assert.equal(i.plugin, 'janus.plugin.portunus.test');
    assert.equal(i.opaque_id, 'op');
    assert.deepEqual(i.plugin_specific, { messages: 0 });
    const only = await a({ janus: 'handle_info', session_id: s1, handle_id: h1, plugin_only: true });
    assert.deepEqual(Object.keys(only.info as object), ['plugin_specific']);
    assert.equal((await a({ janus: 'hangup_webrtc', session_id: s1, handle_id: h1 })).janus, 'success');
    assert.equal((await a({ janus: 'detach_handle', session_id: s1, handle_id: h2 })).janus, 'success');
    assert.deepEqual((await a({ janus: 'list_handles', session_id: s1 })).handles, [h1]);
    assert.equal(errorCode(await a({ janus: 'list_handles', session_id: 1 })), 458);
    assert.equal(errorCode(await a({ janus: 'handle_info', session_id: s1, handle_id: 1 })), 459);
    assert.equal((await a({ janus: 'destroy_session', session_id: s2 })).janus, 'success');
    assert.ok(!gw.sessionExists(s2));
    assert.equal((await a({ janus: 'set_session_timeout', timeout: 120 })).timeout, 120);
    assert.equal(gw.sessionTimeout, 120);
    assert.equal((await a({ janus: 'set_session_timeout', session_id: s1, timeout: 5 })).timeout, 5);
    assert.equal((await a({ janus: 'set_log_level', level: 5 })).level, 5);
    assert.equal(errorCode(await a({ janus: 'set_log_level', level: 9 })), 467);
    assert.equal((await a({ janus: 'accept_new_sessions', accept: false })).accept, false);
    assert.equal(errorCode(await c.req({ janus: 'create' })), 472);
    await a({ janus: 'accept_new_sessions', accept: true });
    const status = await a({ janus: 'get_status' });
    assert.equal((status.status as { log_level: number }).log_level, 5);
    const mp = await a({ janus: 'message_plugin', plugin: 'janus.plugin.portunus.test', request: { request: 'ping' } });
    assert.deepEqual(mp.response, { result: 'pong', sessions: 1 });
    assert.equal(errorCode(await a({ janus: 'message_plugin', plugin: 'janus.plugin.none', request: {} })), 460);
    assert.equal(errorCode(await a({ janus: 'message_plugin', plugin: 'janus.plugin.portunus.test' })), 456);
    assert.equal(errorCode(await a({ janus: 'query_eventhandler', handler: 'janus.eventhandler.sampleevh', request: {} })), 460);
    assert.equal(errorCode(await a({ janus: 'create' })), 457);
    assert.equal(errorCode(await a({ janus: 'add_token', token: 'x' })), 490);
    await gw.stop();
  });
});

describe('metrics', () => {
  test('sessions, handles and requests by verb and code', async () => {
    const { gw } = await startGateway();
    const c = new CoreClient(gw);
    const sid = await c.createSession();
    await c.attach(sid);
    await c.req({ janus: 'keepalive', session_id: 1 });
    const text = gw.metrics.render();
    assert.match(text, /^portunus_sessions 1$/m);
    assert.match(text, /^portunus_handles 1$/m);
    assert.match(text, /^portunus_requests_total\{api="janus",verb="create",code="0"\} 1$/m);
    assert.match(text, /^portunus_requests_total\{api="janus",verb="keepalive",code="458"\} 1$/m);
    await gw.stop();
  });
});
