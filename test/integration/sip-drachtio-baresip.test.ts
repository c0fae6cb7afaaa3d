/**
 * baresip as an independent SIP stack behind the drachtio backend (drachtio-srf and the drachtio
 * STAND-IN): the browser peer (werift, PCMU) calls baresip, which auto-answers and plays a 1000 Hz
 * sine (ausine) while we send 440 Hz. Both directions are decoded from G.711 mu-law and measured with
 * a Goertzel detector: the browser must hear 1000 Hz (and not 440), baresip's sndfile dump of what
 * it decoded from us must hold 440 Hz (and not 1000). Then the browser hangs up (BYE from us).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RTCPeerConnection, RTCRtpCodecParameters, RtpPacket, RtpHeader, type MediaStreamTrack } from 'werift';
import { waitConnected } from '../helpers/werift-peer.ts';
import { sineFrame, toneAmplitude } from '../helpers/audio-tones.ts';
import { freeUdpPort, until } from './sip-peers.ts';
import { drachtioGateway, guest, placeCall } from './sip-drachtio-common.ts';

const { wsUrl } = await drachtioGateway('38000-38999');
const peers: RTCPeerConnection[] = [];
after(async () => {
  for (const pc of peers) await pc.close().catch(() => undefined);
});

/** G.711 mu-law (ITU-T G.711 section 3.2): 8-bit code <-> 16-bit linear, segment by segment. */
const MU_BIAS = 0x84;
function linearToMu(x: number): number {
  const sign = x < 0 ? 0x80 : 0;
  const mag = Math.min(Math.abs(x), 32635) + MU_BIAS;
  let seg = 0;
  while (seg < 7 && mag >= 0x100 << seg) seg++;
  return ~(sign | (seg << 4) | ((mag >> (seg + 3)) & 0x0f)) & 0xff;
}
function muToLinear(code: number): number {
  const u = ~code & 0xff;
  const mag = ((((u & 0x0f) << 3) | MU_BIAS) << ((u >> 4) & 0x07)) - MU_BIAS;
  return u & 0x80 ? -mag : mag;
}

test('drachtio: call to baresip, tones both ways decoded and measured, BYE from us', { skip: !existsSync('/usr/bin/baresip') && 'baresip not installed' }, async () => {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), 'portunus-drachtio-baresip-'));
  const dumps = join(dir, 'dumps');
  mkdirSync(dumps);
  const modules = ['g711', 'ausine', 'aubridge', 'sndfile'].map((m) => `module ${m}.so`);
  writeFileSync(join(dir, 'config'), [
    `sip_listen 127.0.0.1:${port}`, 'sip_transports udp', 'net_interface 127.0.0.1', 'rtp_ports 53000-53999', 'poll_method epoll',
    'audio_source ausine,1000', 'audio_player aubridge,nil', 'audio_alert aubridge,nil', 'ausrc_srate 48000', 'ausrc_channels 2',
    `snd_path ${dumps}`, 'module_path /usr/lib/baresip/modules', ...modules, 'module_app account.so', 'module_app menu.so', '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'), `<sip:baresip@127.0.0.1:${port}>;regint=0;answermode=auto;audio_codecs=PCMU\n`);
  const proc = spawn('/usr/bin/baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(proc.exitCode, null, out);
    const h = await guest(wsUrl, 'browser');
    const pc = new RTCPeerConnection({
      iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' },
      bundlePolicy: 'max-bundle', codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 })] },
    });
    peers.push(pc);
    const { got, offer } = await placeCall(h, `sip:baresip@127.0.0.1:${port}`, pc);
    const accepted = await h.sipEvent((r) => r.event === 'accepted', 15000);
    assert.match(accepted.jsep.sdp, /a=rtpmap:0 PCMU\/8000/);
    await pc.setRemoteDescription(accepted.jsep);
    await waitConnected(pc);
    // 3 s of 440 Hz, 20 ms packets of 160 mu-law samples.
    const track: MediaStreamTrack = offer.tracks[0];
    const pcm = new Int16Array(160);
    for (let n = 0; n < 150; n++) {
      sineFrame(pcm, 160, 440, 8000, n * 160, 12000);
      const payload = Buffer.from(Array.from(pcm, linearToMu));
      track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: n, timestamp: n * 160, ssrc: 6160, marker: n === 0 }), payload));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => got.length >= 100, 10000);
    const heard = Int16Array.from(got.slice(-100).flatMap((p) => [...p.payload].map(muToLinear)));
    const at1000 = toneAmplitude(heard, 1000, 8000);
    const at440 = toneAmplitude(heard, 440, 8000);
    assert.ok(at1000 > 1000 && at1000 > 10 * at440, `browser hears 1000 Hz at ${at1000.toFixed(0)}, 440 Hz at ${at440.toFixed(0)}`);
    await h.send({ request: 'hangup' });
    await h.sipEvent((r) => r.event === 'hangup');
    await new Promise((r) => setTimeout(r, 500));
    const dec = readdirSync(dumps).find((x) => x.includes('dec'));
    assert.ok(dec, `sndfile wrote ${readdirSync(dumps).join(',')}\n${out.slice(-2000)}`);
    const wav = readFileSync(join(dumps, dec));
    const channels = wav.readUInt16LE(22);
    const rate = wav.readUInt32LE(24);
    const frames = Math.floor((wav.length - 44) / (2 * channels));
    const samples = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + 44 + frames * 2 * channels));
    // One second from the first quarter of the dump, the first channel.
    const off = Math.floor(frames / 4);
    const n = Math.min(rate, frames - off);
    const b440 = toneAmplitude(samples, 440, rate, off, n, channels, 0);
    const b1000 = toneAmplitude(samples, 1000, rate, off, n, channels, 0);
    assert.ok(b440 > 1000 && b440 > 10 * b1000, `baresip hears 440 Hz at ${b440.toFixed(0)}, 1000 Hz at ${b1000.toFixed(0)}`);
    h.client.close();
  } finally {
    proc.kill('SIGTERM');
  }
});
