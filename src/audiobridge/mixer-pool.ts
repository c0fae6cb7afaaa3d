/**
 * The main thread's handle on the mixers: rooms are placed on worker threads (the one with the
 * fewest participants), or mixed inline when `threads` is 0. RTP goes to the room's worker through
 * a shared ring, mixed frames come back the same way and are handed to `onAudio` with no copies.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MixerCore, type MixerCommand, type MixerEvent } from './mixer-core.ts';
import { loadOpusCodec } from './opus-codec.ts';
import type { ForwarderOptions, ParticipantOptions, RoomOptions } from './room-mixer.ts';
import { SpscRing } from './spsc-ring.ts';
import { TickClock, type TickStats } from './tick-clock.ts';

export interface MixerPoolOptions {
  /** Worker threads (0 = mix on the calling thread). */
  threads: number;
  /** Bytes of each ring (default 4 MB: about 20 s of one 40-party room's audio). */
  ringBytes?: number;
  /** A stats report every this many ticks (default 50: once a second). */
  statsEveryTicks?: number;
}

export interface MixerCallbacks {
  /** A mixed 20 ms frame for participant or forwarder `id`: `buf[off, off+len)`, valid during the call. */
  onAudio(id: number, buf: Buffer, off: number, len: number, samples: number): void;
  onEvent(e: MixerEvent): void;
  onStats?(thread: number, s: ThreadStats): void;
}

export interface ThreadStats extends TickStats {
  /** ms spent mixing since the thread started. */
  busyMs: number;
  participants: number;
  outOverflows: number;
  /** Smoothed share of the period spent mixing (1 = the whole 20 ms). */
  load: number;
  /** Encoder complexity cap set by load shedding (10 = none). */
  complexityCap: number;
}

interface Lane {
  index: number;
  ready: Promise<void>;
  send(c: MixerCommand): void;
  pushRtp(id: number, buf: Buffer, off: number, len: number): void;
  stop(): Promise<void>;
  participants: number;
  rooms: number;
  last?: ThreadStats;
}

