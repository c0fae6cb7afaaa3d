/**
 * VideoCall with real werift peers over loopback: registration and its errors, a call set up with
 * the caller's offer and the callee's answer, Opus and VP8 relayed both ways (packet counts and
 * payload bytes), set toggles, renegotiation updates, hangup from either side, a busy callee, a peer
 * that vanishes, and the plugin's error codes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { PluginHandleClient, answeringPeer, connected, offeringPeer, received, sendPackets, sleep, until, type TestPeer } from './videocall-common.ts';
import { waitConnected as waitConnectedPeer } from '../helpers/werift-peer.ts';

const VC = 'janus.plugin.videocall';
const server = await startServer(transportConfig(), { logger: silentLogger() });
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;
const open: PluginHandleClient[] = [];
const peers: TestPeer[] = [];
after(async () => {
  for (const p of peers) await p.pc.close().catch(() => undefined);
  for (const h of open) await h.close().catch(() => undefined);
  await server.close();
});

let n = 0;
async function user(name?: string): Promise<PluginHandleClient> {
  const h = await PluginHandleClient.attach(wsUrl, VC);
  open.push(h);
  if (name) {
    const { data } = await h.request({ request: 'register', username: name });
    assert.deepEqual(data, { videocall: 'event', result: { event: 'registered', username: name } });
  }
  return h;
}

/** alice calls bob, bob accepts: both PeerConnections up. */
async function call(data = false) {
  const id = ++n;
  const alice = await user(`alice${id}`);
  const bob = await user(`bob${id}`);
  const ap = await offeringPeer(data);
  peers.push(ap);
  const calling = await alice.request({ request: 'call', username: `bob${id}` }, { type: 'offer', sdp: ap.sdp });
  assert.deepEqual(calling.data, { videocall: 'event', result: { event: 'calling' } });
  const incoming = await bob.event((d) => d.result?.event === 'incomingcall');
  assert.equal(incoming.data.result.username, `alice${id}`);
  assert.equal(incoming.jsep.type, 'offer');
  assert.match(incoming.jsep.sdp, /a=rtpmap:111 opus\/48000\/2/);
  // Whole attribute lines: a 4-character ufrag alone can occur by chance inside an SSRC or a fingerprint.
  const callerUfrag = ap.pc.localDescription!.sdp.match(/a=ice-ufrag:(\S+)/)![1];
  assert.ok(!incoming.jsep.sdp.split(/\r?\n/).includes(`a=ice-ufrag:${callerUfrag}`), 'our ICE credentials, not the caller\'s');
  const bp = await answeringPeer(incoming.jsep);
  peers.push(bp);
  const accepted = await bob.request({ request: 'accept' }, { type: 'answer', sdp: bp.sdp });
  assert.deepEqual(accepted.data, { videocall: 'event', result: { event: 'accepted' } });
  const toAlice = await alice.event((d) => d.result?.event === 'accepted');
  assert.equal(toAlice.data.result.username, `bob${id}`);
  assert.equal(toAlice.jsep.type, 'answer');
  await ap.pc.setRemoteDescription(toAlice.jsep);
  await Promise.all([connected(ap), connected(bp)]);
  await alice.client.waitFor((m) => m.janus === 'webrtcup' && m.sender === alice.handleId, 10000);
  await bob.client.waitFor((m) => m.janus === 'webrtcup' && m.sender === bob.handleId, 10000);
  return { alice, bob, ap, bp, id };
}

test('register, list and the registration errors', async () => {
  const a = await user('reg-a');
  const b = await user();
  const again = await a.request({ request: 'register', username: 'other' });
  assert.deepEqual(again.data, { videocall: 'event', error_code: 477, error: 'Already registered (reg-a)' });
  const taken = await b.request({ request: 'register', username: 'reg-a' });
  assert.deepEqual(taken.data, { videocall: 'event', error_code: 476, error: "Username 'reg-a' already taken" });
  const missing = await b.request({ request: 'register' });
  assert.deepEqual(missing.data, { videocall: 'event', error_code: 475, error: 'Missing mandatory element (username)' });
  const wrong = await b.request({ request: 'register', username: 7 });
  assert.deepEqual(wrong.data, { videocall: 'event', error_code: 474, error: 'Invalid element type (username should be a string)' });
  const list = await b.request({ request: 'list' });
  assert.ok(list.data.result.list.includes('reg-a'));
  assert.ok(!list.data.result.list.includes('other'));
  // The name is freed when its handle goes.
  await a.client.detach(a.sessionId, a.handleId);
  const now = await b.request({ request: 'register', username: 'reg-a' });
  assert.equal(now.data.result.event, 'registered');
});

