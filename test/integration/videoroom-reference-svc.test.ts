/**
 * Differential test against the real Janus 1.1.2 for VP9 SVC: a werift publisher sends the same
 * synthetic 3x3 SVC pictures to the VP9-SVC demo room (5678, video_svc) on both servers. Compared: the
 * publisher's `streams`, the subscriber's `attached` streams, which layers reach a subscriber at the
 * default targets (and where the marker is), and the answer to a bad configure.
 *
 * Measured difference, pinned below: the 1.1.2 package never marks such a stream as SVC (its
 * handle_info shows no "vp9-svc" for the publisher, it logs no layer decision at debug level 7), so
 * it ignores spatial_layer/temporal_layer and keeps forwarding every layer; Portunus selects layers as
 * Janus documents (and its later sources do).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RtpPacket } from 'werift';
import { Vp9Descriptor } from '../../src/media/vp9-descriptor.ts';
import { Participant, peerWith, rawPublisher, sleep, subscribe, until, vp9Picture, VP9, type Subscribing } from './videoroom-helpers.ts';
import { assertSameRuns, normaliseIds, referencePair, waitPublishing } from './videoroom-reference-common.ts';

// The same rooms on both: the reference's VP9-SVC demo room 5678 is the one compared.
const servers = referencePair({ sameRooms: true });

/** Layers (and markers) of the packets of pictures >= `from`, as `s<sid>t<tid><M?>`, sorted and unique. */
function layers(s: Subscribing, from: number): string {
  const d = new Vp9Descriptor();
  const out = new Set<string>();
  for (const p of (s.received.get('0') ?? []) as RtpPacket[]) {
    if (!d.parse(p.payload, 0, p.payload.length)) continue;
    const pic = Number(p.payload.subarray(d.length).toString().split('p')[1]?.replace(/\x09.*$/s, ''));
    if (pic >= from) out.add(`s${d.sid}t${d.tid}${p.header.marker ? 'M' : ''}`);
  }
  return [...out].sort().join(' ');
}

async function run(wsUrl: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const admin = await Participant.attach(wsUrl);
  const room = 5678;
  const pub = await rawPublisher(wsUrl, room, { video: VP9 });
  await waitPublishing(admin, room);
  const other = await Participant.attach(wsUrl);
  out.publishers = (await other.async({ request: 'join', room, ptype: 'publisher', display: 'o' })).plugindata.data.publishers;
  const sub = await subscribe(wsUrl, room, [{ feed: pub.id, mid: '1' }], {}, peerWith([], [VP9]));
  // Our subscriber streams also describe the SVC state ("svc"), which 1.1.2 never has (see above).
  out.attached = sub.attached.streams.map(({ svc, ...rest }: Record<string, unknown>) => rest);
  out.svcDescribed = sub.attached.streams[0].svc !== undefined;
  let pic = 0;
  for (; pic < 12; pic++) await vp9Picture(pub, pic, pic === 0);
  await until(() => layers(sub, 8).includes('s2'), 10000, 'top layer');
  out.initialLayers = layers(sub, 4);
  const configured = await sub.p.async({ request: 'configure', streams: [{ mid: '0', spatial_layer: 1, temporal_layer: 0 }] });
  out.configured = configured.plugindata.data;
  for (; pic < 24; pic++) await vp9Picture(pub, pic, false);
  await sleep(500);
  out.lowerLayers = layers(sub, 16);
  out.events = sub.p.notifications((d) => d.spatial_layer !== undefined || d.temporal_layer !== undefined).slice(-1);
  const bad = await sub.p.async({ request: 'configure', streams: [{ mid: '0', spatial_layer: 'x' }] });
  out.badConfigure = bad.plugindata.data;
  await pub.pc.close();
  await sub.pc.close();
  return normaliseIds(out) as Record<string, unknown>;
}

test('VP9 SVC: streams and default forwarding match Janus 1.1.2; layer selection where 1.1.2 does none', { timeout: 120_000 }, async () => {
  const theirs = await run(servers.theirs);
  const ours = await run(servers.ours);
  // The pinned difference: 1.1.2 keeps forwarding every layer and sends no layer event.
  assert.equal(theirs.lowerLayers, 's0t0 s0t1 s0t2 s1t0 s1t1 s1t2 s2t0M s2t1M s2t2M');
  assert.deepEqual(theirs.events, []);
  assert.equal(theirs.svcDescribed, false);
  assert.equal(ours.lowerLayers, 's0t0 s1t0M', 'spatial_layer 1 / temporal_layer 0 after the configure');
  assert.deepEqual(ours.events, [{ videoroom: 'event', room: 5678, mid: '0', spatial_layer: 1, temporal_layer: 0 }]);
  assert.equal(ours.svcDescribed, true);
  for (const k of ['lowerLayers', 'events', 'svcDescribed']) delete theirs[k];
  assertSameRuns(ours, theirs);
});