const WORKER_URL = new URL('./mixer-worker.ts', import.meta.url);
/** tsx's ESM API module (its CJS twin cannot load the ESM hooks from a worker). */
const TSX_API = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
/** Loads the TypeScript worker through tsx, whatever the parent was started with. */
const BOOT = `import(${JSON.stringify(TSX_API)}).then((t) => { t.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;

export class MixerPool {
  readonly #lanes: Lane[] = [];
  readonly #roomLane = new Map<number, Lane>();
  readonly #idLane = new Map<number, Lane>();
  readonly #cb: MixerCallbacks;
  inOverflows = 0;

  readonly #opts: MixerPoolOptions;

  constructor(opts: MixerPoolOptions, cb: MixerCallbacks) {
    this.#cb = cb;
    this.#opts = opts;
  }

  /** Threads start with the first room, so a gateway without rooms costs nothing. */
  #start(): void {
    if (this.#lanes.length > 0) return;
    const opts = this.#opts;
    const statsEvery = opts.statsEveryTicks ?? 50;
    if (opts.threads <= 0) this.#lanes.push(this.#inlineLane(statsEvery));
    for (let i = 0; i < opts.threads; i++) this.#lanes.push(this.#workerLane(i, opts.ringBytes ?? 4 << 20, statsEvery));
  }

  /** Starts the threads and resolves when every one is up and ticking (commands sent before are queued, not lost). */
  ready(): Promise<void> {
    this.#start();
    return Promise.all(this.#lanes.map((l) => l.ready)).then(() => undefined);
  }

  get threads(): number {
    return this.#lanes.length;
  }

  /** Latest stats of every thread. */
  stats(): Array<ThreadStats | undefined> {
    return this.#lanes.map((l) => l.last);
  }

  #inlineLane(statsEvery: number): Lane {
    const cb = this.#cb;
    const scratch = Buffer.alloc(1500);
    const core = new MixerCore(loadOpusCodec(), {
      audio: (id, p, len, samples) => {
        for (let i = 0; i < len; i++) scratch[i] = p[i];
        cb.onAudio(id, scratch, 0, len, samples);
      },
      event: (e) => cb.onEvent(e),
    });
    let countdown = statsEvery;
    const lane: Lane = {
      index: 0, participants: 0, rooms: 0, ready: Promise.resolve(),
      send: (c) => core.command(c),
      pushRtp: (id, buf, off, len) => core.pushRtp(id, buf, off, len),
      stop: async () => {
        clock.stop();
        core.destroy();
      },
    };
    const clock = new TickClock(() => {
      core.tick();
      if (--countdown <= 0) {
        countdown = statsEvery;
        lane.last = { ...clock.report(), busyMs: core.busyMs, load: core.load, complexityCap: core.complexityCap, participants: core.participants, outOverflows: 0 };
        cb.onStats?.(0, lane.last);
      }
    });
    clock.start();
    return lane;
  }

  #workerLane(index: number, ringBytes: number, statsEvery: number): Lane {
    const inSab = SpscRing.allocate(ringBytes);
    const outSab = SpscRing.allocate(ringBytes);
    const input = new SpscRing(inSab);
    const output = new SpscRing(outSab);
    const worker = new Worker(BOOT, { eval: true, workerData: { inRing: inSab, outRing: outSab, statsEveryTicks: statsEvery } });
    worker.unref();
    const cb = this.#cb;
    const onAudio = (id: number, buf: Buffer, off: number, len: number, aux: number): void => cb.onAudio(id, buf, off, len, aux);
    let stopped: (() => void) | undefined;
    let isReady!: () => void;
    const lane: Lane = {
      index, participants: 0, rooms: 0, ready: new Promise<void>((r) => { isReady = r; }),
      send: (c) => worker.postMessage(c),
      pushRtp: (id, buf, off, len) => {
        if (!input.write(id, buf, off, len)) this.inOverflows++;
      },
      stop: () => new Promise<void>((resolve) => {
        stopped = resolve;
        worker.postMessage({ op: 'stop' });
        setTimeout(() => void worker.terminate().then(() => resolve()), 2000).unref();
      }),
    };
    worker.on('message', (m: MixerEvent | { ev: 'drain' } | { ev: 'stopped' } | { ev: 'ready' } | ({ ev: 'stats' } & ThreadStats)) => {
      if (m.ev === 'drain') output.drain(onAudio);
      else if (m.ev === 'ready') isReady();
      else if (m.ev === 'stats') {
        const { ev: _ev, ...s } = m;
        lane.last = s;
        cb.onStats?.(index, s);
      } else if (m.ev === 'stopped') {
        void worker.terminate().then(() => stopped?.());
      } else cb.onEvent(m);
    });
    worker.on('error', (err) => cb.onEvent({ ev: 'error', message: `mixer thread ${index}: ${err.message}` }));
    return lane;
  }

  createRoom(room: number, opts: RoomOptions): void {
    if (this.#roomLane.has(room)) return;
    this.#start();
    let lane = this.#lanes[0];
    for (const l of this.#lanes) if (l.participants < lane.participants || (l.participants === lane.participants && l.rooms < lane.rooms)) lane = l;
    lane.rooms++;
    this.#roomLane.set(room, lane);
    lane.send({ op: 'createRoom', room, opts });
  }

  destroyRoom(room: number): void {
    const lane = this.#roomLane.get(room);
    if (!lane) return;
    lane.rooms--;
    for (const [id, l] of this.#idLane) if (l === lane && this.#idRoom.get(id) === room) this.#forget(id);
    this.#roomLane.delete(room);
    lane.send({ op: 'destroyRoom', room });
  }

  readonly #idRoom = new Map<number, number>();

  #forget(id: number): void {
    const lane = this.#idLane.get(id);
    if (lane && !this.#forwarders.has(id)) lane.participants--;
    this.#idLane.delete(id);
    this.#idRoom.delete(id);
    this.#forwarders.delete(id);
  }

  readonly #forwarders = new Set<number>();

  addParticipant(room: number, id: number, opts: ParticipantOptions): void {
    const lane = this.#roomLane.get(room);
    if (!lane) return;
    if (this.#idLane.has(id)) this.removeParticipant(id);
    lane.participants++;
    this.#idLane.set(id, lane);
    this.#idRoom.set(id, room);
    lane.send({ op: 'addParticipant', room, id, opts });
  }

  updateParticipant(id: number, opts: Partial<ParticipantOptions>): void {
    this.#idLane.get(id)?.send({ op: 'updateParticipant', id, opts });
  }

  removeParticipant(id: number): void {
    const lane = this.#idLane.get(id);
    if (!lane) return;
    this.#forget(id);
    lane.send({ op: 'removeParticipant', id });
  }

  resetDecoder(id: number): void {
    this.#idLane.get(id)?.send({ op: 'resetDecoder', id });
  }

  addForwarder(room: number, id: number, opts: ForwarderOptions): void {
    const lane = this.#roomLane.get(room);
    if (!lane) return;
    this.#idLane.set(id, lane);
    this.#idRoom.set(id, room);
    this.#forwarders.add(id);
    lane.send({ op: 'addForwarder', room, id, opts });
  }

  removeForwarder(id: number): void {
    const lane = this.#idLane.get(id);
    if (!lane) return;
    this.#forget(id);
    lane.send({ op: 'removeForwarder', id });
  }

  playFile(room: number, id: number, packets: Uint8Array[], loop: boolean, group = 0): void {
    this.#roomLane.get(room)?.send({ op: 'playFile', room, id, packets, loop, group });
  }

  stopFile(room: number, id: number): void {
    this.#roomLane.get(room)?.send({ op: 'stopFile', room, id });
  }

  record(room: number, path: string | null, tmpExt?: string): void {
    this.#roomLane.get(room)?.send({ op: 'record', room, path, ...(tmpExt ? { tmpExt } : {}) });
  }

  /** An RTP packet from participant `id` (copied into the ring: the caller keeps its buffer). */
  pushRtp(id: number, buf: Buffer, off: number, len: number): void {
    this.#idLane.get(id)?.pushRtp(id, buf, off, len);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#lanes.map((l) => l.stop()));
  }
}
