/**
 * A recording made by the real Janus 1.1.2 (through test/helpers/reference-janus.ts) plays on
 * Portunus: a werift peer's Opus and VP8 are recorded by Janus into our recordings folder, a .nfo
 * indexes them, `update` finds them, and a werift viewer receives every recorded packet, payload
 * bytes intact. Also: the same answers from both for a handful of bad Record&Play requests, and
 * protected_folders: Debian's janus.jcfg protects /usr, so the reference Janus' Record&Play (path
 * /usr/share/janus/recordings) cannot create its files; Portunus with its folder protected must
 * answer the same requests with the same events, and write nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { startReferenceJanus, type ReferenceJanus } from '../helpers/reference-janus.ts';
import { waitConnected } from '../helpers/werift-peer.ts';
import { PluginHandleClient, answeringPeer, connected, sleep } from './videocall-common.ts';
import { C, offerPeer, opusPayload, rtp, vp8Payload } from './echotest-common.ts';
import { RP, startRecorder } from './recordplay-common.ts';

const folder = mkdtempSync(join(tmpdir(), 'portunus-recordplay-ref-'));
let reference: ReferenceJanus;
let portunus: RunningServer;
const closers: Array<() => Promise<unknown>> = [];

before(async () => {
  reference = await startReferenceJanus();
  portunus = await startServer(transportConfig((c) => {
    c.pluginConfigs[RP] = { general: { path: folder } };
  }), { logger: silentLogger() });
});

// Debian's Record&Play folder, where the reference Janus writes .nfo files despite its protection.
const JANUS_FOLDER = '/usr/share/janus/recordings';
const janusFolderBefore = new Set(existsSync(JANUS_FOLDER) ? readdirSync(JANUS_FOLDER) : []);

after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await portunus?.close();
  await reference?.stop();
  rmSync(folder, { recursive: true, force: true });
  if (existsSync(JANUS_FOLDER)) for (const f of readdirSync(JANUS_FOLDER)) if (!janusFolderBefore.has(f) && f.endsWith('.nfo')) rmSync(join(JANUS_FOLDER, f), { force: true });
});

const N = 40;

test('a recording made by Janus 1.1.2 plays back on Portunus with every packet', async () => {
  // Debian's janus.jcfg protects /usr, so Janus' own Record&Play cannot write to its default
  // /usr/share/janus/recordings: the MJR files are made by Janus' EchoTest recorder (same record.c)
  // into our folder instead, and indexed with a .nfo by hand, as Janus' documentation describes.
  const id = 900_000 + Math.floor(Math.random() * 99_999);
  const janus = await PluginHandleClient.attach(reference.wsUrl, 'janus.plugin.echotest');
  closers.push(() => janus.close());
  const peer = await offerPeer({ audio: [C.OPUS], video: [C.VP8] });
  closers.push(() => peer.pc.close());
  const up = await janus.request({ audio: true, video: true }, { type: 'offer', sdp: peer.sdp });
  assert.deepEqual(up.data, { echotest: 'event', result: 'ok' });
  await peer.pc.setRemoteDescription(up.jsep);
  await waitConnected(peer.pc, 20000);
  await janus.client.waitFor((m) => m.janus === 'webrtcup' && m.sender === janus.handleId, 10000);
  const base = join(folder, `janus-${id}`);
  assert.deepEqual((await janus.request({ record: true, filename: base })).data, { echotest: 'event', result: 'ok' });
  const audio: string[] = [];
  const video: string[] = [];
  for (let i = 0; i < N; i++) {
    const a = opusPayload(i);
    const v = vp8Payload({ keyframe: i % 10 === 0, pictureId: i, tag: Buffer.from(`janus-${i}`) });
    audio.push(a.toString('hex'));
    video.push(v.toString('hex'));
    peer.audio!.writeRtp(rtp(111, 500 + i, 960 * i, 0, a, [], false));
    peer.video!.writeRtp(rtp(96, 700 + i, 3000 * i, 0, v));
    await sleep(10);
  }
  await sleep(500);
  assert.deepEqual((await janus.request({ record: false })).data, { echotest: 'event', result: 'ok' });
  await sleep(300);
  assert.ok(existsSync(`${base}-audio.mjr`) && existsSync(`${base}-video.mjr`), 'Janus wrote the MJR files');
  writeFileSync(join(folder, `${id}.nfo`), `[${id}]\nname = Made by Janus\ndate = 2026-01-01 00:00:00\naudio = janus-${id}-audio.mjr\nvideo = janus-${id}-video.mjr\n`);

  const h = await PluginHandleClient.attach(`ws://127.0.0.1:${portunus.ports.ws}`, RP);
  closers.push(() => h.close());
  assert.deepEqual(await h.sync({ request: 'update' }), { recordplay: 'ok' });
  const entry = (await h.sync({ request: 'list' })).list.find((r: any) => r.id === id);
  assert.equal(entry.name, 'Made by Janus');
  assert.equal(entry.audio_codec, 'opus');
  assert.equal(entry.video_codec, 'vp8');
  const play = await h.request({ request: 'play', id });
  assert.equal(play.data.result.status, 'preparing');
  const viewer = await answeringPeer(play.jsep);
  closers.push(() => viewer.pc.close());
  await h.request({ request: 'start' }, { type: 'answer', sdp: viewer.sdp });
  await connected(viewer);
  await h.event((d) => d.result === 'done', 20000);
  const gotAudio = viewer.rtp.filter((p) => p.header.payloadType === 111).map((p) => p.payload.toString('hex'));
  const gotVideo = viewer.rtp.filter((p) => p.header.payloadType === 100).map((p) => p.payload.toString('hex'));
  assert.deepEqual(gotAudio, audio);
  assert.deepEqual(gotVideo, video);
});

test('bad Record&Play requests get the same answers from Janus and Portunus', async () => {
  const janus = await PluginHandleClient.attach(reference.wsUrl, RP);
  const ours = await PluginHandleClient.attach(`ws://127.0.0.1:${portunus.ports.ws}`, RP);
  closers.push(() => janus.close(), () => ours.close());
  const syncBodies = [{}, { request: 5 }, { request: 'dance' }, { request: 'configure', 'video-bitrate-max': 'x' }, { request: 'configure', 'video-keyframe-interval': -3 }];
  for (const body of syncBodies) {
    const [a, b] = [await janus.send(body), await ours.send(body)];
    assert.deepEqual(b.plugindata?.data, a.plugindata?.data, JSON.stringify(body));
  }
  const asyncBodies = [
    { request: 'record', name: 'x' }, { request: 'play' }, { request: 'play', id: 'x' }, { request: 'play', id: 123456789 }, { request: 'start' },
    { request: 'stop' }, { request: 'pause' }, { request: 'resume' }, { request: 'PLAY', id: 0 }, { request: 'play', id: 5, restart: 'yes' },
    { request: 'play', id: 5, restart: true },
  ];
  for (const body of asyncBodies) {
    const [a, b] = [await janus.request(body), await ours.request(body)];
    assert.deepEqual(b.data, a.data, JSON.stringify(body));
  }
  // With a JSEP: offers and answers where they do not belong, bad parameters next to a good offer.
  const peer = await offerPeer({ audio: [C.OPUS] });
  closers.push(() => peer.pc.close());
  const offer = { type: 'offer', sdp: peer.sdp };
  const withJsep: Array<[Record<string, unknown>, Record<string, unknown>]> = [
    [{ request: 'record', name: 'x' }, { type: 'answer', sdp: peer.sdp }],
    [{ request: 'record' }, offer], [{ request: 'record', name: '' }, offer], [{ request: 'record', name: 5 }, offer],
    [{ request: 'record', name: 'x', id: -1 }, offer], [{ request: 'record', name: 'x', id: 'x' }, offer],
    [{ request: 'record', name: 'x', filename: 5 }, offer], [{ request: 'record', name: 'x', opusred: 'yes' }, offer],
    [{ request: 'record', name: 'x', audiocodec: 7 }, offer], [{ request: 'record', name: 'x', textdata: 1 }, offer],
    [{ request: 'record', name: 'x', update: true }, { ...offer, update: true }],
    [{ request: 'play', id: 5 }, offer], [{ request: 'start' }, { type: 'answer', sdp: peer.sdp }],
  ];
  /** The core's error, or the plugin's event, for one request. */
  const outcome = async (h: PluginHandleClient, body: unknown, jsep: Record<string, unknown>): Promise<unknown> => {
    const transaction = `rp${Math.random().toString(36).slice(2)}`;
    const reply = await h.send(body, jsep, transaction);
    if (reply.janus === 'error') return reply.error;
    const event = await h.client.waitFor((m) => m.janus === 'event' && m.transaction === transaction, 10000);
    // Recording ids are drawn at random by each server.
    return JSON.parse(JSON.stringify(event.plugindata?.data).replace(/"id":\d+/g, '"id":"ID"'));
  };
  for (const [body, jsep] of withJsep) {
    // Fresh handles: a refused offer leaves the core's half-made PeerConnection behind.
    const j = await PluginHandleClient.attach(reference.wsUrl, RP);
    const o = await PluginHandleClient.attach(`ws://127.0.0.1:${portunus.ports.ws}`, RP);
    closers.push(() => j.close(), () => o.close());
    const [a, b] = [await outcome(j, body, jsep), await outcome(o, body, jsep)];
    assert.deepEqual(b, a, `${JSON.stringify(body)} with a JSEP ${String(jsep.type)}`);
  }
});

