/**
 * Differential test against the real Janus 1.1.2 with real werift peers, for data channels in the
 * VideoRoom: the publisher's `streams` entries with its data stream, what a data-only offer gets, the
 * subscriber's `attached` streams and offer m-lines (whole feed, data mid, legacy feed join), and the
 * publisher's text and binary messages reaching the subscriber on the same label.
 */
import { test } from 'node:test';
import { answerTo, loopbackPeer, offerWith, waitConnected } from '../helpers/werift-peer.ts';
import { Participant, sleep, track, until } from './videoroom-helpers.ts';
import { assertSameRuns, normaliseIds, referencePair, waitPublishing } from './videoroom-reference-common.ts';

const servers = referencePair();

const kinds = (sdp: string | undefined): string[] => [...(sdp ?? '').matchAll(/m=(audio|video|application) (\d+) ([^ ]+)/g)].map((m) => `${m[1]} ${m[2] === '0' ? 'off' : 'on'} ${m[3]}`);

async function run(wsUrl: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const admin = await Participant.attach(wsUrl);
  const room = 8810;
  await admin.sync({ request: 'create', room, publishers: 4 });
  const pub = await Participant.attach(wsUrl);
  const pc = track(loopbackPeer());
  const offer = await offerWith(pc, ['audio'], true);
  const joined = await pub.async({ request: 'joinandconfigure', room, ptype: 'publisher', display: 'pub', id: 42, audio: true, data: true }, { type: 'offer', sdp: offer.sdp });
  out.joinedKeys = Object.keys(joined.plugindata.data).sort();
  out.answerKinds = kinds(joined.jsep?.sdp);
  await pc.setRemoteDescription(joined.jsep);
  await waitConnected(pc);
  await waitPublishing(admin, room);
  // A data-only publisher.
  const dpub = await Participant.attach(wsUrl);
  const dpc = track(loopbackPeer());
  const doffer = await offerWith(dpc, [], true);
  const dj = await dpub.async({ request: 'joinandconfigure', room, ptype: 'publisher', display: 'data-only', id: 43, data: true }, { type: 'offer', sdp: doffer.sdp });
  out.dataOnly = { videoroom: dj.plugindata.data.videoroom, error_code: dj.plugindata.data.error_code, kinds: kinds(dj.jsep?.sdp) };
  const other = await Participant.attach(wsUrl);
  const j2 = await other.async({ request: 'join', room, ptype: 'publisher', display: 'other' });
  out.publishers = j2.plugindata.data.publishers.filter((p: any) => p.id === 42);

  const whole = await Participant.attach(wsUrl);
  const w = await whole.async({ request: 'join', room, ptype: 'subscriber', streams: [{ feed: 42 }] });
  out.wholeFeed = { streams: w.plugindata.data.streams, kinds: kinds(w.jsep?.sdp) };
  const legacy = await Participant.attach(wsUrl);
  const l = await legacy.async({ request: 'join', room, ptype: 'subscriber', feed: 42 });
  out.legacyFeed = { streams: l.plugindata.data.streams, kinds: kinds(l.jsep?.sdp) };

  const sub = await Participant.attach(wsUrl);
  const att = await sub.async({ request: 'join', room, ptype: 'subscriber', streams: [{ feed: 42, mid: '1' }] });
  out.dataMid = { streams: att.plugindata.data.streams, kinds: kinds(att.jsep?.sdp), sctp: /a=sctp-port:5000/.test(att.jsep?.sdp ?? '') };
  const spc = track(loopbackPeer());
  const got: string[] = [];
  const labels = new Set<string>();
  spc.onDataChannel.subscribe((ch) => {
    labels.add(ch.label);
    ch.onMessage.subscribe((m) => got.push(typeof m === 'string' ? `t:${m}` : `b:${Buffer.from(m).toString('hex')}`));
  });
  const started = await sub.async({ request: 'start' }, { type: 'answer', sdp: await answerTo(spc, att.jsep) });
  out.started = started.plugindata.data;
  await waitConnected(spc);
  // As janus.js does for a subscription with data, the subscriber opens a channel of its own: Janus
  // relays to a subscriber only once its data channel is ready.
  const own = spc.createDataChannel('JanusDataChannel');
  await until(() => own.readyState === 'open', 10000, 'subscriber channel open');
  await until(() => offer.channel!.readyState === 'open', 10000, 'publisher channel open');
  const end = Date.now() + 15000;
  while (!(got.includes('t:hello') && got.includes('b:00ff10'))) {
    if (Date.now() > end) break;
    offer.channel!.send('hello');
    offer.channel!.send(Buffer.from([0, 0xff, 0x10]));
    await sleep(100);
  }
  out.received = { text: got.includes('t:hello'), binary: got.includes('b:00ff10'), labels: [...labels] };
  const un = await sub.async({ request: 'unsubscribe', streams: [{ feed: 42, mid: '1' }] });
  out.unsubscribed = { streams: un.plugindata.data.streams, kinds: kinds(un.jsep?.sdp) };
  for (const x of [pc, dpc, spc]) await x.close();
  for (const p of [admin, pub, dpub, other, whole, legacy, sub]) p.close();
  return normaliseIds(out) as Record<string, unknown>;
}

test('data streams, subscriber offers and relayed messages match Janus 1.1.2', { timeout: 120_000 }, async () => {
  const theirs = await run(servers.theirs);
  assertSameRuns(await run(servers.ours), theirs);
});
