/**
 * VideoRoom data channels with real werift peers: a publisher that negotiates an m=application
 * publishes a `data` stream; subscribers of it (multistream by mid, or the legacy `feed` join) get one
 * m=application in their offer and receive the publisher's text and binary messages on the same
 * label; unsubscribing the data stream stops them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { answerTo, loopbackPeer, offerWith, waitConnected } from '../helpers/werift-peer.ts';
import { closeAll, Participant, sleep, startVideoRoomServer, track, until } from './videoroom-helpers.ts';

const server = await startVideoRoomServer();
after(async () => {
  await closeAll();
  await server.close();
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

interface DataPublisher {
  p: Participant;
  id: number;
  pc: RTCPeerConnection;
  channel: RTCDataChannel;
  streams: any[];
}

async function dataPublisher(room: number, display: string): Promise<DataPublisher> {
  const p = await Participant.attach(wsUrl);
  const pc = track(loopbackPeer());
  const offer = await offerWith(pc, ['audio'], true);
  const ev = await p.async({ request: 'joinandconfigure', room, ptype: 'publisher', display, audio: true, data: true }, { type: 'offer', sdp: offer.sdp });
  assert.equal(ev.plugindata.data.videoroom, 'joined', JSON.stringify(ev.plugindata.data));
  assert.match(ev.jsep.sdp, /m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/);
  await pc.setRemoteDescription(ev.jsep);
  await waitConnected(pc);
  const channel = offer.channel!;
  await until(() => channel.readyState === 'open', 10000, 'publisher data channel open');
  // What the room sees: the publisher's streams with the data one.
  const watcher = await Participant.attach(wsUrl);
  const joined = await watcher.async({ request: 'join', room, ptype: 'publisher', display: `${display}-watcher` });
  const entry = joined.plugindata.data.publishers.find((x: any) => x.id === ev.plugindata.data.id);
  return { p, id: ev.plugindata.data.id, pc, channel, streams: entry.streams };
}

interface DataSubscriber {
  p: Participant;
  pc: RTCPeerConnection;
  offerSdp: string;
  attached: any;
  texts: string[];
  binaries: Buffer[];
  labels: Set<string>;
}

async function dataSubscriber(room: number, join: Record<string, unknown>, opts: { openChannel?: boolean } = {}): Promise<DataSubscriber> {
  const p = await Participant.attach(wsUrl);
  const ev = await p.async({ request: 'join', room, ptype: 'subscriber', ...join });
  assert.equal(ev.plugindata.data.videoroom, 'attached', JSON.stringify(ev.plugindata.data));
  const pc = track(loopbackPeer());
  const sub: DataSubscriber = { p, pc, offerSdp: ev.jsep.sdp, attached: ev.plugindata.data, texts: [], binaries: [], labels: new Set() };
  pc.onDataChannel.subscribe((ch) => {
    sub.labels.add(ch.label);
    ch.onMessage.subscribe((m) => {
      if (typeof m === 'string') sub.texts.push(m);
      else sub.binaries.push(Buffer.from(m));
    });
  });
  const answer = await answerTo(pc, ev.jsep);
  const started = await p.async({ request: 'start' }, { type: 'answer', sdp: answer });
  assert.equal(started.plugindata.data.started, 'ok');
  await waitConnected(pc);
  if (opts.openChannel !== false && /m=application/.test(sub.offerSdp)) {
    // janus.js opens a channel of its own when it answers an m=application; Janus relays only then.
    const own = pc.createDataChannel('JanusDataChannel');
    await until(() => own.readyState === 'open', 10000, 'subscriber channel open');
  }
  return sub;
}

async function newRoom(): Promise<number> {
  const admin = await Participant.attach(wsUrl);
  const created = await admin.sync({ request: 'create', publishers: 6 });
  return created.room;
}

/** Send text and binary until both subscribers have `n` of each, as SCTP comes up after DTLS. */
async function pump(pub: DataPublisher, subs: DataSubscriber[], tag: string, n: number): Promise<void> {
  const end = Date.now() + 15000;
  let i = 0;
  while (subs.some((s) => s.texts.filter((t) => t.startsWith(tag)).length < n || s.binaries.filter((b) => b.subarray(0, tag.length).toString() === tag).length < n)) {
    if (Date.now() > end) throw new Error(`data did not reach every subscriber: ${subs.map((s) => `${s.texts.length}/${s.binaries.length}`).join(' ')}`);
    pub.channel.send(`${tag} text ${i}`);
    pub.channel.send(Buffer.concat([Buffer.from(tag), Buffer.from([0, 1, 2, 0xff, i & 0xff])]));
    i++;
    await sleep(50);
  }
}

