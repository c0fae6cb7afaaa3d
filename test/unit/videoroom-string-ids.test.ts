/**
 * VideoRoom with `string_ids = true` (janus.plugin.videoroom.jcfg general): room and participant ids
 * are strings, numbers are refused with Janus' wording, and rooms come from `room-<name>` groups.
 * Driven through the real Gateway core without a transport.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gateway } from '../../src/core/gateway.ts';
import { silentLogger } from '../../src/core/log.ts';
import { CoreClient, RecordingConnection, testConfig } from '../helpers/core.ts';
import { VideoRoomPlugin } from '../../src/plugins/videoroom/index.ts';

const VR = 'janus.plugin.videoroom';

test('string ids: rooms and participants named by strings', async () => {
  const gw = new Gateway(testConfig((c) => {
    c.pluginConfigs = { [VR]: { general: { string_ids: true }, 'room-lobby': { description: 'Lobby' } } };
  }), silentLogger(), [new VideoRoomPlugin()]);
  await gw.start();
  try {
    const conn = new RecordingConnection();
    const client = new CoreClient(gw, conn);
    const sid = await client.createSession();
    const h = await client.attach(sid, VR);
    const sync = async (body: Record<string, unknown>) => ((await client.req({ janus: 'message', session_id: sid, handle_id: h, body })).plugindata as any).data;
    assert.deepEqual(await sync({ request: 'exists', room: 'lobby' }), { videoroom: 'success', room: 'lobby', exists: true });
    assert.deepEqual(await sync({ request: 'exists', room: 5 }), { videoroom: 'event', error_code: 430, error: 'Invalid element type (room should be a string)' });
    const created = await sync({ request: 'create' });
    assert.equal(typeof created.room, 'string');
    assert.deepEqual(await sync({ request: 'create', room: 'x1', description: 'X' }), { videoroom: 'created', room: 'x1', permanent: false });
    const p = await client.attach(sid, VR);
    await client.req({ janus: 'message', session_id: sid, handle_id: p, body: { request: 'join', room: 'x1', ptype: 'publisher', id: 'alice', display: 'Alice' } });
    const joined = await conn.waitFor((e: any) => e.sender === p && e.plugindata?.data?.videoroom === 'joined');
    assert.equal((joined.plugindata as any).data.id, 'alice');
    let parts: any;
    for (let i = 0; i < 50; i++) {
      parts = await sync({ request: 'listparticipants', room: 'x1' });
      if (parts.participants.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(parts.participants, [{ id: 'alice', display: 'Alice', publisher: false }]);
    assert.deepEqual(await sync({ request: 'kick', room: 'x1', id: 7 }), { videoroom: 'event', error_code: 430, error: 'Invalid element type (id should be a string)' });
    assert.deepEqual(await sync({ request: 'kick', room: 'x1', id: 'alice' }), { videoroom: 'success' });
  } finally {
    await gw.stop();
  }
});
