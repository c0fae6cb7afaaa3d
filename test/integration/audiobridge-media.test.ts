/**
 * AudioBridge media beyond WebRTC: a plain-RTP participant (G.711 from a UDP socket in the test),
 * rtp_forward of the mix (received and decoded), play_file heard by everyone, the room recorded to
 * WAV, group mixes, and per-participant MJR recordings.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAudioBridgeServer, ToneParticipant, AbClient, sleep, until, concatFrames } from './audiobridge-common.ts';
import { sineFrame, toneAmplitude } from '../helpers/audio-tones.ts';
import { g711Decode, g711Encode } from '../../src/audiobridge/g711.ts';
import { opusscriptCodec } from '../../src/audiobridge/opus-codec.ts';
import { OggOpusWriter } from '../../src/media/ogg.ts';
import { SrtpContext, SrtpProfile } from '../../src/core/webrtc/srtp.ts';

const server = await startAudioBridgeServer();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ab-media-'));
after(async () => {
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

/** Amplitudes of `freqs` in the decoded frames that arrived at or after `since`. */
function tonesIn(frames: Array<{ at: number; pcm: Int16Array }>, freqs: number[], rate: number, since: number): number[] {
  const all = concatFrames(frames.filter((f) => f.at >= since));
  return freqs.map((f) => toneAmplitude(all, f, rate));
}

/** A plain RTP leg in the test: a UDP socket sending a PCMU tone and decoding what comes back. */
class PlainLeg {
  readonly sock = dgram.createSocket('udp4');
  readonly received: Array<{ at: number; pcm: Int16Array; pt: number }> = [];
  target: { ip: string; port: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #seq = 100;
  #sample = 0;
  constructor(readonly freq: number) {
    this.sock.on('message', (m) => {
      if (m.length <= 12) return;
      const pcm = new Int16Array(m.length - 12);
      g711Decode('pcmu', m, 12, m.length - 12, pcm);
      this.received.push({ at: performance.now(), pcm, pt: m[1] & 0x7f });
    });
  }
  async bind(): Promise<number> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    return this.sock.address().port;
  }
  start(): void {
    const t0 = performance.now();
    let sent = 0;
    const pcm = new Int16Array(160);
    const out = new Uint8Array(160);
    this.#timer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) / 20) + 1;
      while (sent < due && this.target) {
        sineFrame(pcm, 160, this.freq, 8000, this.#sample, 8000);
        g711Encode('pcmu', pcm, 160, out);
        const b = Buffer.alloc(172);
        b[0] = 0x80;
        b[1] = 0;
        b.writeUInt16BE(this.#seq++ & 0xffff, 2);
        b.writeUInt32BE(this.#sample >>> 0, 4);
        b.writeUInt32BE(0xabcdef, 8);
        b.set(out, 12);
        this.#sample += 160;
        this.sock.send(b, this.target.port, this.target.ip);
        sent++;
      }
    }, 10);
  }
  hears(freqs: number[], since: number): number[] {
    return tonesIn(this.received, freqs, 8000, since);
  }
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.sock.close();
  }
}

/** A UDP socket receiving a forwarder's RTP and decoding it (Opus or PCMU). */
class ForwardSink {
  readonly sock = dgram.createSocket('udp4');
  readonly frames: Array<{ at: number; pcm: Int16Array; pt: number; ssrc: number }> = [];
  readonly dec = opusscriptCodec.createDecoder(48000, 1);
  /** Packets that did not authenticate (SRTP sinks). */
  srtpFailures = 0;
  constructor(readonly codec: 'opus' | 'pcmu', srtp?: SrtpContext) {
    this.sock.on('message', (msg) => {
      let m = msg;
      if (srtp) {
        const n = srtp.unprotectRtp(msg, 0, msg.length);
        if (n < 0) {
          this.srtpFailures++;
          return;
        }
        m = msg.subarray(0, n);
      }
      if (m.length <= 12) return;
      let pcm: Int16Array;
      if (codec === 'opus') {
        const tmpPcm = new Int16Array(5760);
        const n = this.dec.decode(m, 12, m.length - 12, tmpPcm);
        pcm = tmpPcm.slice(0, Math.max(0, n));
      } else {
        pcm = new Int16Array(m.length - 12);
        g711Decode('pcmu', m, 12, m.length - 12, pcm);
      }
      this.frames.push({ at: performance.now(), pcm, pt: m[1] & 0x7f, ssrc: m.readUInt32BE(8) });
    });
  }
  async bind(): Promise<number> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    return this.sock.address().port;
  }
  hears(freqs: number[], since: number): number[] {
    return tonesIn(this.frames, freqs, this.codec === 'opus' ? 48000 : 8000, since);
  }
}

