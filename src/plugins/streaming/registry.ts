/**
 * The plugin's mountpoints and their management requests (JANUS-REFERENCE 2.5, synchronous):
 * create, edit, destroy, list, info, enable, disable, kick_all, recording. Secrets (`secret`),
 * the plugin's `admin_key` (needed to create when set), private mountpoints hidden from `list`.
 */
import { randomInt } from 'node:crypto';
import type { GatewayFacade } from '../../core/plugin.ts';
import { MjrRecorder } from '../../media/mjr.ts';
import type { PathPolicy } from '../../media/safe-path.ts';
import type { PortRange } from '../../media/udp-ports.ts';
import { STREAMING_ERROR, StreamingError, invalid, missing, noSuchMountpoint, unauthorized } from './errors.ts';
import { Fanout } from './fanout.ts';
import { Mountpoint } from './mountpoint.ts';
import { check, type Rule } from './params.ts';
import { RtpSource } from './rtp-source.ts';
import { parseMountpoint, type MountpointSpec } from './spec.ts';

export interface RegistrySettings {
  adminKey?: string;
  stringIds: boolean;
  range?: PortRange;
  /** Address RTP sockets bind to unless a stream names one. */
  iface: string;
  recording: PathPolicy & { tmpExt?: string };
}

/** Starts the non-RTP sources (RTSP, files): provided by the plugin. */
export type SourceStarter = (mp: Mountpoint) => Promise<void>;

/** Viewers are told and hung up (kick_all, destroy). */
export type KickViewers = (mp: Mountpoint) => void;

/**
 * Writes one mountpoint's section of janus.plugin.streaming.jcfg (undefined: removes it); absent
 * when no configuration folder is known.
 */
export type Persist = (section: string, group: Record<string, unknown> | undefined) => Promise<void>;

/** Request keys that are not mountpoint settings, left out of a permanent mountpoint's section. */
const NOT_SETTINGS = new Set(['request', 'permanent', 'admin_key']);

export class MountpointRegistry {
  readonly mountpoints = new Map<string, Mountpoint>();

  constructor(
    private readonly gw: GatewayFacade,
    readonly settings: RegistrySettings,
    private readonly startSource: SourceStarter,
    private readonly kick: KickViewers,
    private readonly persist?: Persist,
  ) {}

