/**
 * Opus in-band FEC recovery and decode skipping, with real libopus (the @evan/opus WASM decoders
 * that loadOpusCodec() picks, opusscript encoders):
 * - a lost frame rebuilt from the next packet's FEC data is far closer to the real frame than PLC;
 * - the mixer uses it on loss when the next packet is already buffered (and cannot with opusscript);
 * - frames whose RFC 6464 audio level says silence, or from muted participants, are not decoded,
 *   and a participant who speaks again after silence is heard at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpusCodec, opusscriptCodec, type OpusCodec } from '../../src/audiobridge/opus-codec.ts';
import { RoomMixer } from '../../src/audiobridge/room-mixer.ts';
import { sineFrame, toneAmplitude } from '../helpers/audio-tones.ts';

const codec = loadOpusCodec();

/** 20 ms frames at 48 kHz of a tone whose pitch changes every frame (so PLC cannot just continue it). */
function changingTone(frames: number): Int16Array[] {
  const out: Int16Array[] = [];
  let phase = 0;
  for (let t = 0; t < frames; t++) {
    const f = new Int16Array(960);
    const freq = 300 + ((t * 173) % 900);
    for (let i = 0; i < 960; i++) {
      f[i] = Math.round(8000 * Math.sin(phase));
      phase += (2 * Math.PI * freq) / 48000;
    }
    out.push(f);
  }
  return out;
}

function encodeAll(pcm: Int16Array[], expectedLoss: number): Buffer[] {
  const enc = opusscriptCodec.createEncoder(48000, 1, { bitrate: 32000, expectedLoss });
  const out = new Uint8Array(1500);
  const packets = pcm.map((f) => Buffer.from(out.subarray(0, enc.encode(f, 960, out))));
  enc.destroy();
  return packets;
}

function rmsDiff(a: Int16Array, b: Int16Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / n);
}

test('the codec picked here decodes in-band FEC (opusscript cannot)', () => {
  assert.equal(typeof codec.createDecoder(48000, 1).decodeFec, 'function', `codec ${codec.name}`);
  assert.equal(opusscriptCodec.createDecoder(48000, 1).decodeFec, undefined);
});

test('a lost frame rebuilt from the next packet\'s FEC is much closer to the real one than PLC', () => {
  const pcm = changingTone(60);
  const packets = encodeAll(pcm, 20);
  let fecErr = 0;
  let plcErr = 0;
  for (const lost of [20, 30, 40, 50]) {
    // Reference: every packet decoded. FEC and PLC decoders: the same history, frame `lost` missing.
    const ref = codec.createDecoder(48000, 1);
    const fec = codec.createDecoder(48000, 1);
    const plc = codec.createDecoder(48000, 1);
    const want = new Int16Array(5760);
    const got = new Int16Array(5760);
    const scratch = new Int16Array(5760);
    for (let t = 0; t < lost; t++) {
      for (const d of [ref, fec, plc]) d.decode(packets[t], 0, packets[t].length, scratch);
    }
    assert.equal(ref.decode(packets[lost], 0, packets[lost].length, want), 960);
    assert.equal(fec.decodeFec!(packets[lost + 1], 0, packets[lost + 1].length, got, 960), 960);
    fecErr += rmsDiff(want, got, 960);
    assert.equal(plc.conceal(got, 960), 960, 'PLC gives exactly one 20 ms frame');
    plcErr += rmsDiff(want, got, 960);
    for (const d of [ref, fec, plc]) d.destroy();
  }
  if (process.env.AB_DEBUG) console.log({ fecErr, plcErr });
  assert.ok(fecErr * 2 < plcErr, `FEC error ${fecErr.toFixed(0)} vs PLC error ${plcErr.toFixed(0)}`);
});

/** A room mixed with codec `c` whose participant 2's frames are decoded into `heard`. */
function roomHeardBy2(c: OpusCodec, rate: 16000 | 48000): { mixer: RoomMixer; heard: Int16Array[] } {
  const heard: Int16Array[] = [];
  const dec = opusscriptCodec.createDecoder(48000, 1);
  const mixer = new RoomMixer(c, { rate }, {
    audio: (id, p, len) => {
      if (id !== 2) return;
      const f = new Int16Array(5760);
      heard.push(f.subarray(0, Math.max(0, dec.decode(p, 0, len, f))));
    },
  });
  return { mixer, heard };
}