test('request errors: unknown, missing request, no call, register first, self, unknown user, missing SDP', async () => {
  const a = await user();
  assert.deepEqual((await a.request({ request: 'dance' })).data, { videocall: 'event', error_code: 472, error: 'Unknown request (dance)' });
  assert.deepEqual((await a.request({})).data, { videocall: 'event', error_code: 475, error: 'Missing mandatory element (request)' });
  assert.deepEqual((await a.request({ request: 5 })).data, { videocall: 'event', error_code: 474, error: 'Invalid element type (request should be a string)' });
  assert.deepEqual((await a.request({ request: 'call', username: 'x' })).data, { videocall: 'event', error_code: 473, error: 'Register a username first' });
  await a.request({ request: 'register', username: 'errs-a' });
  assert.deepEqual((await a.request({ request: 'accept' })).data, { videocall: 'event', error_code: 481, error: 'No incoming call to accept' });
  assert.deepEqual((await a.request({ request: 'call', username: 'errs-a' })).data, { videocall: 'event', error_code: 479, error: "You can't call yourself... use the EchoTest for that" });
  assert.deepEqual((await a.request({ request: 'call', username: 'nobody' })).data, { videocall: 'event', error_code: 478, error: "Username 'nobody' doesn't exist" });
  await user('errs-b');
  assert.deepEqual((await a.request({ request: 'call', username: 'errs-b' })).data, { videocall: 'event', error_code: 482, error: 'Missing SDP' });
  const s1 = await a.request({ request: 'set', substream: 3 });
  assert.deepEqual(s1.data, { videocall: 'event', error_code: 474, error: 'Invalid value (substream should be 0, 1 or 2)' });
  const s2 = await a.request({ request: 'set', bitrate: -1 });
  assert.deepEqual(s2.data, { videocall: 'event', error_code: 474, error: 'Invalid element type (bitrate should be a positive integer)' });
  const s3 = await a.request({ request: 'set', audio: 'yes' });
  assert.deepEqual(s3.data, { videocall: 'event', error_code: 474, error: 'Invalid element type (audio should be a boolean)' });
  assert.deepEqual((await a.request({ request: 'set', bitrate: 0, substream: 1, temporal: 0 })).data, { videocall: 'event', result: { event: 'set' } });
});

test('a call relays Opus and VP8 both ways byte for byte; toggles stop one direction', async () => {
  const { alice, bob, ap, bp } = await call();
  const aAudio = await sendPackets(ap, 111, 40, 0x1111, 'A-opus');
  const aVideo = await sendPackets(ap, 96, 40, 0x2222, 'A-vp8');
  const bAudio = await sendPackets(bp, 111, 40, 0x3333, 'B-opus');
  const bVideo = await sendPackets(bp, 96, 40, 0x4444, 'B-vp8');
  await until(() => received(bp, 111, 'A-opus').length >= 38 && received(bp, 96, 'A-vp8').length >= 38, 8000, 'alice media at bob');
  await until(() => received(ap, 111, 'B-opus').length >= 38 && received(ap, 96, 'B-vp8').length >= 38, 8000, 'bob media at alice');
  // Payload bytes arrive unchanged (the relay only rewrites the SSRC).
  const sentSet = new Set([...aAudio, ...aVideo].map((b) => b.toString('hex')));
  for (const p of [...received(bp, 111, 'A-opus'), ...received(bp, 96, 'A-vp8')]) assert.ok(sentSet.has(p.toString('hex')));
  const bSet = new Set([...bAudio, ...bVideo].map((b) => b.toString('hex')));
  for (const p of [...received(ap, 111, 'B-opus'), ...received(ap, 96, 'B-vp8')]) assert.ok(bSet.has(p.toString('hex')));
  const ssrcs = new Set(bp.rtp.filter((p) => p.header.payloadType === 111).map((p) => p.header.ssrc));
  assert.equal(ssrcs.size, 1);
  assert.ok(!ssrcs.has(0x1111), 'the callee sees our SSRC, not the caller\'s');

  // alice stops relaying her audio: bob keeps getting video only.
  const set = await alice.request({ request: 'set', audio: false, bitrate: 256000 });
  assert.deepEqual(set.data, { videocall: 'event', result: { event: 'set' } });
  await sendPackets(ap, 111, 20, 0x1111, 'A-muted');
  await sendPackets(ap, 96, 20, 0x2222, 'A-vid2');
  await until(() => received(bp, 96, 'A-vid2').length >= 18, 8000, 'video after mute');
  await sleep(200);
  assert.equal(received(bp, 111, 'A-muted').length, 0);
  // bob's direction is untouched.
  await sendPackets(bp, 111, 20, 0x3333, 'B-more');
  await until(() => received(ap, 111, 'B-more').length >= 18, 8000, 'bob audio after alice mute');

  // Renegotiation: a set with an offer reaches the other side as an update.
  const re = await ap.pc.createOffer();
  await ap.pc.setLocalDescription(re);
  const upd = await alice.request({ request: 'set' }, { type: 'offer', sdp: ap.pc.localDescription!.sdp });
  assert.equal(upd.data.result.event, 'set');
  const update = await bob.event((d) => d.result?.event === 'update');
  assert.equal(update.jsep.type, 'offer');

  // alice hangs up: she hears "Explicit hangup", bob hears her reason; both PeerConnections go.
  const hang = await alice.request({ request: 'hangup', reason: 'Bye bob' });
  assert.deepEqual(hang.data.result, { event: 'hangup', username: `alice${n}`, reason: 'Explicit hangup' });
  const bobHang = await bob.event((d) => d.result?.event === 'hangup');
  assert.deepEqual(bobHang.data.result, { event: 'hangup', username: `alice${n}`, reason: 'Bye bob' });
  await alice.client.waitFor((m) => m.janus === 'hangup' && m.sender === alice.handleId, 10000);
  await bob.client.waitFor((m) => m.janus === 'hangup' && m.sender === bob.handleId, 10000);
  // Both can be called again.
  assert.deepEqual((await bob.request({ request: 'accept' })).data.error_code, 481);
});

