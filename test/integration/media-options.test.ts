/**
 * Media options seen from a client: full_trickle (our candidates come as `trickle` events, not in
 * the SDP) and candidates trickled before any SDP (held for candidates_timeout, then used).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { JanusWsClient } from '../helpers/janus-client.ts';
import { loopbackPeer, offerWith, waitConnected, noStun, waitGathered } from '../helpers/werift-peer.ts';
import type { PortunusConfig } from '../../src/config/types.ts';

async function withServer(mutate: (c: PortunusConfig) => void, fn: (client: JanusWsClient) => Promise<void>): Promise<void> {
  const server = await startServer(transportConfig(mutate), { logger: silentLogger() });
  const client = await JanusWsClient.connect(`ws://127.0.0.1:${server.ports.ws}`);
  try {
    await fn(client);
  } finally {
    await client.close();
    await server.close();
  }
}

test('full_trickle: no candidates in our SDP; they arrive as trickle events, then completed', async () => {
  await withServer((c) => { c.nat.full_trickle = true; }, async (client) => {
    const sid = await client.createSession();
    const hid = await client.attach(sid, 'janus.plugin.echotest');
    const pc = loopbackPeer();
    const { sdp } = await offerWith(pc, ['audio'], false);
    const transaction = 'ft';
    await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction, body: { audio: true }, jsep: { type: 'offer', sdp } });
    const ev = await client.waitFor((m) => m.janus === 'event' && m.transaction === transaction);
    assert.ok(!/a=candidate:/.test(ev.jsep.sdp), 'no candidate in the SDP');
    await pc.setRemoteDescription(ev.jsep);
    const trickle = await client.waitFor((m) => m.janus === 'trickle' && m.sender === hid && typeof m.candidate?.candidate === 'string');
    assert.match(trickle.candidate.candidate, /^candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/);
    assert.equal(typeof trickle.candidate.sdpMid, 'string');
    await client.waitFor((m) => m.janus === 'trickle' && m.candidate?.completed === true);
    await pc.addIceCandidate({ candidate: trickle.candidate.candidate, sdpMid: trickle.candidate.sdpMid, sdpMLineIndex: trickle.candidate.sdpMLineIndex });
    await waitConnected(pc);
    await client.waitFor((m) => m.janus === 'webrtcup');
    await pc.close();
  });
});

test('candidates trickled before the offer are kept and used (the offer itself has none)', async () => {
  await withServer(() => {}, async (client) => {
    const sid = await client.createSession();
    const hid = await client.attach(sid, 'janus.plugin.echotest');
    const pc = loopbackPeer();
    pc.addTransceiver('audio', { direction: 'sendrecv' });
    const offer = await pc.createOffer();
    noStun(pc);
    await pc.setLocalDescription(offer);
    await waitGathered(pc);
    const full = pc.localDescription!.sdp;
    const lines = full.split('\r\n');
    const candidates = lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2));
    assert.ok(candidates.length > 0);
    // The client trickles first, then sends an offer stripped of its candidates.
    for (const c of candidates) {
      const ack = await client.request({ janus: 'trickle', session_id: sid, handle_id: hid, candidate: { candidate: c, sdpMid: '0', sdpMLineIndex: 0 } });
      assert.equal(ack.janus, 'ack');
    }
    await client.request({ janus: 'trickle', session_id: sid, handle_id: hid, candidate: { completed: true } });
    const stripped = lines.filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').join('\r\n');
    const transaction = 'late-offer';
    await client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction, body: { audio: true }, jsep: { type: 'offer', sdp: stripped } });
    const ev = await client.waitFor((m) => m.janus === 'event' && m.transaction === transaction);
    await pc.setRemoteDescription(ev.jsep);
    await waitConnected(pc);
    await client.waitFor((m) => m.janus === 'webrtcup');
    await pc.close();
  });
});
