/**
 * Rooms and their participants: publishers (who may be publishing streams) and subscribers (one
 * PeerConnection receiving streams of any publishers of the room), and how each is described in
 * Janus' events (`publishers` entries with their `streams`, subscriber `streams`).
 */
import { randomInt } from 'node:crypto';
import type { PluginHandle } from '../../core/plugin.ts';
import type { MjrRecorder } from '../../media/mjr.ts';
import type { Id } from './params.ts';
import type { RoomSettings } from './room-settings.ts';
import { SubStream, type PubStream, type SinkOwner } from './streams.ts';
import type { RtpForward } from './rtp-forward.ts';

/** Random ids below 2^53 (Janus' janus_random_uint64, JS-safe). */
export function randomId(): number {
  return randomInt(1, 2 ** 48) * 32 + randomInt(0, 32);
}

export class Room {
  settings: RoomSettings;
  readonly participants = new Map<Id, Publisher>();
  readonly subscribers = new Set<Subscriber>();
  readonly allowed = new Set<string>();
  checkAllowed = false;
  permanent = false;
  destroyed = false;

  constructor(settings: RoomSettings) {
    this.settings = settings;
  }

  get id(): Id {
    return this.settings.room;
  }

  publishing(): Publisher[] {
    return [...this.participants.values()].filter((p) => p.publishing);
  }

  byPrivateId(pvt: number): Publisher | undefined {
    for (const p of this.participants.values()) if (p.privateId === pvt) return p;
    return undefined;
  }
}

export interface AudioLevel {
  sum: number;
  count: number;
  talking: boolean;
}

export class Publisher {
  readonly kind = 'publisher' as const;
  readonly id: Id;
  display: string | undefined;
  readonly privateId: number;
  readonly room: Room;
  readonly handle: PluginHandle;
  streams: PubStream[] = [];
  /** Streams answered and not unpublished. */
  publishing = false;
  pcUp = false;
  dataReady = false;
  /** The publisher said its media is end-to-end encrypted (JSEP `e2ee`). */
  e2ee = false;
  /** The label of the channel its data reaches subscribers on (Janus uses the publisher id). */
  readonly dataLabel: string;
  bitrate = 0;
  lastRembMs = 0;
  lastFirMs = 0;
  lastPliMs = 0;
  readonly level: AudioLevel = { sum: 0, count: 0, talking: false };
  recording = false;
  recordingBase: string | undefined;
  recorders: MjrRecorder[] = [];
  recorderTaps: Array<[PubStream, (buf: Buffer) => void]> = [];
  readonly forwarders = new Map<number, RtpForward>();
  descriptions = new Map<string, string>();

  constructor(room: Room, handle: PluginHandle, id: Id, display: string | undefined) {
    this.room = room;
    this.handle = handle;
    this.id = id;
    this.dataLabel = String(id);
    this.display = display;
    this.privateId = randomInt(1, 2 ** 32);
  }

  streamByMid(mid: string): PubStream | undefined {
    return this.streams.find((s) => s.mid === mid);
  }

  /** The entry of `publishers` lists (janus.js subscribes from `streams`). */
  describe(): Record<string, unknown> {
    const e: Record<string, unknown> = { id: this.id };
    if (this.display !== undefined) e.display = this.display;
    const a = this.streams.find((s) => s.type === 'audio');
    const v = this.streams.find((s) => s.type === 'video');
    if (a) e.audio_codec = a.codec;
    if (v) e.video_codec = v.codec;
    e.streams = this.streams.map((s) => describePubStream(s, this.level.talking));
    if (this.streams.some((s) => s.type === 'audio' && s.audioLevelExtId > 0)) e.talking = this.level.talking;
    return e;
  }
}

/** A publisher stream as `streams` lists it; `talking` only where the audio-level extension is negotiated (as Janus). */
export function describePubStream(s: PubStream, talking?: boolean): Record<string, unknown> {
  const d: Record<string, unknown> = { type: s.type, mindex: s.mindex, mid: s.mid };
  if (s.disabled) d.disabled = true;
  if (s.type !== 'data') d.codec = s.codec;
  if (s.description !== undefined) d.description = s.description;
  if (s.muted) d.moderated = true;
  if (s.type === 'audio' && s.codec === 'opus' && s.fmtp?.includes('useinbandfec=1')) d.fec = true;
  if (s.type === 'audio' && s.codec === 'opus' && s.fmtp?.includes('usedtx=1')) d.dtx = true;
  if (talking !== undefined && s.type === 'audio' && s.audioLevelExtId > 0) d.talking = talking;
  if (s.simulcast) d.simulcast = true;
  return d;
}

