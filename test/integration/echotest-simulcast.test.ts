/**
 * EchoTest simulcast (JANUS-REFERENCE 2.1 substream/temporal). A werift client offers rid simulcast
 * (a=rid h/m/l send, a=simulcast:send h;m;l); werift cannot send simulcast itself, so the test writes
 * the three encodings as crafted RTP on the client's DTLS transport: one SSRC per layer, the rid
 * header extension (RFC 8852) on the first packets only, VP8 payloads with real descriptors.
 * Checked: only the selected substream is echoed, as one continuous stream (SSRC, sequence numbers,
 * PictureID); a switch waits for a keyframe of the new substream and asks for one with a PLI; VP8
 * temporal layers above the target are dropped without leaving sequence gaps; Janus' events
 * {videocodec, substream} / {videocodec, temporal}. The selector's fallback timer, SSRC (SIM group)
 * simulcast, rid_order and H.264 are checked on the module directly.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { parseSdp } from '../../src/core/webrtc/sdp.ts';
import { transportConfig } from '../helpers/transport.ts';
import { SimulcastSelector } from '../../src/media/simulcast.ts';
import { negotiate } from '../../src/plugins/echotest/negotiate.ts';
import { C, EchoHandle, connectEcho, mline, offerPeer, parseVp8, rtp, sendRaw, sleep, until, vp8Payload, type ClientPeer } from './echotest-common.ts';
import type { RtpPacket } from 'werift';

const server = await startServer(transportConfig(), { logger: silentLogger() });
after(() => server.close());
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

const LAYERS = [
  { rid: 'l', ssrc: 0x1111, seq: 100, pic: 100 },
  { rid: 'm', ssrc: 0x2222, seq: 5000, pic: 2000 },
  { rid: 'h', ssrc: 0x3333, seq: 65500, pic: 7000 }, // crosses the 16-bit sequence wrap
];

interface Sim {
  h: EchoHandle;
  peer: ClientPeer;
  ridExt: number;
  midExt: number;
  answer: string;
}

async function simulcastSession(body: Record<string, unknown> = { audio: true, video: true }): Promise<Sim> {
  const h = await EchoHandle.attach(wsUrl);
  const peer = await offerPeer({ audio: [C.OPUS], video: [C.VP8], simulcast: ['h', 'm', 'l'] });
  const answer = await connectEcho(h, peer, body);
  const video = mline(answer, 'video');
  const ext = (uri: string) => Number(video.find((l) => l.endsWith(` ${uri}`))?.split(/[: ]/)[1] ?? 0);
  return { h, peer, answer, ridExt: ext('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'), midExt: ext('urn:ietf:params:rtp-hdrext:sdes:mid') };
}

/** One frame on each listed layer (lowest first), keyframes where asked; rid/mid extensions on demand. */
async function round(s: Sim, i: number, opts: { key?: number[]; layers?: number[]; withRid?: boolean; tid?: number } = {}): Promise<void> {
  for (const l of opts.layers ?? [0, 1, 2]) {
    const L = LAYERS[l];
    const ext = opts.withRid ? [{ id: s.midExt, payload: Buffer.from('1') }, { id: s.ridExt, payload: Buffer.from(L.rid) }] : [];
    const payload = vp8Payload({ keyframe: opts.key?.includes(l) ?? false, pictureId: L.pic + i, tag: Buffer.from(`L${l}-${i}`), ...(opts.tid !== undefined ? { tid: opts.tid, tl0picidx: i } : {}) });
    await sendRaw(s.peer, rtp(96, L.seq + i, 90000 * l + 3000 * i, L.ssrc, payload, ext));
  }
  await sleep(2);
}

