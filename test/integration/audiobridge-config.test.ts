/**
 * AudioBridge rooms from janus.plugin.audiobridge.jcfg and by API: config rooms are listed, the
 * admin_key gates creation, permanent rooms are written back to the file (and removed from it when
 * destroyed), and Admin API message_plugin reaches the sync requests.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAudioBridgeServer, AbClient, until } from './audiobridge-common.ts';
import { parseJcfg } from '../../src/config/jcfg.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ab-config-'));
const file = path.join(dir, 'janus.plugin.audiobridge.jcfg');
const server = await startAudioBridgeServer(
  { general: { admin_key: 'letmein', rtp_port_range: '40000-49999' }, 'room-1234': { description: 'Demo Room', secret: 'adminpwd', sampling_rate: 16000 } },
  (c) => { c.general.configs_folder = dir; },
);
after(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

test('config rooms, admin_key and permanent rooms written back', async () => {
  const c = await AbClient.open(wsUrl);
  try {
    const list = await c.sync({ request: 'list' });
    assert.deepEqual(list.list, [{ room: 1234, description: 'Demo Room', sampling_rate: 16000, spatial_audio: false, pin_required: false, record: false, muted: false, num_participants: 0 }]);
    assert.deepEqual(await c.sync({ request: 'create', room: 42 }), { audiobridge: 'event', error_code: 483, error: 'Missing mandatory element (admin_key)' });
    assert.deepEqual(await c.sync({ request: 'create', room: 42, admin_key: 'nope' }), { audiobridge: 'event', error_code: 489, error: 'Unauthorized (wrong admin_key)' });
    const created = await c.sync({ request: 'create', room: 42, admin_key: 'letmein', permanent: true, description: 'kept "quoted"', sampling_rate: 24000, secret: 's', groups: ['a', 'b'] });
    assert.deepEqual(created, { audiobridge: 'created', room: 42, permanent: true });
    await until(() => fs.existsSync(file), 3000, 'config file written');
    let saved = parseJcfg(fs.readFileSync(file, 'utf8')) as Record<string, any>;
    assert.equal(saved['room-42'].description, 'kept "quoted"');
    assert.equal(Number(saved['room-42'].sampling_rate), 24000);
    assert.deepEqual(saved['room-42'].groups, ['a', 'b']);
    assert.equal(saved.general.admin_key, 'letmein');
    assert.equal(saved['room-1234']?.description, 'Demo Room', 'rooms that came from the file stay in it');
    const edited = await c.sync({ request: 'edit', room: 42, secret: 's', new_description: 'renamed', permanent: true });
    assert.deepEqual(edited, { audiobridge: 'edited', room: 42, permanent: true });
    await until(() => (parseJcfg(fs.readFileSync(file, 'utf8')) as Record<string, any>)['room-42']?.description === 'renamed', 3000, 'edit written');
    // Admin API message_plugin runs sync requests.
    const viaAdmin = await server.gateway.plugins.get('janus.plugin.audiobridge')!.handleAdminMessage!({ request: 'exists', room: 42 });
    assert.deepEqual(viaAdmin, { audiobridge: 'success', room: 42, exists: true });
    assert.deepEqual(await c.sync({ request: 'destroy', room: 42, secret: 's', permanent: true }), { audiobridge: 'destroyed', room: 42, permanent: true });
    await until(() => !('room-42' in (parseJcfg(fs.readFileSync(file, 'utf8')) as Record<string, any>)), 3000, 'room removed from the file');
    saved = parseJcfg(fs.readFileSync(file, 'utf8')) as Record<string, any>;
    assert.ok(saved.general, 'the general section stays');
  } finally {
    await c.close();
  }
});
