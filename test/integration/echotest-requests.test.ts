/**
 * EchoTest requests and errors: 411/412 (reachable only by calling the plugin directly: the core
 * answers 456/467 first), 413 for every attribute of the wrong type (the exact texts are compared
 * with Janus 1.1.2 in echotest-reference.test.ts), 414 for an offer with nothing to echo (werift peer),
 * renegotiation keeping the toggles, `done` on hangup resetting them, slow_link, admin echo, and
 * requests of one handle answered in order.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { loadConfig } from '../../src/config/load.ts';
import { transportConfig } from '../helpers/transport.ts';
import { EchoTestPlugin } from '../../src/plugins/echotest/index.ts';
import type { GatewayFacade, PluginEventOptions, PluginHandle } from '../../src/core/plugin.ts';
import { C, EchoHandle, connectEcho, offerPeer, sleep, until } from './echotest-common.ts';
import { RtpHeader, RtpPacket } from 'werift';

const server = await startServer(transportConfig(), { logger: silentLogger() });
after(() => server.close());
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

/** The plugin alone, with a facade that records what it is asked to do. */
function bare() {
  const events: Array<{ data: Record<string, unknown>; options?: PluginEventOptions }> = [];
  const calls: string[] = [];
  const noop = () => {};
  const facade: GatewayFacade = {
    pushEvent: (_h, data, options) => {
      events.push({ data, options });
      return 0;
    },
    relayRtp: () => calls.push('rtp'),
    relayRtcp: () => calls.push('rtcp'),
    relayData: () => calls.push('data'),
    sendPli: () => calls.push('pli'),
    sendRemb: (_h, bitrate) => calls.push(`remb ${bitrate}`),
    closePc: noop,
    endSession: noop,
    notifyEvent: noop,
    isTokenValid: () => true,
    log: { debug: noop, info: noop, warn: noop, error: noop },
  };
  const plugin = new EchoTestPlugin();
  plugin.init(facade, {}, loadConfig({ env: {} }).config);
  const handle: PluginHandle = { sessionId: 1, handleId: 2, opaqueId: undefined, pluginState: undefined };
  plugin.createSession(handle);
  return { plugin, handle, events, calls };
}

test('411 without a message, 412 when the message is not an object (direct calls; the core stops both first)', async () => {
  const { plugin, handle, events } = bare();
  for (const [body, code, error] of [
    [null, 411, 'No message??'],
    [undefined, 411, 'No message??'],
    [[1, 2], 412, 'JSON error: not an object'],
    ['text', 412, 'JSON error: not an object'],
    [42, 412, 'JSON error: not an object'],
  ] as const) {
    const r = plugin.handleMessage(handle, `tx-${code}`, body as unknown as Record<string, unknown>, undefined);
    assert.equal(r.kind, 'ack');
    await until(() => events.length > 0);
    assert.deepEqual(events.shift(), { data: { echotest: 'event', error_code: code, error }, options: { transaction: `tx-${code}` } });
  }
  // Through the API the core answers first and the plugin never sees such a body.
  const h = await EchoHandle.attach(wsUrl);
  for (const body of [[1], 'text']) {
    const r = await h.client.request({ janus: 'message', session_id: h.sessionId, handle_id: h.handleId, body });
    assert.equal(r.error?.code, 467);
  }
  const missing = await h.client.request({ janus: 'message', session_id: h.sessionId, handle_id: h.handleId });
  assert.equal(missing.error?.code, 456);
  await h.close();
});

test('413 for every attribute of the wrong type, and for a message that asks for nothing', async () => {
  const h = await EchoHandle.attach(wsUrl);
  const wrong: Array<[string, unknown, string]> = [
    ['audio', 'yes', 'a boolean'], ['video', 0, 'a boolean'], ['bitrate', -1, 'a positive integer'], ['bitrate', '128000', 'a positive integer'],
    ['record', 1, 'a boolean'], ['filename', false, 'a string'], ['substream', 0.5, 'a positive integer'], ['temporal', null, 'a positive integer'],
    ['fallback', 'x', 'a positive integer'], ['audiocodec', ['opus'], 'a string'], ['videocodec', {}, 'a string'], ['videoprofile', 42, 'a string'],
    ['opusred', 'true', 'a boolean'], ['min_delay', 1.5, 'an integer'], ['max_delay', true, 'an integer'],
  ];
  for (const [name, value, what] of wrong) {
    const { data } = await h.message({ [name]: value });
    assert.deepEqual(data, { echotest: 'event', error_code: 413, error: `Invalid element type (${name} should be ${what})` }, name);
  }
  assert.equal((await h.message({ substream: 3 })).data.error, 'Invalid value (substream should be 0, 1 or 2)');
  assert.equal((await h.message({ temporal: 9 })).data.error, 'Invalid value (temporal should be 0, 1 or 2)');
  for (const body of [{}, { filename: 'x' }, { audiocodec: 'opus' }, { unknown: true }]) {
    assert.deepEqual((await h.message(body)).data, { echotest: 'event', error_code: 413, error: 'Message error: no supported attributes found' });
  }
  await h.close();
});