  #needPersist(body: Record<string, unknown>, what: string): boolean {
    const permanent = body.permanent === true;
    if (permanent && !this.persist) throw new StreamingError(STREAMING_ERROR.UNKNOWN_ERROR, `No configuration file, can't ${what} mountpoint permanently`);
    return permanent;
  }

  /** Section name of a new permanent mountpoint: its name, as Janus does, unless another uses it. */
  #sectionFor(mp: Mountpoint): string {
    const taken = [...this.mountpoints.values()].some((o) => o !== mp && o.section === mp.spec.name);
    return /^[A-Za-z*][A-Za-z0-9_*-]{0,63}$/.test(mp.spec.name) && mp.spec.name !== 'general' && !taken ? mp.spec.name : `mp-${String(mp.id)}`;
  }

  key(id: unknown): string {
    return String(id);
  }

  get(id: unknown): Mountpoint | undefined {
    return this.mountpoints.get(this.key(id));
  }

  /** The mountpoint a request names by `id` (453/454/455). */
  named(body: Record<string, unknown>): Mountpoint {
    check(body, [['id', 'id', true]], this.settings.stringIds);
    const mp = this.get(body.id);
    if (!mp) throw noSuchMountpoint(body.id);
    return mp;
  }

  #checkSecret(mp: Mountpoint, body: Record<string, unknown>): void {
    if (mp.spec.secret === undefined) return;
    if (this.#adminOk(body)) return;
    if (body.secret === undefined) throw missing('secret');
    if (typeof body.secret !== 'string') throw invalid('secret');
    if (body.secret !== mp.spec.secret) throw unauthorized('secret');
  }

  #adminOk(body: Record<string, unknown>): boolean {
    return this.settings.adminKey !== undefined && body.admin_key === this.settings.adminKey;
  }

  /** Add a mountpoint and start its source. */
  async add(spec: MountpointSpec): Promise<Mountpoint> {
    const key = this.key(spec.id);
    if (this.mountpoints.has(key)) throw new StreamingError(STREAMING_ERROR.CANT_CREATE, 'A stream with the provided ID already exists');
    const mp = new Mountpoint(spec, new Fanout(this.gw, spec.streams, spec.e2ee));
    this.mountpoints.set(key, mp); // reserve the id while sockets bind
    try {
      if (spec.source === 'rtp') mp.source = await RtpSource.open(mp.fanout, this.settings.range, this.settings.iface, spec.srtp);
      else await this.startSource(mp);
    } catch (err) {
      this.mountpoints.delete(key);
      mp.close();
      throw err;
    }
    return mp;
  }

  #newId(): number | string {
    for (;;) {
      const id = this.settings.stringIds ? String(randomInt(1, 2 ** 47)) : randomInt(1, 2 ** 47);
      if (!this.mountpoints.has(this.key(id))) return id;
    }
  }

  async create(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.settings.adminKey !== undefined) {
      if (body.admin_key === undefined) throw missing('admin_key');
      if (body.admin_key !== this.settings.adminKey) throw unauthorized('admin_key');
    }
    const rules: Rule[] = [['type', 'string', true], ['id', 'id'], ['name', 'string'], ['description', 'string'], ['metadata', 'string'], ['is_private', 'boolean'], ['secret', 'string'], ['pin', 'string'], ['permanent', 'boolean']];
    check(body, rules, this.settings.stringIds);
    const id = body.id ?? this.#newId();
    if (this.get(id)) throw new StreamingError(STREAMING_ERROR.CANT_CREATE, 'A stream with the provided ID already exists');
    const permanent = this.#needPersist(body, 'create');
    const spec = parseMountpoint(body, id as number | string, false);
    const mp = await this.add(spec);
    if (permanent) {
      const group: Record<string, unknown> = { id };
      for (const [k, v] of Object.entries(body)) if (!NOT_SETTINGS.has(k) && k !== 'id') group[k] = v;
      mp.section = this.#sectionFor(mp);
      mp.config = group;
      await this.persist!(mp.section, group);
    }
    const reply: Record<string, unknown> = { streaming: 'created', created: spec.name, permanent, stream: mp.createdEntry() };
    if (spec.legacy && spec.source !== 'live' && spec.source !== 'ondemand') reply.warning = 'deprecated_api';
    return reply;
  }

  async edit(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const mp = this.named(body);
    this.#checkSecret(mp, body);
    check(body, [['new_description', 'string'], ['new_metadata', 'string'], ['new_secret', 'string'], ['new_pin', 'string'], ['new_is_private', 'boolean'], ['permanent', 'boolean']]);
    const permanent = this.#needPersist(body, 'edit');
    const s = mp.spec;
    if (typeof body.new_description === 'string') s.description = body.new_description;
    if (typeof body.new_metadata === 'string') s.metadata = body.new_metadata;
    if (typeof body.new_secret === 'string') s.secret = body.new_secret;
    if (typeof body.new_pin === 'string') s.pin = body.new_pin;
    if (typeof body.new_is_private === 'boolean') s.isPrivate = body.new_is_private;
    if (permanent) {
      // A mountpoint created without `permanent` gets its section now, from what it runs with.
      const group = mp.config ?? { id: mp.id, type: s.source, name: s.name };
      const set = (k: string, v: unknown): void => { if (v === undefined) delete group[k]; else group[k] = v; };
      set('description', s.description);
      set('metadata', s.metadata);
      set('secret', s.secret);
      set('pin', s.pin);
      set('is_private', s.isPrivate);
      mp.section ??= this.#sectionFor(mp);
      mp.config = group;
      await this.persist!(mp.section, group);
    }
    return { streaming: 'edited', id: s.id, permanent };
  }

  async destroy(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const mp = this.named(body);
    this.#checkSecret(mp, body);
    check(body, [['permanent', 'boolean']]);
    const permanent = this.#needPersist(body, 'destroy');
    this.kick(mp);
    this.mountpoints.delete(this.key(mp.id));
    this.#stopRecording(mp);
    mp.close();
    if (permanent && mp.section !== undefined) await this.persist!(mp.section, undefined);
    return { streaming: 'destroyed', destroyed: mp.id };
  }

  list(body: Record<string, unknown>): Record<string, unknown> {
    const admin = this.#adminOk(body);
    const list = [...this.mountpoints.values()].filter((mp) => admin || !mp.spec.isPrivate).map((mp) => mp.listEntry());
    return { streaming: 'list', list };
  }

  info(body: Record<string, unknown>): Record<string, unknown> {
    const mp = this.named(body);
    const privileged = this.#adminOk(body) || mp.spec.secret === undefined || body.secret === mp.spec.secret;
    return { streaming: 'info', info: mp.info(privileged) };
  }

  setEnabled(body: Record<string, unknown>, enabled: boolean): Record<string, unknown> {
    const mp = this.named(body);
    this.#checkSecret(mp, body);
    mp.spec.enabled = enabled;
    if (!enabled && body.stop_recording === true) this.#stopRecording(mp);
    return { streaming: 'ok' };
  }

  kickAll(body: Record<string, unknown>): Record<string, unknown> {
    const mp = this.named(body);
    this.#checkSecret(mp, body);
    this.kick(mp);
    return { streaming: 'kicked_all' };
  }

  /** `recording`: action start|stop, `media` [{mid, filename}] or legacy audio/video/data file names. */
  async recording(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    check(body, [['action', 'string', true]]);
    const mp = this.named(body);
    this.#checkSecret(mp, body);
    const action = body.action;
    if (action !== 'start' && action !== 'stop') throw invalid('action');
    if (!mp.live || mp.spec.source !== 'rtp') throw new StreamingError(STREAMING_ERROR.CANT_RECORD, 'Recording is only possible on live RTP mountpoints');
    const wanted = this.#recordTargets(mp, body, action === 'start');
    if (action === 'stop') {
      for (const [i] of wanted) void this.#closeRecorder(mp, i);
      return { streaming: 'ok' };
    }
    for (const [i] of wanted) {
      if (mp.fanout.streams[i].recorder) throw new StreamingError(STREAMING_ERROR.CANT_RECORD, 'Recording for this stream is already active');
    }
    for (const [i, filename] of wanted) {
      const st = mp.fanout.streams[i];
      if (st.spec.type === 'data' || !st.codec) throw new StreamingError(STREAMING_ERROR.CANT_RECORD, 'Recording data streams is not supported');
      try {
        st.recorder = await MjrRecorder.open({ ...this.settings.recording, filename: filename!, codec: st.codec, ...(st.fmtp ? { fmtp: st.fmtp } : {}), clockRate: st.clockRate });
      } catch (err) {
        throw new StreamingError(STREAMING_ERROR.CANT_RECORD, `Error starting recording: ${(err as Error).message}`);
      }
    }
    return { streaming: 'ok' };
  }

  #recordTargets(mp: Mountpoint, body: Record<string, unknown>, start: boolean): Array<[number, string | undefined]> {
    const streams = mp.fanout.streams;
    const out: Array<[number, string | undefined]> = [];
    if (body.media !== undefined) {
      if (!Array.isArray(body.media)) throw invalid('media');
      for (const item of body.media as unknown[]) {
        if (typeof item !== 'object' || item === null) throw invalid('media');
        const { mid, filename } = item as Record<string, unknown>;
        if (typeof mid !== 'string') throw missing('mid');
        const i = streams.findIndex((s) => s.spec.mid === mid);
        if (i < 0) throw new StreamingError(STREAMING_ERROR.CANT_RECORD, `No such mid ${mid}`);
        if (start && typeof filename !== 'string') throw missing('filename');
        out.push([i, filename as string | undefined]);
      }
    } else {
      for (const type of ['audio', 'video', 'data'] as const) {
        const v = body[type];
        if (v === undefined || v === false) continue;
        const i = streams.findIndex((s) => s.spec.type === type);
        if (i < 0) continue;
        if (start && typeof v !== 'string') throw invalid(type);
        out.push([i, typeof v === 'string' ? v : undefined]);
      }
    }
    if (out.length === 0) throw new StreamingError(STREAMING_ERROR.INVALID_REQUEST, 'Missing audio, video and/or data');
    return out;
  }

  async #closeRecorder(mp: Mountpoint, i: number): Promise<void> {
    const rec = mp.fanout.streams[i].recorder;
    mp.fanout.streams[i].recorder = undefined;
    try {
      await rec?.close();
    } catch (err) {
      this.gw.log.warn(`streaming: closing recording failed: ${(err as Error).message}`);
    }
  }

  #stopRecording(mp: Mountpoint): void {
    mp.fanout.streams.forEach((_s, i) => void this.#closeRecorder(mp, i));
  }

  closeAll(): void {
    for (const mp of this.mountpoints.values()) {
      this.#stopRecording(mp);
      mp.close();
    }
    this.mountpoints.clear();
  }
}
