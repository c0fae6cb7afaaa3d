/**
 * Fuzz the request dispatcher: random and mutated JSON values, through both connection kinds and
 * both APIs. Every request must resolve to a well-formed reply (never throw), and a session created
 * beforehand must survive untouched. Seeded: a failure prints the seed to replay it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreClient, RecordingConnection, startGateway } from '../helpers/core.ts';
import { prng } from '../helpers/prng.ts';


const VERBS = ['create', 'attach', 'message', 'trickle', 'hangup', 'detach', 'destroy', 'keepalive', 'info', 'ping', 'claim',
  'list_sessions', 'list_handles', 'handle_info', 'add_token', 'message_plugin', 'set_log_level', 'accept_new_sessions', 'x'];
const KEYS = ['janus', 'transaction', 'session_id', 'handle_id', 'body', 'jsep', 'plugin', 'candidate', 'candidates', 'id',
  'opaque_id', 'apisecret', 'token', 'admin_secret', 'request', 'type', 'sdp', 'level', 'accept', 'timeout', 'plugins', 'completed', '__proto__', 'constructor'];

function randomValue(r: () => number, depth: number, ids: number[]): unknown {
  const k = Math.floor(r() * 12);
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor(r() * 2 ** 53) * (r() < 0.1 ? -1 : 1);
    case 3: return r() * 1e6;
    case 4: return VERBS[Math.floor(r() * VERBS.length)];
    case 5: return 'x'.repeat(Math.floor(r() * 40));
    case 6: return ids.length ? ids[Math.floor(r() * ids.length)] : 1;
    case 7: return 'janus.plugin.portunus.test';
    case 8: return depth > 3 ? 0 : Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1, ids));
    default: return depth > 3 ? {} : randomObject(r, depth + 1, ids);
  }
}

function randomObject(r: () => number, depth: number, ids: number[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 7);
  for (let i = 0; i < n; i++) o[KEYS[Math.floor(r() * KEYS.length)]] = randomValue(r, depth, ids);
  if (r() < 0.7) o.transaction = 'f' + Math.floor(r() * 1e6);
  if (r() < 0.8) o.janus = VERBS[Math.floor(r() * VERBS.length)];
  return o;
}

const REPLY_VERBS = new Set(['success', 'error', 'ack', 'pong', 'server_info']);

test('random and mutated requests always get a well-formed reply; other sessions are untouched', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
  const r = prng(seed);
  const { gw } = await startGateway((c) => { c.general.admin_secret = ''; });
  const bystanderConn = new RecordingConnection();
  const bystander = new CoreClient(gw, bystanderConn);
  const keep = await bystander.createSession();
  const keepHandle = await bystander.attach(keep);
  const ids: number[] = [];
  const conns = [new RecordingConnection('ws'), new RecordingConnection('http')];
  const valid = [
    { janus: 'create', transaction: 'a' },
    { janus: 'attach', transaction: 'b', plugin: 'janus.plugin.portunus.test' },
    { janus: 'message', transaction: 'c', body: { request: 'ping' } },
    { janus: 'trickle', transaction: 'd', candidate: { completed: true } },
  ];
  try {
    for (let i = 0; i < 4000; i++) {
      const conn = conns[i % 2];
      let body: unknown;
      if (r() < 0.5) {
        body = randomObject(r, 0, ids);
      } else {
        // Mutate a valid request: drop, retype or add one key.
        const base: Record<string, unknown> = { ...valid[Math.floor(r() * valid.length)] };
        if (ids.length) { base.session_id = ids[Math.floor(r() * ids.length)]; base.handle_id = ids[Math.floor(r() * ids.length)]; }
        const key = KEYS[Math.floor(r() * KEYS.length)];
        if (r() < 0.3) delete base[key]; else base[key] = randomValue(r, 2, ids);
        body = r() < 0.05 ? [base] : base;
      }
      // Never let the fuzzer destroy the bystander by guessing its id: it does not know it.
      const admin = r() < 0.3;
      const reply = admin ? await gw.handleAdminRequest(conn, body) : await gw.handleRequest(conn, body);
      assert.ok(reply && typeof reply === 'object' && REPLY_VERBS.has(reply.janus as string), `seed ${seed} case ${i}: ${JSON.stringify(reply)}`);
      if (reply.janus === 'error') {
        const e = reply.error as { code: unknown; reason: unknown };
        assert.equal(typeof e.code, 'number', `seed ${seed} case ${i}`);
        assert.equal(typeof e.reason, 'string', `seed ${seed} case ${i}`);
        // An exception inside the core becomes 490 'Internal error': bad input must never get there.
        assert.ok(!(e.code === 490 && e.reason === 'Internal error'), `seed ${seed} case ${i}: internal error for ${JSON.stringify(body)}`);
      }
      const id = (reply.data as { id?: unknown } | undefined)?.id;
      if (typeof id === 'number' && ids.length < 50) ids.push(id);
    }
  } finally {
    const alive = await bystander.req({ janus: 'message', session_id: keep, handle_id: keepHandle, body: { request: 'ping' } });
    assert.equal(alive.janus, 'success', `seed ${seed}: bystander session was harmed`);
    await gw.stop();
  }
});