function echoedVideo(s: Sim): RtpPacket[] {
  return s.peer.rtp.filter((p) => p.header.payloadType === 96);
}
const tagOf = (p: RtpPacket) => parseVp8(p.payload).tag.toString();
const pliPackets = (s: Sim) => s.peer.rtcp.filter((p) => p.type === 206 && (p as unknown as { feedback: { count: number } }).feedback.count === 1);
const plis = (s: Sim) => pliPackets(s).length;
/** The media SSRCs named by the PLIs received from index `from` on. */
const pliTargets = (s: Sim, from: number) => new Set(pliPackets(s).slice(from).map((p) => (p as unknown as { feedback: { mediaSsrc: number } }).feedback.mediaSsrc));
const substreamEvents = (s: Sim) => s.h.unsolicited().filter((e) => e.substream !== undefined);

/** Echoed video is one stream: one SSRC, sequence numbers +1 each, PictureIDs +1 each. */
function assertContinuous(packets: RtpPacket[]): void {
  assert.ok(packets.length > 1);
  const ssrcs = new Set(packets.map((p) => p.header.ssrc));
  assert.equal(ssrcs.size, 1, `SSRCs ${[...ssrcs]}`);
  for (let k = 1; k < packets.length; k++) {
    const a = packets[k - 1];
    const b = packets[k];
    assert.equal(b.header.sequenceNumber, (a.header.sequenceNumber + 1) & 0xffff, `sequence at ${k}: ${tagOf(a)} -> ${tagOf(b)}`);
    assert.equal(parseVp8(b.payload).pictureId, (parseVp8(a.payload).pictureId + 1) & 0x7fff, `PictureID at ${k}: ${tagOf(a)} -> ${tagOf(b)}`);
    assert.ok(((b.header.timestamp - a.header.timestamp) >>> 0) < 0x80000000, `timestamp goes forward at ${k}`);
  }
}

test('rid simulcast: highest substream by default; substream 0/1/2 switch on a keyframe, with a PLI and an event', async () => {
  const s = await simulcastSession();
  try {
    assert.ok(mline(s.answer, 'video').includes('a=simulcast:recv h;m;l'));
    assert.ok(s.ridExt > 0 && s.midExt > 0);
    // Start: keyframes everywhere, rids on the first packets only (as browsers do).
    await round(s, 0, { key: [0, 1, 2], withRid: true });
    await round(s, 1, { withRid: true });
    for (let i = 2; i < 20; i++) await round(s, i);
    await until(() => echoedVideo(s).length >= 22, 5000, 'first echoes');
    await sleep(50);
    let echoed = echoedVideo(s);
    // the lowest and middle keyframes are passed while climbing to the top one
    assert.deepEqual(echoed.slice(0, 3).map(tagOf), ['L0-0', 'L1-0', 'L2-0']);
    assert.deepEqual(echoed.slice(3).map(tagOf), Array.from({ length: 19 }, (_, k) => `L2-${k + 1}`));
    assert.deepEqual(substreamEvents(s).map((e) => e.substream), [0, 1, 2]);
    assert.deepEqual(substreamEvents(s)[2], { echotest: 'event', videocodec: 'vp8', substream: 2 });

    // Down to 0: nothing changes until a keyframe of substream 0 comes; a PLI is asked for.
    const pliBefore = plis(s);
    assert.deepEqual((await s.h.message({ substream: 0 })).data, { echotest: 'event', result: 'ok' });
    await until(() => plis(s) > pliBefore, 3000, 'PLI after the substream request');
    // Janus asks every simulcast layer for a keyframe, not just the last one seen.
    await until(() => pliTargets(s, pliBefore).size >= LAYERS.length, 3000, 'a PLI for every layer');
    assert.deepEqual([...pliTargets(s, pliBefore)].sort(), LAYERS.map((l) => l.ssrc).sort());
    for (let i = 20; i < 30; i++) await round(s, i);
    await round(s, 30, { key: [0] });
    for (let i = 31; i < 40; i++) await round(s, i);
    await until(() => echoedVideo(s).length >= 22 + 20, 5000, 'echoes after switching down');
    echoed = echoedVideo(s).slice(22);
    assert.deepEqual(echoed.map(tagOf), [...Array.from({ length: 10 }, (_, k) => `L2-${k + 20}`), ...Array.from({ length: 10 }, (_, k) => `L0-${k + 30}`)]);
    await until(() => substreamEvents(s).length === 4);
    assert.deepEqual(substreamEvents(s)[3], { echotest: 'event', videocodec: 'vp8', substream: 0 });

    // Up to 1, then asking for the current one answers at once with an event.
    await s.h.message({ substream: 1 });
    await round(s, 40);
    await round(s, 41, { key: [1, 2] });
    await round(s, 42);
    await until(() => echoedVideo(s).length >= 42 + 4, 5000, 'echoes after switching up');
    // substream 0 goes first in a round, so its packet 41 is still echoed before the switch
    assert.deepEqual(echoedVideo(s).slice(42).map(tagOf), ['L0-40', 'L0-41', 'L1-41', 'L1-42']);
    await until(() => substreamEvents(s).length === 5);
    await s.h.message({ substream: 1 });
    await until(() => substreamEvents(s).length === 6);
    assert.deepEqual(substreamEvents(s)[5], { echotest: 'event', videocodec: 'vp8', substream: 1 });
    assertContinuous(echoedVideo(s));

    const handle = server.gateway.sessions.get(s.h.sessionId)!.handles.get(s.h.handleId)!;
    const q = handle.plugin.querySession(handle);
    assert.equal(q.simulcast, true);
    assert.equal(q.substream, 1);
    assert.equal(q['substream-target'], 1);
  } finally {
    await s.peer.pc.close();
    await s.h.close();
  }
});