function oggTone(freq: number, seconds: number): Buffer {
  const enc = opusscriptCodec.createEncoder(48000, 1);
  const w = new OggOpusWriter(1, 48000);
  const pcm = new Int16Array(960);
  const out = new Uint8Array(1500);
  for (let i = 0; i < seconds * 50; i++) {
    sineFrame(pcm, 960, freq, 48000, i * 960, 8000);
    const n = enc.encode(pcm, 960, out);
    w.add(Buffer.from(out.subarray(0, n)));
  }
  enc.destroy();
  return w.finish();
}

function wavTones(file: string, freqs: number[]): number[] {
  const b = fs.readFileSync(file);
  assert.equal(b.toString('latin1', 0, 4), 'RIFF');
  assert.equal(b.toString('latin1', 8, 12), 'WAVE');
  const rate = b.readUInt32LE(24);
  const channels = b.readUInt16LE(22);
  const dataBytes = b.readUInt32LE(40);
  assert.equal(dataBytes, b.length - 44, 'data size filled in on close');
  const pcm = new Int16Array(dataBytes / 2);
  for (let i = 0; i < pcm.length; i++) pcm[i] = b.readInt16LE(44 + 2 * i);
  return freqs.map((f) => toneAmplitude(pcm, f, rate, 0, pcm.length / channels, channels, 0));
}

test('plain RTP participant, rtp_forward, play_file and WAV recording', async () => {
  const admin = await AbClient.open(wsUrl);
  const room = 8100;
  await admin.sync({ request: 'create', room, sampling_rate: 16000, allow_rtp_participants: true, audiolevel_event: true, audio_active_packets: 10, audio_level_average: 60 });
  const web = await ToneParticipant.join(wsUrl, room, 440);
  const legClient = await AbClient.open(wsUrl);
  const leg = new PlainLeg(1000);
  const forward = new ForwardSink('opus');
  try {
    const legPort = await leg.bind();
    const joined = await legClient.async({ request: 'join', room, display: 'phone', codec: 'pcmu', rtp: { ip: '127.0.0.1', port: legPort, payload_type: 0 } });
    const d = joined.plugindata.data;
    assert.equal(d.audiobridge, 'joined');
    assert.equal(joined.jsep, undefined, 'no JSEP for a plain RTP participant');
    assert.equal(d.rtp.ip, '127.0.0.1');
    assert.equal(d.rtp.payload_type, 0);
    assert.ok(d.rtp.port >= 40000 && d.rtp.port <= 49999, `port from rtp_port_range: ${d.rtp.port}`);
    leg.target = { ip: d.rtp.ip, port: d.rtp.port };
    web.start();
    leg.start();

    const fport = await forward.bind();
    const fwd = await admin.sync({ request: 'rtp_forward', room, host: '127.0.0.1', port: fport, codec: 'opus', ptype: 111 });
    assert.equal(fwd.audiobridge, 'success');
    assert.equal(fwd.port, fport);
    const listed = await admin.sync({ request: 'listforwarders', room });
    assert.deepEqual(listed.rtp_forwarders.map((f: any) => [f.stream_id, f.codec, f.ptype, f.port]), [[fwd.stream_id, 'opus', 111, fport]]);

    const wav = path.join(tmp, 'room.wav');
    assert.deepEqual(await admin.sync({ request: 'enable_recording', room, record: true, record_file: wav }), { audiobridge: 'success', record: true });
    assert.equal((await admin.sync({ request: 'list' })).list.find((r: any) => r.room === room).record, true);

    await web.flowing();
    await until(() => leg.received.length > 25, 20_000, 'audio to the plain RTP leg');
    await sleep(500);
    let since = performance.now();
    await sleep(1200);
    // The phone hears the browser's tone and not its own; the browser hears the phone.
    const legAmp = leg.hears([440, 1000], since);
    assert.ok(legAmp[0] > 1500 && legAmp[1] < 400, `plain RTP leg hears 440 only: ${legAmp.map((x) => x.toFixed(0))}`);
    assert.ok(leg.received.every((f) => f.pt === 0), 'PCMU to the leg with its payload type');
    const webAmp = web.hears([440, 1000], since, 0);
    assert.ok(webAmp[1] > 1500 && webAmp[0] < 400, `browser hears the phone only: ${webAmp.map((x) => x.toFixed(0))}`);
    // The forwarder carries the whole mix.
    const fAmp = forward.hears([440, 1000], since);
    assert.ok(fAmp[0] > 1500 && fAmp[1] > 1500, `forwarder carries both: ${fAmp.map((x) => x.toFixed(0))}`);
    assert.ok(forward.frames.every((f) => f.pt === 111 && f.ssrc === fwd.stream_id));
    // Talking detection tells the room who talks.
    await web.client.waitNotification((n) => n.audiobridge === 'talking' && n.id === d.id);

    // An announcement: everyone hears it, and is told when it starts and stops.
    const ogg = path.join(tmp, 'note.opus');
    fs.writeFileSync(ogg, oggTone(2500, 1.5));
    const played = await admin.sync({ request: 'play_file', room, filename: ogg, file_id: 'note' });
    assert.deepEqual(played, { audiobridge: 'success', room, file_id: 'note' });
    await web.client.waitNotification((n) => n.audiobridge === 'announcement-started' && n.file_id === 'note');
    assert.equal((await admin.sync({ request: 'is_playing', room, file_id: 'note' })).playing, true);
    since = performance.now();
    await sleep(1000);
    assert.ok(web.hears([2500], since, 100)[0] > 1500, 'browser hears the announcement');
    assert.ok(leg.hears([2500], since + 100)[0] > 1500, 'phone hears the announcement');
    await web.client.waitNotification((n) => n.audiobridge === 'announcement-stopped' && n.file_id === 'note', 3000);
    assert.equal((await admin.sync({ request: 'is_playing', room, file_id: 'note' })).playing, false);

    assert.deepEqual(await admin.sync({ request: 'enable_recording', room, record: false }), { audiobridge: 'success', record: false });
    await until(() => fs.existsSync(wav) && fs.statSync(wav).size > 44 && fs.readFileSync(wav).readUInt32LE(40) === fs.statSync(wav).size - 44, 3000, 'WAV closed');
    const wAmp = wavTones(wav, [440, 1000, 2500]);
    assert.ok(wAmp.every((a) => a > 500), `the WAV holds both voices and the announcement: ${wAmp.map((x) => x.toFixed(0))}`);

    assert.deepEqual(await admin.sync({ request: 'stop_rtp_forward', room, stream_id: fwd.stream_id }), { audiobridge: 'success', room, stream_id: fwd.stream_id });
    assert.deepEqual((await admin.sync({ request: 'listforwarders', room })).rtp_forwarders, []);
  } finally {
    leg.close();
    forward.sock.close();
    await web.close();
    await legClient.close();
    await admin.sync({ request: 'destroy', room });
    await admin.close();
  }
});

