/**
 * The rooms one thread mixes: commands in (plain objects, as posted to a worker), RTP in, and one
 * `tick()` every 20 ms that mixes every room. Runs inside a mixer worker, or inline on the main
 * thread (tests, tiny deployments) through the same commands.
 */
import fs from 'node:fs';
import type { OpusCodec } from './opus-codec.ts';
import { RoomMixer, type ForwarderOptions, type MixerOutput, type ParticipantOptions, type RoomOptions } from './room-mixer.ts';
import { WavWriter } from './wav-writer.ts';

export type MixerCommand =
  | { op: 'createRoom'; room: number; opts: RoomOptions }
  | { op: 'destroyRoom'; room: number }
  | { op: 'addParticipant'; room: number; id: number; opts: ParticipantOptions }
  | { op: 'updateParticipant'; id: number; opts: Partial<ParticipantOptions> }
  | { op: 'removeParticipant'; id: number }
  | { op: 'resetDecoder'; id: number }
  | { op: 'addForwarder'; room: number; id: number; opts: ForwarderOptions }
  | { op: 'removeForwarder'; id: number }
  | { op: 'playFile'; room: number; id: number; packets: Uint8Array[]; loop: boolean; group: number }
  | { op: 'stopFile'; room: number; id: number }
  /** Start (path) or stop (null) recording the room mix to WAV; `tmpExt` is dropped on close. */
  | { op: 'record'; room: number; path: string | null; tmpExt?: string };

/** What the core tells its owner, besides audio. */
export type MixerEvent =
  | { ev: 'talking'; id: number; talking: boolean; level: number }
  | { ev: 'fileEnded'; room: number; id: number }
  | { ev: 'recordingDone'; room: number; path: string }
  | { ev: 'error'; message: string };

export interface CoreSink {
  audio(id: number, payload: Uint8Array, len: number, samples: number): void;
  event(e: MixerEvent): void;
}

interface RoomEntry {
  mixer: RoomMixer;
  wav: WavWriter | null;
  wavFinal: string;
}

export class MixerCore {
  readonly #rooms = new Map<number, RoomEntry>();
  readonly #roomOf = new Map<number, RoomEntry>();
  readonly #forwarderRoom = new Map<number, RoomEntry>();
  /** Time spent mixing, for the stats (ms). */
  busyMs = 0;
  /** Smoothed share of the 20 ms period spent mixing, and the encoder complexity cap it led to. */
  load = 0;
  complexityCap = 10;
  #ticksSinceAdjust = 0;

  constructor(readonly codec: OpusCodec, readonly sink: CoreSink) {}

  get participants(): number {
    return this.#roomOf.size;
  }

