/**
 * A DTLS record that arrives before the remote description is applied must not be lost
 * (PITFALLS: werift drops it and the handshake waits for a retransmission, about 1 s). Two real
 * PeerEndpoints on loopback: the offerer is ICE-lite, so the answerer's checks succeed and its
 * ClientHello leaves before the offerer has even seen the answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTCDtlsTransport } from 'werift';
import { PeerEndpoint, type EndpointSettings, type PeerEndpointEvents } from '../../src/core/webrtc/peer-endpoint.ts';
import { silentLogger } from '../../src/core/log.ts';

const base: EndpointSettings = {
  hostAddresses: [{ address: '127.0.0.1', family: 4, iface: 'lo' }],
  publicIps: [], keepPrivateHost: false, portRange: undefined, iceLite: false, iceTcp: false,
};

function endpoint(settings: EndpointSettings, onConnected: () => void, cert: Awaited<ReturnType<typeof RTCDtlsTransport.SetupCertificate>>): PeerEndpoint {
  const events: PeerEndpointEvents = {
    localCandidate() {}, connected: onConnected, closed() {}, rtp() {}, rtcp() {}, data() {}, dataReady() {},
  };
  return new PeerEndpoint(settings, cert, events, silentLogger());
}

test('a ClientHello that arrives before the answer is applied is kept and replayed: the handshake completes at once', async () => {
  const cert = await RTCDtlsTransport.SetupCertificate();
  let offererUp = 0;
  let answererUp = 0;
  const offerer = endpoint({ ...base, iceLite: true }, () => { offererUp = performance.now(); }, cert);
  const answerer = endpoint(base, () => { answererUp = performance.now(); }, cert);
  try {
    const offerCandidates = await offerer.gather();
    const answerCandidates = await answerer.gather();
    const offerIce = offerer.localIceParameters;
    const answerIce = answerer.localIceParameters;
    // The answerer learns the offer (actpass) and starts at once: ICE-lite peer, it is controlling.
    answerer.setRemote({ ufrag: offerIce.ufrag, pwd: offerIce.pwd, fingerprints: [offerer.localFingerprint], setup: 'actpass', iceLite: true }, true, false);
    for (const c of offerCandidates) await answerer.addRemoteCandidate(c);
    const answererConnect = answerer.connect();
    // Let its ClientHello (and its first retransmissions) reach the offerer, which has not seen the
    // answer yet: without the replay the handshake would wait for the next retransmission (~1.5 s).
    await new Promise((r) => setTimeout(r, 1700));
    const t0 = performance.now();
    offerer.setRemote({ ufrag: answerIce.ufrag, pwd: answerIce.pwd, fingerprints: [answerer.localFingerprint], setup: 'active', iceLite: false }, false, false);
    for (const c of answerCandidates) await offerer.addRemoteCandidate(c);
    await Promise.all([offerer.connect(), answererConnect]);
    assert.equal(offerer.state, 'connected');
    assert.equal(answerer.state, 'connected');
    assert.ok(offerer.stats.earlyDtlsReplayed > 0, 'the early ClientHello was replayed');
    // Without the replay the offerer would wait for the answerer's retransmission (werift: 500 ms+).
    assert.ok(offererUp - t0 < 450, `offerer connected ${Math.round(offererUp - t0)} ms after the answer`);
    assert.ok(answererUp > 0);
  } finally {
    offerer.close('test over');
    answerer.close('test over');
  }
});
