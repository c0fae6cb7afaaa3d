/**
 * VideoCall and TextRoom side by side with the real Janus 1.1.2 (test/helpers/reference-janus.ts):
 * the same request bodies must give the same plugin answers (error codes and texts, results), in
 * the same order, on fresh handles of each; call flows with the same events; a call with Opus RED
 * recorded the same way (the MJR header notes RED, the RED packets are recorded as relayed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtpHeader, RtpPacket } from 'werift';
import { readMjr } from '../../src/media/mjr-reader.ts';
import { C, offerPeer, opusPayload } from './echotest-common.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { startReferenceJanus, REFERENCE_ADMIN_SECRET, type ReferenceJanus } from '../helpers/reference-janus.ts';
import { PluginHandleClient, answeringPeer, connected, offeringPeer, sleep, until, type TestPeer } from './videocall-common.ts';

let reference: ReferenceJanus;
let portunus: RunningServer;
const closers: PluginHandleClient[] = [];

before(async () => {
  reference = await startReferenceJanus();
  portunus = await startServer(transportConfig(), { logger: silentLogger() });
});

after(async () => {
  for (const c of closers) await c.close().catch(() => undefined);
  await portunus?.close();
  await reference?.stop();
});

async function pair(plugin: string): Promise<[PluginHandleClient, PluginHandleClient]> {
  const a = await PluginHandleClient.attach(reference.wsUrl, plugin);
  const b = await PluginHandleClient.attach(`ws://127.0.0.1:${portunus.ports.ws}`, plugin);
  closers.push(a, b);
  return [a, b];
}

test('VideoCall: the same events for the same requests', async () => {
  const [janus, ours] = await pair('janus.plugin.videocall');
  const tag = `u${Date.now() % 100000}`;
  const bodies: unknown[] = [
    {}, { request: 5 }, { request: 'dance' }, { request: 'call', username: 'x' }, { request: 'accept' }, { request: 'hangup' },
    { request: 'register' }, { request: 'register', username: 5 }, { request: 'register', username: tag },
    { request: 'register', username: 'again' }, { request: 'call' }, { request: 'call', username: tag },
    { request: 'call', username: `${tag}-nobody` }, { request: 'set', audio: 'x' }, { request: 'set', bitrate: -1 },
    { request: 'set', substream: 5 }, { request: 'set', temporal: -1 }, { request: 'set', fallback: -2 }, { request: 'set', restart: 1 },
    { request: 'set', audio: false, video: true, bitrate: 128000 }, { request: 'accept' }, { request: 'hangup', reason: 'x' },
  ];
  for (const body of bodies) {
    const a = await janus.request(body);
    const b = await ours.request(body);
    assert.deepEqual(b.data, a.data, `${JSON.stringify(body)}: portunus ${JSON.stringify(b.data)} vs janus ${JSON.stringify(a.data)}`);
  }
});

/** The core's error, or the plugin's event, for one request (the username tag made neutral). */
async function outcome(h: PluginHandleClient, body: unknown, jsep: Record<string, unknown> | undefined, tag: string): Promise<unknown> {
  const transaction = `vc${Math.random().toString(36).slice(2)}`;
  const reply = await h.send(body, jsep, transaction);
  if (reply.janus === 'error') return reply.error;
  const event = await h.client.waitFor((m) => m.janus === 'event' && m.transaction === transaction, 10000);
  return JSON.parse(JSON.stringify(event.plugindata?.data).replaceAll(tag, 'T'));
}