  /**
   * Whether a tick has work: a room with participants, forwarders, a file or a WAV recording.
   * Rooms with none of these (the configured rooms nobody joined) need no 20 ms tick at all.
   */
  get active(): boolean {
    for (const r of this.#rooms.values()) if (r.wav || r.mixer.active) return true;
    return false;
  }

  command(c: MixerCommand): void {
    try {
      this.#command(c);
    } catch (err) {
      this.sink.event({ ev: 'error', message: `${c.op}: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  #command(c: MixerCommand): void {
    switch (c.op) {
      case 'createRoom': {
        if (this.#rooms.has(c.room)) return;
        const entry: RoomEntry = { mixer: undefined as unknown as RoomMixer, wav: null, wavFinal: '' };
        const out: MixerOutput = {
          audio: (id, p, len, samples) => this.sink.audio(id, p, len, samples),
          talking: (id, talking, level) => this.sink.event({ ev: 'talking', id, talking, level }),
          fileEnded: (id) => this.sink.event({ ev: 'fileEnded', room: c.room, id }),
          mix: (pcm, samples) => entry.wav?.write(pcm, samples),
        };
        entry.mixer = new RoomMixer(this.codec, c.opts, out);
        entry.mixer.complexityCap = this.complexityCap;
        this.#rooms.set(c.room, entry);
        return;
      }
      case 'destroyRoom': {
        const r = this.#rooms.get(c.room);
        if (!r) return;
        this.#stopRecording(c.room, r);
        for (const [id, e] of this.#roomOf) if (e === r) this.#roomOf.delete(id);
        for (const [id, e] of this.#forwarderRoom) if (e === r) this.#forwarderRoom.delete(id);
        r.mixer.destroy();
        this.#rooms.delete(c.room);
        return;
      }
      case 'addParticipant': {
        const r = this.#rooms.get(c.room);
        if (!r) return;
        this.#roomOf.get(c.id)?.mixer.removeParticipant(c.id);
        r.mixer.addParticipant(c.id, c.opts);
        this.#roomOf.set(c.id, r);
        return;
      }
      case 'updateParticipant':
        this.#roomOf.get(c.id)?.mixer.updateParticipant(c.id, c.opts);
        return;
      case 'removeParticipant':
        this.#roomOf.get(c.id)?.mixer.removeParticipant(c.id);
        this.#roomOf.delete(c.id);
        return;
      case 'resetDecoder':
        this.#roomOf.get(c.id)?.mixer.resetDecoder(c.id);
        return;
      case 'addForwarder': {
        const r = this.#rooms.get(c.room);
        if (!r) return;
        r.mixer.addForwarder(c.id, c.opts);
        this.#forwarderRoom.set(c.id, r);
        return;
      }
      case 'removeForwarder':
        this.#forwarderRoom.get(c.id)?.mixer.removeForwarder(c.id);
        this.#forwarderRoom.delete(c.id);
        return;
      case 'playFile':
        this.#rooms.get(c.room)?.mixer.playFile(c.id, c.packets.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)), c.loop, c.group);
        return;
      case 'stopFile':
        this.#rooms.get(c.room)?.mixer.stopFile(c.id);
        return;
      case 'record': {
        const r = this.#rooms.get(c.room);
        if (!r) return;
        this.#stopRecording(c.room, r);
        if (c.path === null) return;
        const tmp = c.tmpExt ? `${c.path}.${c.tmpExt}` : c.path;
        r.wav = new WavWriter(tmp, r.mixer.rate, r.mixer.channels);
        r.wavFinal = c.path;
        return;
      }
    }
  }

  #stopRecording(room: number, r: RoomEntry): void {
    const w = r.wav;
    if (!w) return;
    r.wav = null;
    w.close();
    if (w.path !== r.wavFinal) fs.renameSync(w.path, r.wavFinal);
    this.sink.event({ ev: 'recordingDone', room, path: r.wavFinal });
  }

  /** An RTP packet from participant `id`. */
  pushRtp(id: number, buf: Buffer, off: number, len: number): void {
    this.#roomOf.get(id)?.mixer.pushRtp(id, buf, off, len);
  }

  tick(): void {
    const t0 = performance.now();
    for (const r of this.#rooms.values()) r.mixer.tick();
    const dt = performance.now() - t0;
    this.busyMs += dt;
    this.#shedLoad(dt);
  }

  /**
   * Load shedding: above 80 % of the period (smoothed), lower the encoders' complexity a step every
   * half second (three steps above 100 %); below 50 %, give a step back. Keeps the tick in real time when a thread is full.
   */
  #shedLoad(dt: number): void {
    this.load = this.load * 0.9 + (dt / 20) * 0.1;
    if (++this.#ticksSinceAdjust < 25) return;
    this.#ticksSinceAdjust = 0;
    let cap = this.complexityCap;
    if (this.load > 1 && cap > 0) cap = Math.max(0, cap - 3);
    else if (this.load > 0.8 && cap > 0) cap--;
    else if (this.load < 0.5 && cap < 10) cap++;
    if (cap === this.complexityCap) return;
    this.complexityCap = cap;
    for (const r of this.#rooms.values()) r.mixer.complexityCap = cap;
  }

  destroy(): void {
    for (const room of [...this.#rooms.keys()]) this.command({ op: 'destroyRoom', room });
  }
}
