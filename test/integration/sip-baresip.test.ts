/**
 * baresip as a second, independent SIP stack: the browser peer (werift, PCMU) calls baresip, which
 * auto-answers and plays a 1000 Hz sine (ausine); the browser sends a 440 Hz tone it encodes to
 * G.711 mu-law itself. Both directions are checked by decoding: the mu-law arriving at the browser
 * is decoded here and its frequency measured, and baresip's sndfile module writes what it decoded
 * from us to a WAV file whose frequency is measured too. Then the browser hangs up (BYE from us).
 * The same with SDES-SRTP on the SIP side (baresip's srtp module): mandatory (RTP/SAVP) and
 * optional (RTP/AVP with a=crypto), so the audio is only heard if our SRTP and baresip's agree.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpPacket, RtpHeader } from 'werift';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { noStun, offerWith, waitConnected } from '../helpers/werift-peer.ts';
import sipPlugin from '../../src/plugins/sip/index.ts';
import { freeUdpPort, sipHandle, startKamailio, until } from './sip-peers.ts';
import { answerTo } from '../helpers/werift-peer.ts';
import { HAVE_BARESIP, frequency, muDecode, muEncode, startBaresip } from './sip-baresip-common.ts';

const server = await startServer(transportConfig((c) => {
  c.pluginConfigs['janus.plugin.sip'] = { general: { local_ip: '127.0.0.1', rtp_port_range: '51000-51999' } };
}), { logger: silentLogger(), plugins: [sipPlugin()] });
after(() => server.close());

function pcmuPeer(): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' },
    bundlePolicy: 'max-bundle', codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 })] },
  });
  noStun(pc);
  return pc;
}

/** 3 s of a 440 Hz tone from the browser, 20 ms packets of 160 mu-law samples. */
async function sendTone(track: MediaStreamTrack): Promise<void> {
  for (let n = 0; n < 150; n++) {
    const payload = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) payload[i] = muEncode(Math.round(12000 * Math.sin((2 * Math.PI * 440 * (n * 160 + i)) / 8000)));
    track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: n, timestamp: n * 160, ssrc: 5150, marker: n === 0 }), payload));
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A call from the browser to baresip with tones both ways; returns what each side heard and the SDP baresip got. */
async function toneCall(accountParams: string, callExtra: Record<string, unknown>, modules: string[] = []) {
  const baresip = await startBaresip({ accountParams, modules, rtpPorts: '52000-52999' });
  try {
    const h = await sipHandle(`ws://127.0.0.1:${server.ports.ws}`);
    await h.send({ request: 'register', type: 'guest', username: 'sip:browser@127.0.0.1' });
    await h.sipEvent((r) => r.event === 'registered');
    const pc = pcmuPeer();
    const got: RtpPacket[] = [];
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
    const offer = await offerWith(pc, ['audio'], false);
    await h.send({ request: 'call', uri: `sip:baresip@127.0.0.1:${baresip.port}`, ...callExtra }, { type: 'offer', sdp: offer.sdp });
    const accepted = await h.sipEvent((r) => r.event === 'accepted', 15000);
    assert.match(accepted.jsep.sdp, /a=rtpmap:0 PCMU\/8000/);
    await pc.setRemoteDescription(accepted.jsep);
    await waitConnected(pc);
    await sendTone(offer.tracks[0]);
    await until(() => got.length >= 100, 10000);
    // baresip's sine, as the browser hears it.
    const browserHz = frequency(got.slice(-100).flatMap((p) => [...p.payload].map(muDecode)), 8000);
    await h.send({ request: 'hangup' });
    await h.sipEvent((r) => r.event === 'hangup');
    await new Promise((r) => setTimeout(r, 500));
    const baresipHz = baresip.heardHz();
    await pc.close();
    h.client.close();
    return { browserHz, baresipHz, log: baresip.log() };
  } finally {
    if (process.env.PORTUNUS_SIP_TRACE) console.log(baresip.log());
    baresip.stop();
  }
}

test('call to baresip: tones both ways, decoded and measured', { skip: !HAVE_BARESIP && 'baresip not installed' }, async () => {
  const r = await toneCall('', {});
  assert.ok(Math.abs(r.browserHz - 1000) < 30, `browser hears ${r.browserHz.toFixed(1)} Hz`);
  assert.ok(Math.abs(r.baresipHz - 440) < 20, `baresip hears ${r.baresipHz.toFixed(1)} Hz`);
});