test('VideoCall: the same answers with a JSEP attached, each on fresh handles', async () => {
  const peer = await offeringPeer();
  const offer = { type: 'offer', sdp: peer.sdp };
  const answer = { type: 'answer', sdp: peer.sdp };
  const run = async (wsUrl: string): Promise<unknown[]> => {
    const tag = `j${Date.now() % 100000}${Math.floor(Math.random() * 1000)}`;
    const out: unknown[] = [];
    const fresh = async (name?: string): Promise<PluginHandleClient> => {
      const h = await PluginHandleClient.attach(wsUrl, 'janus.plugin.videocall');
      closers.push(h);
      if (name) await h.request({ request: 'register', username: `${tag}-${name}` });
      return h;
    };
    // A busy callee: b is called by c (never answered), then a calls b.
    const b = await fresh('b');
    const c = await fresh('c');
    const cp = await offeringPeer();
    await c.request({ request: 'call', username: `${tag}-b` }, { type: 'offer', sdp: cp.sdp });
    const cases: Array<[string | undefined, unknown, Record<string, unknown> | undefined]> = [
      [undefined, { request: 'call', username: `${tag}-b` }, offer],
      ['a1', { request: 'call', username: `${tag}-nobody` }, offer],
      ['a2', { request: 'call', username: `${tag}-a2` }, offer],
      ['a3', { request: 'call', username: `${tag}-b` }, offer],
      ['a4', { request: 'call', username: 5 }, offer],
      ['a5', { request: 'call', username: `${tag}-b` }, answer],
      ['a6', { request: 'accept' }, offer],
      ['a7', { request: 'set', bitrate: 1000 }, offer],
      ['a8', { request: 'hangup' }, offer],
      ['a9', { request: 'list', junk: true }, offer],
    ];
    for (const [name, body, jsep] of cases) out.push(await outcome(await fresh(name), body, jsep, tag));
    await cp.pc.close();
    void b;
    return out;
  };
  const janus = await run(reference.wsUrl);
  const ours = await run(`ws://127.0.0.1:${portunus.ports.ws}`);
  // The lists hold every registered user of each server: compare what is ours only.
  const lists = (o: unknown[]) => o.map((x: any) => (x?.result?.list ? { ...x, result: { list: x.result.list.filter((u: string) => u.startsWith('T-')).sort() } } : x));
  assert.deepEqual(lists(ours), lists(janus), `portunus ${JSON.stringify(ours)}\njanus ${JSON.stringify(janus)}`);
  await peer.pc.close();
});

test('VideoCall: an end-to-end encrypted caller (jsep e2ee) is announced so to the callee, as by Janus', async () => {
  const seen: unknown[] = [];
  for (const url of [reference.wsUrl, `ws://127.0.0.1:${portunus.ports.ws}`]) {
    const tag = `e${Date.now() % 100000}`;
    const a = await PluginHandleClient.attach(url, 'janus.plugin.videocall');
    const b = await PluginHandleClient.attach(url, 'janus.plugin.videocall');
    closers.push(a, b);
    await a.request({ request: 'register', username: `${tag}-a` });
    await b.request({ request: 'register', username: `${tag}-b` });
    const p = await offeringPeer();
    await a.request({ request: 'call', username: `${tag}-b` }, { type: 'offer', sdp: p.sdp, e2ee: true });
    const inc = await b.event((d) => d.result?.event === 'incomingcall');
    seen.push({ type: inc.jsep.type, e2ee: inc.jsep.e2ee });
    await p.pc.close();
  }
  assert.deepEqual(seen[0], { type: 'offer', e2ee: true });
  assert.deepEqual(seen[1], seen[0]);
});

/** `tag`-a registers and calls `tag`-b, who accepts: both PeerConnections up (webrtcup seen). */
async function establishCall(a: PluginHandleClient, b: PluginHandleClient, tag: string): Promise<{ ap: TestPeer; bp: TestPeer }> {
  await a.request({ request: 'register', username: `${tag}-a` });
  await b.request({ request: 'register', username: `${tag}-b` });
  const ap = await offeringPeer();
  await a.request({ request: 'call', username: `${tag}-b` }, { type: 'offer', sdp: ap.sdp });
  const inc = await b.event((d) => d.result?.event === 'incomingcall');
  const bp = await answeringPeer(inc.jsep);
  await b.request({ request: 'accept' }, { type: 'answer', sdp: bp.sdp });
  const acc = await a.event((d) => d.result?.event === 'accepted');
  await ap.pc.setRemoteDescription(acc.jsep);
  await Promise.all([connected(ap), connected(bp)]);
  await until(() => a.coreEvents('webrtcup').length > 0 && b.coreEvents('webrtcup').length > 0, 10000, 'webrtcup');
  return { ap, bp };
}

/** A call on one server; then each side's plugin-specific handle info (Admin API handle_info). */
async function callInfo(wsUrl: string, info: (h: PluginHandleClient) => Promise<unknown>): Promise<unknown[]> {
  const tag = `q${Date.now() % 100000}`;
  const a = await PluginHandleClient.attach(wsUrl, 'janus.plugin.videocall');
  const b = await PluginHandleClient.attach(wsUrl, 'janus.plugin.videocall');
  closers.push(a, b);
  const idle = await info(a);
  const { ap, bp } = await establishCall(a, b, tag);
  await a.request({ request: 'set', bitrate: 256000, audio: false });
  const out = [idle, await info(a), await info(b)].map((x) => JSON.parse(JSON.stringify(x).replaceAll(tag, 'T')));
  await ap.pc.close();
  await bp.pc.close();
  return out;
}

