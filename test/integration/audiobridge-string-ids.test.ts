/**
 * AudioBridge with `string_ids = true` (as Janus): rooms and participants are named by strings, in
 * requests, replies, events and the config file; numbers are refused with Janus' 484; rooms and
 * participants without an id get a random string. Two werift participants in a string-named room
 * hear each other.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAudioBridgeServer, AbClient, ToneParticipant, sleep, until } from './audiobridge-common.ts';
import { parseJcfg } from '../../src/config/jcfg.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ab-strids-'));
const file = path.join(dir, 'janus.plugin.audiobridge.jcfg');
const server = await startAudioBridgeServer(
  { general: { string_ids: true, rtp_port_range: '40000-49999' }, 'room-lobby': { description: 'Lobby', sampling_rate: 16000 } },
  (c) => { c.general.configs_folder = dir; },
);
after(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

test('string room ids: config rooms, create, permanent write-back, numbers refused', async () => {
  const c = await AbClient.open(wsUrl);
  try {
    const list = (await c.sync({ request: 'list' })).list;
    assert.deepEqual(list.map((r: any) => [r.room, r.description]), [['lobby', 'Lobby']]);
    assert.deepEqual(await c.sync({ request: 'exists', room: 'lobby' }), { audiobridge: 'success', room: 'lobby', exists: true });
    assert.deepEqual(await c.sync({ request: 'create', room: 42 }), { audiobridge: 'event', error_code: 484, error: 'Invalid element type (room should be a string)' });
    assert.deepEqual(await c.sync({ request: 'exists', room: 42 }), { audiobridge: 'event', error_code: 484, error: 'Invalid element type (room should be a string)' });
    assert.deepEqual(await c.sync({ request: 'create', room: 'team-a', permanent: true, description: 'Team A' }), { audiobridge: 'created', room: 'team-a', permanent: true });
    assert.equal((await c.sync({ request: 'create', room: 'team-a' })).error_code, 486);
    await until(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('team-a'), 3000, 'config file written');
    const saved = parseJcfg(fs.readFileSync(file, 'utf8')) as Record<string, any>;
    assert.equal(saved['room-team-a'].description, 'Team A');
    const anon = await c.sync({ request: 'create' });
    assert.equal(anon.audiobridge, 'created');
    assert.match(anon.room, /^[0-9a-f-]{36}$/, 'a random string id');
    assert.deepEqual(await c.sync({ request: 'destroy', room: anon.room }), { audiobridge: 'destroyed', room: anon.room, permanent: false });
  } finally {
    await c.close();
  }
});

test('string participant ids: join, hear each other, listparticipants, kick', async () => {
  const admin = await AbClient.open(wsUrl);
  const room = 'call-7';
  await admin.sync({ request: 'create', room, sampling_rate: 16000 });
  const alice = await ToneParticipant.join(wsUrl, room, 440, { id: 'alice', display: 'Alice' });
  const bob = await ToneParticipant.join(wsUrl, room, 1000, { id: 'bob' });
  try {
    assert.equal(alice.id, 'alice');
    assert.equal(bob.id, 'bob');
    const other = await AbClient.open(wsUrl);
    try {
      const dup = await other.async({ request: 'join', room, id: 'alice' });
      assert.equal(dup.plugindata.data.error_code, 490);
      const numeric = await other.async({ request: 'join', room, id: 5 });
      assert.deepEqual(numeric.plugindata.data, { audiobridge: 'event', error_code: 484, error: 'Invalid element type (id should be a string)' });
      const joined = await other.async({ request: 'join', room });
      assert.match(joined.plugindata.data.id, /^[0-9a-f-]{36}$/, 'a random string participant id');
      await other.async({ request: 'leave' });
    } finally {
      await other.close();
    }

    alice.start();
    bob.start();
    await Promise.all([alice.flowing(), bob.flowing()]);
    await sleep(500);
    const since = performance.now();
    await sleep(1000);
    const a = alice.hears([440, 1000], since, 0);
    const b = bob.hears([440, 1000], since, 0);
    assert.ok(a[1] > 1500 && a[0] < 400, `alice hears bob only: ${a.map((x) => x.toFixed(0))}`);
    assert.ok(b[0] > 1500 && b[1] < 400, `bob hears alice only: ${b.map((x) => x.toFixed(0))}`);

    const listed = await admin.sync({ request: 'listparticipants', room });
    assert.equal(listed.room, room);
    assert.deepEqual(listed.participants.map((p: any) => p.id).sort(), ['alice', 'bob']);
    assert.deepEqual(await admin.sync({ request: 'mute', room, id: 'bob' }), { audiobridge: 'success', room });
    assert.deepEqual(await admin.sync({ request: 'kick', room, id: 'bob' }), { audiobridge: 'success' });
    await alice.client.waitNotification((n) => n.kicked === 'bob' || n.leaving === 'bob');
    assert.deepEqual((await admin.sync({ request: 'listparticipants', room })).participants.map((p: any) => p.id), ['alice']);
  } finally {
    await alice.close();
    await bob.close();
    await admin.sync({ request: 'destroy', room });
    await admin.close();
  }
});