test('the callee hangs up with the default reason; a busy callee is reported to a third caller', async () => {
  const { alice, bob, id } = await call();
  const carol = await user(`carol${id}`);
  const cp = await offeringPeer();
  peers.push(cp);
  const busy = await carol.request({ request: 'call', username: `bob${id}` }, { type: 'offer', sdp: cp.sdp });
  assert.deepEqual(busy.data.result, { event: 'hangup', username: `carol${id}`, reason: 'User busy' });
  const hang = await bob.request({ request: 'hangup' });
  assert.equal(hang.data.result.reason, 'Explicit hangup');
  const aliceHang = await alice.event((d) => d.result?.event === 'hangup');
  assert.deepEqual(aliceHang.data.result, { event: 'hangup', username: `bob${id}`, reason: 'We did the hangup' });
});

test('a callee that declines an incoming call; a peer that vanishes ends the call for the other', async () => {
  const id = ++n;
  const alice = await user(`dec-a${id}`);
  const bob = await user(`dec-b${id}`);
  const ap = await offeringPeer();
  peers.push(ap);
  await alice.request({ request: 'call', username: `dec-b${id}` }, { type: 'offer', sdp: ap.sdp });
  await bob.event((d) => d.result?.event === 'incomingcall');
  await bob.request({ request: 'hangup', reason: 'Not now' });
  const declined = await alice.event((d) => d.result?.event === 'hangup');
  assert.equal(declined.data.result.reason, 'Not now');

  // A connected call whose callee disappears (WebSocket gone, session destroyed on timeout/close).
  const c = await call();
  await sendPackets(c.ap, 111, 10, 0x5555, 'pre');
  await until(() => received(c.bp, 111, 'pre').length >= 8);
  await c.bob.client.destroy(c.bob.sessionId);
  await c.bp.pc.close();
  const gone = await c.alice.event((d) => d.result?.event === 'hangup');
  assert.deepEqual(gone.data.result, { event: 'hangup', username: `bob${c.id}`, reason: 'Remote WebRTC hangup' });
  await c.alice.client.waitFor((m) => m.janus === 'hangup' && m.sender === c.alice.handleId, 10000);
  // The gateway keeps working: alice can see the list without bob.
  const list = await c.alice.request({ request: 'list' });
  assert.ok(!list.data.result.list.includes(`bob${c.id}`));
});

test('data channel messages are relayed between the two users', async () => {
  const c = await call(true);
  await until(() => c.ap.channel!.readyState === 'open', 8000, 'caller channel');
  // The callee's leg has no channel yet: the first relayed message opens one towards bob.
  c.ap.channel!.send('hello bob');
  await until(() => c.bp.messages.includes('hello bob'), 8000, 'message at bob');
  await until(() => c.bp.channel?.readyState === 'open', 8000, 'callee channel');
  c.bp.channel!.send('hi alice');
  await until(() => c.ap.messages.includes('hi alice'), 8000, 'message at alice');
});