test('VideoCall: the Admin API handle info of a caller and a callee, as Janus gives it', async () => {
  const janus = await callInfo(reference.wsUrl, async (h) => {
    const r = await fetch(`${reference.adminUrl}/${h.sessionId}/${h.handleId}`, {
      method: 'POST', body: JSON.stringify({ janus: 'handle_info', transaction: 'hi', admin_secret: REFERENCE_ADMIN_SECRET }),
    });
    return ((await r.json()) as any).info.plugin_specific;
  });
  const ours = await callInfo(`ws://127.0.0.1:${portunus.ports.ws}`, async (h) => {
    const handle = portunus.gateway.sessions.get(h.sessionId)!.handles.get(h.handleId)!;
    return handle.plugin.querySession(handle);
  });
  // The peer's REMB estimate differs from run to run.
  const steady = (x: any) => x.map((i: any) => ({ ...i, ...(i['peer-bitrate'] !== undefined ? { 'peer-bitrate': 'N' } : {}) }));
  // Janus 1.1.2 says audio_red for a call without RED (its "no RED" value is -1, taken as true):
  // Portunus says it only when RED was negotiated.
  for (const i of janus.slice(1) as any[]) {
    assert.equal(i.audio_red, true);
    delete i.audio_red;
  }
  assert.deepEqual(steady(ours), steady(janus), `portunus ${JSON.stringify(ours)}\njanus ${JSON.stringify(janus)}`);
});

test('TextRoom: the same answers for the same Janus API requests', async () => {
  const [janus, ours] = await pair('janus.plugin.textroom');
  const room = 700000 + Math.floor(Math.random() * 9999);
  const bodies: unknown[] = [
    {}, { request: 5 }, { request: 'dance' }, { request: 'join', room: 1234 }, { request: 'exists', room: room },
    { request: 'exists' }, { request: 'exists', room: 'x' }, { request: 'create', room, description: 'Diff', secret: 's', history: 2 },
    { request: 'create', room }, { request: 'create', room: room + 1, allowed: [1] }, { request: 'create', room: room + 1, history: -1 },
    { request: 'exists', room }, { request: 'listparticipants', room }, { request: 'listparticipants', room: room + 2 },
    { request: 'edit', room }, { request: 'edit', room, secret: 'no' }, { request: 'edit', room, secret: 's', new_description: 'D2' },
    { request: 'announcement', room, secret: 's' }, { request: 'announcement', room, secret: 's', text: 'hi' },
    { request: 'kick', room, secret: 's', username: 'ghost' }, { request: 'kick', room, secret: 's' },
    { request: 'allowed', room, secret: 's', action: 'nope' }, { request: 'allowed', room, secret: 's', action: 'add', allowed: ['t1'] },
    { request: 'allowed', room, secret: 's', action: 'disable' }, { request: 'destroy', room, secret: 'x' },
    { request: 'destroy', room, secret: 's' }, { request: 'destroy', room, secret: 's' },
  ];
  for (const body of bodies) {
    const a = await janus.send(body);
    const b = await ours.send(body);
    assert.equal(b.janus, a.janus, JSON.stringify(body));
    assert.deepEqual(b.plugindata?.data, a.plugindata?.data, `${JSON.stringify(body)}: portunus ${JSON.stringify(b.plugindata?.data)} vs janus ${JSON.stringify(a.plugindata?.data)}`);
  }
  const setupA = await janus.request({ request: 'restart' });
  const setupB = await ours.request({ request: 'restart' });
  assert.deepEqual(setupB.data, setupA.data);
});