export class Subscriber implements SinkOwner {
  readonly kind = 'subscriber' as const;
  readonly room: Room;
  readonly handle: PluginHandle;
  readonly streams: SubStream[] = [];
  pcUp = false;
  /** The subscriber opened a data channel (janus.js does when it answers an m=application). */
  dataReady = false;
  /** Janus subscribers wait for `start` before anything is sent. */
  paused = true;
  flowing = false;
  /** Version of our last offer (o= line). */
  offerVersion = 0;
  readonly sessionId = randomInt(1, 2 ** 40);
  /** Owner's private_id, when given. */
  pvtId: number | undefined;
  readonly legacy: boolean;
  /** Callbacks into the plugin (events, PLIs). */
  readonly hooks: { layer(s: Subscriber, st: SubStream, substream: boolean): void; svc(s: Subscriber, st: SubStream): void; keyframe(s: Subscriber, st: SubStream): void };

  constructor(room: Room, handle: PluginHandle, legacy: boolean, hooks: Subscriber['hooks']) {
    this.room = room;
    this.handle = handle;
    this.legacy = legacy;
    this.hooks = hooks;
  }

  update(): void {
    this.flowing = this.pcUp && !this.paused;
  }

  onLayerChange(stream: SubStream, substream: boolean): void {
    this.hooks.layer(this, stream, substream);
  }

  onSvcChange(stream: SubStream): void {
    this.hooks.svc(this, stream);
  }

  wantKeyframe(stream: SubStream): void {
    this.hooks.keyframe(this, stream);
  }

  addStream(source: PubStream, feedId: Id): SubStream {
    if (source.type === 'data') {
      // One data m-line per subscriber, whatever the number of data sources (as Janus).
      const data = this.streams.find((s) => s.type === 'data');
      if (data) {
        data.addDataSource(source);
        return data;
      }
    }
    // Reuse an inactive m-line of the same kind (as Janus recycles them), else add one.
    const free = this.streams.find((s) => !s.active && s.type === source.type && s.codec === source.codec && s.payloadType === source.payloadType);
    if (free) {
      free.feedId = feedId;
      free.attach(source);
      return free;
    }
    const s = new SubStream(this, this.streams.length, source, feedId);
    this.streams.push(s);
    return s;
  }

  streamByMid(mid: string): SubStream | undefined {
    return this.streams.find((s) => s.mid === mid);
  }

  describe(): Array<Record<string, unknown>> {
    return this.streams.map((s) => describeSubStream(this.room, s, this.pcUp));
  }

  detachAll(): void {
    for (const s of this.streams) s.detach();
  }
}

export function describeSubStream(room: Room, s: SubStream, ready: boolean): Record<string, unknown> {
  const d: Record<string, unknown> = { type: s.type, active: s.active, mindex: s.mindex, mid: s.mid, ready: ready && s.active, send: s.send };
  if (s.type === 'data') {
    // Janus lists the publishers feeding the data m-line.
    d.sources = s.dataSources.length;
    d.source_ids = s.dataSources.map((ps) => room.publishing().find((p) => p.streams.includes(ps))?.id).filter((id) => id !== undefined);
    return d;
  }
  if (!s.active || !s.source) return d;
  const feed = s.feedId !== undefined ? room.participants.get(s.feedId) : undefined;
  d.feed_id = s.feedId;
  if (feed?.display !== undefined) d.feed_display = feed.display;
  d.feed_mid = s.source.mid;
  if (s.source.description !== undefined) d.feed_description = s.source.description;
  d.codec = s.source.codec;
  if (s.sim) {
    d.simulcast = { substream: s.sim.substream, 'substream-target': s.sim.target, temporal: s.sim.templayer, 'temporal-target': s.sim.templayerTarget };
  }
  if (s.svc) {
    const v = s.svc;
    d.svc = { 'spatial-layer': v.spatial, 'target-spatial-layer': v.spatialTarget, 'temporal-layer': v.temporal, 'target-temporal-layer': v.temporalTarget };
  }
  return d;
}
