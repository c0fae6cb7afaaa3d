/**
 * The mixer engine with real Opus (opusscript): distinct tones per participant, each participant's
 * output decoded and analysed with Goertzel: the others' tones are there, its own is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomMixer, type MixCodec, type ParticipantOptions } from '../../src/audiobridge/room-mixer.ts';
import { opusscriptCodec, type OpusRate } from '../../src/audiobridge/opus-codec.ts';
import { g711Decode, g711Encode } from '../../src/audiobridge/g711.ts';
import { JitterBuffer, PopResult } from '../../src/audiobridge/jitter-buffer.ts';
import { sineFrame, toneAmplitude, db } from '../helpers/audio-tones.ts';

const TONES = [440, 1000, 1700];

/** A sender: encodes a tone as 20 ms Opus (48 kHz, like a browser) or G.711 frames in RTP packets. */
class ToneSender {
  readonly enc;
  seq = 1000;
  ts = 0;
  sample = 0;
  readonly pcm: Int16Array;
  readonly out = new Uint8Array(1500);
  constructor(readonly freq: number, readonly codec: MixCodec = 'opus', readonly amplitude = 8000) {
    this.enc = codec === 'opus' ? opusscriptCodec.createEncoder(48000, 1) : null;
    this.pcm = new Int16Array(codec === 'opus' ? 960 : 160);
  }

  next(): Buffer {
    const rate = this.codec === 'opus' ? 48000 : 8000;
    const n = this.pcm.length;
    sineFrame(this.pcm, n, this.freq, rate, this.sample, this.amplitude);
    this.sample += n;
    const len = this.enc ? this.enc.encode(this.pcm, n, this.out) : g711Encode(this.codec as 'pcma', this.pcm, n, this.out);
    const b = Buffer.alloc(12 + len);
    b[0] = 0x80;
    b[1] = this.codec === 'opus' ? 111 : this.codec === 'pcmu' ? 0 : 8;
    b.writeUInt16BE(this.seq & 0xffff, 2);
    b.writeUInt32BE(this.ts >>> 0, 4);
    b.writeUInt32BE(0x1234, 8);
    b.set(this.out.subarray(0, len), 12);
    this.seq++;
    this.ts += n;
    return b;
  }
}

/** Collects each listener's output and decodes it (Opus at 48 kHz, G.711 at 8 kHz). */
class Receiver {
  readonly dec = opusscriptCodec.createDecoder(48000, 2);
  readonly frames: Int16Array[] = [];
  readonly packets: Buffer[] = [];
  readonly scratch = new Int16Array(5760 * 2);
  constructor(readonly codec: MixCodec = 'opus', readonly channels = 1) {}
  push(payload: Uint8Array, len: number): void {
    this.packets.push(Buffer.from(payload.subarray(0, len)));
    if (this.codec === 'opus') {
      const n = this.dec.decode(payload, 0, len, this.scratch);
      assert.ok(n > 0, 'listener packet decodes');
      // Keep the wanted channel layout: the decoder always gives stereo.
      const f = new Int16Array(n * this.channels);
      for (let i = 0; i < n; i++) {
        if (this.channels === 1) f[i] = (this.scratch[2 * i] + this.scratch[2 * i + 1]) >> 1;
        else {
          f[2 * i] = this.scratch[2 * i];
          f[2 * i + 1] = this.scratch[2 * i + 1];
        }
      }
      this.frames.push(f);
    } else {
      const f = new Int16Array(len);
      g711Decode(this.codec as 'pcma', payload, 0, len, f);
      this.frames.push(f);
    }
  }
  /** The decoded audio from frame `from` on. */
  audio(from: number): Int16Array {
    const tail = this.frames.slice(from);
    const out = new Int16Array(tail.reduce((a, f) => a + f.length, 0));
    let o = 0;
    for (const f of tail) {
      out.set(f, o);
      o += f.length;
    }
    return out;
  }
  get rate(): number {
    return this.codec === 'opus' ? 48000 : 8000;
  }
}