/** A one-participant-speaks room: participant 1 sends `packets` (some dropped), 2 listens. */
function mixWithLosses(c: OpusCodec, packets: Buffer[], drop: (t: number) => boolean): { mixer: RoomMixer; heard: Int16Array[] } {
  const { mixer, heard } = roomHeardBy2(c, 48000);
  mixer.addParticipant(1, { codec: 'opus', prebuffer: 3 });
  mixer.addParticipant(2, { codec: 'opus', prebuffer: 3 });
  const rtp = Buffer.alloc(1500);
  for (let t = 0; t < packets.length; t++) {
    if (!drop(t)) {
      rtp[0] = 0x80;
      rtp[1] = 111;
      rtp.writeUInt16BE(t, 2);
      rtp.writeUInt32BE(t * 960, 4);
      rtp.writeUInt32BE(1, 8);
      packets[t].copy(rtp, 12);
      mixer.pushRtp(1, rtp, 0, 12 + packets[t].length);
    }
    mixer.tick();
  }
  return { mixer, heard };
}

test('the mixer recovers lost frames from FEC when the next packet is buffered', () => {
  const tone = Array.from({ length: 80 }, (_, t) => {
    const f = new Int16Array(960);
    sineFrame(f, 960, 700, 48000, t * 960, 8000);
    return f;
  });
  const packets = encodeAll(tone, 20);
  const drop = (t: number) => t > 10 && t % 7 === 0;
  const withFec = mixWithLosses(codec, packets, drop);
  assert.ok(withFec.mixer.fecRecovered >= 8, `FEC recoveries: ${withFec.mixer.fecRecovered}`);
  assert.equal(withFec.heard.length, 80, 'a frame every tick');
  const all = Int16Array.from(withFec.heard.slice(20).flatMap((f) => Array.from(f)));
  assert.ok(toneAmplitude(all, 700, 48000) > 5000, 'the tone carries through the losses');
  const plcOnly = mixWithLosses(opusscriptCodec, packets, drop);
  assert.equal(plcOnly.mixer.fecRecovered, 0);
  withFec.mixer.destroy();
  plcOnly.mixer.destroy();
});

/** An RTP packet with an RFC 8285 one-byte audio-level extension (id 1). */
function withLevel(seq: number, payload: Uint8Array, level: number): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  b[0] = 0x90;
  b[1] = 111;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 960, 4);
  b.writeUInt32BE(7, 8);
  b.set([0xbe, 0xde, 0, 1, 0x10, level, 0, 0], 12);
  b.set(payload, 20);
  return b;
}

test('frames silent by their audio level, and muted participants, are not decoded; speech after silence is heard', () => {
  const { mixer, heard: got } = roomHeardBy2(codec, 16000);
  mixer.addParticipant(1, { codec: 'opus', prebuffer: 1, audioLevelExt: 1 });
  mixer.addParticipant(2, { codec: 'opus', prebuffer: 1 });
  const enc = opusscriptCodec.createEncoder(48000, 1);
  const pcm = new Int16Array(960);
  const out = new Uint8Array(1500);
  // 40 frames of silence marked 127, then 40 of a tone marked 18 (-18 dBov).
  for (let t = 0; t < 80; t++) {
    sineFrame(pcm, 960, 900, 48000, t * 960, t < 40 ? 0 : 6000);
    const n = enc.encode(pcm, 960, out);
    const pkt = withLevel(t, out.subarray(0, n), t < 40 ? 127 : 18);
    mixer.pushRtp(1, pkt, 0, pkt.length);
    mixer.tick();
  }
  assert.ok(mixer.skippedDecodes >= 38 && mixer.skippedDecodes <= 41, `silent frames skipped: ${mixer.skippedDecodes}`);
  const speech = Int16Array.from(got.slice(45).flatMap((f) => Array.from(f)));
  assert.ok(toneAmplitude(speech, 900, 48000) > 3000, 'the tone after the silence is heard');
  // Muted: nothing decoded, nothing heard.
  const before = mixer.skippedDecodes;
  mixer.updateParticipant(1, { muted: true });
  const from = got.length;
  for (let t = 80; t < 100; t++) {
    sineFrame(pcm, 960, 900, 48000, t * 960, 6000);
    const n = enc.encode(pcm, 960, out);
    const pkt = withLevel(t, out.subarray(0, n), 18);
    mixer.pushRtp(1, pkt, 0, pkt.length);
    mixer.tick();
  }
  assert.ok(mixer.skippedDecodes - before >= 19, 'muted frames skipped');
  const muted = Int16Array.from(got.slice(from + 3).flatMap((f) => Array.from(f)));
  assert.ok(toneAmplitude(muted, 900, 48000) < 200, 'a muted participant is not heard');
  mixer.destroy();
  enc.destroy();
});