test('groups: a forwarder of one group carries only that group', async () => {
  const admin = await AbClient.open(wsUrl);
  const room = 8200;
  await admin.sync({ request: 'create', room, sampling_rate: 16000, groups: ['red', 'blue'], mjrs: true, mjrs_dir: tmp });
  const a = await ToneParticipant.join(wsUrl, room, 440, { group: 'red' });
  const b = await ToneParticipant.join(wsUrl, room, 1000, { group: 'blue' });
  const red = new ForwardSink('pcmu');
  try {
    const port = await red.bind();
    const fwd = await admin.sync({ request: 'rtp_forward', room, host: '127.0.0.1', port, codec: 'pcmu', group: 'red' });
    assert.equal(fwd.group, 'red');
    a.start();
    b.start();
    await Promise.all([a.flowing(), b.flowing()]);
    await sleep(500);
    const since = performance.now();
    await sleep(1000);
    const amp = red.hears([440, 1000], since);
    assert.ok(amp[0] > 1500 && amp[1] < 400, `red forwarder: 440 only: ${amp.map((x) => x.toFixed(0))}`);
    assert.ok(red.frames.every((f) => f.pt === 0));
    // Everyone still hears everyone.
    assert.ok(a.hears([1000], since, 0)[0] > 1500);
  } finally {
    red.sock.close();
    await a.close();
    await b.close();
    await admin.sync({ request: 'destroy', room });
    await admin.close();
  }
  // Each participant was recorded to its own .mjr file.
  await until(() => fs.readdirSync(tmp).filter((f) => f.endsWith('.mjr')).length >= 2, 3000, 'MJR files');
  for (const f of fs.readdirSync(tmp).filter((x) => x.endsWith('.mjr'))) {
    const b = fs.readFileSync(path.join(tmp, f));
    assert.equal(b.toString('latin1', 0, 8), 'MJR00002');
    assert.ok(b.length > 2000, `${f} holds packets (${b.length} bytes)`);
  }
});