test('VP8 temporal layers: TIDs above the target are dropped without sequence gaps; switching back restores them', async () => {
  const s = await simulcastSession({ audio: true, video: true, substream: 0 });
  try {
    const TIDS = [0, 2, 1, 2];
    let i = 0;
    const send = async (n: number, key = false) => {
      for (let k = 0; k < n; k++, i++) await round(s, i, { layers: [0, 1], tid: TIDS[i % 4], key: key && k === 0 ? [0, 1] : [], withRid: i < 2 });
    };
    await send(8, true);
    await until(() => echoedVideo(s).length >= 8, 5000, 'all temporal layers');
    // The first TID 2 packet moved the layer to the (default) target 2.
    assert.deepEqual(s.h.unsolicited().filter((e) => e.temporal !== undefined), [{ echotest: 'event', videocodec: 'vp8', temporal: 2 }]);
    assert.deepEqual((await s.h.message({ temporal: 0 })).data, { echotest: 'event', result: 'ok' });
    await send(12);
    await until(() => echoedVideo(s).length >= 8 + 3, 5000, 'base layer only');
    await sleep(50);
    const base = echoedVideo(s).slice(8);
    assert.deepEqual(base.map((p) => parseVp8(p.payload).tid), [0, 0, 0]);
    assert.deepEqual(base.map(tagOf), ['L0-8', 'L0-12', 'L0-16']);
    await until(() => s.h.unsolicited().filter((e) => e.temporal !== undefined).length === 2);
    assert.deepEqual(s.h.unsolicited().filter((e) => e.temporal !== undefined)[1], { echotest: 'event', videocodec: 'vp8', temporal: 0 });
    await s.h.message({ temporal: 1 });
    await send(8);
    await until(() => echoedVideo(s).length >= 11 + 4, 5000, 'layers 0 and 1');
    await sleep(50);
    // From the first TID 1 packet on: TIDs 0 and 1.
    assert.deepEqual(echoedVideo(s).slice(11).map((p) => parseVp8(p.payload).tid), [0, 1, 0, 1]);
    // Sequence numbers stay consecutive across every dropped packet.
    const all = echoedVideo(s);
    for (let k = 1; k < all.length; k++) assert.equal(all[k].header.sequenceNumber, (all[k - 1].header.sequenceNumber + 1) & 0xffff);
  } finally {
    await s.peer.pc.close();
    await s.h.close();
  }
});

