/**
 * Record&Play with media, Portunus side by side with the real Janus 1.1.2
 * (test/helpers/reference-janus.ts), each recording into its own temporary folder:
 * - the main flow's answers and events: configure, record, pause/resume, stop, done, list, play,
 *   start, pause/resume of the playout, stop;
 * - Opus RED (RFC 2198, `opusred`): a werift peer offering red/48000/2 around Opus records
 *   (werift's sender wraps each Opus frame in RED with redundancy), then the recording is listed and
 *   played to a viewer that accepts RED (gets the RED packets as recorded) and to one that does not
 *   (gets the primary Opus block of each): answers, MJR header keys and the packets the viewers get;
 * - an end-to-end encrypted recorder (jsep e2ee): the recording is marked so and so is its playback;
 * - codec choices (audiocodec/videocodec/videoprofile): the answers' m-lines and the codecs listed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { readMjr } from '../../src/media/mjr-reader.ts';
import { transportConfig } from '../helpers/transport.ts';
import { startReferenceJanus, type ReferenceJanus } from '../helpers/reference-janus.ts';
import { OPUS } from '../helpers/werift-peer.ts';
import { PluginHandleClient, answeringPeer, connected, sleep, type TestPeer } from './videocall-common.ts';
import { C, opusPayload, mline, rtp, vp8Payload } from './echotest-common.ts';
import { RP, sendOpus, startRecorder, stopRecorder } from './recordplay-common.ts';

const ourFolder = mkdtempSync(join(tmpdir(), 'portunus-rp-red-'));
const refFolder = mkdtempSync(join(tmpdir(), 'portunus-rp-red-ref-'));
let reference: ReferenceJanus;
let portunus: RunningServer;
const closers: Array<() => Promise<unknown>> = [];

before(async () => {
  reference = await startReferenceJanus({ pluginSettings: { 'janus.plugin.recordplay.jcfg': { path: refFolder } } });
  portunus = await startServer(transportConfig((c) => {
    c.pluginConfigs[RP] = { general: { path: ourFolder } };
  }), { logger: silentLogger() });
});

after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await portunus?.close();
  await reference?.stop();
  rmSync(ourFolder, { recursive: true, force: true });
  rmSync(refFolder, { recursive: true, force: true });
});

const N = 30;

/** A viewer answering the playback offer with RED and Opus, or Opus only. */
async function viewer(offer: { sdp: string }, red: boolean): Promise<TestPeer> {
  const peer = await answeringPeer({ type: 'offer', sdp: offer.sdp }, { audio: red ? [C.RED, OPUS] : [OPUS], video: [] });
  closers.push(() => peer.pc.close());
  return peer;
}

/** The audio m-line of an SDP, without the lines that differ between servers and runs. */
function audioLines(sdp: string): string[] {
  return mline(sdp, 'audio').filter((l) => /^(m=|a=rtpmap|a=fmtp|a=(send|recv)(only|recv)|a=inactive)/.test(l)).map((l) => l.replace(/^m=audio \d+/, 'm=audio PORT'));
}

interface Observed {
  record: unknown;
  answer: string[];
  redPt: number | undefined;
  recordedPts: number[];
  list: unknown;
  playOffer: string[];
  /** Per viewer (RED, plain): the payload types and payloads received. */
  views: Array<{ start: unknown; pts: number[]; payloads: string[] }>;
}

async function redFlow(wsUrl: string, folder: string): Promise<Observed> {
  const id = 5_000_000 + Math.floor(Math.random() * 1_000_000);
  const { h, rec } = await startRecorder(wsUrl, { id, name: 'red take', opusred: true }, { audio: [C.RED, C.OPUS] }, closers).then(async (r) => {
    await sleep(200);
    // werift's sender wraps each frame in RED (payload type 63) with the previous ones as redundancy.
    await sendOpus(r.peer, 0, N);
    await sleep(500);
    return r;
  });
  await stopRecorder(h);
  const mjr = await readMjr(join(folder, `rec-${id}-audio.mjr`));
  const recordedPts = [...new Set(mjr.frames.map((f) => f.data[1] & 0x7f))];
  await h.sync({ request: 'update' });
  const list = (await h.sync({ request: 'list' })).list.find((r: any) => r.id === id);
  const out: Observed = {
    record: rec.data, answer: audioLines(rec.jsep.sdp), redPt: mjr.info.opusRedPt, recordedPts, list, playOffer: [], views: [],
  };
  for (const red of [true, false]) {
    const v = await PluginHandleClient.attach(wsUrl, RP);
    closers.push(() => v.close());
    const play = await v.request({ request: 'play', id });
    out.playOffer = audioLines(play.jsep.sdp);
    const p = await viewer(play.jsep, red);
    const start = await v.request({ request: 'start' }, { type: 'answer', sdp: p.sdp });
    await connected(p);
    await v.event((d) => d.result === 'done', 20000);
    out.views.push({ start: start.data, pts: p.rtp.map((x) => x.header.payloadType), payloads: p.rtp.map((x) => x.payload.toString('hex')) });
  }
  return out;
}

