/**
 * One room's mixer: every 20 ms (`tick()`), take each participant's next frame from its jitter
 * buffer, decode it at the room rate, apply its gain (and, in stereo rooms, its spatial position),
 * add it to the room sum, then give every listener the sum minus its own contribution (mix-minus),
 * encoded in its codec.
 *
 * Beyond Janus: a listener that contributed nothing this tick (silent, muted, not sending) hears the
 * whole sum, which is the same for all of them; so the sum is encoded once per codec configuration
 * and the packet shared, instead of once per listener. Silence below `silenceLevel` is left out of
 * the sum altogether, so a quiet participant's mix is exactly the shared one.
 *
 * Nothing is allocated per tick or per packet: frames, sums and packet buffers are preallocated.
 */
import { RtpView } from '../media/rtp.ts';
import { g711Decode, g711Encode } from './g711.ts';
import { JitterBuffer, PopResult } from './jitter-buffer.ts';
import type { OpusCodec, OpusDecoder, OpusEncoder, OpusRate } from './opus-codec.ts';
import { downsampleAverage, upsampleLinear } from './resample.ts';
import { levelOfEnergy, TalkDetector } from './talk-detector.ts';

export type MixCodec = 'opus' | 'pcma' | 'pcmu';

export interface RoomOptions {
  /** 8000, 12000, 16000, 24000 or 48000. */
  rate: OpusRate;
  /** Stereo mix with spatial positions. */
  spatial?: boolean;
  /** Talking detection window (packets) and threshold (RFC 6464 level); 0 packets = off. */
  talkWindow?: number;
  talkThreshold?: number;
  /** Frames whose level (-dBov) is above this are treated as silence and left out of the sum. */
  silenceLevel?: number;
}

export interface ParticipantOptions {
  codec: MixCodec;
  /** Volume in percent (100 = as received). */
  volume?: number;
  muted?: boolean;
  /** Packets to gather before playing out. */
  prebuffer?: number;
  /** 0 (left) - 100 (right), 50 = centre; stereo rooms only. */
  spatial?: number;
  /** Group number (0 = none): group mixes feed forwarders. */
  group?: number;
  /** Opus encoder settings of what this participant hears. */
  bitrate?: number;
  complexity?: number;
  expectedLoss?: number;
  /** RFC 6464 audio-level extension id in its packets (0 = none). */
  audioLevelExt?: number;
  /** Whether it gets the mix (false for a send-only source). */
  listen?: boolean;
}

export interface ForwarderOptions {
  codec: MixCodec;
  /** Forward only this group's mix (0 = the whole room). */
  group?: number;
  bitrate?: number;
  complexity?: number;
}

/** Where the mixer's output goes. Payloads are scratch memory: use or copy them during the call. */
export interface MixerOutput {
  /** One encoded 20 ms frame for participant or forwarder `id`; `samples` = RTP timestamp step. */
  audio(id: number, payload: Uint8Array, len: number, samples: number): void;
  talking?(id: number, talking: boolean, level: number): void;
  /** The room sum of this tick (interleaved, `channels`), e.g. for recording. */
  mix?(pcm: Int16Array, samples: number, channels: number): void;
  fileEnded?(id: number): void;
}

const MAX_PACKET = 1500;
/** Opus' RTP clock is 48 kHz whatever the audio rate (RFC 7587 s4.1); G.711 is 8 kHz. */
const OPUS_TS_STEP = 960;
const G711_TS_STEP = 160;
const G711_FRAME = 160;

