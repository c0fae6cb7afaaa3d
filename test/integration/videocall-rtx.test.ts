/**
 * VideoCall and RFC 4588 RTX: the media core has no RTX, so RTX is taken out of every offer the
 * plugin relays, in both directions and in renegotiations through `set` (the peer's `update`), and
 * no RTX packet reaches the other leg; the primary video still flows. Real werift peers that offer
 * VP8 with RTX (apt=96) on loopback.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { PluginHandleClient, answeringPeer, connected, received, sendPackets, until, sleep, type TestPeer } from './videocall-common.ts';
import { C, codec, offerPeer } from './echotest-common.ts';

const VC = 'janus.plugin.videocall';
const RTX = codec('video/rtx', 90000, 97, 'apt=96');
const server = await startServer(transportConfig(), { logger: silentLogger() });
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await server.close();
});

async function user(name: string): Promise<PluginHandleClient> {
  const h = await PluginHandleClient.attach(wsUrl, VC);
  closers.push(() => h.close());
  await h.request({ request: 'register', username: name });
  return h;
}

/** A peer answering with Opus, VP8 and RTX available (it would accept RTX if it were offered). */
async function rtxAnswerer(offer: { sdp: string }): Promise<TestPeer> {
  const peer = await answeringPeer({ type: 'offer', sdp: offer.sdp }, { audio: [C.OPUS], video: [C.VP8, RTX] });
  closers.push(() => peer.pc.close());
  return peer;
}

const hasRtx = (sdp: string) => /a=rtpmap:\d+ rtx\//i.test(sdp) || /apt=/.test(sdp) || /a=ssrc-group:FID/.test(sdp);

/** A description with RTX for VP8 added when the browser left it out (a re-offer always carries it). */
function withRtx(sdp: string): string {
  if (hasRtx(sdp)) return sdp;
  return sdp.replace(/^(m=video \d+ \S+ 96)\r\n/m, '$1 97\r\n').replace(/^(a=rtpmap:96 VP8\/90000\r\n)/m, '$1a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n');
}

/** RTX-looking packets (payload type 97) and VP8 (96) from `from`; what `to` receives of each. */
async function rtxDropped(from: TestPeer, to: TestPeer, tag: string): Promise<void> {
  await sendPackets(from, 97, 20, 0x5151 + tag.length, `${tag}-rtx`);
  await sendPackets(from, 96, 20, 0x6161 + tag.length, `${tag}-vp8`);
  await until(() => received(to, 96, `${tag}-vp8`).length >= 18, 8000, `${tag}: VP8 relayed`);
  await sleep(300);
  assert.equal(to.rtp.filter((p) => p.header.payloadType === 97).length, 0, `${tag}: no RTX payload type on the other leg`);
  assert.equal(to.rtp.filter((p) => p.payload.includes(Buffer.from(`${tag}-rtx`))).length, 0, `${tag}: no RTX packet relayed under another payload type`);
}

test('RTX is taken out of the call offer, of both sides\' renegotiation offers, and never relayed', async () => {
  const alice = await user('rtx-alice');
  const bob = await user('rtx-bob');
  const ap = await offerPeer({ audio: [C.OPUS], video: [C.VP8, RTX] });
  closers.push(() => ap.pc.close());
  assert.ok(hasRtx(ap.sdp), 'the caller offers RTX');
  const apeer: TestPeer = { pc: ap.pc, sdp: ap.sdp, rtp: [], messages: [] };
  await alice.request({ request: 'call', username: 'rtx-bob' }, { type: 'offer', sdp: ap.sdp });
  const incoming = await bob.event((d) => d.result?.event === 'incomingcall');
  assert.ok(!hasRtx(incoming.jsep.sdp), `no RTX in the callee's offer:\n${incoming.jsep.sdp}`);
  assert.match(incoming.jsep.sdp, /a=rtpmap:96 VP8\/90000/);
  const bp = await rtxAnswerer(incoming.jsep);
  assert.ok(!hasRtx(bp.sdp));
  await bob.request({ request: 'accept' }, { type: 'answer', sdp: bp.sdp });
  const accepted = await alice.event((d) => d.result?.event === 'accepted');
  assert.ok(!hasRtx(accepted.jsep.sdp), 'no RTX in the caller\'s answer');
  await ap.pc.setRemoteDescription(accepted.jsep);
  await Promise.all([connected(apeer), connected(bp)]);
  await until(() => alice.coreEvents('webrtcup').length > 0 && bob.coreEvents('webrtcup').length > 0, 10000, 'webrtcup');
  await rtxDropped(apeer, bp, 'call');

  // The callee renegotiates: its offer (with RTX) reaches the caller as an update without it.
  const bOffer = await bp.pc.createOffer();
  await bp.pc.setLocalDescription(bOffer);
  const bSdp = withRtx(bp.pc.localDescription!.sdp);
  assert.ok(hasRtx(bSdp));
  assert.equal((await bob.request({ request: 'set' }, { type: 'offer', sdp: bSdp })).data.result.event, 'set');
  const toAlice = await alice.event((d) => d.result?.event === 'update');
  assert.equal(toAlice.jsep.type, 'offer');
  assert.ok(!hasRtx(toAlice.jsep.sdp), `no RTX in the update the caller gets:\n${toAlice.jsep.sdp}`);
  await ap.pc.setRemoteDescription(toAlice.jsep);
  const aAnswer = await ap.pc.createAnswer();
  await ap.pc.setLocalDescription(aAnswer);
  assert.ok(!hasRtx(ap.pc.localDescription!.sdp));
  await alice.request({ request: 'set' }, { type: 'answer', sdp: ap.pc.localDescription!.sdp });
  const backToBob = await bob.event((d) => d.result?.event === 'update' && d !== undefined, 10000);
  assert.equal(backToBob.jsep.type, 'answer');
  assert.ok(!hasRtx(backToBob.jsep.sdp));
  await bp.pc.setRemoteDescription(backToBob.jsep);
  await rtxDropped(bp, apeer, 'callee-reneg');

  // The caller renegotiates with RTX again: the callee's update has none, RTX still not relayed.
  const aOffer = await ap.pc.createOffer();
  await ap.pc.setLocalDescription(aOffer);
  const aSdp = withRtx(ap.pc.localDescription!.sdp);
  await alice.request({ request: 'set' }, { type: 'offer', sdp: aSdp });
  const toBob = await bob.event((d, m) => d.result?.event === 'update' && m.jsep?.type === 'offer', 10000);
  assert.ok(!hasRtx(toBob.jsep.sdp), `no RTX in the update the callee gets:\n${toBob.jsep.sdp}`);
  await bp.pc.setRemoteDescription(toBob.jsep);
  const bAnswer = await bp.pc.createAnswer();
  await bp.pc.setLocalDescription(bAnswer);
  await bob.request({ request: 'set' }, { type: 'answer', sdp: bp.pc.localDescription!.sdp });
  const backToAlice = await alice.event((d, m) => d.result?.event === 'update' && m.jsep?.type === 'answer', 10000);
  assert.ok(!hasRtx(backToAlice.jsep.sdp));
  await ap.pc.setRemoteDescription(backToAlice.jsep);
  await rtxDropped(apeer, bp, 'caller-reneg');
});