/** Ids and dates differ between the servers and runs. */
function normalised(o: Observed): Observed {
  return JSON.parse(JSON.stringify(o).replace(/"id":\d+/g, '"id":"ID"').replace(/"date":"[^"]*"/g, '"date":"DATE"'));
}

test('opusred: the same recording and playback behaviour as Janus 1.1.2', async () => {
  const janus = normalised(await redFlow(reference.wsUrl, refFolder));
  const ours = normalised(await redFlow(`ws://127.0.0.1:${portunus.ports.ws}`, ourFolder));
  // What Janus does, checked on its own: RED answered and recorded as RED, "or" in the header,
  // listed with audio_red, offered again with RED; a RED viewer gets RED, another plain Opus.
  assert.equal(janus.redPt, 63);
  assert.deepEqual(janus.recordedPts, [63]);
  assert.deepEqual(ours.record, janus.record);
  assert.deepEqual([...ours.answer].sort(), [...janus.answer].sort(), 'answer (attribute order aside)');
  assert.equal(ours.redPt, janus.redPt);
  assert.deepEqual(ours.recordedPts, janus.recordedPts);
  assert.deepEqual(ours.list, janus.list);
  // The core's SDP writer puts each fmtp right after its rtpmap, Janus puts RED's last: same content.
  assert.deepEqual([...ours.playOffer].sort(), [...janus.playOffer].sort(), 'playback offer (attribute order aside)');
  assert.equal(janus.views.length, 2);
  janus.views.forEach((jv, i) => {
    const ov = ours.views[i];
    assert.deepEqual(ov.start, jv.start);
    assert.deepEqual([...new Set(ov.pts)], [...new Set(jv.pts)], `viewer ${i} payload types`);
    // Janus closes the PeerConnection right after its last packet, which may then be lost on the
    // way: what its viewer got must be what ours got, packet for packet, up to that last one.
    assert.ok(jv.payloads.length >= N - 1, `Janus' viewer ${i} got ${jv.payloads.length} packets`);
    assert.deepEqual(ov.payloads.slice(0, jv.payloads.length), jv.payloads, `viewer ${i}: the same payload bytes, packet for packet`);
    assert.equal(ov.payloads.length, N, `our viewer ${i} gets every packet`);
  });
  assert.deepEqual([...new Set(ours.views[0].pts)], [63]);
  assert.deepEqual([...new Set(ours.views[1].pts)], [111]);
  // The plain viewer gets exactly the Opus frames sent, in order.
  assert.deepEqual(ours.views[1].payloads, Array.from({ length: N }, (_, i) => opusPayload(i).toString('hex')));
  // The RED viewer's packets carry redundancy (F bit of the first block header) after the first.
  assert.ok(ours.views[0].payloads.slice(1).every((p) => (Number.parseInt(p.slice(0, 2), 16) & 0x80) !== 0));
});

/** Record with `e2ee` in the JSEP, then play: what each side says about the encryption. */
async function e2eeFlow(wsUrl: string, folder: string): Promise<unknown> {
  const id = 7_000_000 + Math.floor(Math.random() * 1_000_000);
  const { h, peer, rec } = await startRecorder(wsUrl, { id, name: 'sealed' }, { audio: [C.OPUS] }, closers, { e2ee: true });
  await sendOpus(peer, 0, 10);
  await sleep(300);
  await stopRecorder(h);
  const mjr = await readMjr(join(folder, `rec-${id}-audio.mjr`));
  await h.sync({ request: 'update' });
  const v = await PluginHandleClient.attach(wsUrl, RP);
  closers.push(() => v.close());
  const play = await v.request({ request: 'play', id });
  return { answer: { type: rec.jsep.type, e2ee: rec.jsep.e2ee }, e: mjr.info.e2ee, frames: mjr.frames.length, play: { type: play.jsep.type, e2ee: play.jsep.e2ee } };
}

test('e2ee: an encrypted recording is marked so in its MJR header and offered so, as by Janus 1.1.2', async () => {
  const janus = await e2eeFlow(reference.wsUrl, refFolder);
  const ours = await e2eeFlow(`ws://127.0.0.1:${portunus.ports.ws}`, ourFolder);
  assert.deepEqual(janus, { answer: { type: 'answer', e2ee: true }, e: true, frames: 10, play: { type: 'offer', e2ee: true } });
  assert.deepEqual(ours, janus);
});

/** The plugin data of every event and answer of a handle, ids and dates made neutral. */
function eventsOf(h: PluginHandleClient): unknown[] {
  return h.client.messages
    .filter((m) => (m.janus === 'event' || m.janus === 'success') && m.sender === h.handleId && m.plugindata?.data?.recordplay !== 'list')
    .map((m) => neutral(m.plugindata?.data));
}

function neutral(v: unknown): unknown {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v).replace(/"id":\d+/g, '"id":"ID"').replace(/"date":"[^"]*"/g, '"date":"DATE"'));
}

