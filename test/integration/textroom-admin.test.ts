/**
 * TextRoom and Record&Play through the Admin API (`message_plugin`, as Janus allows: TextRoom's room
 * management requests, Record&Play's `update`), and TextRoom with `string_ids`: string room ids from
 * the configuration and the API, numbers refused.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { postJson, transportConfig } from '../helpers/transport.ts';
import { PluginHandleClient } from './videocall-common.ts';

const SECRET = 'conf-admin-secret';
const folder = mkdtempSync(join(tmpdir(), 'portunus-rp-admin-'));
const server = await startServer(transportConfig((c) => {
  c.http.admin_http = true;
  c.general.admin_secret = SECRET;
  c.pluginConfigs['janus.plugin.textroom'] = { general: { string_ids: true }, 'room-lobby': { description: 'Lobby', secret: 's' }, 'room-123': { description: 'Numbered text' } };
  c.pluginConfigs['janus.plugin.recordplay'] = { general: { path: folder } };
}), { logger: silentLogger() });
const admin = `http://127.0.0.1:${server.ports.adminHttp}/admin`;
after(async () => {
  await server.close();
  rmSync(folder, { recursive: true, force: true });
});

let tx = 0;
async function plugin(name: string, request: Record<string, unknown>): Promise<any> {
  const r = await postJson(admin, { janus: 'message_plugin', transaction: `a${++tx}`, admin_secret: SECRET, plugin: name, request });
  assert.equal(r.janus, 'success', JSON.stringify(r));
  return r.response;
}

test('TextRoom with string ids, over the Admin API and the Janus API', async () => {
  const list = await plugin('janus.plugin.textroom', { request: 'list' });
  assert.deepEqual(list.list.map((r: any) => r.room).sort(), ['123', 'lobby']);
  assert.deepEqual(await plugin('janus.plugin.textroom', { request: 'create', room: 'den', description: 'Den' }), { textroom: 'created', room: 'den', permanent: false });
  assert.deepEqual(await plugin('janus.plugin.textroom', { request: 'create', room: 5 }), { textroom: 'error', error_code: 414, error: 'Invalid element type (room should be a string)' });
  assert.deepEqual(await plugin('janus.plugin.textroom', { request: 'exists', room: 'den' }), { textroom: 'success', room: 'den', exists: true });
  assert.deepEqual(await plugin('janus.plugin.textroom', { request: 'join', room: 'den' }), { textroom: 'event', error_code: 415, error: "Unknown request 'join'" });
  assert.deepEqual(await plugin('janus.plugin.textroom', { request: 'destroy', room: 'lobby' }), { textroom: 'error', error_code: 413, error: 'Missing mandatory element (secret)' });
  assert.deepEqual(await plugin('janus.plugin.textroom', { request: 'destroy', room: 'lobby', secret: 's' }), { textroom: 'destroyed', room: 'lobby', permanent: false });
  assert.deepEqual(await plugin('janus.plugin.textroom', {}), { textroom: 'event', error_code: 413, error: 'Missing mandatory element (request)' });
  const h = await PluginHandleClient.attach(`ws://127.0.0.1:${server.ports.ws}`, 'janus.plugin.textroom');
  try {
    assert.deepEqual(await h.sync({ request: 'listparticipants', room: 'den' }), { room: 'den', participants: [] });
    const rooms = (await h.sync({ request: 'list' })).list.map((r: any) => r.room).sort();
    assert.deepEqual(rooms, ['123', 'den']);
  } finally {
    await h.close();
  }
});

test('Record&Play update over the Admin API; other requests are refused there', async () => {
  assert.deepEqual(await plugin('janus.plugin.recordplay', { request: 'update' }), { recordplay: 'ok' });
  assert.deepEqual(await plugin('janus.plugin.recordplay', { request: 'list' }), { recordplay: 'event', error_code: 413, error: "Unknown request 'list'" });
  assert.deepEqual(await plugin('janus.plugin.recordplay', { request: 7 }), { recordplay: 'event', error_code: 414, error: 'Invalid element type (request should be a string)' });
});