/** Record on a server whose Record&Play folder is protected: the events, then list and play. */
async function protectedFlow(wsUrl: string, id: number): Promise<{ events: unknown[]; answer: string[]; listed: boolean; play: any }> {
  const { h, peer, rec } = await startRecorder(wsUrl, { id, name: 'protected' }, { audio: [C.OPUS], video: [C.VP8] }, closers);
  for (let i = 0; i < 20; i++) {
    peer.audio!.writeRtp(rtp(111, 100 + i, 960 * i, 0, opusPayload(i), [], false));
    peer.video!.writeRtp(rtp(96, 300 + i, 3000 * i, 0, vp8Payload({ keyframe: i === 0, pictureId: i, tag: Buffer.from('p') })));
    await sleep(10);
  }
  const stop = await h.request({ request: 'stop' });
  const done = await h.event((d) => d.result === 'done');
  // A name leaving the folder is no error either (Janus refuses the file, not the request).
  const h2 = await PluginHandleClient.attach(wsUrl, RP);
  closers.push(() => h2.close());
  const peer2 = await offerPeer({ audio: [C.OPUS] });
  closers.push(() => peer2.pc.close());
  const escape = await h2.request({ request: 'record', id: id + 1, name: 'escape', filename: '../../../tmp/portunus-escape' }, { type: 'offer', sdp: peer2.sdp });
  const escapeStop = await h2.request({ request: 'stop' });
  await sleep(300);
  const listed = (await h.sync({ request: 'list' })).list.some((r: any) => r.id === id);
  const play = (await h.request({ request: 'play', id })).data;
  const answer = rec.jsep.sdp.split('\r\n').filter((l: string) => /^m=|^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l)).map((l: string) => l.replace(/^(m=\w+) \d+/, '$1 PORT'));
  return { events: [rec.data, stop.data, done.data, escape.data, escapeStop.data].map((d) => JSON.parse(JSON.stringify(d).replace(/"id":\d+/g, '"id":"ID"'))), answer, listed, play };
}

