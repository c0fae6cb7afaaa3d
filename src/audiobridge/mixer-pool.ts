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
  /**
   * Split a room over one more thread when each of its shards has this many listeners (0 = never):
   * every shard decodes all participants and encodes for its own listeners.
   */
  splitAbove?: number;
}

/** Where a room is mixed: one or more shards (threads), the first one owning events and recording. */
interface Placement {
  lanes: Lane[];
  /** Listeners per shard. */
  listeners: number[];
  opts: RoomOptions;
  /** Participants, their options and the shard encoding for them (-1: not listening). */
  participants: Map<number, { opts: ParticipantOptions; shard: number }>;
  files: Map<number, { packets: Uint8Array[]; loop: boolean; group: number }>;
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
  /** Rooms and the threads (shards) that mix them. */
  readonly #rooms = new Map<number, Placement>();
  /** Participant and forwarder ids to their room. */
  readonly #idRoom = new Map<number, Placement>();
  readonly #splitAbove: number;
  readonly #cb: MixerCallbacks;
  inOverflows = 0;

  readonly #opts: MixerPoolOptions;

  constructor(opts: MixerPoolOptions, cb: MixerCallbacks) {
    this.#cb = cb;
    this.#opts = opts;
    this.#splitAbove = opts.threads > 1 ? Math.max(0, opts.splitAbove ?? 0) : 0;
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
      event: (e) => this.#laneEvent(lane, e),
    });
    let countdown = statsEvery;
    const lane: Lane = {
      index: 0, participants: 0, rooms: 0, ready: Promise.resolve(),
      send: (c) => {
        core.command(c);
        if (core.active) clock.start();
      },
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
      if (!core.active) clock.stop();
    });
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
      } else this.#laneEvent(lane, m);
    });
    worker.on('error', (err) => cb.onEvent({ ev: 'error', message: `mixer thread ${index}: ${err.message}` }));
    return lane;
  }

  createRoom(room: number, opts: RoomOptions): void {
    if (this.#rooms.has(room)) return;
    this.#start();
    const lane = this.#leastLoaded(this.#lanes);
    lane.rooms++;
    this.#rooms.set(room, { lanes: [lane], listeners: [0], opts, participants: new Map(), files: new Map() });
    lane.send({ op: 'createRoom', room, opts });
  }

  #leastLoaded(lanes: readonly Lane[]): Lane {
    let best = lanes[0];
    for (const l of lanes) if (l.participants < best.participants || (l.participants === best.participants && l.rooms < best.rooms)) best = l;
    return best;
  }

  /**
   * Opens one more shard of `room` on the least loaded thread that has none: every participant is
   * added there as a contributor only (decoded, not encoded for); new listeners then go to
   * whichever shard has the fewest. Talking events and recording stay with the first shard.
   */
  #addShard(room: number, pl: Placement): boolean {
    const free = this.#lanes.filter((l) => !pl.lanes.includes(l));
    if (free.length === 0) return false;
    const lane = this.#leastLoaded(free);
    lane.rooms++;
    pl.lanes.push(lane);
    pl.listeners.push(0);
    lane.send({ op: 'createRoom', room, opts: { ...pl.opts, talkWindow: 0 } });
    for (const [id, p] of pl.participants) {
      lane.participants++;
      lane.send({ op: 'addParticipant', room, id, opts: { ...p.opts, listen: false } });
    }
    for (const [id, f] of pl.files) lane.send({ op: 'playFile', room, id, packets: f.packets, loop: f.loop, group: f.group });
    this.shards++;
    return true;
  }

  /** Shards opened to split rooms (for stats and tests). */
  shards = 0;

  destroyRoom(room: number): void {
    const pl = this.#rooms.get(room);
    if (!pl) return;
    for (const lane of pl.lanes) {
      lane.rooms--;
      lane.participants -= pl.participants.size;
      lane.send({ op: 'destroyRoom', room });
    }
    for (const [id, r] of this.#idRoom) if (r === pl) this.#idRoom.delete(id);
    this.#rooms.delete(room);
  }

  addParticipant(room: number, id: number, opts: ParticipantOptions): void {
    const pl = this.#rooms.get(room);
    if (!pl) return;
    if (this.#idRoom.has(id)) this.removeParticipant(id);
    let shard = -1;
    if (opts.listen !== false) {
      if (this.#splitAbove > 0 && Math.min(...pl.listeners) >= this.#splitAbove) this.#addShard(room, pl);
      shard = pl.listeners.indexOf(Math.min(...pl.listeners));
      pl.listeners[shard]++;
    }
    pl.participants.set(id, { opts, shard });
    this.#idRoom.set(id, pl);
    pl.lanes.forEach((lane, i) => {
      lane.participants++;
      lane.send({ op: 'addParticipant', room, id, opts: i === shard ? opts : { ...opts, listen: false } });
    });
  }

  updateParticipant(id: number, opts: Partial<ParticipantOptions>): void {
    const pl = this.#idRoom.get(id);
    const p = pl?.participants.get(id);
    if (!pl || !p) return;
    p.opts = { ...p.opts, ...opts };
    for (const lane of pl.lanes) lane.send({ op: 'updateParticipant', id, opts });
  }

  removeParticipant(id: number): void {
    const pl = this.#idRoom.get(id);
    const p = pl?.participants.get(id);
    if (!pl || !p) return;
    this.#idRoom.delete(id);
    pl.participants.delete(id);
    if (p.shard >= 0) pl.listeners[p.shard]--;
    for (const lane of pl.lanes) {
      lane.participants--;
      lane.send({ op: 'removeParticipant', id });
    }
  }

  resetDecoder(id: number): void {
    const pl = this.#idRoom.get(id);
    if (pl?.participants.has(id)) for (const lane of pl.lanes) lane.send({ op: 'resetDecoder', id });
  }

  /** Forwarders are mixed by the room's first shard, which hears every participant. */
  addForwarder(room: number, id: number, opts: ForwarderOptions): void {
    const pl = this.#rooms.get(room);
    if (!pl) return;
    this.#idRoom.set(id, pl);
    pl.lanes[0].send({ op: 'addForwarder', room, id, opts });
  }

  removeForwarder(id: number): void {
    const pl = this.#idRoom.get(id);
    if (!pl || pl.participants.has(id)) return;
    this.#idRoom.delete(id);
    pl.lanes[0].send({ op: 'removeForwarder', id });
  }

  /** Every shard plays the file (each has listeners who must hear it); only the first reports its end. */
  playFile(room: number, id: number, packets: Uint8Array[], loop: boolean, group = 0): void {
    const pl = this.#rooms.get(room);
    if (!pl) return;
    pl.files.set(id, { packets, loop, group });
    for (const lane of pl.lanes) lane.send({ op: 'playFile', room, id, packets, loop, group });
  }

  stopFile(room: number, id: number): void {
    const pl = this.#rooms.get(room);
    if (!pl) return;
    pl.files.delete(id);
    for (const lane of pl.lanes) lane.send({ op: 'stopFile', room, id });
  }

  record(room: number, path: string | null, tmpExt?: string): void {
    this.#rooms.get(room)?.lanes[0].send({ op: 'record', room, path, ...(tmpExt ? { tmpExt } : {}) });
  }

  /** An RTP packet from participant `id` (copied into the ring of each shard of its room: the caller keeps its buffer). */
  pushRtp(id: number, buf: Buffer, off: number, len: number): void {
    const lanes = this.#idRoom.get(id)?.lanes;
    if (!lanes) return;
    for (let i = 0; i < lanes.length; i++) lanes[i].pushRtp(id, buf, off, len);
  }

  /** Events of one lane: a file's end and recordings are the first shard's to report. */
  #laneEvent(lane: Lane, e: MixerEvent): void {
    if (e.ev === 'fileEnded') {
      const pl = this.#rooms.get(e.room);
      if (pl && pl.lanes[0] !== lane) return;
      pl?.files.delete(e.id);
    }
    this.#cb.onEvent(e);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#lanes.map((l) => l.stop()));
  }
}
