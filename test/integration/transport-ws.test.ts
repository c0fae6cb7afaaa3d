import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { RunningServer } from '../../src/server.ts';
import { TEST_PLUGIN, WsClient, selfSignedCert, sleep, startTestServer, txn, wsRefusal } from '../helpers/transport.ts';

async function session(c: WsClient): Promise<{ sid: number; hid: number }> {
  const created = await c.request({ janus: 'create' });
  assert.equal(created.janus, 'success');
  const sid = created.data.id;
  const attached = await c.request({ janus: 'attach', session_id: sid, plugin: TEST_PLUGIN });
  assert.equal(attached.janus, 'success');
  return { sid, hid: attached.data.id };
}

async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('WebSocket transport: Janus API', () => {
  let server: RunningServer;
  let url: string;
  before(async () => {
    server = await startTestServer((c) => {
      c.websockets.max_message_size = 4096;
    });
    url = `ws://127.0.0.1:${server.ports.ws}`;
  });
  after(() => server.close());

  test('subprotocol janus-protocol is required', async () => {
    assert.equal(await wsRefusal(url), 400, 'no subprotocol offered');
    assert.equal(await wsRefusal(url, 'janus-admin-protocol'), 400, 'another subprotocol');
    assert.equal(await wsRefusal(url, ['chat', 'superchat']), 400);
    const ok = await WsClient.open(url, 'janus-protocol');
    assert.equal(ok.ws.protocol, 'janus-protocol');
    await ok.close();
    const picky = await WsClient.open(url, ['chat', 'janus-protocol']);
    assert.equal(picky.ws.protocol, 'janus-protocol', 'the server picks janus-protocol among several');
    await picky.close();
    const withPath = await WsClient.open(`${url}/janus`);
    assert.equal((await withPath.request({ janus: 'ping' })).janus, 'pong');
    await withPath.close();
  });

  test('create, attach, sync message, async message with ack then event', async () => {
    const c = await WsClient.open(url);
    try {
      const { sid, hid } = await session(c);
      const sync = await c.request({ janus: 'message', session_id: sid, handle_id: hid, body: { request: 'ping' } });
      assert.equal(sync.janus, 'success');
      assert.deepEqual(sync.plugindata.data, { result: 'pong' });
      const transaction = txn();
      c.send({ janus: 'message', transaction, session_id: sid, handle_id: hid, body: { request: 'async' } });
      const ack = await c.waitFor((m) => m.transaction === transaction && m.janus === 'ack');
      assert.equal(ack.session_id, sid);
      const ev = await c.waitFor((m) => m.transaction === transaction && m.janus === 'event');
      assert.equal(ev.sender, hid);
      assert.deepEqual(ev.plugindata, { plugin: TEST_PLUGIN, data: { result: 'async-done' } });
    } finally {
      await c.close();
    }
  });

  test('several concatenated JSON objects in one message are handled in order', async () => {
    const c = await WsClient.open(url);
    try {
      const { sid, hid } = await session(c);
      const before = c.messages.length;
      // Braces and quotes inside strings must not confuse the splitter.
      const a = JSON.stringify({ janus: 'ping', transaction: 'cat-1', note: '}{ "\\"' });
      const b = JSON.stringify({ janus: 'message', transaction: 'cat-2', session_id: sid, handle_id: hid, body: { request: 'ping', x: ['{', ']'] } });
      const d = JSON.stringify({ janus: 'keepalive', transaction: 'cat-3', session_id: sid });
      c.send(`${a}${b}\n  ${d}`);
      await c.waitFor((m) => m.transaction === 'cat-3');
      const replies = c.messages.slice(before).map((m) => `${m.transaction}:${m.janus}`);
      assert.deepEqual(replies, ['cat-1:pong', 'cat-2:success', 'cat-3:ack']);
    } finally {
      await c.close();
    }
  });

  test('invalid JSON gets error 454 and the socket stays usable; garbage after good objects stops there', async () => {
    const c = await WsClient.open(url);
    try {
      c.send('{"janus": "ping", ');
      const err = await c.waitFor((m) => m.janus === 'error');
      assert.equal(err.error.code, 454);
      assert.equal('transaction' in err, false);
      c.send('{"janus":"ping","transaction":"g1"}{oops}{"janus":"ping","transaction":"g2"}');
      await c.waitFor((m) => m.transaction === 'g1');
      await c.waitFor((m) => m.janus === 'error' && m !== err);
      await sleep(50);
      assert.equal(c.messages.some((m) => m.transaction === 'g2'), false);
      assert.equal((await c.request({ janus: 'ping' })).janus, 'pong');
    } finally {
      await c.close();
    }
  });

  test('a JSON array is 456 over WebSocket', async () => {
    const c = await WsClient.open(url);
    try {
      c.send('[{"janus":"ping","transaction":"arr"}]');
      const err = await c.waitFor((m) => m.janus === 'error');
      assert.equal(err.error.code, 456);
    } finally {
      await c.close();
    }
  });

  test('closing the socket destroys its sessions (reclaim_session_timeout 0)', async () => {
    const c = await WsClient.open(url);
    const { sid } = await session(c);
    assert.equal(server.gateway.sessionExists(sid), true);
    await c.close();
    await until(() => !server.gateway.sessionExists(sid));
  });

  test('a message bigger than max_message_size closes the socket with 1009', async () => {
    const c = await WsClient.open(url);
    const closed = c.closed();
    c.send(JSON.stringify({ janus: 'ping', transaction: 'big', pad: 'x'.repeat(8192) }));
    const { code } = await closed;
    assert.equal(code, 1009);
  });

  test('claim moves a session and its events to the claiming socket', async () => {
    const first = await WsClient.open(url);
    const second = await WsClient.open(url);
    try {
      const { sid, hid } = await session(first);
      const claimed = await second.request({ janus: 'claim', session_id: sid });
      assert.equal(claimed.janus, 'success');
      const transaction = txn();
      second.send({ janus: 'message', transaction, session_id: sid, handle_id: hid, body: { request: 'async' } });
      await second.waitFor((m) => m.transaction === transaction && m.janus === 'event');
      assert.equal(first.messages.some((m) => m.transaction === transaction), false);
      // The first socket no longer owns it: closing it leaves the session alive.
      await first.close();
      await sleep(50);
      assert.equal(server.gateway.sessionExists(sid), true);
    } finally {
      await second.close();
    }
  });

  test('requests from several sockets do not mix replies', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => WsClient.open(url)));
    try {
      const ids = await Promise.all(clients.map(async (c) => (await c.request({ janus: 'create' })).data.id));
      assert.equal(new Set(ids).size, 3);
      for (const c of clients) assert.equal(c.messages.length, 1);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

describe('WebSocket transport: ACL, CORS, pings, WSS', () => {
  test('ws_acl refuses clients outside it before the upgrade', async () => {
    const server = await startTestServer((c) => {
      c.websockets.ws_acl = '10.0.0.0/8';
    });
    try {
      assert.equal(await wsRefusal(`ws://127.0.0.1:${server.ports.ws}`, 'janus-protocol'), 403);
    } finally {
      await server.close();
    }
  });

  test('enforce_cors refuses a foreign Origin', async () => {
    const server = await startTestServer((c) => {
      c.websockets.allow_origin = 'https://app.example';
      c.websockets.enforce_cors = true;
    });
    try {
      const url = `ws://127.0.0.1:${server.ports.ws}`;
      const refused = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url, 'janus-protocol', { origin: 'https://evil.example' });
        ws.once('open', () => reject(new Error('accepted')));
        ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        ws.once('error', () => {});
      });
      assert.equal(refused, 403);
      const ok = await WsClient.open(url, 'janus-protocol', { origin: 'https://app.example' });
      assert.equal((await ok.request({ janus: 'ping' })).janus, 'pong');
      await ok.close();
    } finally {
      await server.close();
    }
  });

  test('pingpong: pings after pingpong_trigger, closes a client that never answers', async () => {
    const server = await startTestServer((c) => {
      c.websockets.pingpong_trigger = 0.2;
      c.websockets.pingpong_timeout = 0.2;
    });
    try {
      const url = `ws://127.0.0.1:${server.ports.ws}`;
      const polite = await WsClient.open(url);
      let pings = 0;
      polite.ws.on('ping', () => pings++);
      const mute = await WsClient.open(url, 'janus-protocol', { autoPong: false });
      const { sid } = await session(mute);
      const { code } = await mute.closed();
      assert.equal(code, 1006, 'terminated without a close frame');
      await until(() => !server.gateway.sessionExists(sid));
      assert.ok(pings >= 1, 'the answering client was pinged');
      assert.equal(polite.ws.readyState, WebSocket.OPEN, 'and kept');
      await polite.close();
    } finally {
      await server.close();
    }
  });

  test('WSS on wss_port with the websockets certificate', async () => {
    const tls = selfSignedCert();
    const server = await startTestServer((c) => {
      c.websockets.ws = false;
      c.websockets.wss = true;
      c.websockets.cert_pem = tls.certPem;
      c.websockets.cert_key = tls.certKey;
    });
    try {
      assert.equal(server.ports.ws, undefined);
      const c = await WsClient.open(`wss://127.0.0.1:${server.ports.wss}`, 'janus-protocol', { ca: tls.cert });
      assert.equal((await c.request({ janus: 'ping' })).janus, 'pong');
      await c.close();
    } finally {
      await server.close();
      tls.cleanup();
    }
  });

  test('transports.disable turns a transport off', async () => {
    const server = await startTestServer((c) => {
      c.transports.disable = 'libjanus_websockets.so';
    });
    try {
      assert.equal(server.ports.ws, undefined);
      assert.ok(server.ports.http);
    } finally {
      await server.close();
    }
  });
});
