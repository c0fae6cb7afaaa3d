/**
 * EchoTest, Portunus side by side with the real Janus 1.1.2 (test/helpers/reference-janus.ts): the
 * request validation must give the very same events (error_code and error text), a non-object body
 * the same core error, and codec preferences / simulcast the same answered codecs and rid lines.
 * Where Portunus deliberately differs (an offer with no codec we can echo: Janus answers an inactive
 * m-line, Portunus 414) both behaviours are asserted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { startReferenceJanus, type ReferenceJanus } from '../helpers/reference-janus.ts';
import { newTransaction } from '../helpers/janus-client.ts';
import { C, EchoHandle, answeredFormats, mline, offerPeer, type PeerSpec } from './echotest-common.ts';

let reference: ReferenceJanus;
let portunus: RunningServer;
const targets: Array<{ name: string; handle: EchoHandle }> = [];

before(async () => {
  reference = await startReferenceJanus();
  portunus = await startServer(transportConfig(), { logger: silentLogger() });
  targets.push({ name: 'janus', handle: await EchoHandle.attach(reference.wsUrl) });
  targets.push({ name: 'portunus', handle: await EchoHandle.attach(`ws://127.0.0.1:${portunus.ports.ws}`) });
});

after(async () => {
  await Promise.allSettled(targets.map((t) => t.handle.close()));
  await portunus?.close();
  await reference?.stop();
});

const BODIES: unknown[] = [
  {},
  { audio: 'yes' }, { audio: null }, { video: 1 }, { bitrate: -5 }, { bitrate: 'x' }, { bitrate: 1.5 }, { record: 'y' },
  { filename: 5 }, { substream: 3 }, { substream: -1 }, { substream: '1' }, { temporal: 7 }, { temporal: true },
  { fallback: -1 }, { audiocodec: 5 }, { videocodec: true }, { videoprofile: 1 }, { opusred: 1 }, { min_delay: 'a' }, { max_delay: 1.5 },
  // the first bad attribute in Janus' order is the one reported
  { videoprofile: 1, audio: 'x' }, { substream: 3, temporal: 'x' },
  // attributes that alone do nothing
  { filename: 'x' }, { audiocodec: 'pcmu' },
  // accepted
  { audio: true }, { video: false }, { bitrate: 0 }, { videocodec: 'vp8' }, { videoprofile: '42e01f' }, { substream: 1 }, { temporal: 0 },
  { fallback: 0 }, { record: false }, { opusred: true }, { min_delay: -1 }, { max_delay: 10 }, { audio: true, unknown: 1 },
  { record: true, filename: 'unused-no-pc' },
];

test('every request body gets the same event from Portunus and Janus 1.1.2', async () => {
  for (const body of BODIES) {
    const seen = [];
    for (const t of targets) {
      const { data } = await t.handle.message(body);
      seen.push(data);
    }
    assert.deepEqual(seen[1], seen[0], `body ${JSON.stringify(body)}: portunus ${JSON.stringify(seen[1])} vs janus ${JSON.stringify(seen[0])}`);
  }
  // A body that is not an object never reaches the plugin: the core answers 467 on both. (A JSON
  // null body is 467 for Janus too, but the Portunus core treats it as missing: 456. Still no plugin.)
  for (const body of [[1], 'text', 7]) {
    const codes = [];
    for (const t of targets) {
      const h = t.handle;
      const r = await h.client.request({ janus: 'message', session_id: h.sessionId, handle_id: h.handleId, transaction: newTransaction(), body });
      codes.push([r.janus, r.error?.code]);
    }
    assert.deepEqual(codes, [['error', 467], ['error', 467]], `body ${JSON.stringify(body)}`);
  }
  const nulls = [];
  for (const t of targets) {
    const h = t.handle;
    const r = await h.client.request({ janus: 'message', session_id: h.sessionId, handle_id: h.handleId, transaction: newTransaction(), body: null });
    nulls.push([r.janus, r.error?.code]);
  }
  assert.deepEqual(nulls[0], ['error', 467]);
  assert.equal(nulls[1][0], 'error');
  // Nor does a message without a body.
  const missing = [];
  for (const t of targets) {
    const h = t.handle;
    const r = await h.client.request({ janus: 'message', session_id: h.sessionId, handle_id: h.handleId, transaction: newTransaction() });
    missing.push([r.janus, r.error?.code]);
  }
  assert.deepEqual(missing[1], missing[0]);
  assert.equal(missing[0][1], 456);
});

interface CodecCase {
  name: string;
  body: Record<string, unknown>;
  spec: PeerSpec;
  kind: 'audio' | 'video';
  /** Expected answered payload type(s) (same on both). */
  pt: number | number[];
}