test('set record writes the user\'s own audio and video to MJR files janus-pp-rec reads', async () => {
  const { mkdtempSync, existsSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFileSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'portunus-videocall-rec-'));
  try {
    const c = await call();
    const base = join(dir, 'alice-side');
    assert.deepEqual((await c.alice.request({ request: 'set', record: true, filename: base })).data, { videocall: 'event', result: { event: 'set' } });
    await sendPackets(c.ap, 111, 30, 0x7777, 'REC-a');
    await sendPackets(c.ap, 96, 30, 0x8888, 'REC-v');
    await until(() => received(c.bp, 111, 'REC-a').length >= 28 && received(c.bp, 96, 'REC-v').length >= 28, 8000, 'relayed while recording');
    assert.deepEqual((await c.alice.request({ request: 'set', record: false })).data, { videocall: 'event', result: { event: 'set' } });
    assert.ok(existsSync(`${base}-audio.mjr`) && existsSync(`${base}-video.mjr`));
    assert.ok(!existsSync(`${base}-data.mjr`), 'no data channel, no data recording');
    const count = (f: string) => Number(/Counted (\d+) RTP packets/.exec(execFileSync('janus-pp-rec', ['--parse', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))?.[1] ?? -1);
    assert.equal(count(`${base}-audio.mjr`), 30);
    assert.equal(count(`${base}-video.mjr`), 30);
    const info = JSON.parse(execFileSync('janus-pp-rec', ['-e', `${base}-video.mjr`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    assert.equal(info.c, 'vp8');
    await c.alice.request({ request: 'hangup' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a simulcasting caller: the callee gets one layer, switches with set substream on a keyframe', async () => {
  const { C, offerPeer, rtp, sendRaw, vp8Payload, parseVp8, mline, capture } = await import('./echotest-common.ts');
  const id = ++n;
  const alice = await user(`sim-a${id}`);
  const bob = await user(`sim-b${id}`);
  const ap = await offerPeer({ audio: [C.OPUS], video: [C.VP8], simulcast: ['h', 'm', 'l'] });
  peers.push({ pc: ap.pc, sdp: ap.sdp, rtp: [], messages: [] });
  await alice.request({ request: 'call', username: `sim-b${id}` }, { type: 'offer', sdp: ap.sdp });
  const inc = await bob.event((d) => d.result?.event === 'incomingcall');
  assert.doesNotMatch(inc.jsep.sdp, /a=rid:|a=simulcast|rtp-stream-id/, 'the callee is offered one stream');
  const bp = await answeringPeer(inc.jsep);
  peers.push(bp);
  await bob.request({ request: 'accept' }, { type: 'answer', sdp: bp.sdp });
  const acc = await alice.event((d) => d.result?.event === 'accepted');
  const video = mline(acc.jsep.sdp, 'video');
  assert.ok(video.includes('a=rid:h recv') && video.includes('a=simulcast:recv h;m;l'), 'the caller\'s simulcast is accepted');
  await ap.pc.setRemoteDescription(acc.jsep);
  await Promise.all([waitConnectedPeer(ap.pc), connected(bp)]);
  capture(ap);
  const ext = (uri: string) => Number(video.find((l) => l.endsWith(` ${uri}`))?.split(/[: ]/)[1] ?? 0);
  const ridExt = ext('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id');
  const LAYERS = [{ rid: 'l', ssrc: 0x1111, seq: 100 }, { rid: 'm', ssrc: 0x2222, seq: 5000 }, { rid: 'h', ssrc: 0x3333, seq: 9000 }];
  const round = async (i: number, key: number[]) => {
    for (let l = 0; l < 3; l++) {
      const L = LAYERS[l];
      const payload = vp8Payload({ keyframe: key.includes(l), pictureId: 100 + i, tag: Buffer.from(`L${l}-${i}`) });
      await sendRaw(ap, rtp(96, L.seq + i, 3000 * i, L.ssrc, payload, i < 3 ? [{ id: ridExt, payload: Buffer.from(L.rid) }] : []));
    }
  };
  const layersSeen = () => bp.rtp.filter((p) => p.header.payloadType === 96).map((p) => parseVp8(p.payload).tag.toString().split('-')[0]);
  for (let i = 0; i < 20; i++) await round(i, i === 0 ? [2] : []);
  await until(() => layersSeen().length >= 18, 8000, 'top layer at the callee');
  assert.deepEqual([...new Set(layersSeen())], ['L2'], 'only the highest layer by default');
  const sim0 = bob.unsolicited().find((d) => d.result?.event === 'simulcast');
  assert.deepEqual(sim0?.result, { event: 'simulcast', videocodec: 'vp8', substream: 2 });
  // bob asks for the lowest layer: alice is asked for a keyframe, the switch waits for it.
  const pliBefore = ap.rtcp.filter((r) => r.type === 206).length;
  await bob.request({ request: 'set', substream: 0 });
  await until(() => ap.rtcp.filter((r) => r.type === 206).length > pliBefore, 5000, 'PLI to the caller');
  for (let i = 20; i < 25; i++) await round(i, []);
  await sleep(200);
  assert.deepEqual([...new Set(layersSeen())], ['L2'], 'no switch before a keyframe of the new layer');
  for (let i = 25; i < 45; i++) await round(i, i === 25 ? [0] : []);
  await until(() => layersSeen().filter((t) => t === 'L0').length >= 18, 8000, 'low layer at the callee');
  const got = bp.rtp.filter((p) => p.header.payloadType === 96);
  assert.equal(new Set(got.map((p) => p.header.ssrc)).size, 1, 'one SSRC across the switch');
  for (let i = 1; i < got.length; i++) assert.equal((got[i].header.sequenceNumber - got[i - 1].header.sequenceNumber) & 0xffff, 1, 'continuous sequence numbers');
  await until(() => bob.unsolicited().some((d) => d.result?.event === 'simulcast' && d.result.substream === 0), 5000, 'simulcast event');
  // set bitrate caps alice's own sender with a REMB.
  const rembs = () => ap.rtcp.map((p) => (p as unknown as { feedback?: { bitrate?: bigint | number } }).feedback?.bitrate).filter((b) => b !== undefined).map(Number);
  const before = rembs().length;
  await alice.request({ request: 'set', bitrate: 300000 });
  await until(() => rembs().length > before, 5000, 'REMB to the caller');
  assert.ok(Math.abs(rembs()[before] - 300000) / 300000 < 0.01, `REMB ${rembs()[before]}`);
});

test('renegotiation: an offer in set reaches the peer as an update, its answer comes back as one; media keeps flowing', async () => {
  const c = await call();
  const re = await c.ap.pc.createOffer();
  await c.ap.pc.setLocalDescription(re);
  assert.equal((await c.alice.request({ request: 'set' }, { type: 'offer', sdp: c.ap.pc.localDescription!.sdp })).data.result.event, 'set');
  const upd = await c.bob.event((d) => d.result?.event === 'update');
  assert.equal(upd.jsep.type, 'offer');
  await c.bp.pc.setRemoteDescription(upd.jsep);
  const answer = await c.bp.pc.createAnswer();
  await c.bp.pc.setLocalDescription(answer);
  assert.equal((await c.bob.request({ request: 'set' }, { type: 'answer', sdp: c.bp.pc.localDescription!.sdp })).data.result.event, 'set');
  const back = await c.alice.event((d) => d.result?.event === 'update');
  assert.equal(back.jsep.type, 'answer');
  await c.ap.pc.setRemoteDescription(back.jsep);
  await sendPackets(c.ap, 111, 20, 0x9191, 'RENEG');
  await until(() => received(c.bp, 111, 'RENEG').length >= 18, 8000, 'media after renegotiation');
});

test('a caller flooding junk RTP (random payload types, sizes, SSRCs) leaves the call working', async () => {
  const { rtp } = await import('./echotest-common.ts');
  const { prng } = await import('../helpers/prng.ts');
  const r = prng(0xbadc0de);
  const c = await call();
  const dtls = c.ap.pc.dtlsTransports[0];
  for (let i = 0; i < 400; i++) {
    const payload = Buffer.alloc(Math.floor(r() * 1200));
    for (let k = 0; k < payload.length; k++) payload[k] = Math.floor(r() * 256);
    const p = rtp(Math.floor(r() * 128), Math.floor(r() * 65536), Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32), payload, [], r() < 0.5);
    await dtls.sendRtp(p.payload, p.header).catch(() => undefined);
    if (i % 50 === 0) await sleep(5);
  }
  // The call keeps working: most of the good packets arrive (on this shared, loaded machine a few
  // can be lost on loopback right after the flood, so not all of them are required).
  await sendPackets(c.ap, 111, 40, 0x4242, 'AFTER-JUNK');
  await until(() => received(c.bp, 111, 'AFTER-JUNK').length >= 30, 10000, 'good audio after the junk');
  await sendPackets(c.bp, 96, 40, 0x4343, 'BOB-OK');
  await until(() => received(c.ap, 96, 'BOB-OK').length >= 30, 10000, 'the other direction too');
  assert.equal((await c.alice.request({ request: 'list' })).data.result.list.includes(`alice${c.id}`), true);
});
