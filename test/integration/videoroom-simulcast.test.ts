/**
 * VideoRoom simulcast: a publisher sends three encodings (rid-based VP8, or an SSRC SIM group with
 * H.264), crafted on its werift transport since werift cannot simulcast itself. Each subscriber
 * gets one layer chosen by its own substream target, as one continuous stream; a switch waits for a
 * keyframe of the new layer (asked for with a PLI) and is announced with an event. Two subscribers on
 * different layers at once check that the fan-out leaves each packet intact for the next one.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RTCRtpCodecParameters, type RtpPacket } from 'werift';
import { closeAll, Participant, peerWith, rawPublisher, sleep, startVideoRoomServer, subscribe, until, vp8Frame, vp8Tag, type RawPublisher, type Subscribing } from './videoroom-helpers.ts';

const server = await startVideoRoomServer();
after(async () => {
  await closeAll();
  await server.close();
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

const SSRCS = [0x1111, 0x2222, 0x3333];
const RIDS = ['l', 'm', 'h'];

async function vp8Round(pub: RawPublisher, i: number, key: number[], withRid: boolean): Promise<void> {
  for (let l = 0; l < 3; l++) {
    const ext = withRid ? [{ id: pub.ext.mid, payload: Buffer.from('1') }, { id: pub.ext.rid, payload: Buffer.from(RIDS[l]) }] : [];
    await pub.send(96, 1000 * l + i, 3000 * i, SSRCS[l], vp8Frame(key.includes(l), 100 * l + i, `L${l}-${i}`), ext);
  }
  await sleep(2);
}

/** Tags of the packets from the one tagged `first` on. */
function tagsFrom(packets: RtpPacket[], first: string): string[] {
  const tags = packets.map((p) => vp8Tag(p.payload));
  return tags.slice(tags.indexOf(first));
}

const video = (s: Subscribing): RtpPacket[] => s.received.get('0') ?? [];

function assertOneStream(packets: RtpPacket[]): void {
  assert.equal(new Set(packets.map((p) => p.header.ssrc)).size, 1);
  for (let k = 1; k < packets.length; k++) {
    assert.equal(packets[k].header.sequenceNumber, (packets[k - 1].header.sequenceNumber + 1) & 0xffff, `sequence at ${k}`);
  }
}

test('rid simulcast (VP8): per-subscriber layers, switching on keyframes', async () => {
  const admin = await Participant.attach(wsUrl);
  const room = (await admin.sync({ request: 'create' })).room;
  const pub = await rawPublisher(wsUrl, room, { simulcast: ['h', 'm', 'l'] });
  assert.ok(pub.ext.rid > 0);
  const joined = await admin.async({ request: 'join', room, ptype: 'publisher' });
  assert.equal(joined.plugindata.data.publishers[0].streams[1].simulcast, true);
  let i = 0;
  for (; i < 3; i++) await vp8Round(pub, i, [0, 1, 2], true);
  const hi = await subscribe(wsUrl, room, [{ feed: pub.id, mid: '1' }]);
  const lo = await subscribe(wsUrl, room, [{ feed: pub.id, mid: '1' }]);
  assert.equal((await lo.p.async({ request: 'configure', mid: '0', substream: 0 })).plugindata.data.configured, 'ok');
  for (; i < 10; i++) await vp8Round(pub, i, i === 3 ? [0, 1, 2] : [], false);
  const last = (x: Subscribing) => (video(x).length ? vp8Tag(video(x)[video(x).length - 1].payload) : '');
  await until(() => last(hi) === 'L2-9' && last(lo) === 'L0-9', 8000, 'both layers');
  // Like Janus, a subscriber climbs through the keyframes of the first round up to its target, then stays.
  assert.deepEqual(tagsFrom(video(hi), 'L2-3'), ['L2-3', 'L2-4', 'L2-5', 'L2-6', 'L2-7', 'L2-8', 'L2-9']);
  assert.ok(video(lo).every((p) => vp8Tag(p.payload).startsWith('L0-')), video(lo).map((p) => vp8Tag(p.payload)).join(' '));
  // Payloads came through intact for both (the fan-out restored the shared packet between sinks).
  assert.equal(vp8Tag(video(hi)[video(hi).length - 1].payload), 'L2-9');
  assert.equal(vp8Tag(video(lo)[video(lo).length - 1].payload), 'L0-9');
  await lo.p.waitNotification((d) => d.substream === 0 && d.mid === '0');

  // hi goes down to 1: waits for a layer-1 keyframe (asking the publisher with a PLI).
  const plis = pub.rtcp.filter((r: any) => r.type === 206 && r.feedback?.count === 1).length;
  assert.equal((await hi.p.async({ request: 'configure', mid: '0', substream: 1 })).plugindata.data.configured, 'ok');
  for (; i < 13; i++) await vp8Round(pub, i, [], false);
  await until(() => pub.rtcp.filter((r: any) => r.type === 206 && r.feedback?.count === 1).length > plis, 8000, 'PLI for the switch');
  assert.ok(vp8Tag(video(hi)[video(hi).length - 1].payload).startsWith('L2-'), 'no switch before a keyframe');
  for (; i < 16; i++) await vp8Round(pub, i, i === 13 ? [1] : [], false);
  await until(() => vp8Tag(video(hi)[video(hi).length - 1].payload) === 'L1-15', 8000, 'switched to layer 1');
  await hi.p.waitNotification((d) => d.substream === 1);
  assertOneStream(video(hi));
  assertOneStream(video(lo));
  for (const x of [pub.pc, hi.pc, lo.pc]) await x.close();
  for (const x of [admin, pub.p, hi.p, lo.p]) x.close();
});