test('rtp_forward with SRTP: the forwarded mix is protected (suites 80 and 32) and decodes after unprotecting', async () => {
  const admin = await AbClient.open(wsUrl);
  const room = 8300;
  await admin.sync({ request: 'create', room, sampling_rate: 16000 });
  const web = await ToneParticipant.join(wsUrl, room, 440);
  const master = Buffer.from(Array.from({ length: 30 }, (_, i) => (i * 37 + 11) & 0xff));
  const crypto = master.toString('base64');
  const ctx = (suite: 32 | 80, key = master) => new SrtpContext(suite === 32 ? SrtpProfile.AES128_CM_HMAC_SHA1_32 : SrtpProfile.AES128_CM_HMAC_SHA1_80, key.subarray(0, 16), key.subarray(16));
  const wrong = Buffer.from(master);
  wrong[0] ^= 1;
  const sinks = { s80: new ForwardSink('opus', ctx(80)), s32: new ForwardSink('opus', ctx(32)), wrongKey: new ForwardSink('opus', ctx(80, wrong)) };
  const raw = dgram.createSocket('udp4');
  const rawPackets: Buffer[] = [];
  raw.on('message', (m) => rawPackets.push(Buffer.from(m)));
  try {
    await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
    const fwd80 = await admin.sync({ request: 'rtp_forward', room, host: '127.0.0.1', port: await sinks.s80.bind(), codec: 'opus', ptype: 111, srtp_suite: 80, srtp_crypto: crypto });
    assert.equal(fwd80.audiobridge, 'success', JSON.stringify(fwd80));
    await admin.sync({ request: 'rtp_forward', room, host: '127.0.0.1', port: await sinks.s32.bind(), codec: 'opus', ptype: 111, srtp_suite: 32, srtp_crypto: crypto });
    await admin.sync({ request: 'rtp_forward', room, host: '127.0.0.1', port: await sinks.wrongKey.bind(), codec: 'opus', ptype: 111, srtp_suite: 80, srtp_crypto: crypto });
    await admin.sync({ request: 'rtp_forward', room, host: '127.0.0.1', port: raw.address().port, codec: 'opus', ptype: 111, srtp_suite: 80, srtp_crypto: crypto });
    const listed = (await admin.sync({ request: 'listforwarders', room })).rtp_forwarders;
    assert.ok(listed.length === 4 && listed.every((f: any) => f.srtp === true), JSON.stringify(listed));
    // Janus' checks: a suite other than 32/80, or a key that is not 30 bytes of base64.
    const badSuite = await admin.sync({ request: 'rtp_forward', room, host: '127.0.0.1', port: 5000, srtp_suite: 64, srtp_crypto: crypto });
    assert.equal(badSuite.error_code, 484);
    const badKey = await admin.sync({ request: 'rtp_forward', room, host: '127.0.0.1', port: 5000, srtp_suite: 80, srtp_crypto: 'c2hvcnQ=' });
    assert.equal(badKey.error_code, 484);

    web.start();
    await web.flowing();
    await until(() => sinks.s80.frames.length > 25 && sinks.s32.frames.length > 25, 20_000, 'SRTP forwards');
    const since = performance.now();
    await sleep(1000);
    for (const sink of [sinks.s80, sinks.s32]) {
      assert.equal(sink.srtpFailures, 0, 'every packet authenticates with the key');
      const amp = sink.hears([440], since)[0];
      assert.ok(amp > 1500, `the unprotected forward carries the tone: ${amp.toFixed(0)}`);
      assert.ok(sink.frames.every((f) => f.pt === 111));
    }
    assert.ok(sinks.wrongKey.srtpFailures > 25 && sinks.wrongKey.frames.length === 0, 'another key authenticates nothing');
    // On the wire: a 10-byte tag (suite 80) after an encrypted payload.
    assert.ok(rawPackets.length > 25);
    const check = ctx(80);
    for (const p of rawPackets.slice(-10)) {
      const clear = Buffer.from(p);
      const n = check.unprotectRtp(clear, 0, clear.length);
      assert.equal(n, p.length - 10);
      assert.ok(!clear.subarray(12, n).equals(p.subarray(12, n)), 'the payload was encrypted');
    }
  } finally {
    raw.close();
    for (const s of Object.values(sinks)) s.sock.close();
    await web.close();
    await admin.sync({ request: 'destroy', room });
    await admin.close();
  }
});