async function mainFlow(wsUrl: string): Promise<{ recorder: unknown[]; viewer: unknown[]; received: number }> {
  const id = 8_000_000 + Math.floor(Math.random() * 1_000_000);
  const pre = await PluginHandleClient.attach(wsUrl, RP);
  await pre.sync({ request: 'configure', 'video-bitrate-max': 512000, 'video-keyframe-interval': 5000 });
  const { h, peer } = await startRecorder(pre, { id, name: 'main' }, { audio: [C.OPUS], video: [C.VP8] }, closers);
  const send = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      peer.audio!.writeRtp(rtp(111, 100 + i, 960 * i, 0, opusPayload(i), [], false));
      peer.video!.writeRtp(rtp(96, 300 + i, 3000 * i, 0, vp8Payload({ keyframe: i % 10 === 0, pictureId: i, tag: Buffer.from('m') })));
      await sleep(15);
    }
  };
  await send(0, 20);
  await h.request({ request: 'pause' });
  await send(20, 30);
  await h.request({ request: 'resume' });
  await send(30, 50);
  await sleep(300);
  await stopRecorder(h);
  await h.sync({ request: 'update' });
  const listed = (await h.sync({ request: 'list' })).list.find((r: any) => r.id === id);
  const v = await PluginHandleClient.attach(wsUrl, RP);
  closers.push(() => v.close());
  const play = await v.request({ request: 'play', id });
  const viewerPeer = await answeringPeer(play.jsep);
  closers.push(() => viewerPeer.pc.close());
  await v.request({ request: 'start' }, { type: 'answer', sdp: viewerPeer.sdp });
  await connected(viewerPeer);
  await v.request({ request: 'pause' });
  await sleep(200);
  await v.request({ request: 'resume' });
  await sleep(200);
  await v.request({ request: 'stop' });
  await v.event((d) => d.result === 'done');
  // The list holds the other tests' recordings too, in each server's order: this one is compared.
  return { recorder: [...eventsOf(h), neutral(listed)], viewer: eventsOf(v), received: viewerPeer.rtp.length };
}

test('the main flow: the same answers and events as Janus 1.1.2 for recording, pausing, playing', async () => {
  const janus = await mainFlow(reference.wsUrl);
  const ours = await mainFlow(`ws://127.0.0.1:${portunus.ports.ws}`);
  assert.deepEqual(ours.recorder, janus.recorder, `portunus ${JSON.stringify(ours.recorder)}\njanus ${JSON.stringify(janus.recorder)}`);
  assert.deepEqual(ours.viewer, janus.viewer, `portunus ${JSON.stringify(ours.viewer)}\njanus ${JSON.stringify(janus.viewer)}`);
  assert.ok(ours.received > 0 && janus.received > 0, 'both viewers got media before the stop');
});

/** The m= lines and directions of an answer (ports aside). */
function mlines(sdp: string): string[] {
  return sdp.split('\r\n').filter((l) => /^m=|^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l)).map((l) => l.replace(/^(m=\w+) \d+/, '$1 PORT'));
}

test('codec choices: the same answers and recorded codecs as Janus 1.1.2', async () => {
  const cases: Array<[Record<string, unknown>, Parameters<typeof startRecorder>[2]]> = [
    [{ audiocodec: 'pcmu' }, { audio: [C.OPUS, C.PCMU] }],
    [{ audiocodec: 'pcma', videocodec: 'vp8' }, { audio: [C.PCMA], video: [C.VP8, C.H264_42] }],
    [{ videocodec: 'h264' }, { audio: [C.OPUS], video: [C.VP8, C.H264_42, C.H264_64] }],
    [{ videocodec: 'h264', videoprofile: '640c1f' }, { video: [C.VP8, C.H264_42, C.H264_64] }],
    [{ videocodec: 'vp9', videoprofile: '2' }, { video: [C.VP9_0, C.VP9_2] }],
    [{}, { audio: [C.PCMA, C.OPUS], video: [C.VP9_0, C.VP8] }],
  ];
  const run = async (wsUrl: string): Promise<unknown[]> => {
    const out: unknown[] = [];
    for (const [body, spec] of cases) {
      const id = 9_000_000 + Math.floor(Math.random() * 900_000);
      const { h, rec } = await startRecorder(wsUrl, { id, name: 'codecs', ...body }, spec, closers);
      await stopRecorder(h);
      await h.sync({ request: 'update' });
      const listed = (await h.sync({ request: 'list' })).list.find((r: any) => r.id === id);
      out.push({ body, answer: mlines(rec.jsep.sdp), listed: neutral(listed) });
    }
    return out;
  };
  const janus = await run(reference.wsUrl);
  const ours = await run(`ws://127.0.0.1:${portunus.ports.ws}`);
  assert.deepEqual(ours, janus, `portunus ${JSON.stringify(ours)}\njanus ${JSON.stringify(janus)}`);
});