/** A call on one server: register, call, accept, media up, then `end` hangs up; the events of each side. */
async function callFlow(wsUrl: string, end: 'caller' | 'callee' | 'vanish'): Promise<string[][]> {
  const a = await PluginHandleClient.attach(wsUrl, 'janus.plugin.videocall');
  const b = await PluginHandleClient.attach(wsUrl, 'janus.plugin.videocall');
  const tag = `${end}${Date.now() % 1000}`;
  const { ap, bp } = await establishCall(a, b, tag);
  if (end === 'caller') await a.request({ request: 'hangup', reason: 'Bye' });
  else if (end === 'callee') await b.request({ request: 'hangup' });
  else await b.client.destroy(b.sessionId);
  await sleep(1500);
  const events = (h: PluginHandleClient) => h.client.messages
    .filter((m) => m.sender === h.handleId && (m.janus === 'event' || m.janus === 'hangup'))
    .map((m) => `${m.janus}${m.transaction ? '(tx)' : ''} ${JSON.stringify(m.janus === 'hangup' ? m.reason : m.plugindata?.data).replaceAll(tag, 'T')}`);
  // Janus closes PeerConnections from other threads: the interleaving of the hangup events varies
  // from run to run there (checked), so each side's events are compared as a set.
  const out = [events(a).sort(), end === 'vanish' ? [] : events(b).sort()];
  await ap.pc.close();
  await bp.pc.close();
  await a.close();
  await b.close();
  return out;
}

for (const end of ['caller', 'callee', 'vanish'] as const) {
  test(`VideoCall: the same call flow events as Janus, ${end === 'vanish' ? 'the callee vanishing' : `hangup by the ${end}`}`, async () => {
    const janus = await callFlow(reference.wsUrl, end);
    const ours = await callFlow(`ws://127.0.0.1:${portunus.ports.ws}`, end);
    assert.deepEqual(ours, janus, `portunus ${JSON.stringify(ours, null, 1)}\njanus ${JSON.stringify(janus, null, 1)}`);
  });
}

/** alice (RED and Opus) calls bob, records her audio with `set`, sends N frames; the recording and bob's packets. */
async function redCall(wsUrl: string, folder: string) {
  const a = await PluginHandleClient.attach(wsUrl, 'janus.plugin.videocall');
  const b = await PluginHandleClient.attach(wsUrl, 'janus.plugin.videocall');
  closers.push(a, b);
  const tag = `red${Date.now() % 100000}`;
  await a.request({ request: 'register', username: `${tag}-a` });
  await b.request({ request: 'register', username: `${tag}-b` });
  const ap = await offerPeer({ audio: [C.RED, C.OPUS] });
  await a.request({ request: 'call', username: `${tag}-b` }, { type: 'offer', sdp: ap.sdp });
  const inc = await b.event((d) => d.result?.event === 'incomingcall');
  const bp = await answeringPeer(inc.jsep, { audio: [C.RED, C.OPUS], video: [] });
  await b.request({ request: 'accept' }, { type: 'answer', sdp: bp.sdp });
  const acc = await a.event((d) => d.result?.event === 'accepted');
  await ap.pc.setRemoteDescription(acc.jsep);
  await connected(bp);
  await until(() => a.coreEvents('webrtcup').length > 0 && b.coreEvents('webrtcup').length > 0, 10000, 'webrtcup');
  const base = join(folder, tag);
  const set = await a.request({ request: 'set', record: true, filename: base });
  const N = 25;
  for (let i = 0; i < N; i++) {
    ap.audio!.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: 10 + i, timestamp: 960 * i, payloadType: 111 }), opusPayload(i)));
    await sleep(20);
  }
  await sleep(500);
  await a.request({ request: 'set', record: false });
  await a.request({ request: 'hangup' });
  await sleep(300);
  const mjr = await readMjr(`${base}-audio.mjr`);
  await ap.pc.close();
  await bp.pc.close();
  return {
    set: set.data, codec: mjr.info.codec, redPt: mjr.info.opusRedPt, pts: [...new Set(mjr.frames.map((f) => f.data[1] & 0x7f))],
    frames: mjr.frames.length, relayedPts: [...new Set(bp.rtp.map((p) => p.header.payloadType))],
  };
}

test('VideoCall: a call with Opus RED is relayed and recorded as Janus does it', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'portunus-vc-red-'));
  try {
    const janus = await redCall(reference.wsUrl, folder);
    const ours = await redCall(`ws://127.0.0.1:${portunus.ports.ws}`, folder);
    assert.deepEqual(janus.relayedPts, [63], 'Janus relays RED');
    assert.equal(janus.redPt, 63, 'Janus notes RED in the MJR header');
    assert.deepEqual(ours, janus);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