test('SDES-SRTP mandatory (RTP/SAVP, AES_CM_128_HMAC_SHA1_80) with baresip: tones both ways', { skip: !HAVE_BARESIP && 'baresip not installed' }, async () => {
  const r = await toneCall(';mediaenc=srtp-mand', { srtp: 'sdes_mandatory' }, ['srtp.so']);
  assert.match(r.log, /SRTP is Enabled \(cryptosuite=AES_CM_128_HMAC_SHA1_80\)/);
  assert.ok(Math.abs(r.browserHz - 1000) < 30, `browser hears ${r.browserHz.toFixed(1)} Hz`);
  assert.ok(Math.abs(r.baresipHz - 440) < 20, `baresip hears ${r.baresipHz.toFixed(1)} Hz`);
});

test('SDES-SRTP optional (RTP/AVP + a=crypto, AES_CM_128_HMAC_SHA1_32) with baresip: tones both ways', { skip: !HAVE_BARESIP && 'baresip not installed' }, async () => {
  const r = await toneCall(';mediaenc=srtp', { srtp: 'sdes_optional', srtp_profile: 'AES_CM_128_HMAC_SHA1_32' }, ['srtp.so']);
  assert.match(r.log, /SRTP is Enabled \(cryptosuite=AES_CM_128_HMAC_SHA1_32\)/);
  assert.ok(Math.abs(r.browserHz - 1000) < 30, `browser hears ${r.browserHz.toFixed(1)} Hz`);
  assert.ok(Math.abs(r.baresipHz - 440) < 20, `baresip hears ${r.baresipHz.toFixed(1)} Hz`);
});

test('incoming SDES offer: baresip calls through kamailio with RTP/SAVP, accept with srtp sdes_mandatory, tones both ways', { skip: !HAVE_BARESIP && 'baresip not installed' }, async () => {
  const kamailio = await startKamailio({ sara: 'secure' }, await freeUdpPort());
  const h = await sipHandle(`ws://127.0.0.1:${server.ports.ws}`);
  let baresip: Awaited<ReturnType<typeof startBaresip>> | undefined;
  try {
    await h.send({ request: 'register', username: 'sip:sara@127.0.0.1', secret: 'secure', proxy: `sip:127.0.0.1:${kamailio.port}` });
    await h.sipEvent((r) => r.event === 'registered');
    baresip = await startBaresip({ accountParams: ';mediaenc=srtp-mand', modules: ['srtp.so'], rtpPorts: '52000-52999', execute: [`/dial sip:sara@127.0.0.1:${kamailio.port}`] });
    const inc = await h.sipEvent((r) => r.event === 'incomingcall', 15000);
    const pc = pcmuPeer();
    const got: RtpPacket[] = [];
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
    pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
    const answer = await answerTo(pc, inc.jsep);
    await h.send({ request: 'accept', srtp: 'sdes_mandatory' }, { type: 'answer', sdp: answer });
    await h.sipEvent((r) => r.event === 'accepted');
    await waitConnected(pc);
    await sendTone(pc.getTransceivers()[0].sender.track!);
    await until(() => got.length >= 100, 10000);
    const browserHz = frequency(got.slice(-100).flatMap((p) => [...p.payload].map(muDecode)), 8000);
    await h.send({ request: 'hangup' });
    await h.sipEvent((r) => r.event === 'hangup');
    await new Promise((r) => setTimeout(r, 500));
    assert.match(baresip.log(), /SRTP is Enabled/);
    assert.ok(Math.abs(browserHz - 1000) < 30, `browser hears ${browserHz.toFixed(1)} Hz`);
    const heard = baresip.heardHz();
    assert.ok(Math.abs(heard - 440) < 20, `baresip hears ${heard.toFixed(1)} Hz`);
    await pc.close();
  } finally {
    if (process.env.PORTUNUS_SIP_TRACE) console.log(baresip?.log());
    baresip?.stop();
    h.client.close();
    await new Promise((r) => setTimeout(r, 300));
    await kamailio.stop();
  }
});