test('414 for an offer with nothing to echo (its PeerConnection is dropped); the handle stays usable', async () => {
  const h = await EchoHandle.attach(wsUrl);
  const bad = await offerPeer({ audio: [C.G729] });
  const { data, event } = await h.message({ audio: true }, { type: 'offer', sdp: bad.sdp });
  assert.equal(data.error_code, 414);
  assert.match(String(data.error), /no media we can echo/);
  assert.equal(event.jsep, undefined);
  // The half-made PeerConnection the core set up for that offer is dropped.
  await h.client.waitFor((m) => m.janus === 'hangup' && m.sender === h.handleId);
  // A codec preference can make an offer unanswerable too.
  const onlyOpus = await offerPeer({ audio: [C.OPUS] });
  assert.equal((await h.message({ audiocodec: 'pcmu' }, { type: 'offer', sdp: onlyOpus.sdp })).data.error_code, 414);
  await bad.pc.close();
  await onlyOpus.pc.close();
  const good = await offerPeer({ audio: [C.OPUS] });
  await connectEcho(h, good, { audio: true });
  await good.pc.close();
  await h.close();
});

test('a second offer renegotiates and keeps the toggles; hangup gives done and resets them', async () => {
  const h = await EchoHandle.attach(wsUrl);
  const peer = await offerPeer({ audio: [C.OPUS], video: [C.VP8] });
  try {
    await connectEcho(h, peer, { audio: true, video: true });
    assert.deepEqual((await h.message({ audio: false, bitrate: 256000 })).data, { echotest: 'event', result: 'ok' });
    const offer = await peer.pc.createOffer();
    await peer.pc.setLocalDescription(offer);
    const again = await h.message({}, { type: 'offer', sdp: peer.pc.localDescription!.sdp });
    assert.deepEqual(again.data, { echotest: 'event', result: 'ok' });
    assert.equal(again.event.jsep.type, 'answer');
    await peer.pc.setRemoteDescription(again.event.jsep);
    const handle = server.gateway.sessions.get(h.sessionId)!.handles.get(h.handleId)!;
    const q = handle.plugin.querySession(handle);
    assert.equal(q.audio_active, false);
    assert.equal(q.bitrate, 256000);
    assert.equal(q.audio_codec, 'opus');
    assert.equal(q.video_codec, 'vp8');
    for (let i = 0; i < 20; i++) {
      peer.audio!.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: 960 * i }), Buffer.from([0xfc, i])));
      peer.video!.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: 3000 * i, marker: true }), Buffer.from([0x10, i])));
      await sleep(3);
    }
    await until(() => peer.rtp.filter((p) => p.header.payloadType === 96).length >= 20, 5000, 'video echo after renegotiation');
    assert.equal(peer.rtp.filter((p) => p.header.payloadType === 111).length, 0, 'audio stays off');

    await h.client.request({ janus: 'hangup', session_id: h.sessionId, handle_id: h.handleId });
    await h.client.waitFor((m) => m.janus === 'event' && m.plugindata?.data?.result === 'done');
    assert.deepEqual(h.unsolicited().filter((e) => e.result === 'done'), [{ echotest: 'event', result: 'done' }]);
    const after = handle.plugin.querySession(handle);
    assert.equal(after.audio_active, true);
    assert.equal(after.bitrate, 0);
    assert.equal(after.audio_codec, undefined);
  } finally {
    await peer.pc.close();
    await h.close();
  }
});

test('requests are answered in order; video:true after video:false asks for a keyframe; bitrate caps REMB', async () => {
  const { plugin, handle, events, calls } = bare();
  const bodies = [{ video: false }, { video: true }, { bitrate: 0 }, { bitrate: 64000 }, { audio: 'x' }, { substream: 1 }, { temporal: 0 }];
  bodies.forEach((b, i) => plugin.handleMessage(handle, `t${i}`, b, undefined));
  await until(() => events.length === bodies.length);
  assert.deepEqual(events.map((e) => e.options?.transaction), bodies.map((_, i) => `t${i}`));
  assert.equal(events[4].data.error_code, 413);
  // re-enabling video: PLI; bitrate 0 = "no limit" (10 Mbit/s, as Janus); no simulcast: PLIs for substream/temporal
  assert.deepEqual(calls, ['pli', 'remb 10000000', 'remb 64000', 'pli', 'pli']);
});

test('slow_link on the downlink is reported; admin messages are echoed back', () => {
  const { plugin, handle, events } = bare();
  plugin.slowLink(handle, '1', true, true);
  assert.equal(events.length, 0, 'uplink NACKs are not reported');
  plugin.slowLink(handle, '1', true, false);
  plugin.slowLink(handle, '0', false, false);
  assert.deepEqual(events.map((e) => e.data), [
    { echotest: 'event', event: 'slow_link', media: 'video', 'current-bitrate': 0 },
    { echotest: 'event', event: 'slow_link', media: 'audio' },
  ]);
  assert.equal(plugin.querySession(handle).slowlink_count, 3);
  const body = { request: 'anything', nested: { a: [1, 2] } };
  const echoed = plugin.handleAdminMessage(body);
  assert.deepEqual(echoed, body);
  assert.notEqual(echoed, body);
});
