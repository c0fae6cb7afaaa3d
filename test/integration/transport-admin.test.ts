import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/core/log.ts';
import { TestPlugin } from '../../src/plugins/portunus-test/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { HttpJanus, TEST_PLUGIN, WsClient, httpRequest, postJson, startTestServer, transportConfig, wsRefusal } from '../helpers/transport.ts';

const SECRET = 'test-admin-secret';

describe('Admin API: off by default', () => {
  test('no admin listener unless admin_http / admin_ws', async () => {
    const server = await startTestServer();
    try {
      assert.equal(server.ports.adminHttp, undefined);
      assert.equal(server.ports.adminHttps, undefined);
      assert.equal(server.ports.adminWs, undefined);
      assert.equal(server.ports.adminWss, undefined);
      // Nor is it reachable through the API listeners.
      assert.equal((await httpRequest(`http://127.0.0.1:${server.ports.http}/admin`, { method: 'POST', body: '{}' })).status, 404);
    } finally {
      await server.close();
    }
  });
});

describe('Admin API over HTTP', () => {
  let server: RunningServer;
  let admin: string;
  before(async () => {
    server = await startTestServer((c) => {
      c.http.admin_http = true;
      c.general.admin_secret = SECRET;
    });
    admin = `http://127.0.0.1:${server.ports.adminHttp}/admin`;
  });
  after(() => server.close());

  test('info and ping need no secret', async () => {
    const info = await postJson(admin, { janus: 'info', transaction: 'a1' });
    assert.equal(info.janus, 'server_info');
    assert.equal(info.transaction, 'a1');
    const pong = await postJson(admin, { janus: 'ping', transaction: 'a2' });
    assert.equal(pong.janus, 'pong');
  });

  test('other requests need admin_secret', async () => {
    const denied = await postJson(admin, { janus: 'list_sessions', transaction: 'a3' });
    assert.equal(denied.error.code, 403);
    const janus = new HttpJanus(`http://127.0.0.1:${server.ports.http}/janus`);
    const sid = await janus.create();
    const hid = await janus.attach(sid);
    const list = await postJson(admin, { janus: 'list_sessions', transaction: 'a4', admin_secret: SECRET });
    assert.equal(list.janus, 'success');
    assert.ok(list.sessions.includes(sid));
    const handles = await postJson(`${admin}/${sid}`, { janus: 'list_handles', transaction: 'a5', admin_secret: SECRET });
    assert.deepEqual(handles.handles, [hid]);
    const handleInfo = await postJson(`${admin}/${sid}/${hid}`, { janus: 'handle_info', transaction: 'a6', admin_secret: SECRET });
    assert.equal(handleInfo.janus, 'success');
    assert.equal(handleInfo.handle_id, hid);
  });

  test('GET /admin/info answers; POST /admin/info is a 450 error', async () => {
    const info = await httpRequest(`${admin}/info`);
    assert.equal(info.status, 200);
    assert.equal(info.json().janus, 'server_info');
    const post = await httpRequest(`${admin}/info`, { method: 'POST', body: '{}' });
    assert.equal(post.status, 200);
    assert.equal(post.json().error.code, 450);
  });

  test('invalid JSON is 454', async () => {
    const r = await httpRequest(admin, { method: 'POST', body: 'nope' });
    assert.equal(r.json().error.code, 454);
  });

  test('GET /metrics returns Prometheus text', async () => {
    const r = await httpRequest(`http://127.0.0.1:${server.ports.adminHttp}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(r.text, /^# HELP portunus_sessions /m);
    assert.match(r.text, /^portunus_sessions \d+$/m);
    assert.match(r.text, /portunus_requests_total\{api="admin"/);
  });

  test('Admin requests on the Janus API get 457', async () => {
    const r = await postJson(`http://127.0.0.1:${server.ports.http}/janus`, { janus: 'list_sessions', transaction: 'a7', admin_secret: SECRET });
    assert.equal(r.error.code, 457);
  });
});

describe('Admin API: ACL, custom path, metrics source', () => {
  test('admin_acl refuses clients outside it', async () => {
    const server = await startTestServer((c) => {
      c.http.admin_http = true;
      c.http.admin_acl = '192.168.0.';
    });
    try {
      const r = await httpRequest(`http://127.0.0.1:${server.ports.adminHttp}/admin`, { method: 'POST', body: JSON.stringify({ janus: 'ping', transaction: 'x' }) });
      assert.equal(r.status, 403);
      assert.equal((await httpRequest(`http://127.0.0.1:${server.ports.adminHttp}/metrics`)).status, 403);
      // The Janus API listener has its own (empty) acl.
      assert.equal((await postJson(`http://127.0.0.1:${server.ports.http}/janus`, { janus: 'ping', transaction: 'y' })).janus, 'pong');
    } finally {
      await server.close();
    }
  });

  test('admin_base_path and a metricsText override', async () => {
    const config = transportConfig((c) => {
      c.http.admin_http = true;
      c.http.admin_base_path = '/mgmt';
    });
    const server = await startServer(config, { logger: silentLogger(), plugins: [new TestPlugin()], metricsText: () => 'custom_metric 1\n' });
    try {
      const pong = await postJson(`http://127.0.0.1:${server.ports.adminHttp}/mgmt`, { janus: 'ping', transaction: 'm' });
      assert.equal(pong.janus, 'pong');
      assert.equal((await httpRequest(`http://127.0.0.1:${server.ports.adminHttp}/metrics`)).text, 'custom_metric 1\n');
    } finally {
      await server.close();
    }
  });
});

describe('Admin API over WebSocket', () => {
  let server: RunningServer;
  let url: string;
  before(async () => {
    server = await startTestServer((c) => {
      c.websockets.admin_ws = true;
      c.general.admin_secret = SECRET;
    });
    url = `ws://127.0.0.1:${server.ports.adminWs}`;
  });
  after(() => server.close());

  test('needs janus-admin-protocol', async () => {
    assert.equal(await wsRefusal(url), 400);
    assert.equal(await wsRefusal(url, 'janus-protocol'), 400);
    const c = await WsClient.open(url, 'janus-admin-protocol');
    assert.equal(c.ws.protocol, 'janus-admin-protocol');
    await c.close();
  });

  test('admin requests over the socket; Janus API requests are not admin ones', async () => {
    const c = await WsClient.open(url, 'janus-admin-protocol');
    try {
      assert.equal((await c.request({ janus: 'info' })).janus, 'server_info');
      assert.equal((await c.request({ janus: 'get_status' })).error.code, 403);
      const status = await c.request({ janus: 'get_status', admin_secret: SECRET });
      assert.equal(status.janus, 'success');
      const plugin = await c.request({ janus: 'message_plugin', plugin: TEST_PLUGIN, request: { request: 'ping' }, admin_secret: SECRET });
      assert.equal(plugin.janus, 'success');
      // "create" is not an Admin API verb.
      assert.equal((await c.request({ janus: 'create', admin_secret: SECRET })).janus, 'error');
    } finally {
      await c.close();
    }
  });

  test('the Janus API WebSocket does not speak the admin protocol', async () => {
    assert.equal(await wsRefusal(`ws://127.0.0.1:${server.ports.ws}`, 'janus-admin-protocol'), 400);
  });

  test('admin_ws_acl refuses clients outside it', async () => {
    const locked = await startTestServer((c) => {
      c.websockets.admin_ws = true;
      c.websockets.admin_ws_acl = '10.';
    });
    try {
      assert.equal(await wsRefusal(`ws://127.0.0.1:${locked.ports.adminWs}`, 'janus-admin-protocol'), 403);
    } finally {
      await locked.close();
    }
  });
});