test('a data stream is published, listed and relayed to multistream and legacy subscribers (text and binary)', async () => {
  const room = await newRoom();
  const pub = await dataPublisher(room, 'alice');
  const data = pub.streams.find((s) => s.type === 'data');
  assert.ok(data, `data stream listed: ${JSON.stringify(pub.streams)}`);
  assert.deepEqual(Object.keys(data).sort(), ['mid', 'mindex', 'type']);
  assert.deepEqual(pub.streams.map((s) => s.type), ['audio', 'data']);

  const s1 = await dataSubscriber(room, { streams: [{ feed: pub.id, mid: data.mid }] });
  const s2 = await dataSubscriber(room, { feed: pub.id });
  // One m=application in each offer, and the data entry in `streams`.
  for (const s of [s1, s2]) assert.equal(s.offerSdp.match(/m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel/g)?.length, 1, s.offerSdp);
  assert.doesNotMatch(s1.offerSdp, /m=audio/);
  assert.match(s2.offerSdp, /m=audio/);
  assert.equal(s2.attached.warning, 'deprecated_api');
  const d1 = s1.attached.streams.find((x: any) => x.type === 'data');
  assert.equal(d1.active, true);
  assert.equal(d1.sources, 1);
  assert.deepEqual(d1.source_ids, [pub.id]);

  await pump(pub, [s1, s2], 'one', 3);
  for (const s of [s1, s2]) {
    assert.ok(s.texts.some((t) => t === 'one text 0' || /^one text \d+$/.test(t)));
    assert.ok(s.binaries.some((b) => b.equals(Buffer.concat([Buffer.from('one'), Buffer.from([0, 1, 2, 0xff, b[b.length - 1]])]))));
    assert.deepEqual([...s.labels], [String(pub.id)], 'the channel is labelled with the feed id, as Janus does');
  }

  // Unsubscribe the data stream: s1 gets no more; s2 still does.
  const tx = await s1.p.async({ request: 'unsubscribe', streams: [{ feed: pub.id, mid: data.mid }] });
  assert.equal(tx.plugindata.data.videoroom, 'updated');
  assert.equal(tx.jsep, undefined, 'no renegotiation for a data source');
  const listed = await s1.p.async({ request: 'configure' });
  assert.equal(listed.plugindata.data.configured, 'ok');
  const before = s1.texts.length + s1.binaries.length;
  await pump(pub, [s2], 'two', 3);
  await sleep(300);
  assert.equal(s1.texts.length + s1.binaries.length, before, 'no data after unsubscribe');
  assert.ok(!s1.texts.some((t) => t.startsWith('two')));
});

test('a subscriber that never opens a data channel gets no data (as Janus 1.1.2)', async () => {
  const room = await newRoom();
  const pub = await dataPublisher(room, 'quiet');
  const silent = await dataSubscriber(room, { feed: pub.id }, { openChannel: false });
  const open = await dataSubscriber(room, { feed: pub.id });
  await pump(pub, [open], 'x', 3);
  await sleep(300);
  assert.equal(silent.texts.length + silent.binaries.length, 0);
});

test('one data m-line for data from two publishers; an unpublish stops only that source', async () => {
  const room = await newRoom();
  const a = await dataPublisher(room, 'a');
  const b = await dataPublisher(room, 'b');
  const midOf = (p: DataPublisher) => p.streams.find((s) => s.type === 'data').mid;
  const s = await dataSubscriber(room, { streams: [{ feed: a.id, mid: midOf(a) }, { feed: b.id, mid: midOf(b) }] });
  assert.equal(s.offerSdp.match(/m=application/g)?.length, 1);
  const d = s.attached.streams.filter((x: any) => x.type === 'data');
  assert.equal(d.length, 1);
  assert.equal(d[0].sources, 2);
  assert.deepEqual([...d[0].source_ids].sort(), [a.id, b.id].sort());
  await pump(a, [s], 'from-a', 2);
  await pump(b, [s], 'from-b', 2);
  await a.p.async({ request: 'unpublish' });
  await sleep(200);
  const n = s.texts.filter((t) => t.startsWith('from-a')).length;
  try {
    a.channel.send('from-a late');
  } catch {
    // the unpublished PeerConnection may be closed already
  }
  await pump(b, [s], 'still-b', 2);
  assert.equal(s.texts.filter((t) => t.startsWith('from-a')).length, n, 'nothing from the unpublished feed');
});