test('a renegotiation keeps the simulcast choice and the toggles', async () => {
  const s = await simulcastSession({ audio: false, video: true, substream: 1 });
  try {
    await round(s, 0, { key: [0, 1, 2], withRid: true });
    for (let i = 1; i < 5; i++) await round(s, i);
    await until(() => echoedVideo(s).length >= 6);
    const offer = await s.peer.pc.createOffer();
    await s.peer.pc.setLocalDescription(offer);
    const again = await s.h.message({}, { type: 'offer', sdp: s.peer.pc.localDescription!.sdp });
    assert.deepEqual(again.data, { echotest: 'event', result: 'ok' });
    assert.ok(mline(again.event.jsep.sdp, 'video').includes('a=simulcast:recv h;m;l'));
    await s.peer.pc.setRemoteDescription(again.event.jsep);
    for (let i = 5; i < 10; i++) await round(s, i);
    s.peer.audio!.writeRtp(rtp(111, 1, 960, 0, Buffer.from([0xfc, 1, 2, 3]), [], false));
    await until(() => echoedVideo(s).length >= 11);
    await sleep(100);
    // Still substream 1 (no keyframe needed: the same layout carries on), still no audio echo.
    assert.deepEqual(echoedVideo(s).slice(-5).map(tagOf), ['L1-5', 'L1-6', 'L1-7', 'L1-8', 'L1-9']);
    assert.equal(s.peer.rtp.filter((p) => p.header.payloadType === 111).length, 0);
  } finally {
    await s.peer.pc.close();
    await s.h.close();
  }
});

// ---- the selector on its own ----

function packet(layer: number, i: number, key: boolean, ssrc = LAYERS[layer].ssrc, ext: Array<{ id: number; payload: Buffer }> = []): Buffer {
  return rtp(96, LAYERS[layer].seq + i, 3000 * i, ssrc, vp8Payload({ keyframe: key, pictureId: LAYERS[layer].pic + i, tag: Buffer.from(`L${layer}-${i}`) }), ext).serialize();
}

test('selector: fallback to a lower substream when the current one stops, back up when it returns', () => {
  const sel = new SimulcastSelector({ rids: [], ssrcs: LAYERS.map((l) => l.ssrc), ridExtId: 0, codec: 'vp8' });
  let now = 1000;
  for (const l of [0, 1, 2]) sel.process(packet(l, 0, true), now);
  assert.equal(sel.substream, 2);
  // layer 2 stops; 0 and 1 go on: after `fallback` (250 ms) the target steps down, with a PLI
  let i = 1;
  let pli = false;
  while (sel.tempTarget !== 1) {
    assert.ok(i < 20, 'fell back within 250 ms');
    now += 33;
    for (const l of [0, 1]) {
      sel.process(packet(l, i, false), now);
      pli ||= sel.needPli;
    }
    i++;
  }
  assert.ok(now - 1000 >= 250);
  assert.equal(pli, true);
  assert.equal(sel.substream, 2, 'no switch without a keyframe');
  now += 33;
  assert.equal(sel.process(packet(0, 20, true), now), false, 'substream 0 is below the fallback target');
  assert.equal(sel.process(packet(1, 20, true), now), true);
  assert.equal(sel.substream, 1);
  assert.equal(sel.changedSubstream, true);
  // layer 2 is back: the temporary target goes, and its next keyframe takes over
  now += 33;
  assert.equal(sel.process(packet(2, 21, false), now), false);
  assert.equal(sel.tempTarget, -1);
  assert.equal(sel.process(packet(2, 22, true), now), true);
  assert.equal(sel.substream, 2);
});

