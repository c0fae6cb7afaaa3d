import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server.ts';
import { HttpJanus, TEST_PLUGIN, httpRequest, httpsJson, postJson, selfSignedCert, sleep, startTestServer, txn } from '../helpers/transport.ts';

describe('HTTP transport: Janus API', () => {
  let server: RunningServer;
  let base: string;
  let janus: HttpJanus;

  before(async () => {
    server = await startTestServer((c) => {
      c.http.long_poll_timeout = 1;
      c.http.max_body_size = 4096;
    });
    base = `http://127.0.0.1:${server.ports.http}/janus`;
    janus = new HttpJanus(base);
  });
  after(() => server.close());

  test('create, attach, synchronous plugin message', async () => {
    const sid = await janus.create();
    const hid = await janus.attach(sid);
    const r = await janus.req(`/${sid}/${hid}`, { janus: 'message', body: { request: 'ping' } });
    assert.equal(r.janus, 'success');
    assert.equal(r.sender, hid);
    assert.deepEqual(r.plugindata, { plugin: TEST_PLUGIN, data: { result: 'pong' } });
  });

  test('async plugin message: ack, then the event through a long poll (maxev 1)', async () => {
    const sid = await janus.create();
    const hid = await janus.attach(sid);
    const transaction = txn();
    const ack = await postJson(`${base}/${sid}/${hid}`, { janus: 'message', transaction, body: { request: 'async' } });
    assert.equal(ack.janus, 'ack');
    const poll = await httpRequest(`${base}/${sid}?rid=${Date.now()}`);
    assert.equal(poll.status, 200);
    assert.match(poll.headers.get('content-type') ?? '', /application\/json/);
    const ev = poll.json();
    assert.equal(Array.isArray(ev), false, 'maxev 1 answers one object');
    assert.equal(ev.janus, 'event');
    assert.equal(ev.transaction, transaction);
    assert.equal(ev.sender, hid);
    assert.deepEqual(ev.plugindata.data, { result: 'async-done' });
  });

  test('long poll waiting before the event is woken by it', async () => {
    const sid = await janus.create();
    const hid = await janus.attach(sid);
    const pending = httpRequest(`${base}/${sid}`);
    await sleep(50);
    await janus.req(`/${sid}/${hid}`, { janus: 'message', body: { request: 'async' } });
    const t0 = performance.now();
    const ev = (await pending).json();
    assert.equal(ev.janus, 'event');
    assert.ok(performance.now() - t0 < 500, 'answered at once, not at the long-poll timeout');
  });

  test('maxev > 1 answers an array of up to maxev queued events', async () => {
    const sid = await janus.create();
    const hid = await janus.attach(sid);
    for (let i = 0; i < 3; i++) await janus.req(`/${sid}/${hid}`, { janus: 'message', body: { request: 'async' } });
    await sleep(50);
    const first = (await httpRequest(`${base}/${sid}?maxev=2`)).json();
    assert.ok(Array.isArray(first));
    assert.equal(first.length, 2);
    assert.ok(first.every((e: any) => e.janus === 'event'));
    const rest = (await httpRequest(`${base}/${sid}?maxev=10`)).json();
    assert.ok(Array.isArray(rest));
    assert.equal(rest.length, 1);
  });

  test('idle long poll answers a keepalive after long_poll_timeout (object, or array with maxev > 1)', async () => {
    const [a, b] = [await janus.create(), await janus.create()];
    const t0 = performance.now();
    const [one, many] = await Promise.all([httpRequest(`${base}/${a}`), httpRequest(`${base}/${b}?maxev=5`)]);
    const elapsed = performance.now() - t0;
    assert.deepEqual(one.json(), { janus: 'keepalive' });
    assert.deepEqual(many.json(), [{ janus: 'keepalive' }]);
    assert.ok(elapsed >= 900 && elapsed < 2500, `waited ${elapsed} ms`);
  });

  test('a newer poll replaces the older one, which gets a keepalive', async () => {
    const sid = await janus.create();
    const hid = await janus.attach(sid);
    const older = httpRequest(`${base}/${sid}`);
    await sleep(50);
    const newer = httpRequest(`${base}/${sid}`);
    assert.deepEqual((await older).json(), { janus: 'keepalive' });
    await janus.req(`/${sid}/${hid}`, { janus: 'message', body: { request: 'async' } });
    assert.equal((await newer).json().janus, 'event');
  });

  test('an aborted poll does not swallow the next event', async () => {
    const sid = await janus.create();
    const hid = await janus.attach(sid);
    const ac = new AbortController();
    const aborted = fetch(`${base}/${sid}`, { signal: ac.signal }).catch((e: Error) => e);
    await sleep(50);
    ac.abort();
    await aborted;
    await sleep(50);
    await janus.req(`/${sid}/${hid}`, { janus: 'message', body: { request: 'async' } });
    const ev = (await httpRequest(`${base}/${sid}`)).json();
    assert.equal(ev.janus, 'event');
  });

  test('a long poll counts as a keepalive', async () => {
    const sid = await janus.create();
    const session = server.gateway.sessions.get(sid)!;
    const before = session.lastActivity;
    await sleep(20);
    const ac = new AbortController();
    const poll = fetch(`${base}/${sid}`, { signal: ac.signal }).catch(() => undefined);
    await sleep(50);
    assert.ok(session.lastActivity > before);
    ac.abort();
    await poll;
  });

  test('destroying a session answers its waiting poll, then polls get 404', async () => {
    const sid = await janus.create();
    const pending = httpRequest(`${base}/${sid}`);
    await sleep(50);
    const t0 = performance.now();
    const r = await janus.req(`/${sid}`, { janus: 'destroy' });
    assert.equal(r.janus, 'success');
    const answer = await pending;
    assert.equal(answer.status, 200);
    assert.ok(performance.now() - t0 < 500);
    const after = await httpRequest(`${base}/${sid}`);
    assert.equal(after.status, 404);
    assert.equal(after.text, '');
  });

  test('long poll on an unknown session: 404 with an empty body', async () => {
    const r = await httpRequest(`${base}/123456789`);
    assert.equal(r.status, 404);
    assert.equal(r.text, '');
    assert.equal((await httpRequest(`${base}/notanumber`)).status, 404);
  });

  test('GET on a handle path redirects to the session path', async () => {
    const sid = await janus.create();
    const hid = await janus.attach(sid);
    const r = await httpRequest(`${base}/${sid}/${hid}`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), `/janus/${sid}`);
  });

  test('GET /janus/info answers server_info; POST /janus/info is 400', async () => {
    const info = await httpRequest(`${base}/info`);
    assert.equal(info.status, 200);
    const body = info.json();
    assert.equal(body.janus, 'server_info');
    assert.ok(body.plugins[TEST_PLUGIN]);
    assert.equal(typeof body.transaction, 'string', 'Janus echoes the transaction it made up');
    const post = await httpRequest(`${base}/info`, { method: 'POST', body: JSON.stringify({ janus: 'info', transaction: 'x' }) });
    assert.equal(post.status, 400);
  });

  test('root requests: ping and info', async () => {
    const pong = await postJson(base, { janus: 'ping', transaction: 'p1' });
    assert.deepEqual(pong, { janus: 'pong', transaction: 'p1' });
    const info = await postJson(base, { janus: 'info', transaction: 'i1' });
    assert.equal(info.janus, 'server_info');
    assert.equal(info.transaction, 'i1');
  });

  test('invalid JSON: Janus error 454 as HTTP 200, no transaction', async () => {
    const r = await httpRequest(base, { method: 'POST', body: '{"janus": "create", ', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200);
    const body = r.json();
    assert.equal(body.janus, 'error');
    assert.equal(body.error.code, 454);
    assert.equal('transaction' in body, false);
    const empty = await httpRequest(base, { method: 'POST', body: '' });
    assert.equal(empty.json().error.code, 454);
  });

  test('a JSON array body is 455 over HTTP', async () => {
    const r = await postJson(base, [{ janus: 'ping', transaction: 'a' }]);
    assert.equal(r.error.code, 455);
  });

  test('bodies are JSON whatever the content type (text/plain, none)', async () => {
    const body = JSON.stringify({ janus: 'ping', transaction: 'tp' });
    const plain = await httpRequest(base, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    assert.equal(plain.json().janus, 'pong');
    const form = await httpRequest(base, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.json().janus, 'pong');
    const none = await httpRequest(base, { method: 'POST', body: new Blob([body]) });
    assert.equal(none.json().janus, 'pong');
  });

  test('oversize body: HTTP 413', async () => {
    const big = JSON.stringify({ janus: 'ping', transaction: 'big', pad: 'x'.repeat(8192) });
    const r = await httpRequest(base, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 413);
  });

  test('non-numeric path ids are read as Janus does (absent -> 457), unknown ids -> 458', async () => {
    const r = await postJson(`${base}/abc`, { janus: 'attach', transaction: 'a1', plugin: TEST_PLUGIN });
    assert.equal(r.error.code, 457);
    const sid = await janus.create();
    const m = await postJson(`${base}/${sid}/xyz`, { janus: 'message', transaction: 'a2', body: {} });
    assert.equal(m.error.code, 457);
    const k = await postJson(`${base}/987654321`, { janus: 'keepalive', transaction: 'a3' });
    assert.equal(k.error.code, 458);
    assert.equal(k.transaction, 'a3');
  });

  test('CORS: every answer carries Allow-Origin *; OPTIONS preflight echoes method and headers', async () => {
    const r = await httpRequest(base, {
      method: 'OPTIONS',
      headers: { origin: 'http://example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-custom' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.equal(r.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(r.headers.get('access-control-allow-headers'), 'content-type, x-custom');
    assert.equal(r.headers.get('access-control-max-age'), '86400');
    assert.equal(r.headers.get('access-control-allow-credentials'), null);
    const sidPath = await httpRequest(`${base}/12345`, { method: 'OPTIONS', headers: { 'access-control-request-method': 'GET' } });
    assert.equal(sidPath.status, 200);
    const info = await httpRequest(`${base}/info`);
    assert.equal(info.headers.get('access-control-allow-origin'), '*');
  });

  test('transport refusals are counted in the metrics', () => {
    const text = server.gateway.metrics.render();
    assert.match(text, /portunus_transport_errors_total\{transport="janus.transport.http",code="413"\} [1-9]/);
    assert.match(text, /portunus_transport_errors_total\{transport="janus.transport.http",code="454"\} [1-9]/);
  });

  test('/metrics is not served on the API port', async () => {
    assert.equal((await httpRequest(`http://127.0.0.1:${server.ports.http}/metrics`)).status, 404);
  });
});

describe('HTTP transport: CORS with allow_origin and enforce_cors', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer((c) => {
      c.http.allow_origin = 'https://app.example';
      c.http.enforce_cors = true;
    });
    base = `http://127.0.0.1:${server.ports.http}/janus`;
  });
  after(() => server.close());

  test('matching Origin: allowed, with credentials', async () => {
    const r = await httpRequest(base, { method: 'POST', body: JSON.stringify({ janus: 'ping', transaction: 'c1' }), headers: { origin: 'https://app.example' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(r.json().janus, 'pong');
  });

  test('preflight from the allowed origin', async () => {
    const r = await httpRequest(base, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-methods'), 'POST');
  });

  test('mismatched, look-alike or missing Origin: 403', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.evil.test', undefined]) {
      const headers: Record<string, string> = origin ? { origin } : {};
      const r = await httpRequest(base, { method: 'POST', body: JSON.stringify({ janus: 'ping', transaction: 'c2' }), headers });
      assert.equal(r.status, 403, `origin ${origin}`);
    }
    const pre = await httpRequest(base, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 403);
  });
});

describe('HTTP transport: ACL, auth, JSON format', () => {
  test('a client outside the acl gets 403 with a Janus error body', async () => {
    const server = await startTestServer((c) => {
      c.http.acl = '10.,192.168.0.0/16';
    });
    try {
      const r = await httpRequest(`http://127.0.0.1:${server.ports.http}/janus`, { method: 'POST', body: JSON.stringify({ janus: 'ping', transaction: 'x' }) });
      assert.equal(r.status, 403);
      assert.equal(r.json().error.code, 403);
    } finally {
      await server.close();
    }
    const allowed = await startTestServer((c) => {
      c.http.acl = '127.';
    });
    try {
      const pong = await postJson(`http://127.0.0.1:${allowed.ports.http}/janus`, { janus: 'ping', transaction: 'y' });
      assert.equal(pong.janus, 'pong');
    } finally {
      await allowed.close();
    }
  });

  test('long poll auth via query apisecret / token: 403 with a Janus error body', async () => {
    const server = await startTestServer((c) => {
      c.general.api_secret = 's3cret';
      c.http.long_poll_timeout = 0.2;
    });
    try {
      const base = `http://127.0.0.1:${server.ports.http}/janus`;
      const created = await postJson(base, { janus: 'create', transaction: 'a', apisecret: 's3cret' });
      const sid = created.data.id;
      const denied = await httpRequest(`${base}/${sid}`);
      assert.equal(denied.status, 403);
      assert.equal(denied.json().error.code, 403);
      assert.equal((await httpRequest(`${base}/${sid}?apisecret=wrong`)).status, 403);
      assert.equal((await httpRequest(`${base}/${sid}/1`)).status, 403, 'handle GET is checked too');
      const ok = await httpRequest(`${base}/${sid}?apisecret=s3cret`);
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json(), { janus: 'keepalive' });
    } finally {
      await server.close();
    }
  });

  test('json = compact / plain / indented', async () => {
    for (const [format, check] of [
      ['compact', (t: string) => t === '{"janus":"pong","transaction":"f"}'],
      ['plain', (t: string) => t === '{"janus": "pong", "transaction": "f"}'],
      ['indented', (t: string) => t.includes('\n   "janus": "pong"')],
    ] as const) {
      const server = await startTestServer((c) => {
        c.http.json = format;
      });
      try {
        const r = await httpRequest(`http://127.0.0.1:${server.ports.http}/janus`, { method: 'POST', body: JSON.stringify({ janus: 'ping', transaction: 'f' }) });
        assert.ok(check(r.text), `${format}: ${r.text}`);
      } finally {
        await server.close();
      }
    }
  });

  test('custom base_path', async () => {
    const server = await startTestServer((c) => {
      c.http.base_path = '/gw/api/';
    });
    try {
      const pong = await postJson(`http://127.0.0.1:${server.ports.http}/gw/api`, { janus: 'ping', transaction: 'b' });
      assert.equal(pong.janus, 'pong');
      assert.equal((await httpRequest(`http://127.0.0.1:${server.ports.http}/janus`, { method: 'POST', body: '{}' })).status, 404);
    } finally {
      await server.close();
    }
  });
});

describe('HTTPS transport', () => {
  test('serves the Janus API on secure_port with cert_pem / cert_key', async () => {
    const tls = selfSignedCert();
    const server = await startTestServer((c) => {
      c.http.http = false;
      c.http.https = true;
      c.http.cert_pem = tls.certPem;
      c.http.cert_key = tls.certKey;
    });
    try {
      assert.equal(server.ports.http, undefined);
      assert.ok(server.ports.https);
      const base = `https://127.0.0.1:${server.ports.https}/janus`;
      const r = await httpsJson(base, tls.cert, 'POST', JSON.stringify({ janus: 'create', transaction: 's' }));
      assert.equal(r.status, 200);
      const sid = JSON.parse(r.body).data.id;
      assert.ok(sid > 0);
      const info = await httpsJson(`${base}/info`, tls.cert);
      assert.equal(JSON.parse(info.body).janus, 'server_info');
    } finally {
      await server.close();
      tls.cleanup();
    }
  });

  test('missing certificate files stop the start-up', async () => {
    await assert.rejects(
      startTestServer((c) => {
        c.http.https = true;
        c.http.cert_pem = '/nonexistent/cert.pem';
        c.http.cert_key = '/nonexistent/key.pem';
      }),
      /cannot read certificate/,
    );
  });
});

describe('Demo pages', () => {
  test('http.demos serves demos/ at / and janus.js at /js/janus/', async () => {
    const server = await startTestServer((c) => {
      c.http.demos = true;
    });
    try {
      const root = `http://127.0.0.1:${server.ports.http}`;
      const index = await httpRequest(`${root}/`);
      assert.equal(index.status, 200);
      assert.match(index.text, /Portunus/);
      const js = await httpRequest(`${root}/js/janus/janus.js`);
      assert.equal(js.status, 200);
      assert.match(js.text, /var Janus/);
      assert.equal((await httpRequest(`${root}/js/janus/janus.es.js`)).status, 200);
      assert.equal((await httpRequest(`${root}/js/adapter/adapter.js`)).status, 200);
      // The API still works beside the static files.
      assert.equal((await postJson(`${root}/janus`, { janus: 'ping', transaction: 'd' })).janus, 'pong');
      assert.equal((await httpRequest(`${root}/janus/info`)).json().janus, 'server_info');
    } finally {
      await server.close();
    }
  });

  test('demos are off by default', async () => {
    const server = await startTestServer();
    try {
      assert.equal((await httpRequest(`http://127.0.0.1:${server.ports.http}/`)).status, 404);
    } finally {
      await server.close();
    }
  });
});
