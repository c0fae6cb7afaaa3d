/**
 * A publisher that floods malformed RTP (random payloads, truncated VP8 descriptors, random header
 * extensions, padding and CSRCs) and then vanishes without leaving: its subscribers keep receiving
 * the good packets of another feed, get `updated` when it goes, and the room keeps working.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RtpHeader } from 'werift';
import { fuzzSeed, prng } from '../helpers/prng.ts';
import { closeAll, count, Participant, publish, rawPublisher, sleep, startVideoRoomServer, subscribe, until } from './videoroom-helpers.ts';

const server = await startVideoRoomServer();
after(async () => {
  await closeAll();
  await server.close();
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

test('malformed RTP flood, then the publisher vanishes: subscribers and the room carry on', { timeout: 120_000 }, async () => {
  const seed = fuzzSeed();
  const r = prng(seed);
  const admin = await Participant.attach(wsUrl);
  const room = (await admin.sync({ request: 'create' })).room;
  const bad = await rawPublisher(wsUrl, room, { simulcast: ['h', 'm', 'l'] });
  const good = await publish(wsUrl, room, 'good');
  const sub = await subscribe(wsUrl, room, [{ feed: bad.id }, { feed: good.id }]);
  assert.equal(sub.attached.streams.length, 4);
  const dtls = bad.pc.dtlsTransports[0];
  for (let i = 0; i < 1500; i++) {
    const len = Math.floor(r() * 1100);
    const payload = Buffer.alloc(len);
    for (let k = 0; k < len; k++) payload[k] = Math.floor(r() * 256);
    if (len > 0 && r() < 0.3) payload[0] = 0x90; // a VP8 descriptor start, then garbage
    const extensions = r() < 0.5 ? Array.from({ length: Math.floor(r() * 4) }, () => ({ id: 1 + Math.floor(r() * 14), payload: Buffer.alloc(1 + Math.floor(r() * 16), Math.floor(r() * 256)) })) : [];
    if (r() < 0.3) extensions.push({ id: bad.ext.rid, payload: Buffer.from(['h', 'm', 'l', 'x', ''][Math.floor(r() * 5)]) });
    const header = new RtpHeader({
      payloadType: r() < 0.8 ? [96, 111][Math.floor(r() * 2)] : Math.floor(r() * 128), sequenceNumber: Math.floor(r() * 65536), timestamp: Math.floor(r() * 2 ** 32),
      ssrc: [0x1111, 0x2222, 0x3333, Math.floor(r() * 2 ** 32)][Math.floor(r() * 4)], marker: r() < 0.5, extensions,
      ...(r() < 0.1 ? { csrc: [1, 2, 3], csrcLength: 3 } : {}),
    });
    try {
      await dtls.sendRtp(payload, header);
    } catch {
      // werift refusing to serialise a case is fine
    }
    if (i % 100 === 0) await good.send(2, `g${i}`, 1);
  }
  await good.send(20, 'after');
  await until(() => count(sub, '3', 'afterv') >= 15, 10000, `good video after the flood (seed ${seed})`);
  assert.ok(count(sub, '2', 'aftera') >= 15);

  // The bad publisher vanishes: its PeerConnection and its Janus session just go away.
  await bad.pc.close();
  bad.p.client.close();
  const upd = await sub.p.waitNotification((d) => d.videoroom === 'updated', 15000);
  const streams = upd.plugindata.data.streams;
  assert.deepEqual(streams.map((s: any) => s.active), [false, false, true, true]);
  await good.p.waitNotification((d) => d.unpublished === bad.id, 15000);
  // The room still works: a new publisher, subscribed with one update, reaches the same subscriber.
  const late = await publish(wsUrl, room, 'late');
  const { answerTo } = await import('../helpers/werift-peer.ts');
  const u = await sub.p.async({ request: 'subscribe', streams: [{ feed: late.id, mid: '1' }] });
  assert.equal(u.plugindata.data.videoroom, 'updated');
  const st = await sub.p.async({ request: 'start' }, { type: 'answer', sdp: await answerTo(sub.pc, u.jsep) });
  assert.equal(st.plugindata.data.started, 'ok');
  const mid = u.plugindata.data.streams.find((s: any) => s.feed_id === late.id).mid;
  await late.send(30, 'late');
  await until(() => count(sub, mid, 'latev') >= 20, 10000, 'the new feed');
  const parts = await admin.sync({ request: 'listparticipants', room });
  assert.ok(parts.participants.every((p: any) => p.id !== bad.id || p.publisher === false));
  for (const x of [good.pc, late.pc, sub.pc]) await x.close();
  for (const x of [admin, good.p, late.p, sub.p]) x.close();
  await sleep(50);
});
