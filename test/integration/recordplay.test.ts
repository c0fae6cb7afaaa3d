/**
 * Record&Play with real werift peers: a peer records Opus and VP8 (MJR files and a .nfo index in
 * the configured path), janus-pp-rec (Debian janus-tools) reads and converts them, the recording is
 * listed, a second peer plays it back (server offer, start with the answer) and receives every
 * packet with the recorded payload bytes, pause/resume hold the playout, the end of the recording
 * closes the PeerConnection ("done"); configure, update (rescan) and the error codes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { PluginHandleClient, answeringPeer, connected, until, sleep, type TestPeer } from './videocall-common.ts';
import { C, offerPeer, opusPayload, rtp, vp8Payload, capture, type ClientPeer } from './echotest-common.ts';
import { waitConnected } from '../helpers/werift-peer.ts';
import { readMjr } from '../../src/media/mjr-reader.ts';
import { RtpPacket } from 'werift';

const RP = 'janus.plugin.recordplay';
const folder = mkdtempSync(join(tmpdir(), 'portunus-recordplay-'));
const server = await startServer(transportConfig((c) => {
  c.pluginConfigs[RP] = { general: { path: folder } };
}), { logger: silentLogger() });
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;
const handles: PluginHandleClient[] = [];
const pcs: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const p of pcs) await p.close().catch(() => undefined);
  for (const h of handles) await h.close().catch(() => undefined);
  await server.close();
  rmSync(folder, { recursive: true, force: true });
});

function ppRec(): string {
  const r = spawnSync('sh', ['-c', 'command -v janus-pp-rec'], { encoding: 'utf8' });
  assert.ok(r.status === 0 && r.stdout.trim() !== '', 'janus-pp-rec is missing: install the Debian package janus-tools');
  return r.stdout.trim();
}

async function handle(): Promise<PluginHandleClient> {
  const h = await PluginHandleClient.attach(wsUrl, RP);
  handles.push(h);
  return h;
}

const N = 50;

/** Record N Opus and N VP8 packets (a key frame every 10) under `id`. */
async function record(id: number, name: string): Promise<{ audio: Buffer[]; video: Buffer[] }> {
  const h = await handle();
  const peer: ClientPeer = await offerPeer({ audio: [C.OPUS], video: [C.VP8] });
  pcs.push(peer.pc);
  const rec = await h.request({ request: 'record', id, name }, { type: 'offer', sdp: peer.sdp });
  assert.deepEqual(rec.data, { recordplay: 'event', result: { status: 'recording', id } });
  assert.equal(rec.jsep.type, 'answer');
  assert.match(rec.jsep.sdp, /m=audio [1-9]\d* [^\r\n]+\r\n(?:[^\r\n]*\r\n)*?a=recvonly/);
  await peer.pc.setRemoteDescription(rec.jsep);
  await waitConnected(peer.pc, 15000);
  capture(peer);
  await h.client.waitFor((m) => m.janus === 'webrtcup' && m.sender === h.handleId, 10000);
  const audio: Buffer[] = [];
  const video: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const a = opusPayload(i);
    const v = vp8Payload({ keyframe: i % 10 === 0, pictureId: i, tag: Buffer.from(`frame-${i}`) });
    audio.push(a);
    video.push(v);
    peer.audio!.writeRtp(rtp(111, 1000 + i, 960 * i, 0, a, [], false));
    peer.video!.writeRtp(rtp(96, 2000 + i, 3000 * i, 0, v));
    await sleep(5);
  }
  await sleep(300);
  // The recorder asks the sender for a keyframe and caps it with REMB.
  await until(() => peer.rtcp.length > 0, 5000, 'RTCP feedback to the recorder');
  const stop = await h.request({ request: 'stop' });
  assert.deepEqual(stop.data, { recordplay: 'event', result: { status: 'stopped', id } });
  await h.event((d) => d.result === 'done');
  await until(() => existsSync(join(folder, `${id}.nfo`)), 5000, '.nfo written');
  return { audio, video };
}

