/**
 * VideoRoom media with real werift peers over loopback: a publisher's Opus and VP8 reach every
 * subscriber byte for byte, with one clean SSRC/sequence space each; unpublish reaches every
 * subscriber as `updated` with inactive streams and a new offer; leave and kick free everything.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeAll, count, Participant, publish, sleep, startVideoRoomServer, subscribe, until } from './videoroom-helpers.ts';

const server = await startVideoRoomServer();
after(async () => {
  await closeAll();
  await server.close();
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

async function newRoom(extra: Record<string, unknown> = {}): Promise<{ admin: Participant; room: number }> {
  const admin = await Participant.attach(wsUrl);
  const created = await admin.sync({ request: 'create', ...extra });
  assert.equal(created.videoroom, 'created');
  return { admin, room: created.room };
}

test('a publisher reaches two multistream subscribers; unpublish turns their streams inactive', async () => {
  const { admin, room } = await newRoom({ publishers: 4 });
  const pub = await publish(wsUrl, room, 'alice');
  // Another participant sees the publisher with its streams (what janus.js subscribes from).
  const watcher = await Participant.attach(wsUrl);
  const joined = await watcher.async({ request: 'join', room, ptype: 'publisher', display: 'bob' });
  const listed = joined.plugindata.data.publishers;
  assert.equal(listed.length, 1);
  assert.equal(listed[0].id, pub.id);
  assert.equal(listed[0].display, 'alice');
  assert.deepEqual(listed[0].streams.map((s: any) => [s.type, s.mid, s.codec]), [['audio', '0', 'opus'], ['video', '1', 'vp8']]);

  await pub.send(10, 'pre'); // the publisher's SSRCs are known before anyone subscribes
  const s1 = await subscribe(wsUrl, room, [{ feed: pub.id }]);
  const s2 = await subscribe(wsUrl, room, [{ feed: pub.id, mid: '1' }]);
  assert.deepEqual(s1.attached.streams.map((s: any) => [s.mindex, s.mid, s.type, s.feed_id, s.feed_mid, s.active]), [[0, '0', 'audio', pub.id, '0', true], [1, '1', 'video', pub.id, '1', true]]);
  assert.deepEqual(s2.attached.streams.map((s: any) => [s.mid, s.type, s.feed_mid]), [['0', 'video', '1']]);
  // Keyframe on subscribe: the publisher was asked for one (PLI).
  await until(() => pub.pli > 0, 8000, 'PLI to the publisher');

  await pub.send(60, 'm');
  await until(() => count(s1, '0', 'ma') >= 50 && count(s1, '1', 'mv') >= 50 && count(s2, '0', 'mv') >= 50, 10000, 'media at both subscribers');
  assert.equal(count(s2, '0', 'ma'), 0, 'the video-only subscriber gets no audio');
  // Payload bytes untouched; headers rewritten into one stream per subscriber mid.
  const v = s1.received.get('1')!;
  assert.deepEqual(v[v.length - 1].payload.subarray(4), Buffer.alloc(40, 7));
  assert.equal(new Set(v.map((x) => x.header.ssrc)).size, 1);
  assert.equal(v[0].header.payloadType, 96);
  const seqs = v.map((x) => x.header.sequenceNumber);
  for (let i = 1; i < seqs.length; i++) assert.equal((seqs[i] - seqs[i - 1]) & 0xffff, 1, 'consecutive sequence numbers');

  // Unpublish: the room hears it, every subscriber gets `updated` with inactive streams and an offer.
  const done = await pub.p.async({ request: 'unpublish' });
  assert.equal(done.plugindata.data.unpublished, 'ok');
  await watcher.waitNotification((d) => d.unpublished === pub.id);
  for (const s of [s1, s2]) {
    const upd = await s.p.waitNotification((d) => d.videoroom === 'updated');
    assert.equal(upd.jsep.type, 'offer');
    assert.ok(upd.plugindata.data.streams.every((x: any) => x.active === false), JSON.stringify(upd.plugindata.data));
    assert.match(upd.jsep.sdp, /a=inactive/);
    assert.doesNotMatch(upd.jsep.sdp, /a=sendonly/);
  }
  const before = count(s1, '1');
  await pub.send(10, 'late');
  await sleep(300);
  assert.equal(count(s1, '1'), before, 'nothing flows after unpublish');
  const parts = await admin.sync({ request: 'listparticipants', room });
  assert.deepEqual(parts.participants.map((p: any) => [p.id, p.publisher]).sort(), [[pub.id, false], [joined.plugindata.data.id, false]].sort());
  for (const x of [pub.pc, s1.pc, s2.pc]) await x.close();
  for (const x of [admin, watcher, pub.p, s1.p, s2.p]) x.close();
});

test('legacy feed join, pause/start, switch, kick and destroy free everything', async () => {
  const { admin, room } = await newRoom({ secret: 'sec' });
  const a = await publish(wsUrl, room, 'a');
  const b = await publish(wsUrl, room, 'b');
  const legacy = await Participant.attach(wsUrl);
  const ev = await legacy.async({ request: 'join', room, ptype: 'subscriber', feed: a.id });
  assert.equal(ev.plugindata.data.videoroom, 'attached');
  assert.equal(ev.plugindata.data.warning, 'deprecated_api');
  assert.equal(ev.plugindata.data.streams.length, 2);
  legacy.close();

  const s = await subscribe(wsUrl, room, [{ feed: a.id }]);
  await a.send(30, 'a1');
  await until(() => count(s, '1', 'a1v') >= 25, 10000, 'media from a');
  // pause: nothing flows; start again: it does.
  assert.equal((await s.p.async({ request: 'pause' })).plugindata.data.paused, 'ok');
  const paused = count(s, '1');
  await a.send(20, 'a2');
  await sleep(300);
  assert.equal(count(s, '1'), paused);
  assert.equal((await s.p.async({ request: 'start' })).plugindata.data.started, 'ok');
  // switch the video m-line to b's video: no renegotiation, b's packets arrive on the same mid.
  const sw = await s.p.async({ request: 'switch', streams: [{ feed: b.id, mid: '1', sub_mid: '1' }] });
  assert.equal(sw.plugindata.data.switched, 'ok');
  assert.equal(sw.plugindata.data.changes, 1);
  assert.equal(sw.jsep, undefined);
  await b.send(30, 'b1');
  await until(() => count(s, '1', 'b1v') >= 25, 10000, 'media from b after switch');
  const vs = s.received.get('1')!;
  assert.equal(new Set(vs.map((x) => x.header.ssrc)).size, 1, 'one SSRC across the switch');

  // kick b: its handle is told, the room hears it, its subscribers lose the stream.
  const kicked = await admin.sync({ request: 'kick', room, secret: 'sec', id: b.id });
  assert.equal(kicked.videoroom, 'success');
  await b.p.waitNotification((d) => d.leaving === 'ok' && d.reason === 'kicked');
  await a.p.waitNotification((d) => d.kicked === b.id);
  await s.p.waitNotification((d) => d.videoroom === 'updated');
  const plugin = server.gateway.plugins.get('janus.plugin.videoroom') as any;
  const r = plugin.rooms.get(room);
  assert.equal(r.participants.has(b.id), false);
  // Like a handle that left (Janus 1.1.2): requests on it now get 426 'No such room'.
  assert.equal((await b.p.async({ request: 'configure', bitrate: 1 })).plugindata.data.error_code, 426);

  // destroy: everybody is told, nothing is left referencing the room.
  const destroyed = await admin.sync({ request: 'destroy', room, secret: 'sec' });
  assert.deepEqual(destroyed, { videoroom: 'destroyed', room, permanent: false });
  await a.p.waitNotification((d) => d.videoroom === 'destroyed' && d.room === room);
  await s.p.waitNotification((d) => d.videoroom === 'destroyed' && d.room === room);
  assert.equal(plugin.rooms.has(room), false);
  assert.equal(r.participants.size, 0);
  assert.equal(r.subscribers.size, 0);
  const exists = await admin.sync({ request: 'exists', room });
  assert.equal(exists.exists, false);
  for (const x of [a.pc, b.pc, s.pc]) await x.close();
  for (const x of [admin, a.p, b.p, s.p]) x.close();
});