function setup(rate: OpusRate, opts: { codecs?: MixCodec[]; spatial?: boolean; participant?: Partial<ParticipantOptions>[] } = {}) {
  const receivers = new Map<number, Receiver>();
  const talking: Array<[number, boolean]> = [];
  const mixer = new RoomMixer(opusscriptCodec, { rate, spatial: opts.spatial, talkWindow: 10, talkThreshold: 40 }, {
    audio: (id, payload, len) => receivers.get(id)!.push(payload, len),
    talking: (id, t) => talking.push([id, t]),
  });
  const codecs = opts.codecs ?? ['opus', 'opus', 'opus'];
  const senders = codecs.map((c, i) => new ToneSender(TONES[i], c));
  codecs.forEach((c, i) => {
    receivers.set(i + 1, new Receiver(c, opts.spatial ? 2 : 1));
    mixer.addParticipant(i + 1, { codec: c, prebuffer: 2, ...(opts.participant?.[i] ?? {}) });
  });
  const run = (ticks: number, skip?: (i: number, t: number) => boolean) => {
    for (let t = 0; t < ticks; t++) {
      senders.forEach((s, i) => {
        const pkt = s.next();
        if (!skip?.(i, t)) mixer.pushRtp(i + 1, pkt, 0, pkt.length);
      });
      mixer.tick();
    }
  };
  return { mixer, receivers, senders, run, talking };
}

function amplitudes(r: Receiver, from = 10): number[] {
  const a = r.audio(from);
  const chans = r.channels;
  const n = a.length / chans;
  return TONES.map((f) => toneAmplitude(a, f, r.rate, 0, n, chans, 0));
}

for (const rate of [16000, 48000] as const) {
  test(`mix-minus at ${rate} Hz: each participant hears the other two tones and not its own`, () => {
    const { receivers, run, mixer } = setup(rate);
    run(60);
    for (let p = 1; p <= 3; p++) {
      const r = receivers.get(p)!;
      assert.ok(r.frames.length >= 50, `participant ${p} got ${r.frames.length} frames`);
      const amp = amplitudes(r);
      const own = amp[p - 1];
      const others = amp.filter((_, i) => i !== p - 1);
      for (const o of others) assert.ok(o > 2000, `participant ${p} hears the others: ${amp.map((x) => x.toFixed(0))}`);
      for (const o of others) assert.ok(db(o / Math.max(own, 1)) > 25, `participant ${p}'s own tone is absent: ${amp.map((x) => x.toFixed(0))}`);
    }
    mixer.destroy();
  });
}

test('listeners who are silent share one encode of the full mix', () => {
  const receivers = new Map<number, Receiver>();
  const mixer = new RoomMixer(opusscriptCodec, { rate: 16000 }, { audio: (id, p, l) => receivers.get(id)!.push(p, l) });
  const speaker = new ToneSender(TONES[0]);
  const quiet = new ToneSender(0, 'opus', 0);
  for (let id = 1; id <= 5; id++) {
    receivers.set(id, new Receiver());
    mixer.addParticipant(id, { codec: 'opus', prebuffer: 1 });
  }
  for (let t = 0; t < 40; t++) {
    const pkt = speaker.next();
    mixer.pushRtp(1, pkt, 0, pkt.length);
    const q = quiet.next();
    for (let id = 2; id <= 5; id++) mixer.pushRtp(id, q, 0, q.length);
    mixer.tick();
  }
  // 40 ticks: participant 1 has its own encodes (once it speaks), the four silent share one.
  assert.ok(mixer.sharedEncodes >= 3 * 38, `shared encodes ${mixer.sharedEncodes}`);
  assert.ok(mixer.encodes <= 2 * 40 + 1, `encodes ${mixer.encodes}`);
  const p2 = receivers.get(2)!.packets;
  const p5 = receivers.get(5)!.packets;
  assert.deepEqual(p2.slice(10), p5.slice(10), 'silent listeners get the same packets');
  const amp = amplitudes(receivers.get(3)!);
  assert.ok(amp[0] > 2000, 'silent listeners hear the speaker');
  mixer.destroy();
});

