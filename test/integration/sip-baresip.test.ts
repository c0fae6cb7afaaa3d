/**
 * baresip as a second, independent SIP stack: the browser peer (werift, PCMU) calls baresip, which
 * auto-answers and plays a 1000 Hz sine (ausine); the browser sends a 440 Hz tone it encodes to
 * G.711 mu-law itself. Both directions are checked by decoding: the mu-law arriving at the browser
 * is decoded here and its frequency measured, and baresip's sndfile module writes what it decoded
 * from us to a WAV file whose frequency is measured too. Then the browser hangs up (BYE from us).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpPacket, RtpHeader } from 'werift';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { offerWith, waitConnected } from '../helpers/werift-peer.ts';
import sipPlugin from '../../src/plugins/sip/index.ts';
import { freeUdpPort, sipHandle, until } from './sip-peers.ts';

const server = await startServer(transportConfig((c) => {
  c.pluginConfigs['janus.plugin.sip'] = { general: { local_ip: '127.0.0.1', rtp_port_range: '51000-51999' } };
}), { logger: silentLogger(), plugins: [sipPlugin()] });
after(() => server.close());

/** G.711 mu-law (ITU-T G.711) encode/decode of 16-bit linear samples. */
function muEncode(sample: number): number {
  const BIAS = 0x84;
  let sign = 0;
  let s = sample;
  if (s < 0) { s = -s; sign = 0x80; }
  if (s > 32635) s = 32635;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}
function muDecode(u: number): number {
  const x = ~u & 0xff;
  const t = (((x & 0x0f) << 3) + 0x84) << ((x & 0x70) >> 4);
  return x & 0x80 ? 0x84 - t : t - 0x84;
}
/** Frequency from zero crossings of a signal sampled at `rate`. */
function frequency(samples: number[], rate: number): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if ((samples[i - 1] < 0) !== (samples[i] < 0)) crossings++;
  return (crossings / 2) * (rate / samples.length);
}

test('call to baresip: tones both ways, decoded and measured', { skip: !readdirSync('/usr/bin').includes('baresip') && 'baresip not installed' }, async () => {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), 'portunus-baresip-'));
  const dumps = join(dir, 'dumps');
  writeFileSync(join(dir, 'config'), [
    'poll_method epoll', `sip_listen 127.0.0.1:${port}`, 'sip_transports udp', 'audio_player aubridge,nil', 'audio_source ausine,1000',
    'audio_alert aubridge,nil', 'ausrc_srate 48000', 'ausrc_channels 2', `snd_path ${dumps}`, 'module_path /usr/lib/baresip/modules',
    'module g711.so', 'module ausine.so', 'module aubridge.so', 'module sndfile.so', 'module_app account.so', 'module_app menu.so',
    'rtp_ports 52000-52999', 'net_interface 127.0.0.1', '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'), `<sip:baresip@127.0.0.1:${port}>;regint=0;answermode=auto;audio_codecs=PCMU\n`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dumps);
  const proc = spawn('/usr/bin/baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(proc.exitCode, null, out);
    const h = await sipHandle(`ws://127.0.0.1:${server.ports.ws}`);
    await h.send({ request: 'register', type: 'guest', username: 'sip:browser@127.0.0.1' });
    await h.sipEvent((r) => r.event === 'registered');
    const pc = new RTCPeerConnection({
      iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' },
      bundlePolicy: 'max-bundle', codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 })] },
    });
    const got: RtpPacket[] = [];
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((p) => got.push(p)));
    const offer = await offerWith(pc, ['audio'], false);
    await h.send({ request: 'call', uri: `sip:baresip@127.0.0.1:${port}` }, { type: 'offer', sdp: offer.sdp });
    const accepted = await h.sipEvent((r) => r.event === 'accepted', 15000);
    assert.match(accepted.jsep.sdp, /a=rtpmap:0 PCMU\/8000/);
    await pc.setRemoteDescription(accepted.jsep);
    await waitConnected(pc);
    // 3 s of a 440 Hz tone, 20 ms packets of 160 mu-law samples.
    const track: MediaStreamTrack = offer.tracks[0];
    for (let n = 0; n < 150; n++) {
      const payload = Buffer.alloc(160);
      for (let i = 0; i < 160; i++) payload[i] = muEncode(Math.round(12000 * Math.sin((2 * Math.PI * 440 * (n * 160 + i)) / 8000)));
      track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: n, timestamp: n * 160, ssrc: 5150, marker: n === 0 }), payload));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => got.length >= 100, 10000);
    // baresip's sine, as the browser hears it.
    const heard = got.slice(-100).flatMap((p) => [...p.payload].map(muDecode));
    const f = frequency(heard, 8000);
    assert.ok(Math.abs(f - 1000) < 30, `browser hears ${f.toFixed(1)} Hz`);
    await h.send({ request: 'hangup' });
    await h.sipEvent((r) => r.event === 'hangup');
    await new Promise((r) => setTimeout(r, 500));
    // baresip's sndfile dump of what it decoded from us.
    const files = readdirSync(dumps);
    const dec = files.find((x) => x.includes('dec'));
    assert.ok(dec, `sndfile wrote ${files.join(',')}\n${out.slice(-2000)}`);
    const wav = readFileSync(join(dumps, dec));
    const data = wav.subarray(44);
    const samples: number[] = [];
    for (let i = 0; i + 1 < data.length; i += 2) samples.push(data.readInt16LE(i));
    const rate = wav.readUInt32LE(24);
    const channels = wav.readUInt16LE(22);
    const mono = samples.filter((_, i) => i % channels === 0);
    const mid = mono.slice(Math.floor(mono.length / 4), Math.floor(mono.length / 4) + rate);
    const g = frequency(mid, rate);
    assert.ok(Math.abs(g - 440) < 20, `baresip hears ${g.toFixed(1)} Hz`);
    await pc.close();
    h.client.close();
  } finally {
    if (process.env.PORTUNUS_SIP_TRACE) console.log(out);
    proc.kill('SIGTERM');
  }
});
