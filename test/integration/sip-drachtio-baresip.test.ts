/**
 * baresip as an independent SIP stack behind the drachtio backend (drachtio-srf and the drachtio
 * STAND-IN): the browser peer (werift, PCMU) calls baresip, which auto-answers and plays a 1000 Hz
 * sine while we send 440 Hz. Both directions are decoded and measured: the mu-law reaching the
 * browser with a Goertzel detector (1000 Hz present, 440 Hz absent), baresip's sndfile dump of what
 * it decoded from us by its frequency. Plain RTP, and SDES-SRTP mandatory (baresip's srtp module),
 * where the tones are only heard if the SRTP of both sides agrees. BYE from us.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection, RTCRtpCodecParameters, RtpPacket, RtpHeader } from 'werift';
import { noStun, waitConnected } from '../helpers/werift-peer.ts';
import { sineFrame, toneAmplitude } from '../helpers/audio-tones.ts';
import { until } from './sip-peers.ts';
import { HAVE_BARESIP, muDecode, muEncode, startBaresip } from './sip-baresip-common.ts';
import { drachtioGateway, guest, placeCall } from './sip-drachtio-common.ts';

const { wsUrl } = await drachtioGateway('38000-38999');
const peers: RTCPeerConnection[] = [];
after(async () => {
  for (const pc of peers) await pc.close().catch(() => undefined);
});

async function toneCall(accountParams: string, callExtra: Record<string, unknown>, modules: string[]) {
  const baresip = await startBaresip({ accountParams, modules, rtpPorts: '53000-53999' });
  try {
    const h = await guest(wsUrl, 'browser');
    const pc = new RTCPeerConnection({
      iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' },
      bundlePolicy: 'max-bundle', codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 })] },
    });
    noStun(pc);
    peers.push(pc);
    const { got, offer } = await placeCall(h, `sip:baresip@127.0.0.1:${baresip.port}`, pc, callExtra);
    const accepted = await h.sipEvent((r) => r.event === 'accepted', 15000);
    assert.match(accepted.jsep.sdp, /a=rtpmap:0 PCMU\/8000/);
    await pc.setRemoteDescription(accepted.jsep);
    await waitConnected(pc);
    // 3 s of 440 Hz, 20 ms packets of 160 mu-law samples.
    const pcm = new Int16Array(160);
    for (let n = 0; n < 150; n++) {
      sineFrame(pcm, 160, 440, 8000, n * 160, 12000);
      const payload = Buffer.from(Array.from(pcm, muEncode));
      offer.tracks[0].writeRtp(new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: n, timestamp: n * 160, ssrc: 6160, marker: n === 0 }), payload));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => got.length >= 100, 10000);
    const heard = Int16Array.from(got.slice(-100).flatMap((p) => [...p.payload].map(muDecode)));
    await h.send({ request: 'hangup' });
    await h.sipEvent((r) => r.event === 'hangup');
    await new Promise((r) => setTimeout(r, 500));
    h.client.close();
    return { at1000: toneAmplitude(heard, 1000, 8000), at440: toneAmplitude(heard, 440, 8000), baresipHz: baresip.heardHz(), log: baresip.log() };
  } finally {
    baresip.stop();
  }
}

function assertTones(r: Awaited<ReturnType<typeof toneCall>>): void {
  assert.ok(r.at1000 > 1000 && r.at1000 > 10 * r.at440, `browser hears 1000 Hz at ${r.at1000.toFixed(0)}, 440 Hz at ${r.at440.toFixed(0)}`);
  assert.ok(Math.abs(r.baresipHz - 440) < 20, `baresip hears ${r.baresipHz.toFixed(1)} Hz`);
}

test('drachtio: call to baresip, tones both ways decoded and measured, BYE from us', { skip: !HAVE_BARESIP && 'baresip not installed' }, async () => {
  assertTones(await toneCall('', {}, []));
});

test('drachtio: SDES-SRTP mandatory with baresip (RTP/SAVP), tones both ways', { skip: !HAVE_BARESIP && 'baresip not installed' }, async () => {
  const r = await toneCall(';mediaenc=srtp-mand', { srtp: 'sdes_mandatory' }, ['srtp.so']);
  assert.match(r.log, /SRTP is Enabled/);
  assertTones(r);
});