test('mute takes a participant out of the others\' mix; volume scales it', () => {
  const { receivers, run, mixer } = setup(16000, { participant: [{ muted: true }, { volume: 50 }, {}] });
  run(60);
  const amp3 = amplitudes(receivers.get(3)!);
  assert.ok(amp3[0] < 200, `muted tone absent: ${amp3.map((x) => x.toFixed(0))}`);
  // Participant 2 at volume 50 against participant... compare with its sender amplitude (8000).
  const ratio = amp3[1] / 8000;
  assert.ok(ratio > 0.4 && ratio < 0.6, `volume 50 gives half amplitude, measured ${ratio.toFixed(2)}`);
  const amp1 = amplitudes(receivers.get(1)!);
  assert.ok(amp1[2] > 2000, 'a muted participant still hears the room');
  mixer.updateParticipant(1, { muted: false });
  mixer.updateParticipant(2, { volume: 200 });
  const before = receivers.get(3)!.frames.length;
  run(40);
  const after = amplitudes(receivers.get(3)!, before + 10);
  assert.ok(after[0] > 2000, 'unmuted tone is back');
  const r2 = after[1] / 8000;
  assert.ok(r2 > 1.7 && r2 < 2.3, `volume 200 doubles, measured ${r2.toFixed(2)}`);
  mixer.destroy();
});

test('G.711 participants (PCMA, PCMU) mix with Opus ones', () => {
  const { receivers, run, mixer } = setup(16000, { codecs: ['opus', 'pcma', 'pcmu'] });
  run(60);
  const a2 = amplitudes(receivers.get(2)!);
  assert.ok(a2[0] > 2000 && a2[2] > 2000 && a2[1] < 400, `PCMA hears 440 and 1700 only: ${a2.map((x) => x.toFixed(0))}`);
  const a1 = amplitudes(receivers.get(1)!);
  assert.ok(a1[1] > 2000 && a1[2] > 2000 && a1[0] < 300, `Opus hears the G.711 ones: ${a1.map((x) => x.toFixed(0))}`);
  mixer.destroy();
});

test('lost packets are concealed and the others keep their 50 frames per second', () => {
  const { receivers, run, mixer } = setup(48000);
  // Participant 1 loses every 5th packet and then disappears; the others are undisturbed.
  run(100, (i, t) => i === 0 && (t % 5 === 2 || t > 60));
  for (let p = 1; p <= 3; p++) assert.equal(receivers.get(p)!.frames.length, 100, `participant ${p} got a frame each tick`);
  const stats = mixer.participantStats(1)!;
  assert.ok(stats.lost >= 8, `losses counted: ${stats.lost}`);
  const a2 = amplitudes(receivers.get(2)!, 70);
  assert.ok(a2[2] > 2000 && a2[0] < 300, `after participant 1 left, 2 hears 3 only: ${a2.map((x) => x.toFixed(0))}`);
  mixer.destroy();
});

test('stereo rooms place participants by spatial position', () => {
  const { receivers, run, mixer } = setup(48000, { spatial: true, participant: [{ spatial: 0 }, { spatial: 100 }, { spatial: 50 }] });
  run(60);
  const r = receivers.get(3)!;
  const a = r.audio(10);
  const n = a.length / 2;
  const leftOf1 = toneAmplitude(a, TONES[0], 48000, 0, n, 2, 0);
  const rightOf1 = toneAmplitude(a, TONES[0], 48000, 0, n, 2, 1);
  const leftOf2 = toneAmplitude(a, TONES[1], 48000, 0, n, 2, 0);
  const rightOf2 = toneAmplitude(a, TONES[1], 48000, 0, n, 2, 1);
  assert.ok(db(leftOf1 / Math.max(rightOf1, 1)) > 20, `participant 1 on the left: L ${leftOf1.toFixed(0)} R ${rightOf1.toFixed(0)}`);
  assert.ok(db(rightOf2 / Math.max(leftOf2, 1)) > 20, `participant 2 on the right: L ${leftOf2.toFixed(0)} R ${rightOf2.toFixed(0)}`);
  mixer.destroy();
});

