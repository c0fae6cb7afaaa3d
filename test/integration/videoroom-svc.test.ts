/**
 * VideoRoom VP9 SVC with real werift peers: a publisher sends synthetic VP9 SVC pictures (three
 * spatial x three temporal layers, RFC 9628 descriptors, one packet per layer frame, crafted on its
 * werift transport) in a video_svc room; each subscriber gets the layers up to its own
 * spatial_layer/temporal_layer targets, with the marker on the last packet of the highest layer it
 * gets and sequence numbers without gaps; a configure change takes effect at the next picture going
 * down, at a keyframe (asked for with a PLI) going up, and is announced with an event.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RtpPacket } from 'werift';
import { Vp9Descriptor } from '../../src/media/vp9-descriptor.ts';
import { closeAll, Participant, peerWith, rawPublisher, sleep, startVideoRoomServer, subscribe, until, vp9Picture, VP9, type RawPublisher, type Subscribing } from './videoroom-helpers.ts';

const server = await startVideoRoomServer();
after(async () => {
  await closeAll();
  await server.close();
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

interface Seen { sid: number; tid: number; pic: number; marker: boolean; seq: number }

function seen(s: Subscribing): Seen[] {
  const d = new Vp9Descriptor();
  return (s.received.get('0') ?? []).map((p: RtpPacket) => {
    assert.ok(d.parse(p.payload, 0, p.payload.length), 'a VP9 descriptor');
    const tag = p.payload.subarray(d.length, d.length + 12).toString().replace(/\x09.*$/s, '');
    return { sid: d.sid, tid: d.tid, pic: Number(tag.split('p')[1]), marker: p.header.marker, seq: p.header.sequenceNumber };
  });
}

function layersOf(list: Seen[]): string {
  return [...new Set(list.map((x) => `s${x.sid}t${x.tid}`))].sort().join(' ');
}

function assertNoGaps(list: Seen[]): void {
  for (let k = 1; k < list.length; k++) assert.equal(list[k].seq, (list[k - 1].seq + 1) & 0xffff, `sequence at ${k}`);
}

/** Every picture received ends with the marker, on its highest layer received, and only there. */
function assertMarkers(list: Seen[], topSid: number): void {
  for (const x of list) assert.equal(x.marker, x.sid === topSid, `marker on s${x.sid}t${x.tid}p${x.pic} (top ${topSid})`);
}

const pliCount = (pub: RawPublisher) => pub.rtcp.filter((r: any) => r.type === 206 && r.feedback?.count === 1).length;

test('VP9 SVC: per-subscriber spatial/temporal layers, marker on the top layer, no sequence gaps', { timeout: 90_000 }, async () => {
  const admin = await Participant.attach(wsUrl);
  const room = (await admin.sync({ request: 'create', videocodec: 'vp9', video_svc: true })).room;
  const pub = await rawPublisher(wsUrl, room, { video: VP9 });
  const full = await subscribe(wsUrl, room, [{ feed: pub.id, mid: '1' }], {}, peerWith([], [VP9]));
  const low = await subscribe(wsUrl, room, [{ feed: pub.id, mid: '1' }], {}, peerWith([], [VP9]));
  assert.deepEqual(full.attached.streams[0].svc, { 'spatial-layer': -1, 'target-spatial-layer': 2, 'temporal-layer': -1, 'target-temporal-layer': 2 });
  assert.equal((await low.p.async({ request: 'configure', mid: '0', spatial_layer: 0, temporal_layer: 1 })).plugindata.data.configured, 'ok');

  let pic = 0;
  for (; pic < 16; pic++) await vp9Picture(pub, pic, pic === 0);
  await until(() => seen(full).some((x) => x.pic === 15 && x.sid === 2) && seen(low).some((x) => x.pic === 12), 10000, 'pictures at both');
  assert.equal(layersOf(seen(full)), 's0t0 s0t1 s0t2 s1t0 s1t1 s1t2 s2t0 s2t1 s2t2');
  assert.equal(layersOf(seen(low)), 's0t0 s0t1');
  assert.ok(seen(low).every((x) => x.sid === 0 && x.tid <= 1));
  assertMarkers(seen(full), 2);
  assertMarkers(seen(low), 0);
  // The announced layers.
  await low.p.waitNotification((d) => d.spatial_layer === 0 && d.temporal_layer === 1 && d.mid === '0');
  await full.p.waitNotification((d) => d.spatial_layer === 2 && d.temporal_layer === 2);

  // Down for `full`: at the next picture, no keyframe needed.
  assert.equal((await full.p.async({ request: 'configure', mid: '0', spatial_layer: 1, temporal_layer: 0 })).plugindata.data.configured, 'ok');
  const mark = seen(full).length;
  for (; pic < 24; pic++) await vp9Picture(pub, pic, false);
  await until(() => seen(full).some((x) => x.pic === 20), 10000, 'pictures after going down');
  const after = seen(full).slice(mark);
  assert.equal(layersOf(after), 's0t0 s1t0');
  assertMarkers(after, 1);
  await full.p.waitNotification((d) => d.spatial_layer === 1 && d.temporal_layer === 0);

  // Up for `low`: spatial needs a keyframe, asked for with a PLI; nothing above s0 before it.
  const plis = pliCount(pub);
  assert.equal((await low.p.async({ request: 'configure', mid: '0', spatial_layer: 2, temporal_layer: 2 })).plugindata.data.configured, 'ok');
  await until(() => pliCount(pub) > plis, 8000, 'PLI for the spatial switch up');
  const lowMark = seen(low).length;
  for (; pic < 28; pic++) await vp9Picture(pub, pic, false);
  await sleep(200);
  assert.ok(seen(low).slice(lowMark).every((x) => x.sid === 0), 'no higher spatial layer before a keyframe');
  for (; pic < 36; pic++) await vp9Picture(pub, pic, pic === 28);
  await until(() => seen(low).some((x) => x.pic === 35 && x.sid === 2), 10000, 'all layers after the keyframe');
  const fromKey = seen(low).filter((x) => x.pic >= 28);
  assert.equal(layersOf(fromKey), 's0t0 s0t1 s0t2 s1t0 s1t1 s1t2 s2t0 s2t1 s2t2');
  assertMarkers(fromKey, 2);
  // Temporal went up at a TL0 picture before the keyframe, spatial at the keyframe: two events.
  await low.p.waitNotification((d) => d.temporal_layer === 2 && d.spatial_layer === undefined);
  await low.p.waitNotification((d) => d.spatial_layer === 2 && d.temporal_layer === undefined);

  // One clean stream each, whatever was dropped.
  assertNoGaps(seen(full));
  assertNoGaps(seen(low));
  // Bad targets get the Janus error.
  const bad = await low.p.async({ request: 'configure', mid: '0', spatial_layer: 3 });
  assert.equal(bad.plugindata.data.error_code, 430);
  for (const x of [pub.pc, full.pc, low.pc]) await x.close();
});
