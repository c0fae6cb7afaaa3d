/**
 * Differential test against the real Janus 1.1.2 (Debian `janus`): the same VideoRoom requests,
 * answered with the same bodies (success shapes, error codes and reasons), Portunus loading the
 * same janus.plugin.videoroom.jcfg as the reference. Only random ids are normalised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JanusWsClient, newTransaction } from '../helpers/janus-client.ts';
import { track, VR } from './videoroom-helpers.ts';
import { referencePair } from './videoroom-reference-common.ts';

const servers = referencePair({ sameRooms: true });

type Step = { h: 0 | 1; body: Record<string, unknown> };

/** Requests whose answers must be the same; h is which of two handles sends it. */
const SCRIPT: Step[] = [
  ...[{}, { request: 5 }, { request: 'nope' }, { request: null }].map((body) => ({ h: 0 as const, body })),
  ...[
    { request: 'exists' }, { request: 'exists', room: 'x' }, { request: 'exists', room: 1234 }, { request: 'exists', room: 999 },
    { request: 'exists', room: -3 }, { request: 'exists', room: 1.5 },
    { request: 'create', room: 777, secret: 's', pin: 'p', is_private: true, description: 'd', publishers: 2 },
    { request: 'create', room: 777 }, { request: 'create', room: -1 }, { request: 'create', room: 778, publishers: 'x' },
    { request: 'create', room: 778, audiocodec: 'foo' }, { request: 'create', room: 778, videocodec: 'vp8,bar' }, { request: 'create', room: 778, bitrate: -5 },
    { request: 'create', room: 778, is_private: 'yes' }, { request: 'create', room: 779, audiocodec: 'pcmu,opus', videocodec: 'h264,vp8', bitrate: 1000, notify_joining: true },
    { request: 'edit', room: 777 }, { request: 'edit', room: 777, secret: 'bad' }, { request: 'edit', room: 777, secret: 's', new_description: 'e', new_publishers: 3 },
    { request: 'edit', room: 4242, secret: 's' }, { request: 'edit', room: 777, secret: 's', new_bitrate: 'x' },
    { request: 'allowed', room: 777 }, { request: 'allowed', room: 777, action: 'add' }, { request: 'allowed', room: 777, secret: 's', action: 'bad' },
    { request: 'allowed', room: 777, secret: 's', action: 'add' }, { request: 'allowed', room: 777, secret: 's', action: 'add', allowed: ['b', 3] },
    { request: 'allowed', room: 777, secret: 's', action: 'add', allowed: ['tok1', 'tok2'] }, { request: 'allowed', room: 777, secret: 's', action: 'remove', allowed: ['tok2'] },
    { request: 'listparticipants', room: 777 }, { request: 'listparticipants', room: 1 }, { request: 'listparticipants' },
    { request: 'kick', room: 777, secret: 's' }, { request: 'kick', room: 777, secret: 's', id: 5 }, { request: 'kick', room: 777, id: 5 },
    { request: 'moderate', room: 777, secret: 's', id: 5, mid: '0', mute: true },
    { request: 'listforwarders', room: 777 }, { request: 'listforwarders', room: 777, secret: 's' },
    { request: 'rtp_forward', room: 777, secret: 's' }, { request: 'rtp_forward', room: 777, secret: 's', publisher_id: 5, host: '127.0.0.1' },
    { request: 'stop_rtp_forward', room: 777, secret: 's', publisher_id: 5, stream_id: 1 },
    { request: 'enable_recording', room: 777, secret: 's', record: true }, { request: 'enable_recording', room: 777, secret: 's' },
  ].map((body) => ({ h: 0 as const, body })),
  // joins: pins, tokens, ids, roles
  ...[
    { request: 'join' }, { request: 'join', room: 777 }, { request: 'join', room: 777, ptype: 'x' }, { request: 'join', room: 777, ptype: 'publisher' },
    { request: 'join', room: 777, ptype: 'publisher', pin: 'bad' }, { request: 'allowed', room: 777, secret: 's', action: 'enable' }, { request: 'join', room: 777, ptype: 'publisher', pin: 'p' },
    { request: 'join', room: 777, ptype: 'publisher', pin: 'p', token: 'tok2' }, { request: 'join', room: 777, ptype: 'publisher', pin: 'p', token: 'tok1', id: 'str' },
    { request: 'configure', bitrate: 1000 }, { request: 'unpublish' }, { request: 'publish' }, { request: 'start' }, { request: 'leave' }, { request: 'pause' }, { request: 'switch' },
    { request: 'join', room: 777, ptype: 'publisher', pin: 'p', token: 'tok1', id: 42, display: 'me' },
    { request: 'join', room: 777, ptype: 'publisher', pin: 'p', token: 'tok1', id: 43 },
    { request: 'unpublish' },
  ].map((body) => ({ h: 0 as const, body })),
  ...[
    { request: 'join', room: 777, ptype: 'publisher', pin: 'p', token: 'tok1', id: 42 },
    { request: 'join', room: 1234, ptype: 'subscriber' }, { request: 'join', room: 1234, ptype: 'subscriber', feed: 5 },
    { request: 'join', room: 1234, ptype: 'subscriber', streams: [] }, { request: 'join', room: 1234, ptype: 'subscriber', streams: [{ feed: 42 }] },
    { request: 'join', room: 1234, ptype: 'subscriber', streams: [{ feeed: 42 }] }, { request: 'join', room: 777, ptype: 'subscriber', pin: 'p', feed: 42 },
  ].map((body) => ({ h: 1 as const, body })),
  ...[
    { request: 'listparticipants', room: 777 }, { request: 'kick', room: 777, secret: 's', id: 42 }, { request: 'listparticipants', room: 777 },
    { request: 'destroy', room: 777 }, { request: 'destroy', room: 777, secret: 'x' }, { request: 'destroy', room: 777, secret: 's' }, { request: 'destroy', room: 777, secret: 's' },
    { request: 'destroy', room: 779 },
  ].map((body) => ({ h: 0 as const, body })),
];