test('record: MJR files and a .nfo in the folder; janus-pp-rec reads and converts them; list shows it', async () => {
  const sent = await record(1001, 'First take');
  const nfo = readFileSync(join(folder, '1001.nfo'), 'utf8');
  assert.match(nfo, /^\[1001\]\r\nname = First take\r\ndate = \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\r\naudio = rec-1001-audio\.mjr\r\nvideo = rec-1001-video\.mjr\r\n$/);
  const PP = ppRec();
  for (const [kind, out, magic] of [['audio', 'out.opus', 'OggS'], ['video', 'out.webm', '\x1a\x45\xdf\xa3']] as const) {
    const file = join(folder, `rec-1001-${kind}.mjr`);
    const parsed = execFileSync(PP, ['--parse', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(parsed, new RegExp(`Counted ${N} RTP packets`));
    execFileSync(PP, [file, join(folder, out)], { stdio: 'ignore' });
    assert.equal(readFileSync(join(folder, out)).toString('latin1', 0, 4), magic);
  }
  // Our own reader sees the same packets, payloads intact.
  const a = await readMjr(join(folder, 'rec-1001-audio.mjr'));
  assert.equal(a.info.codec, 'opus');
  assert.equal(a.frames.length, N);
  assert.deepEqual(a.frames.map((f) => RtpPacket.deSerialize(f.data).payload.toString('hex')), sent.audio.map((b) => b.toString('hex')));

  const h = await handle();
  const list = await h.sync({ request: 'list' });
  const entry = list.list.find((r: any) => r.id === 1001);
  assert.deepEqual(entry, { id: 1001, name: 'First take', date: entry.date, audio: true, audio_codec: 'opus', video: true, video_codec: 'vp8', data: false });
  assert.equal(list.recordplay, 'list');
});

test('play: server offer, start with the answer, every packet arrives with its payload; done at the end', async () => {
  const sent = await record(1002, 'To play');
  const h = await handle();
  const play = await h.request({ request: 'play', id: 1002 });
  assert.deepEqual(play.data, { recordplay: 'event', result: { status: 'preparing', id: 1002 } });
  assert.equal(play.jsep.type, 'offer');
  assert.match(play.jsep.sdp, /a=rtpmap:111 opus\/48000\/2/);
  assert.match(play.jsep.sdp, /a=rtpmap:100 VP8\/90000/);
  assert.match(play.jsep.sdp, /a=sendonly/);
  const viewer: TestPeer = await answeringPeer(play.jsep);
  pcs.push(viewer.pc);
  const start = await h.request({ request: 'start' }, { type: 'answer', sdp: viewer.sdp });
  assert.deepEqual(start.data, { recordplay: 'event', result: { status: 'playing' } });
  await connected(viewer);
  await h.event((d) => d.result === 'done', 20000);
  const audio = viewer.rtp.filter((p) => p.header.payloadType === 111);
  const video = viewer.rtp.filter((p) => p.header.payloadType === 100);
  assert.equal(audio.length, N);
  assert.equal(video.length, N);
  assert.deepEqual(audio.map((p) => p.payload.toString('hex')), sent.audio.map((b) => b.toString('hex')));
  assert.deepEqual(video.map((p) => p.payload.toString('hex')), sent.video.map((b) => b.toString('hex')));
  // Sequence numbers run on without gaps; timestamps keep the recorded spacing (960 per Opus packet).
  for (let i = 1; i < audio.length; i++) {
    assert.equal((audio[i].header.sequenceNumber - audio[i - 1].header.sequenceNumber) & 0xffff, 1);
    assert.equal((audio[i].header.timestamp - audio[i - 1].header.timestamp) >>> 0, 960);
  }
  await h.client.waitFor((m) => m.janus === 'hangup' && m.sender === h.handleId, 10000);
});

test('pause and resume hold the playout; stop ends it early', async () => {
  const h = await handle();
  const play = await h.request({ request: 'play', id: 1001 });
  const viewer = await answeringPeer(play.jsep);
  pcs.push(viewer.pc);
  await h.request({ request: 'start' }, { type: 'answer', sdp: viewer.sdp });
  await connected(viewer);
  await until(() => viewer.rtp.length > 4, 10000, 'first packets');
  const paused = await h.request({ request: 'pause' });
  assert.deepEqual(paused.data, { recordplay: 'event', result: { status: 'paused', id: 1001 } });
  await sleep(100);
  const held = viewer.rtp.length;
  await sleep(500);
  assert.equal(viewer.rtp.length, held, 'nothing is sent while paused');
  assert.ok(held < 2 * N);
  const resumed = await h.request({ request: 'resume' });
  assert.deepEqual(resumed.data, { recordplay: 'event', result: { status: 'resumed', id: 1001 } });
  await until(() => viewer.rtp.length > held, 5000, 'playout resumed');
  const stopped = await h.request({ request: 'stop' });
  assert.deepEqual(stopped.data, { recordplay: 'event', result: { status: 'stopped', id: 1001 } });
  await h.event((d) => d.result === 'done');
});

test('configure, update, Janus-style .nfo files dropped in the folder, and the error codes', async () => {
  const h = await handle();
  assert.deepEqual(await h.sync({ request: 'configure', 'video-bitrate-max': 512000, 'video-keyframe-interval': 3000 }), {
    recordplay: 'configure', status: 'ok', settings: { 'video-keyframe-interval': 3000, 'video-bitrate-max': 512000 },
  });
  assert.deepEqual(await h.sync({ request: 'configure', 'video-bitrate-max': -1 }), {
    recordplay: 'event', error_code: 414, error: 'Invalid element type (video-bitrate-max should be a positive integer)',
  });
  // A recording made elsewhere: copy the files under new names and index them by hand.
  copyFileSync(join(folder, 'rec-1001-audio.mjr'), join(folder, 'manual-audio.mjr'));
  writeFileSync(join(folder, '777.nfo'), '[777]\nname = Copied by hand\ndate = 2014-10-14 17:11:26\naudio = manual-audio.mjr\n');
  writeFileSync(join(folder, '778.nfo'), '[778]\nname = Broken\ndate = 2014-10-14 17:11:26\n');
  assert.ok(!(await h.sync({ request: 'list' })).list.some((r: any) => r.id === 777));
  assert.deepEqual(await h.sync({ request: 'update' }), { recordplay: 'ok' });
  const list = (await h.sync({ request: 'list' })).list;
  assert.deepEqual(list.find((r: any) => r.id === 777), { id: 777, name: 'Copied by hand', date: '2014-10-14 17:11:26', audio: true, audio_codec: 'opus', video: false, data: false });
  assert.ok(!list.some((r: any) => r.id === 778), 'a .nfo without media is skipped');
  rmSync(join(folder, '777.nfo'));
  await h.sync({ request: 'update' });
  assert.ok(!(await h.sync({ request: 'list' })).list.some((r: any) => r.id === 777), 'a removed .nfo is dropped');

  assert.deepEqual(await h.sync({ request: 'dance' }), { recordplay: 'event', error_code: 413, error: "Unknown request 'dance'" });
  assert.deepEqual(await h.sync({}), { recordplay: 'event', error_code: 415, error: 'Missing mandatory element (request)' });
  assert.deepEqual((await h.request({ request: 'record', name: 'x' })).data, { recordplay: 'event', error_code: 415, error: 'Missing SDP offer' });
  assert.deepEqual((await h.request({ request: 'play' })).data, { recordplay: 'event', error_code: 415, error: 'Missing mandatory element (id)' });
  assert.deepEqual((await h.request({ request: 'play', id: 'x' })).data, { recordplay: 'event', error_code: 414, error: 'Invalid element type (id should be a positive integer)' });
  assert.deepEqual((await h.request({ request: 'play', id: 424242 })).data, { recordplay: 'event', error_code: 416, error: 'No such recording' });
  assert.deepEqual((await h.request({ request: 'start' })).data, { recordplay: 'event', error_code: 418, error: "Not a playout session, can't start" });
  assert.deepEqual((await h.request({ request: 'pause' })).data, { recordplay: 'event' });
  const p2 = await offerPeer({ audio: [C.OPUS] });
  pcs.push(p2.pc);
  const h2 = await handle();
  assert.deepEqual((await h2.request({ request: 'record', id: 1001, name: 'dup' }, { type: 'offer', sdp: p2.sdp })).data, {
    recordplay: 'event', error_code: 420, error: 'Recording 1001 already exists',
  });
  const h3 = await handle();
  assert.deepEqual((await h3.request({ request: 'record', name: '' }, { type: 'offer', sdp: p2.sdp })).data.error_code, 414);
  // The plugin keeps working after all that.
  assert.ok((await h.sync({ request: 'list' })).list.some((r: any) => r.id === 1001));
});

test('data channel text is recorded to a -data.mjr and played back on a data channel', async () => {
  const h = await handle();
  const peer = await offerPeer({ audio: [C.OPUS], data: true });
  pcs.push(peer.pc);
  const rec = await h.request({ request: 'record', id: 3003, name: 'With chat' }, { type: 'offer', sdp: peer.sdp });
  assert.equal(rec.data.result.status, 'recording');
  assert.match(rec.jsep.sdp, /m=application/);
  await peer.pc.setRemoteDescription(rec.jsep);
  await waitConnected(peer.pc, 15000);
  await until(() => peer.channel!.readyState === 'open', 10000, 'channel');
  for (let i = 0; i < 10; i++) {
    peer.audio!.writeRtp(rtp(111, 10 + i, 960 * i, 0, opusPayload(i), [], false));
    if (i % 3 === 0) peer.channel!.send(`chat line ${i}`);
    await sleep(20);
  }
  await sleep(300);
  await h.request({ request: 'stop' });
  await h.event((d) => d.result === 'done');
  assert.match(readFileSync(join(folder, '3003.nfo'), 'utf8'), /data = rec-3003-data\.mjr/);
  const entry = (await h.sync({ request: 'list' })).list.find((r: any) => r.id === 3003);
  assert.equal(entry.data, true);

  const v = await handle();
  const play = await v.request({ request: 'play', id: 3003 });
  assert.match(play.jsep.sdp, /m=application/);
  const viewer = await answeringPeer(play.jsep);
  pcs.push(viewer.pc);
  await v.request({ request: 'start' }, { type: 'answer', sdp: viewer.sdp });
  await connected(viewer);
  await v.event((d) => d.result === 'done', 20000);
  assert.deepEqual(viewer.messages, ['chat line 0', 'chat line 3', 'chat line 6', 'chat line 9']);
  assert.equal(viewer.rtp.filter((p) => p.header.payloadType === 111).length, 10);
});

test('a recorder that vanishes mid-recording still leaves a complete, listed recording', async () => {
  const h = await handle();
  const peer = await offerPeer({ audio: [C.OPUS] });
  pcs.push(peer.pc);
  const rec = await h.request({ request: 'record', id: 4004, name: 'Cut short' }, { type: 'offer', sdp: peer.sdp });
  await peer.pc.setRemoteDescription(rec.jsep);
  await waitConnected(peer.pc, 15000);
  await h.client.waitFor((m) => m.janus === 'webrtcup' && m.sender === h.handleId, 10000);
  for (let i = 0; i < 15; i++) {
    peer.audio!.writeRtp(rtp(111, 10 + i, 960 * i, 0, opusPayload(i), [], false));
    await sleep(10);
  }
  await sleep(200);
  await h.client.destroy(h.sessionId);
  await peer.pc.close();
  await until(() => existsSync(join(folder, '4004.nfo')), 8000, '.nfo of the vanished recorder');
  const other = await handle();
  const entry = (await other.sync({ request: 'list' })).list.find((r: any) => r.id === 4004);
  assert.equal(entry?.name, 'Cut short');
  assert.equal((await readMjr(join(folder, 'rec-4004-audio.mjr'))).frames.length, 15);
});

test('record with update: a renegotiation of a running recorder is answered again, recording goes on', async () => {
  const h = await handle();
  const peer = await offerPeer({ audio: [C.OPUS] });
  pcs.push(peer.pc);
  const rec = await h.request({ request: 'record', id: 5005, name: 'Renegotiated' }, { type: 'offer', sdp: peer.sdp });
  await peer.pc.setRemoteDescription(rec.jsep);
  await waitConnected(peer.pc, 15000);
  await h.client.waitFor((m) => m.janus === 'webrtcup' && m.sender === h.handleId, 10000);
  for (let i = 0; i < 10; i++) peer.audio!.writeRtp(rtp(111, 10 + i, 960 * i, 0, opusPayload(i), [], false));
  const again = await peer.pc.createOffer();
  await peer.pc.setLocalDescription(again);
  const upd = await h.request({ request: 'record', name: 'Renegotiated', update: true }, { type: 'offer', sdp: peer.pc.localDescription!.sdp });
  assert.deepEqual(upd.data, { recordplay: 'event', result: { status: 'recording', id: 5005 } });
  assert.equal(upd.jsep.type, 'answer');
  await peer.pc.setRemoteDescription(upd.jsep);
  for (let i = 10; i < 20; i++) {
    peer.audio!.writeRtp(rtp(111, 10 + i, 960 * i, 0, opusPayload(i), [], false));
    await sleep(10);
  }
  await sleep(300);
  await h.request({ request: 'stop' });
  await h.event((d) => d.result === 'done');
  assert.equal((await readMjr(join(folder, 'rec-5005-audio.mjr'))).frames.length, 20);
  const p2 = await offerPeer({ audio: [C.OPUS] });
  pcs.push(p2.pc);
  // As Janus: `update` on a handle that records nothing is no renegotiation, a new recording starts.
  const notRec = await (await handle()).request({ request: 'record', name: 'x', update: true }, { type: 'offer', sdp: p2.sdp });
  assert.equal(notRec.data.result.status, 'recording');
  assert.notEqual(notRec.data.result.id, 5005);
});
