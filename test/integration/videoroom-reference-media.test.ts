/**
 * Differential test against the real Janus 1.1.2 with a real werift publisher: what janus.js reads
 * to subscribe (the `publishers` entries with their `streams`), the subscriber's `attached` streams,
 * the `configured` event and the `unpublished`/`updated` flow are the same on both servers, ids aside.
 */
import { test } from 'node:test';
import { answerTo, loopbackPeer, offerWith, waitConnected } from '../helpers/werift-peer.ts';
import { Participant, track } from './videoroom-helpers.ts';
import { assertSameRuns, normaliseIds, referencePair, waitPublishing } from './videoroom-reference-common.ts';

const servers = referencePair();

async function run(wsUrl: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const admin = await Participant.attach(wsUrl);
  const room = 8800;
  await admin.sync({ request: 'create', room, publishers: 3 });
  const pub = await Participant.attach(wsUrl);
  const joined = await pub.async({ request: 'join', room, ptype: 'publisher', display: 'pub', id: 42 });
  out.joined = joined.plugindata.data;
  const pc = track(loopbackPeer());
  const offer = await offerWith(pc, ['audio', 'video'], false);
  const conf = await pub.async({ request: 'configure', audio: true, video: true, descriptions: [{ mid: '1', description: 'camera' }] }, { type: 'offer', sdp: offer.sdp });
  out.configured = conf.plugindata.data;
  out.answerDirections = [...conf.jsep.sdp.matchAll(/a=(sendrecv|sendonly|recvonly|inactive)/g)].map((m) => m[1]);
  await pc.setRemoteDescription(conf.jsep);
  await waitConnected(pc);
  // Janus lists a publisher only once its PeerConnection is up on the server side (DTLS done), which
  // can be a moment after our ICE says connected: wait for it, for both servers alike.
  await waitPublishing(admin, room);
  const other = await Participant.attach(wsUrl);
  const j2 = await other.async({ request: 'join', room, ptype: 'publisher', display: 'other' });
  out.publishers = j2.plugindata.data.publishers;
  const sub = await Participant.attach(wsUrl);
  const att = await sub.async({ request: 'join', room, ptype: 'subscriber', streams: [{ feed: 42 }] });
  out.attached = att.plugindata.data;
  out.offerKinds = [...att.jsep.sdp.matchAll(/m=(audio|video|application) /g)].map((m) => m[1]);
  const spc = track(loopbackPeer());
  const started = await sub.async({ request: 'start' }, { type: 'answer', sdp: await answerTo(spc, att.jsep) });
  out.started = started.plugindata.data;
  await waitConnected(spc);
  await new Promise((r) => setTimeout(r, 500));
  const legacy = await Participant.attach(wsUrl);
  out.legacy = (await legacy.async({ request: 'join', room, ptype: 'subscriber', feed: 42 })).plugindata.data;
  out.unpublished = (await pub.async({ request: 'unpublish' }, undefined, 30_000)).plugindata.data;
  out.seenByOther = (await other.waitNotification((d) => d.unpublished !== undefined)).plugindata.data;
  const upd = await sub.waitNotification((d) => d.videoroom === 'updated');
  out.updated = upd.plugindata.data;
  out.updatedInactive = [...(upd.jsep?.sdp ?? '').matchAll(/a=(sendrecv|sendonly|recvonly|inactive)/g)].map((m) => m[1]);
  out.updatedJsep = upd.jsep?.type;
  await pc.close();
  await spc.close();
  for (const p of [admin, pub, other, sub, legacy]) p.close();
  return normaliseIds(out, ['id', 'feed_id', 'private_id', 'unpublished', 'leaving']) as Record<string, unknown>;
}

test('publisher and subscriber events match Janus 1.1.2 with a real publisher', { timeout: 120_000 }, async () => {
  const theirs = await run(servers.theirs);
  assertSameRuns(await run(servers.ours), theirs);
});