test('selector: a pause of every substream is no reason to fall back; a brief gap of the current one is forgiven', () => {
  const sel = new SimulcastSelector({ rids: [], ssrcs: LAYERS.map((l) => l.ssrc), ridExtId: 0, codec: 'vp8' });
  let now = 0;
  for (const l of [0, 1, 2]) sel.process(packet(l, 0, true), now);
  now += 2000; // nothing at all for 2 s (e.g. the renegotiation above)
  for (const l of [0, 1, 2]) assert.equal(sel.process(packet(l, 1, false), now), l === 2);
  assert.equal(sel.tempTarget, -1);
  // substream 2 misses 300 ms while 0 and 1 flow: fallback asked...
  for (let i = 2; i < 12; i++) {
    now += 33;
    for (const l of [0, 1]) sel.process(packet(l, i, false), now);
  }
  assert.equal(sel.tempTarget, 1);
  // ...but it comes back before any keyframe of substream 1: stay on it, forget the fallback
  assert.equal(sel.process(packet(2, 12, false), now + 1), true);
  assert.equal(sel.tempTarget, -1);
  assert.equal(sel.substream, 2);
});

test('selector: rids learn SSRCs; unknown rids and SSRCs are dropped; H.264 switches on an IDR', () => {
  const sel = new SimulcastSelector({ rids: ['q', 'h', 'f'], ssrcs: [], ridExtId: 4, codec: 'h264' });
  const h264 = (ssrc: number, seq: number, nal: number, rid?: string) =>
    rtp(102, seq, seq * 3000, ssrc, Buffer.from([nal, 1, 2, 3]), rid ? [{ id: 4, payload: Buffer.from(rid) }] : []).serialize();
  assert.equal(sel.process(h264(9, 1, 0x65), 0), false, 'unknown SSRC, no rid');
  assert.equal(sel.process(h264(9, 2, 0x65, 'x'), 0), false, 'unknown rid');
  assert.equal(sel.process(h264(5, 3, 0x41, 'f'), 0), false, 'not a keyframe');
  assert.equal(sel.needPli, true);
  assert.deepEqual(sel.ssrcs, [0, 0, 5]);
  assert.equal(sel.process(h264(5, 4, 0x65), 0), true, 'IDR on the learned SSRC');
  assert.equal(sel.substream, 2);
  assert.equal(sel.process(h264(6, 5, 0x65, 'q'), 0), false, 'lower layer while the target is reached');
  assert.equal(sel.substream, 2);
});

test('negotiate: rid order (hml default, lmh on request), SIM groups, no simulcast for VP9', () => {
  const base = (codec: string, extra: string) => parseSdp([
    'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0',
    `m=video 9 UDP/TLS/RTP/SAVPF 96`, 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendrecv', `a=rtpmap:96 ${codec}/90000`,
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', ...extra.split('\n').filter(Boolean), '',
  ].join('\r\n'));
  const rids = 'a=rid:a send\na=rid:b send\na=rid:c send\na=simulcast:send a;b;~c';
  assert.deepEqual(negotiate(base('VP8', rids), {}, undefined)?.simulcast, { rids: ['c', 'b', 'a'], ssrcs: [], ridExtId: 4, codec: 'vp8' });
  assert.deepEqual(negotiate(base('VP8', rids), {}, 'lmh')?.simulcast?.rids, ['a', 'b', 'c']);
  const sim = negotiate(base('H264', 'a=ssrc-group:SIM 10 20 30\na=ssrc:10 cname:x\na=ssrc:20 cname:x\na=ssrc:30 cname:x'), {}, undefined);
  assert.deepEqual(sim?.simulcast, { rids: [], ssrcs: [10, 20, 30], ridExtId: 0, codec: 'h264' });
  const vp9 = negotiate(base('VP9', rids), {}, undefined)!;
  assert.equal(vp9.simulcast, undefined);
  assert.deepEqual(vp9.answer.media[0].rids, []);
  assert.equal(vp9.answer.media[0].simulcast, undefined);
  assert.equal(vp9.answer.media[0].extmaps.some((e) => e.uri.includes('rtp-stream-id')), false);
});