test('talking events from decoded energy', () => {
  const { run, talking, mixer } = setup(16000);
  run(30);
  assert.ok(talking.some(([id, t]) => id === 1 && t), `talking events: ${JSON.stringify(talking)}`);
  mixer.destroy();
});

test('encoders with complexity capped to 0 still carry the mix', () => {
  const got: Buffer[] = [];
  const mixer = new RoomMixer(opusscriptCodec, { rate: 16000 }, { audio: (id, p, len) => { if (id === 2) got.push(Buffer.from(p.subarray(0, len))); } });
  mixer.addParticipant(1, { codec: 'opus', prebuffer: 1, complexity: 4 });
  mixer.addParticipant(2, { codec: 'opus', prebuffer: 1, complexity: 4 });
  mixer.complexityCap = 0;
  assert.equal(mixer.complexityCap, 0);
  const enc = opusscriptCodec.createEncoder(48000, 1);
  const pcm = new Int16Array(960);
  const out = new Uint8Array(1500);
  for (let t = 0; t < 40; t++) {
    sineFrame(pcm, 960, 700, 48000, t * 960);
    const len = enc.encode(pcm, 960, out);
    const b = Buffer.alloc(12 + len);
    b[0] = 0x80;
    b[1] = 111;
    b.writeUInt16BE(t, 2);
    b.set(out.subarray(0, len), 12);
    mixer.pushRtp(1, b, 0, b.length);
    mixer.tick();
  }
  const dec = opusscriptCodec.createDecoder(48000, 1);
  const all = new Int16Array(30 * 960);
  const tmp = new Int16Array(5760);
  got.slice(10).forEach((p, i) => {
    const n = dec.decode(p, 0, p.length, tmp);
    all.set(tmp.subarray(0, Math.min(n, 960)), i * 960);
  });
  assert.ok(toneAmplitude(all, 700, 48000) > 2000, 'participant 2 hears participant 1 at complexity 0');
  mixer.destroy();
});

test('jitter buffer: reorders, reports losses, drops late packets and caps bursts', () => {
  const jb = new JitterBuffer(2);
  const b = Buffer.from([1, 2, 3]);
  const push = (seq: number) => {
    b[0] = seq & 0xff;
    jb.push(seq, b, 0, 3);
  };
  push(11);
  assert.equal(jb.pop(), PopResult.Empty, 'prebuffering');
  push(10);
  assert.equal(jb.pop(), PopResult.Packet);
  assert.equal(jb.data[jb.payloadOffset], 10, 'reordered: 10 first');
  assert.equal(jb.pop(), PopResult.Packet);
  assert.equal(jb.data[jb.payloadOffset], 11);
  push(13);
  push(14);
  assert.equal(jb.pop(), PopResult.Lost, '12 lost');
  push(12);
  assert.equal(jb.late, 1, '12 arrived late');
  assert.equal(jb.pop(), PopResult.Packet);
  assert.equal(jb.data[jb.payloadOffset], 13);
  for (let s = 15; s < 60; s++) push(s);
  assert.ok(jb.size <= 14, `burst capped: ${jb.size}`);
  assert.ok(jb.dropped > 0);
  // Sequence wrap.
  const w = new JitterBuffer(1);
  w.push(65535, b, 0, 3);
  w.push(0, b, 0, 3);
  assert.equal(w.pop(), PopResult.Packet);
  assert.equal(w.pop(), PopResult.Packet);
});

test('G.711 round trip stays within the companding error', () => {
  const pcm = new Int16Array(160);
  sineFrame(pcm, 160, 1000, 8000, 0, 10000);
  for (const law of ['pcma', 'pcmu'] as const) {
    const enc = new Uint8Array(160);
    g711Encode(law, pcm, 160, enc);
    const dec = new Int16Array(160);
    g711Decode(law, enc, 0, 160, dec);
    for (let i = 0; i < 160; i++) assert.ok(Math.abs(dec[i] - pcm[i]) <= Math.abs(pcm[i]) / 16 + 16, `${law} sample ${i}: ${pcm[i]} -> ${dec[i]}`);
  }
});
