/**
 * Fuzz of the VideoRoom request validators through the real Gateway core (no transport): random and
 * mutated request bodies on publisher, subscriber and fresh handles. Every request must be answered
 * (a success reply, or an ack then an event), every error must carry one of the plugin's Janus codes
 * (421-437, 499), nothing may throw, and the room must still work afterwards.
 * Replay a failure with FUZZ_SEED=<seed>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gateway } from '../../src/core/gateway.ts';
import { silentLogger } from '../../src/core/log.ts';
import { CoreClient, RecordingConnection, testConfig } from '../helpers/core.ts';
import { fuzzSeed, prng, type Rng } from '../helpers/prng.ts';
import { VideoRoomPlugin } from '../../src/plugins/videoroom/index.ts';

const VR = 'janus.plugin.videoroom';
const REQUESTS = ['create', 'edit', 'destroy', 'exists', 'list', 'allowed', 'kick', 'moderate', 'listparticipants', 'listforwarders',
  'enable_recording', 'rtp_forward', 'stop_rtp_forward', 'join', 'joinandconfigure', 'configure', 'publish', 'unpublish', 'start',
  'pause', 'switch', 'leave', 'subscribe', 'unsubscribe', 'update', 'bogus'];
const KEYS = ['room', 'ptype', 'feed', 'streams', 'id', 'display', 'secret', 'pin', 'mid', 'sub_mid', 'send', 'substream', 'temporal',
  'publisher_id', 'host', 'port', 'stream_id', 'action', 'allowed', 'permanent', 'publishers', 'bitrate', 'audiocodec', 'videocodec',
  'record', 'filename', 'descriptions', 'subscribe', 'unsubscribe', 'private_id', 'mute', 'token', 'new_description', 'admin_key', 'keyframe'];

function value(r: Rng, depth = 0): unknown {
  const k = Math.floor(r() * 12);
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor(r() * 5000) - 10;
    case 3: return r() * 1e20;
    case 4: return -Math.floor(r() * 2 ** 60);
    case 5: return ['', '0', '1', 'x'.repeat(Math.floor(r() * 300)), 'vp8,opus', '../../etc/passwd', '\u0000'][Math.floor(r() * 7)];
    case 6: return 1234;
    case 7: return depth < 2 ? Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1)) : [];
    case 8: return depth < 2 ? body(r, depth + 1) : {};
    case 9: return [{ feed: 1234 }, { feed: 'x', mid: 3 }, { mid: '0', send: 'yes' }][Math.floor(r() * 3)];
    case 10: return 2 ** 53 + 2;
    default: return 'publisher';
  }
}

function body(r: Rng, depth = 0): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) b[KEYS[Math.floor(r() * KEYS.length)]] = value(r, depth);
  return b;
}

test('random VideoRoom requests get an answer with a VideoRoom error code, and the plugin keeps working', { timeout: 120_000 }, async () => {
  const seed = fuzzSeed();
  const r = prng(seed);
  const plugin = new VideoRoomPlugin();
  const gw = new Gateway(testConfig((c) => {
    c.pluginConfigs = { [VR]: { 'room-1234': { description: 'fuzz', secret: 'adminpwd' } } };
  }), silentLogger(), [plugin]);
  await gw.start();
  try {
    const conn = new RecordingConnection();
    const client = new CoreClient(gw, conn);
    const sid = await client.createSession();
    const handles: number[] = [];
    for (let i = 0; i < 4; i++) handles.push(await client.attach(sid, VR));
    // Give two handles a role so role-specific paths get fuzzed too.
    await client.req({ janus: 'message', session_id: sid, handle_id: handles[1], body: { request: 'join', room: 1234, ptype: 'publisher', display: 'p' } });
    let acks = 0;
    for (let i = 0; i < 1500; i++) {
      const b = body(r);
      if (r() < 0.9) b.request = REQUESTS[Math.floor(r() * REQUESTS.length)];
      if (r() < 0.5 && b.room === undefined) b.room = 1234;
      const h = handles[Math.floor(r() * handles.length)];
      const reply = await client.req({ janus: 'message', session_id: sid, handle_id: h, body: b });
      const ctx = `seed ${seed} case ${i} ${JSON.stringify(b).slice(0, 300)} -> ${JSON.stringify(reply).slice(0, 300)}`;
      if (reply.janus === 'ack') {
        acks++;
        continue;
      }
      assert.equal(reply.janus, 'success', ctx);
      const data = (reply.plugindata as { data: Record<string, unknown> }).data;
      if (data.error_code !== undefined) {
        const code = data.error_code as number;
        assert.ok((code >= 421 && code <= 437) || code === 499, ctx);
        assert.equal(typeof data.error, 'string', ctx);
      }
    }
    // Every async request was answered by an event.
    const deadline = Date.now() + 20_000;
    const events = () => conn.events.filter((e) => e.janus === 'event' && e.transaction !== undefined).length;
    while (events() < acks && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    assert.ok(events() >= acks, `seed ${seed}: ${events()} events for ${acks} acks`);
    for (const e of conn.events) {
      const data = (e.plugindata as { data?: Record<string, unknown> } | undefined)?.data;
      if (data?.error_code !== undefined) assert.ok(((data.error_code as number) >= 421 && (data.error_code as number) <= 437) || data.error_code === 499, `seed ${seed}: ${JSON.stringify(e)}`);
    }
    // Still working: a fresh handle can create a room and join it.
    const h = await client.attach(sid, VR);
    const created = await client.req({ janus: 'message', session_id: sid, handle_id: h, body: { request: 'create', room: 99 } });
    assert.ok(['created', 'event'].includes((created.plugindata as any).data.videoroom));
    const exists = await client.req({ janus: 'message', session_id: sid, handle_id: h, body: { request: 'exists', room: 99 } });
    assert.equal((exists.plugindata as any).data.exists, true);
  } finally {
    await gw.stop();
  }
});