const CODEC_CASES: CodecCase[] = [
  { name: 'no preference: opus even when offered last', body: { audio: true }, spec: { audio: [C.PCMA, C.PCMU, C.OPUS] }, kind: 'audio', pt: 111 },
  { name: 'no preference, no opus', body: { audio: true }, spec: { audio: [C.PCMA, C.PCMU] }, kind: 'audio', pt: 0 },
  { name: 'no preference: vp8 even when offered last', body: { video: true }, spec: { video: [C.VP9_2, C.H264_64, C.VP8] }, kind: 'video', pt: 96 },
  { name: 'no preference, no vp8', body: { video: true }, spec: { video: [C.H264_64, C.VP9_2] }, kind: 'video', pt: 100 },
  { name: 'audiocodec pcmu', body: { audiocodec: 'pcmu' }, spec: { audio: [C.OPUS, C.PCMU, C.PCMA] }, kind: 'audio', pt: 0 },
  { name: 'audiocodec pcma', body: { audiocodec: 'pcma' }, spec: { audio: [C.OPUS, C.PCMU, C.PCMA] }, kind: 'audio', pt: 8 },
  { name: 'videocodec h264', body: { videocodec: 'h264' }, spec: { video: [C.VP8, C.H264_42, C.H264_64] }, kind: 'video', pt: 102 },
  { name: 'videocodec h264 + videoprofile 640c1f', body: { videocodec: 'h264', videoprofile: '640c1f' }, spec: { video: [C.VP8, C.H264_42, C.H264_64] }, kind: 'video', pt: 104 },
  { name: 'videocodec vp9 + videoprofile 2', body: { videocodec: 'vp9', videoprofile: '2' }, spec: { video: [C.VP8, C.VP9_0, C.VP9_2] }, kind: 'video', pt: 100 },
  { name: 'videocodec vp9', body: { videocodec: 'vp9' }, spec: { video: [C.VP8, C.VP9_0, C.VP9_2] }, kind: 'video', pt: 98 },
  { name: 'opusred: RED first, then Opus', body: { opusred: true }, spec: { audio: [C.OPUS, C.RED] }, kind: 'audio', pt: [63, 111] },
  { name: 'no opusred: Opus only', body: { audio: true }, spec: { audio: [C.RED, C.OPUS] }, kind: 'audio', pt: 111 },
];

async function answerFrom(t: { handle: EchoHandle }, body: Record<string, unknown>, spec: PeerSpec): Promise<{ data: Record<string, unknown>; sdp?: string }> {
  const h = await EchoHandle.attach(t === targets[0] ? reference.wsUrl : `ws://127.0.0.1:${portunus.ports.ws}`);
  const peer = await offerPeer(spec);
  try {
    const { data, event } = await h.message(body, { type: 'offer', sdp: peer.sdp });
    return { data, sdp: event.jsep?.sdp };
  } finally {
    await peer.pc.close();
    await h.close();
  }
}

test('codec preferences pick the same codec as Janus 1.1.2', async () => {
  for (const c of CODEC_CASES) {
    for (const t of targets) {
      const { data, sdp } = await answerFrom(t, c.body, c.spec);
      assert.deepEqual(data, { echotest: 'event', result: 'ok' }, `${c.name} on ${t.name}`);
      const a = answeredFormats(sdp!, c.kind);
      assert.deepEqual(a.formats, [c.pt].flat(), `${c.name} on ${t.name}: ${mline(sdp!, c.kind).join(' | ')}`);
      if (Array.isArray(c.pt)) assert.ok(mline(sdp!, c.kind).includes('a=fmtp:63 111/111'), `${c.name} on ${t.name}`);
      assert.equal(a.direction, 'sendrecv', `${c.name} on ${t.name}`);
    }
  }
});

test('a codec preference the offer lacks leaves that medium out, on both', async () => {
  // Janus keeps the m-line (port 9) inactive, Portunus rejects it (port 0): neither echoes it.
  for (const t of targets) {
    const { data, sdp } = await answerFrom(t, { audiocodec: 'pcma' }, { audio: [C.OPUS, C.PCMU], video: [C.VP8] });
    assert.deepEqual(data, { echotest: 'event', result: 'ok' }, t.name);
    const a = answeredFormats(sdp!, 'audio');
    assert.ok(a.port === 0 || a.direction === 'inactive', `${t.name}: ${mline(sdp!, 'audio').join(' | ')}`);
    assert.deepEqual(answeredFormats(sdp!, 'video').formats, [96]);
  }
});

test('an offer with nothing the EchoTest can echo: Janus answers it inactive, Portunus refuses it with 414', async () => {
  const [janus, ours] = [await answerFrom(targets[0], { audio: true }, { audio: [C.G729] }), await answerFrom(targets[1], { audio: true }, { audio: [C.G729] })];
  assert.deepEqual(janus.data, { echotest: 'event', result: 'ok' });
  assert.equal(answeredFormats(janus.sdp!, 'audio').direction, 'inactive');
  assert.equal(ours.data.error_code, 414);
  assert.equal(ours.sdp, undefined);
});

test('rid simulcast is accepted with the same rid and simulcast lines', async () => {
  const lines = [];
  for (const t of targets) {
    const { data, sdp } = await answerFrom(t, { audio: true, video: true }, { audio: [C.OPUS], video: [C.VP8], simulcast: ['h', 'm', 'l'] });
    assert.deepEqual(data, { echotest: 'event', result: 'ok' });
    lines.push(mline(sdp!, 'video').filter((l) => /^a=(rid|simulcast):/.test(l) || l.includes('rtp-stream-id')).map((l) => l.replace(/^a=extmap:\d+ /, 'a=extmap:ID ')));
  }
  assert.deepEqual(lines[1], lines[0]);
  assert.ok(lines[0].includes('a=simulcast:recv h;m;l'));
});