async function run(wsUrl: string): Promise<unknown[]> {
  const c = track(await JanusWsClient.connect(wsUrl));
  const sid = await c.createSession();
  const handles = [await c.attach(sid, VR), await c.attach(sid, VR)];
  const out: unknown[] = [];
  for (const { h, body } of SCRIPT) {
    const transaction = newTransaction();
    const ev = c.waitFor((m) => m.janus === 'event' && m.transaction === transaction, 5000);
    const r = await c.request({ janus: 'message', session_id: sid, handle_id: handles[h], transaction, body });
    if (r.janus === 'ack') out.push({ async: (await ev).plugindata.data });
    else {
      ev.catch(() => {});
      out.push({ sync: r.plugindata?.data ?? r.error });
    }
  }
  // What a third party sees: the rooms list (sorted) after the script.
  const list = await c.request({ janus: 'message', session_id: sid, handle_id: handles[0], body: { request: 'list' } });
  out.push((list.plugindata.data.list as Array<{ room: number }>).sort((a, b) => a.room - b.room));
  c.close();
  return JSON.parse(JSON.stringify(out, (k, v) => (k === 'private_id' && typeof v === 'number' ? 'PVT' : k === 'allowed' && Array.isArray(v) ? [...v].sort() : v)));
}

test('VideoRoom requests get the same answers as from Janus 1.1.2', { timeout: 120_000 }, async () => {
  const theirs = await run(servers.theirs);
  const ours = await run(servers.ours);
  const diffs: string[] = [];
  for (let i = 0; i < SCRIPT.length; i++) {
    if (JSON.stringify(ours[i]) !== JSON.stringify(theirs[i])) diffs.push(`step ${i} ${JSON.stringify(SCRIPT[i].body)}\n  ours   ${JSON.stringify(ours[i])}\n  theirs ${JSON.stringify(theirs[i])}`);
  }
  assert.deepEqual(diffs, []);
  assert.deepEqual(ours[SCRIPT.length], theirs[SCRIPT.length], 'room list');
});