test('protected_folders: the same answers as Janus for recordings it may not write; no file written', async () => {
  const protectedFolder = mkdtempSync(join(tmpdir(), 'portunus-recordplay-protected-'));
  const guarded = await startServer(transportConfig((c) => {
    c.general.protected_folders = [protectedFolder];
    c.pluginConfigs[RP] = { general: { path: protectedFolder } };
  }), { logger: silentLogger() });
  const id = 800_000 + Math.floor(Math.random() * 99_999);
  try {
    const janus = await protectedFlow(reference.wsUrl, id);
    const ours = await protectedFlow(`ws://127.0.0.1:${guarded.ports.ws}`, id);
    assert.deepEqual(janus.events, [
      { recordplay: 'event', result: { status: 'recording', id: 'ID' } }, { recordplay: 'event', result: { status: 'stopped', id: 'ID' } },
      { recordplay: 'event', result: 'done' }, { recordplay: 'event', result: { status: 'recording', id: 'ID' } },
      { recordplay: 'event', result: { status: 'stopped', id: 'ID' } },
    ]);
    assert.deepEqual(ours.events, janus.events);
    assert.deepEqual(ours.answer, janus.answer);
    // Deliberate difference: Janus still writes the .nfo (into the protected folder), lists the
    // recording and fails to play it (417); Portunus writes nothing, so there is no such recording.
    assert.equal(janus.listed, true);
    assert.deepEqual(janus.play, { recordplay: 'event', error_code: 417, error: 'Error opening recording files' });
    assert.equal(ours.listed, false);
    assert.deepEqual(ours.play, { recordplay: 'event', error_code: 416, error: 'No such recording' });
    assert.deepEqual(readdirSync(protectedFolder), []);
    assert.equal(existsSync('/tmp/portunus-escape-audio.mjr'), false);
  } finally {
    await guarded.close();
    rmSync(protectedFolder, { recursive: true, force: true });
  }
});