function clip16(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** A cached encode of the full mix for one codec configuration. */
class SharedEncode {
  readonly packet = new Uint8Array(MAX_PACKET);
  length = -1;
  tick = -1;
  constructor(readonly encoder: OpusEncoder | null, readonly codec: MixCodec, readonly group: number, readonly settings: EncoderSettings) {}
}

type EncoderSettings = { bitrate?: number; complexity?: number; expectedLoss?: number };

class Contributor {
  readonly jitter: JitterBuffer;
  decoder: OpusDecoder | null = null;
  /** Decoded mono frame at the room rate. */
  readonly pcm: Int16Array;
  /** Its contribution as added to the sum (gain and pan applied), interleaved. */
  readonly contrib: Int32Array;
  contributed = false;
  volume = 100;
  muted = false;
  spatial = 50;
  group = 0;
  audioLevelExt = 0;
  readonly talk: TalkDetector;
  lastLevel = 127;
  prevSample = 0;
  /** Decoded frames to conceal a loss with: count of consecutive losses. */
  losses = 0;
  /** Its last frames were not decoded (silent or muted): the decoder restarts clean on the next one. */
  idle = false;
  constructor(readonly id: number, readonly codec: MixCodec, frame: number, channels: number, prebuffer: number, talk: TalkDetector) {
    this.jitter = new JitterBuffer(prebuffer);
    this.pcm = new Int16Array(Math.max(frame, 960));
    this.contrib = new Int32Array(frame * channels);
    this.talk = talk;
  }
}

class Listener {
  own: OpusEncoder | null = null;
  shared: SharedEncode;
  readonly packet = new Uint8Array(MAX_PACKET);
  constructor(readonly id: number, readonly codec: MixCodec, shared: SharedEncode, readonly settings: { bitrate?: number; complexity?: number; expectedLoss?: number }) {
    this.shared = shared;
  }
}

interface FilePlayer {
  id: number;
  packets: Buffer[];
  index: number;
  loop: boolean;
  group: number;
  decoder: OpusDecoder;
}

export class RoomMixer {
  readonly rate: OpusRate;
  readonly channels: 1 | 2;
  /** Samples per channel in one 20 ms frame at the room rate. */
  readonly frame: number;
  readonly #codec: OpusCodec;
  readonly #out: MixerOutput;
  readonly #contributors = new Map<number, Contributor>();
  readonly #listeners = new Map<number, Listener>();
  readonly #forwarders = new Map<number, Listener>();
  readonly #shared = new Map<string, SharedEncode>();
  readonly #files = new Map<number, FilePlayer>();
  readonly #sum: Int32Array;
  /** Per-group sums, made when a forwarder asks for a group. */
  readonly #groupSums = new Map<number, Int32Array>();
  readonly #mixPcm: Int16Array;
  readonly #narrow = new Int16Array(G711_FRAME);
  readonly #rtp = new RtpView();
  readonly #talkWindow: number;
  readonly #talkThreshold: number;
  readonly #silenceLevel: number;
  #tick = 0;
  #complexityCap = 10;
  /** Counters: encodes done this room's lifetime, and those shared. */
  encodes = 0;
  sharedEncodes = 0;
  /** Frames not decoded (silent or muted), and lost frames rebuilt from the next packet's FEC. */
  skippedDecodes = 0;
  fecRecovered = 0;
  ticks = 0;

  constructor(codec: OpusCodec, opts: RoomOptions, out: MixerOutput) {
    this.#codec = codec;
    this.#out = out;
    this.rate = opts.rate;
    this.channels = opts.spatial ? 2 : 1;
    this.frame = opts.rate / 50;
    this.#sum = new Int32Array(this.frame * this.channels);
    this.#mixPcm = new Int16Array(this.frame * this.channels);
    this.#talkWindow = opts.talkWindow ?? 0;
    this.#talkThreshold = opts.talkThreshold ?? 25;
    this.#silenceLevel = opts.silenceLevel ?? 90;
  }

  get participantCount(): number {
    return this.#contributors.size;
  }

  /** Anything to mix or send: participants, listeners, forwarders or a file playing. */
  get active(): boolean {
    return this.#contributors.size > 0 || this.#listeners.size > 0 || this.#forwarders.size > 0 || this.#files.size > 0;
  }

  addParticipant(id: number, o: ParticipantOptions): void {
    this.removeParticipant(id);
    const c = new Contributor(id, o.codec, this.frame, this.channels, o.prebuffer ?? 6, new TalkDetector(this.#talkWindow || 1, this.#talkThreshold));
    if (o.codec === 'opus') c.decoder = this.#codec.createDecoder(this.rate, 1);
    this.#contributors.set(id, c);
    if (o.listen !== false) {
      const settings = { bitrate: o.bitrate, complexity: o.complexity, expectedLoss: o.expectedLoss };
      this.#listeners.set(id, new Listener(id, o.codec, this.#sharedFor(o.codec, 0, settings), settings));
    }
    this.updateParticipant(id, o);
  }

  updateParticipant(id: number, o: Partial<ParticipantOptions>): void {
    const c = this.#contributors.get(id);
    if (!c) return;
    if (o.volume !== undefined) c.volume = Math.max(0, o.volume);
    if (o.muted !== undefined) c.muted = o.muted;
    if (o.spatial !== undefined) c.spatial = Math.max(0, Math.min(100, o.spatial));
    if (o.group !== undefined) c.group = o.group;
    if (o.prebuffer !== undefined) c.jitter.prebuffer = o.prebuffer;
    if (o.audioLevelExt !== undefined) c.audioLevelExt = o.audioLevelExt;
    const l = this.#listeners.get(id);
    if (l && (o.bitrate !== undefined || o.complexity !== undefined || o.expectedLoss !== undefined)) {
      if (o.bitrate !== undefined) l.settings.bitrate = o.bitrate;
      if (o.complexity !== undefined) l.settings.complexity = o.complexity;
      if (o.expectedLoss !== undefined) l.settings.expectedLoss = o.expectedLoss;
      l.own?.configure(this.#capped(l.settings));
      l.shared = this.#sharedFor(l.codec, 0, l.settings);
    }
  }

  removeParticipant(id: number): void {
    const c = this.#contributors.get(id);
    if (c) {
      c.decoder?.destroy();
      this.#contributors.delete(id);
    }
    const l = this.#listeners.get(id);
    if (l) {
      l.own?.destroy();
      this.#listeners.delete(id);
    }
  }

  /** Forget a participant's decoder state and buffered packets (Janus' resetdecoder). */
  resetDecoder(id: number): void {
    const c = this.#contributors.get(id);
    if (!c) return;
    c.decoder?.reset();
    c.jitter.reset();
  }

  addForwarder(id: number, o: ForwarderOptions): void {
    this.removeForwarder(id);
    const settings = { bitrate: o.bitrate, complexity: o.complexity };
    const group = o.group ?? 0;
    if (group > 0 && !this.#groupSums.has(group)) this.#groupSums.set(group, new Int32Array(this.frame * this.channels));
    this.#forwarders.set(id, new Listener(id, o.codec, this.#sharedFor(o.codec, group, settings), settings));
  }

  removeForwarder(id: number): void {
    this.#forwarders.delete(id);
  }

  /** Play Opus packets (20 ms each, e.g. from an Ogg file) into the mix, heard by all (or a group). */
  playFile(id: number, packets: Buffer[], loop: boolean, group = 0): void {
    this.stopFile(id);
    this.#files.set(id, { id, packets, index: 0, loop, group, decoder: this.#codec.createDecoder(this.rate, 1) });
  }

  stopFile(id: number): boolean {
    const f = this.#files.get(id);
    if (!f) return false;
    f.decoder.destroy();
    this.#files.delete(id);
    return true;
  }

  isPlaying(id: number): boolean {
    return this.#files.has(id);
  }

  /** An RTP packet from participant `id` (the whole packet, header included). */
  pushRtp(id: number, buf: Buffer, off: number, len: number): void {
    const c = this.#contributors.get(id);
    if (!c) return;
    const v = this.#rtp;
    if (!v.wrap(buf, off, len) || v.payloadLength <= 0) return;
    let level = -1;
    if (c.audioLevelExt > 0) {
      // RFC 6464 s3: V bit then a 7-bit level.
      const at = v.findExtension(c.audioLevelExt);
      if (at >= 0) level = buf[at] & 0x7f;
    }
    c.jitter.push(v.sequenceNumber, buf, v.payloadOffset, v.payloadLength, level);
  }

  /** Mix one 20 ms frame and hand every listener and forwarder its packet. */
  tick(): void {
    this.#tick++;
    this.ticks++;
    const sum = this.#sum;
    sum.fill(0);
    for (const g of this.#groupSums.values()) g.fill(0);
    for (const c of this.#contributors.values()) this.#takeFrame(c);
    for (const f of this.#files.values()) this.#playFrame(f);
    const mixPcm = this.#mixPcm;
    const n = sum.length;
    for (let i = 0; i < n; i++) mixPcm[i] = clip16(sum[i]);
    this.#out.mix?.(mixPcm, this.frame, this.channels);
    for (const l of this.#listeners.values()) this.#serve(l);
    for (const f of this.#forwarders.values()) this.#serveShared(f);
  }

  #takeFrame(c: Contributor): void {
    c.contributed = false;
    const frame = this.frame;
    const pcm = c.pcm;
    const r = c.jitter.pop();
    let samples = 0;
    let level = -1;
    if (r === PopResult.Packet) {
      c.losses = 0;
      level = c.jitter.payloadLevel;
      if (this.#skipsDecode(c, level)) {
        // Beyond Janus: a frame that cannot reach the mix (its own audio level says silence, or the
        // participant is muted) is not decoded at all. Talk detection still gets the level.
        c.idle = true;
        if (level >= 0) {
          c.lastLevel = level;
          if (this.#talkWindow > 0 && c.talk.feed(level)) this.#out.talking?.(c.id, c.talk.talking, level);
        }
        this.skippedDecodes++;
        return;
      }
      if (c.idle) {
        c.decoder?.reset();
        c.idle = false;
      }
      samples = this.#decode(c, c.jitter.data, c.jitter.payloadOffset, c.jitter.payloadLength);
    } else if (r === PopResult.Lost) {
      if (c.idle) return; // a gap in silence: nothing to conceal
      c.losses++;
      samples = this.#conceal(c);
    }
    if (samples <= 0) return;
    if (samples < frame) pcm.fill(0, samples, frame);
    let energy = 0;
    for (let i = 0; i < frame; i++) energy += pcm[i] * pcm[i];
    const measured = levelOfEnergy(energy, frame);
    if (level < 0) level = measured;
    c.lastLevel = level;
    if (this.#talkWindow > 0 && r === PopResult.Packet && c.talk.feed(level)) this.#out.talking?.(c.id, c.talk.talking, level);
    if (c.muted || measured > this.#silenceLevel || c.volume === 0) return;
    c.contributed = true;
    const contrib = c.contrib;
    const gain = c.volume / 100;
    const sum = this.#sum;
    const group = c.group > 0 ? this.#groupSums.get(c.group) : undefined;
    if (this.channels === 1) {
      for (let i = 0; i < frame; i++) {
        const v = Math.round(pcm[i] * gain);
        contrib[i] = v;
        sum[i] += v;
      }
    } else {
      // Constant-power pan: position 0 = left, 100 = right.
      const angle = (c.spatial / 100) * (Math.PI / 2);
      const gl = gain * Math.cos(angle) * Math.SQRT2;
      const gr = gain * Math.sin(angle) * Math.SQRT2;
      for (let i = 0; i < frame; i++) {
        const l = Math.round(pcm[i] * gl);
        const rr = Math.round(pcm[i] * gr);
        contrib[2 * i] = l;
        contrib[2 * i + 1] = rr;
        sum[2 * i] += l;
        sum[2 * i + 1] += rr;
      }
    }
    if (group) for (let i = 0; i < contrib.length; i++) group[i] += contrib[i];
  }

  #decode(c: Contributor, data: Uint8Array, off: number, len: number): number {
    if (c.codec === 'opus') {
      const n = c.decoder!.decode(data, off, len, c.pcm);
      return n < 0 ? 0 : n;
    }
    const narrow = this.#narrow;
    const n = g711Decode(c.codec, data, off, Math.min(len, G711_FRAME), narrow);
    if (n < G711_FRAME) narrow.fill(0, n);
    if (this.rate === 8000) c.pcm.set(narrow);
    else upsampleLinear(narrow, G711_FRAME, c.pcm, this.frame, c.prevSample);
    c.prevSample = narrow[G711_FRAME - 1];
    return this.frame;
  }

  /** Muted, or (from the RFC 6464 level in the packet) quieter than what the mix keeps. */
  #skipsDecode(c: Contributor, level: number): boolean {
    if (level >= 0) return level > this.#silenceLevel || c.muted;
    return c.muted && this.#talkWindow === 0;
  }

  #conceal(c: Contributor): number {
    if (c.losses > 5) return 0; // a long gap: silence, not a drone
    if (c.codec === 'opus') {
      // In-band FEC (RFC 6716 s2.1.7): the next packet, when already here, may carry a coarser copy
      // of the lost frame; libopus falls back to PLC when it does not.
      const dec = c.decoder!;
      if (dec.decodeFec && c.jitter.peekNext()) {
        const n = dec.decodeFec(c.jitter.data, c.jitter.payloadOffset, c.jitter.payloadLength, c.pcm, this.frame);
        if (n > 0) {
          this.fecRecovered++;
          return n;
        }
      }
      return dec.conceal(c.pcm, this.frame);
    }
    // G.711: repeat the last frame, fading.
    const pcm = c.pcm;
    for (let i = 0; i < this.frame; i++) pcm[i] = pcm[i] >> 1;
    return this.frame;
  }

  #playFrame(f: FilePlayer): void {
    if (f.index >= f.packets.length) {
      if (!f.loop || f.packets.length === 0) {
        this.stopFile(f.id);
        this.#out.fileEnded?.(f.id);
        return;
      }
      f.index = 0;
    }
    const p = f.packets[f.index++];
    const tmp = this.#filePcm;
    const n = f.decoder.decode(p, 0, p.length, tmp);
    if (n <= 0) return;
    const frame = Math.min(n, this.frame);
    const sum = this.#sum;
    const group = f.group > 0 ? this.#groupSums.get(f.group) : undefined;
    const ch = this.channels;
    for (let i = 0; i < frame; i++) {
      const v = tmp[i];
      for (let k = 0; k < ch; k++) sum[i * ch + k] += v;
      if (group) for (let k = 0; k < ch; k++) group[i * ch + k] += v;
    }
  }

  readonly #filePcm = new Int16Array(5760);

  #sharedFor(codec: MixCodec, group: number, s: { bitrate?: number; complexity?: number; expectedLoss?: number }): SharedEncode {
    const key = `${codec}/${group}/${s.bitrate ?? 0}/${s.complexity ?? -1}/${s.expectedLoss ?? 0}`;
    let e = this.#shared.get(key);
    if (!e) {
      const enc = codec === 'opus' ? this.#codec.createEncoder(this.rate, this.channels, this.#capped(s)) : null;
      e = new SharedEncode(enc, codec, group, s);
      this.#shared.set(key, e);
    }
    return e;
  }

  #serve(l: Listener): void {
    const c = this.#contributors.get(l.id);
    if (!c || !c.contributed) {
      this.#serveShared(l);
      return;
    }
    // Mix-minus: the sum without this participant's own contribution.
    const sum = this.#sum;
    const contrib = c.contrib;
    const pcm = this.#mixPcm;
    for (let i = 0; i < sum.length; i++) pcm[i] = clip16(sum[i] - contrib[i]);
    if (!l.own && l.codec === 'opus') l.own = this.#codec.createEncoder(this.rate, this.channels, this.#capped(l.settings));
    const len = this.#encode(l.codec, l.own, pcm, l.packet);
    this.encodes++;
    // Restore the full mix for whoever comes next.
    for (let i = 0; i < sum.length; i++) pcm[i] = clip16(sum[i]);
    if (len > 0) this.#out.audio(l.id, l.packet, len, l.codec === 'opus' ? OPUS_TS_STEP : G711_TS_STEP);
  }

  #serveShared(l: Listener): void {
    const s = l.shared;
    if (s.tick !== this.#tick) {
      s.tick = this.#tick;
      let pcm = this.#mixPcm;
      if (s.group > 0) {
        const g = this.#groupSums.get(s.group)!;
        pcm = this.#groupPcm;
        for (let i = 0; i < g.length; i++) pcm[i] = clip16(g[i]);
      }
      s.length = this.#encode(s.codec, s.encoder, pcm, s.packet);
      this.encodes++;
    } else this.sharedEncodes++;
    if (s.length > 0) this.#out.audio(l.id, s.packet, s.length, s.codec === 'opus' ? OPUS_TS_STEP : G711_TS_STEP);
  }

  readonly #groupPcm = new Int16Array(960 * 2);

  #capped(s: EncoderSettings): EncoderSettings {
    return { ...s, complexity: Math.min(s.complexity ?? 10, this.#complexityCap) };
  }

  get complexityCap(): number {
    return this.#complexityCap;
  }

  /**
   * Caps every Opus encoder's complexity (0-10): a thread that falls behind real time trades
   * encoder effort for time rather than dropping frames.
   */
  set complexityCap(cap: number) {
    cap = Math.max(0, Math.min(10, Math.round(cap)));
    if (cap === this.#complexityCap) return;
    this.#complexityCap = cap;
    for (const l of this.#listeners.values()) l.own?.configure({ complexity: Math.min(l.settings.complexity ?? 10, cap) });
    for (const e of this.#shared.values()) e.encoder?.configure({ complexity: Math.min(e.settings.complexity ?? 10, cap) });
  }

  #encode(codec: MixCodec, enc: OpusEncoder | null, pcm: Int16Array, out: Uint8Array): number {
    if (codec === 'opus') return enc!.encode(pcm, this.frame, out);
    // G.711 is mono 8 kHz: fold stereo to mono, then bring the room rate down.
    const narrow = this.#narrow;
    let mono = pcm;
    if (this.channels === 2) {
      mono = this.#monoPcm;
      for (let i = 0; i < this.frame; i++) mono[i] = (pcm[2 * i] + pcm[2 * i + 1]) >> 1;
    }
    if (this.rate === 8000) narrow.set(mono.subarray(0, G711_FRAME));
    else downsampleAverage(mono, this.frame, narrow, G711_FRAME);
    return g711Encode(codec, narrow, G711_FRAME, out);
  }

  readonly #monoPcm = new Int16Array(960);

  /** Stats for listparticipants/queries. */
  participantStats(id: number): { queue: number; lost: number; late: number; dropped: number; level: number; talking: boolean } | undefined {
    const c = this.#contributors.get(id);
    if (!c) return undefined;
    return { queue: c.jitter.size, lost: c.jitter.lost, late: c.jitter.late, dropped: c.jitter.dropped, level: c.lastLevel, talking: c.talk.talking };
  }

  destroy(): void {
    for (const id of [...this.#contributors.keys()]) this.removeParticipant(id);
    for (const id of [...this.#files.keys()]) this.stopFile(id);
    for (const s of this.#shared.values()) s.encoder?.destroy();
    this.#shared.clear();
    this.#forwarders.clear();
  }
}