test('SSRC simulcast (SIM group) with H.264', async () => {
  const admin = await Participant.attach(wsUrl);
  const room = (await admin.sync({ request: 'create', videocodec: 'h264' })).room;
  const H264 = new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, payloadType: 102, parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f', rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] });
  const munge = (sdp: string) => {
    // Declare three SSRCs in a SIM group on the video m-line (lowest first, as browsers do).
    const lines = SSRCS.map((s) => `a=ssrc:${s} cname:sim`).join('\r\n');
    return sdp.replace(/(m=video[^]*?)(\r\n(?:m=|$))/, (_all, video: string, rest: string) => `${video.replace(/a=ssrc:[^\r]*\r\n/g, '')}\r\na=ssrc-group:SIM ${SSRCS.join(' ')}\r\n${lines}${rest}`).replace(/\r\n\r\n/g, '\r\n');
  };
  const pub = await rawPublisher(wsUrl, room, { video: H264, munge });
  const nal = (key: boolean, tag: string) => Buffer.concat([Buffer.from([key ? 0x65 : 0x41, 0x88]), Buffer.from(tag)]);
  const round = async (i: number, key: number[]) => {
    for (let l = 0; l < 3; l++) await pub.send(102, 2000 * l + i, 3000 * i, SSRCS[l], nal(key.includes(l), `H${l}-${i}`), [{ id: pub.ext.mid, payload: Buffer.from('1') }]);
    await sleep(2);
  };
  let i = 0;
  for (; i < 2; i++) await round(i, [0, 1, 2]);
  const s = await subscribe(wsUrl, room, [{ feed: pub.id, mid: '1' }], {}, peerWith([], [H264]));
  for (; i < 8; i++) await round(i, i === 2 ? [0, 1, 2] : []);
  await until(() => video(s).length >= 4 && video(s)[video(s).length - 1].payload.subarray(2).toString() === 'H2-7', 8000, 'H.264 layer 2');
  const tags = video(s).map((p) => p.payload.subarray(2).toString());
  assert.deepEqual(tags.slice(tags.indexOf('H2-2')), ['H2-2', 'H2-3', 'H2-4', 'H2-5', 'H2-6', 'H2-7']);
  await s.p.async({ request: 'configure', mid: '0', substream: 0 });
  for (; i < 12; i++) await round(i, i === 9 ? [0] : []);
  await until(() => video(s)[video(s).length - 1].payload.subarray(2).toString() === 'H0-11', 8000, 'switched to layer 0');
  assertOneStream(video(s));
  for (const x of [pub.pc, s.pc]) await x.close();
  for (const x of [admin, pub.p, s.p]) x.close();
});

test('VP8 temporal layers: a subscriber at temporal 0 gets only the base layer, without sequence gaps', async () => {
  const admin = await Participant.attach(wsUrl);
  const room = (await admin.sync({ request: 'create' })).room;
  const pub = await rawPublisher(wsUrl, room, { simulcast: ['h', 'm', 'l'] });
  // Layer tids cycle 0,2,1,2 (L1T3); only substream 2 is sent here, with its rid.
  const tids = [0, 2, 1, 2];
  const send = async (i: number, key: boolean) => {
    const ext = [{ id: pub.ext.mid, payload: Buffer.from('1') }, { id: pub.ext.rid, payload: Buffer.from('h') }];
    await pub.send(96, 3000 + i, 3000 * i, SSRCS[2], vp8Frame(key, 500 + i, `T${tids[i % 4]}-${i}`, tids[i % 4]), ext);
    await sleep(2);
  };
  let i = 0;
  for (; i < 2; i++) await send(i, true);
  const s = await subscribe(wsUrl, room, [{ feed: pub.id, mid: '1' }]);
  assert.equal((await s.p.async({ request: 'configure', mid: '0', temporal: 0 })).plugindata.data.configured, 'ok');
  for (; i < 20; i++) await send(i, i === 4);
  await until(() => video(s).length >= 4, 8000, 'base layer packets');
  await sleep(200);
  const tags = video(s).map((p) => vp8Tag(p.payload));
  assert.ok(tags.length >= 4 && tags.every((t) => t.startsWith('T0-')), tags.join(' '));
  assertOneStream(video(s));
  await s.p.waitNotification((d) => d.temporal === 0);
  // Back to all layers: every frame again.
  await s.p.async({ request: 'configure', mid: '0', temporal: 2 });
  const n = video(s).length;
  for (; i < 32; i++) await send(i, false);
  await until(() => video(s).length >= n + 10, 8000, 'all layers again');
  assertOneStream(video(s));
  for (const x of [pub.pc, s.pc]) await x.close();
  for (const x of [admin, pub.p, s.p]) x.close();
});
