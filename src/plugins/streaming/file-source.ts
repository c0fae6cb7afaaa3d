/**
 * File sources (Janus `live` and `ondemand` mountpoints): .alaw and .mulaw (raw G.711, 8 kHz,
 * 160-byte frames of 20 ms) and .opus (Ogg Opus, one RTP packet per Opus packet), turned into RTP
 * and paced in real time. A `live` file is played once for everyone (looping, as Janus does); an
 * `ondemand` file plays from its start for each viewer and ends with a `stopped` event.
 *
 * Pacing: a 10 ms timer sends every frame whose due time has passed, so timer jitter never
 * accumulates. Each packet is built in a fresh buffer per frame (a file source is a handful of
 * 50 packets/s streams; the fan-out keeps no reference to audio packets anyway).
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { GatewayFacade } from '../../core/plugin.ts';
import { opusPacketSamples, readOggOpus } from '../../media/ogg.ts';
import { STREAMING_ERROR, StreamingError } from './errors.ts';
import { Fanout, type Viewer } from './fanout.ts';
import type { Mountpoint, MountpointSource } from './mountpoint.ts';

const G711_FRAME = 160;
const TICK_MS = 10;
const MAX_FILE_BYTES = 256 * 1024 * 1024;

interface Frames {
  payloads: Buffer[];
  /** RTP timestamp increments (clock units) per frame. */
  durations: number[];
  clockRate: number;
}

async function loadFrames(filename: string): Promise<Frames> {
  const data = await readFile(filename);
  if (data.length > MAX_FILE_BYTES) throw new Error('file too large');
  if (/\.opus$/i.test(filename)) {
    const { packets } = readOggOpus(data);
    return { payloads: packets, durations: packets.map((p) => opusPacketSamples(p) || 960), clockRate: 48000 };
  }
  const payloads: Buffer[] = [];
  for (let off = 0; off + G711_FRAME <= data.length; off += G711_FRAME) payloads.push(data.subarray(off, off + G711_FRAME));
  return { payloads, durations: payloads.map(() => G711_FRAME), clockRate: 8000 };
}

/** Plays frames as RTP into a fan-out, in real time. */
class FilePlayer {
  #timer: NodeJS.Timeout | undefined;
  #index = 0;
  #seq = randomBytes(2).readUInt16BE(0);
  #ts = randomBytes(4).readUInt32BE(0);
  readonly #ssrc = randomBytes(4).readUInt32BE(0);
  #startMs = 0;
  #elapsedUnits = 0;

  constructor(private readonly frames: Frames, private readonly pt: number, private readonly fanout: Fanout, private readonly loop: boolean, private readonly ended: () => void) {}

  play(): void {
    if (this.#timer || this.frames.payloads.length === 0) return;
    this.#startMs = performance.now();
    this.#elapsedUnits = 0;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#tick();
  }

  pause(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const f = this.frames;
    const dueUnits = ((performance.now() - this.#startMs) * f.clockRate) / 1000;
    while (this.#timer && this.#elapsedUnits <= dueUnits) {
      if (this.#index >= f.payloads.length) {
        if (!this.loop) {
          this.pause();
          this.ended();
          return;
        }
        this.#index = 0;
      }
      const payload = f.payloads[this.#index];
      const dur = f.durations[this.#index];
      this.#index++;
      const pkt = Buffer.allocUnsafe(12 + payload.length);
      pkt[0] = 0x80;
      pkt[1] = this.pt & 0x7f;
      pkt.writeUInt16BE(this.#seq, 2);
      pkt.writeUInt32BE(this.#ts, 4);
      pkt.writeUInt32BE(this.#ssrc, 8);
      payload.copy(pkt, 12);
      this.#seq = (this.#seq + 1) & 0xffff;
      this.#ts = (this.#ts + dur) >>> 0;
      this.#elapsedUnits += dur;
      this.fanout.deliverRtp(0, pkt);
    }
  }
}

async function framesFor(mp: Mountpoint): Promise<Frames> {
  try {
    return await loadFrames(mp.spec.filename!);
  } catch (err) {
    throw new StreamingError(STREAMING_ERROR.CANT_CREATE, `Can't open file source ${mp.spec.filename}: ${(err as Error).message}`);
  }
}

/** A `live` file mountpoint: one player for all viewers, looping. */
export async function startFileSource(mp: Mountpoint, _gw: GatewayFacade, _ended: () => void): Promise<MountpointSource> {
  const frames = await framesFor(mp);
  const player = new FilePlayer(frames, mp.spec.streams[0].pt, mp.fanout, true, () => {});
  player.play();
  return { close: () => player.pause() };
}

/** An `ondemand` file, played from its start for one viewer. */
export class OnDemandFile {
  #player: FilePlayer | undefined;
  #closed = false;
  readonly #fanout: Fanout;

  constructor(private readonly mp: Mountpoint, gw: GatewayFacade, viewer: Viewer, private readonly ended: () => void) {
    this.#fanout = new Fanout(gw, mp.spec.streams);
    this.#fanout.viewers.add(viewer);
  }

  play(): void {
    if (this.#player) {
      this.#player.play();
      return;
    }
    void framesFor(this.mp).then((frames) => {
      if (this.#closed) return;
      this.#player = new FilePlayer(frames, this.mp.spec.streams[0].pt, this.#fanout, false, () => this.ended());
      this.#player.play();
    }, () => this.ended());
  }

  pause(): void {
    this.#player?.pause();
  }

  close(): void {
    this.#closed = true;
    this.#player?.pause();
  }
}
