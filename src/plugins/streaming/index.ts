/**
 * janus.plugin.streaming (JANUS-REFERENCE 2.5): mountpoints fed by RTP (unicast, multicast, data
 * port), RTSP cameras (our own client, src/interop/rtsp: UDP or TCP-interleaved, Digest, reconnect,
 * on-demand pull) and audio files (live or on demand), watched by WebRTC viewers.
 *
 * - Management requests (synchronous, registry.ts): create, edit, destroy, list, info, enable,
 *   disable, kick_all, recording.
 * - Viewer requests (asynchronous, in arrival order per handle): watch (server offer, a subset of
 *   mids), start (the viewer's answer), pause, configure (per-mid send), switch (to another live
 *   mountpoint with the same layout, no renegotiation), stop. Status events preparing, starting,
 *   started, pausing, stopping, stopped as Janus sends them.
 * - Media: fanout.ts writes each source packet to every viewer, header rewritten, no allocation.
 */
import type { GatewayFacade, Jsep, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { parseSdp } from '../../core/webrtc/sdp.ts';
import { parsePortRangeString, type PortRange } from '../../media/udp-ports.ts';
import { STREAMING_ERROR, StreamingError, invalid, noSuchMountpoint, unauthorized } from './errors.ts';
import { newViewerStream, resetSimulcast, type Viewer } from './fanout.ts';
import type { Mountpoint } from './mountpoint.ts';
import { buildOffer, offeredPt } from './offer.ts';
import { check, truthy } from './params.ts';
import { DEFAULT_FALLBACK_US } from '../../media/simulcast.ts';
import { MountpointRegistry, type Persist } from './registry.ts';
import { saveJcfg } from '../../config/jcfg-write.ts';
import path from 'node:path';
import { parseMountpoint } from './spec.ts';
import { startRtspSource } from './rtsp-source.ts';
import { startFileSource, OnDemandFile } from './file-source.ts';

const SYNC_REQUESTS = new Set(['list', 'info', 'create', 'edit', 'destroy', 'recording', 'enable', 'disable', 'kick_all']);
const ASYNC_REQUESTS = new Set(['watch', 'start', 'pause', 'configure', 'switch', 'stop']);

interface StreamingSession {
  handle: PluginHandle;
  mountpoint: Mountpoint | undefined;
  viewer: Viewer | undefined;
  /** On-demand file playback owned by this viewer. */
  onDemand: OnDemandFile | undefined;
  started: boolean;
  paused: boolean;
  connected: boolean;
  offers: number;
  destroyed: boolean;
  queue: Promise<void>;
}

export class StreamingPlugin implements Plugin {
  readonly package = 'janus.plugin.streaming';
  readonly name = 'JANUS Streaming plugin';
  readonly description = 'Streams RTP, RTSP and file sources to WebRTC viewers (Portunus).';
  readonly author = 'Portunus developers';
  readonly version = 1;
  readonly versionString = '0.0.1';
  #gw!: GatewayFacade;
  #registry!: MountpointRegistry;
  #stringIds = false;
  #sessions = new Set<StreamingSession>();

  get registry(): MountpointRegistry {
    return this.#registry;
  }

  async init(gateway: GatewayFacade, config: Record<string, unknown>, global: PortunusConfig): Promise<void> {
    this.#gw = gateway;
    const general = (config.general ?? {}) as Record<string, unknown>;
    this.#stringIds = truthy(general.string_ids);
    const rangeText = typeof general.rtp_port_range === 'string' ? general.rtp_port_range : global.media.rtp_port_range;
    const tmpExt = global.general.recordings_tmp_ext;
    this.#registry = new MountpointRegistry(gateway, {
      ...(typeof general.admin_key === 'string' ? { adminKey: general.admin_key } : {}),
      stringIds: this.#stringIds,
      range: parsePortRangeString(typeof rangeText === 'string' ? rangeText : undefined),
      iface: typeof general.iface === 'string' && general.iface !== '' ? general.iface : '0.0.0.0',
      recording: { baseDir: process.cwd(), protectedFolders: global.general.protected_folders, ...(tmpExt ? { tmpExt } : {}) },
    }, (mp) => this.#startSource(mp), (mp) => this.#kickAll(mp), this.#persister(config, global.general.configs_folder));
    for (const [name, section] of Object.entries(config)) {
      if (name === 'general' || typeof section !== 'object' || section === null || Array.isArray(section)) continue;
      const body = section as Record<string, unknown>;
      try {
        const id = body.id ?? name;
        const spec = parseMountpoint(body, this.#stringIds ? String(id) : Number(id), true, name);
        if (!this.#stringIds && !Number.isSafeInteger(spec.id)) throw invalid('id');
        const mp = await this.#registry.add(spec);
        mp.section = name;
        mp.config = structuredClone(body);
      } catch (err) {
        gateway.log.warn(`streaming: mountpoint '${name}' skipped: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Permanent mountpoints (create/edit/destroy with `permanent`): the plugin's configuration as
   * loaded, with the changed section, written back to <configs_folder>/janus.plugin.streaming.jcfg.
   */
  #persister(config: Record<string, unknown>, folder: string | undefined): Persist | undefined {
    if (!folder) return undefined;
    const file = path.join(folder, `${this.package}.jcfg`);
    const raw = structuredClone(config);
    let writing = Promise.resolve();
    return (section, group) => {
      if (group) raw[section] = structuredClone(group);
      else delete raw[section];
      // One write at a time, in request order.
      writing = writing.catch(() => undefined).then(() => saveJcfg(file, raw));
      return writing.catch((err: unknown) => {
        throw new StreamingError(STREAMING_ERROR.UNKNOWN_ERROR, `Error saving the configuration: ${(err as Error).message}`);
      });
    };
  }

  async #startSource(mp: Mountpoint): Promise<void> {
    if (mp.spec.source === 'rtsp') mp.source = await startRtspSource(mp, this.#gw, this.#registryRange(), this.#registry.settings.iface);
    else if (mp.spec.source === 'live') mp.source = await startFileSource(mp, this.#gw, () => this.#sourceEnded(mp));
    // ondemand files start per viewer
  }

  #registryRange(): PortRange | undefined {
    return this.#registry?.settings.range;
  }

  destroy(): void {
    this.#registry?.closeAll();
  }

  createSession(handle: PluginHandle): void {
    const s: StreamingSession = {
      handle, mountpoint: undefined, viewer: undefined, onDemand: undefined, started: false, paused: false, connected: false, offers: 0, destroyed: false, queue: Promise.resolve(),
    };
    handle.pluginState = s;
    this.#sessions.add(s);
  }

  #error(err: unknown): Record<string, unknown> {
    if (err instanceof StreamingError) return { streaming: 'event', error_code: err.code, error: err.message };
    this.#gw.log.warn(`streaming: request failed: ${(err as Error)?.message ?? String(err)}`);
    return { streaming: 'event', error_code: STREAMING_ERROR.UNKNOWN_ERROR, error: (err as Error)?.message ?? 'Unknown error' };
  }

  async handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<PluginResult> {
    const state = handle.pluginState as StreamingSession | undefined;
    if (!state) return { kind: 'error', reason: 'No session associated with this handle' };
    let request: string;
    try {
      if (body === undefined || body === null || typeof body !== 'object') throw new StreamingError(STREAMING_ERROR.INVALID_JSON, 'JSON error: not an object');
      check(body, [['request', 'string', true]]);
      request = (body.request as string).toLowerCase();
      if (SYNC_REQUESTS.has(request)) return { kind: 'ok', data: await this.#sync(request, body) };
      if (!ASYNC_REQUESTS.has(request)) throw new StreamingError(STREAMING_ERROR.INVALID_REQUEST, `Unknown request '${String(body.request).slice(0, 64)}'`);
    } catch (err) {
      return { kind: 'ok', data: this.#error(err) };
    }
    state.queue = state.queue.then(() => this.#async(state, request, transaction, body, jsep)).catch((err: unknown) => {
      this.#gw.log.warn(`streaming: ${request} failed: ${(err as Error).message}`);
    });
    return { kind: 'ack' };
  }

  handleAdminMessage(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.#sync(String(body.request ?? ''), body).catch((err: unknown) => this.#error(err));
  }

  async #sync(request: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const r = this.#registry;
    switch (request) {
      case 'list': return r.list(body);
      case 'info': return r.info(body);
      case 'create': return r.create(body);
      case 'edit': return r.edit(body);
      case 'destroy': return r.destroy(body);
      case 'recording': return r.recording(body);
      case 'enable': return r.setEnabled(body, true);
      case 'disable': return r.setEnabled(body, false);
      case 'kick_all': return r.kickAll(body);
      default: throw new StreamingError(STREAMING_ERROR.INVALID_REQUEST, `Unknown request '${request.slice(0, 64)}'`);
    }
  }

  async #async(s: StreamingSession, request: string, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<void> {
    if (s.destroyed) return;
    try {
      switch (request) {
        case 'watch': return await this.#watch(s, transaction, body);
        case 'start': return this.#start(s, transaction, jsep);
        case 'pause': return this.#pause(s, transaction);
        case 'configure': return this.#configure(s, transaction, body);
        case 'switch': return this.#switch(s, transaction, body);
        case 'stop': return this.#stop(s, transaction);
      }
    } catch (err) {
      this.#gw.pushEvent(s.handle, this.#error(err), { transaction });
    }
  }

  #status(s: StreamingSession, status: string, transaction?: string): void {
    this.#gw.pushEvent(s.handle, { streaming: 'event', result: { status } }, transaction ? { transaction } : {});
  }

  async #watch(s: StreamingSession, transaction: string, body: Record<string, unknown>): Promise<void> {
    check(body, [['id', 'id', true], ['pin', 'string'], ['media', 'array'], ['offer_audio', 'boolean'], ['offer_video', 'boolean'], ['offer_data', 'boolean']], this.#stringIds);
    const mp = this.#registry.get(body.id);
    if (!mp) throw noSuchMountpoint(body.id);
    if (mp.spec.pin !== undefined && body.pin !== mp.spec.pin) throw unauthorized('pin');
    if (!mp.spec.enabled) throw new StreamingError(STREAMING_ERROR.NO_SUCH_MOUNTPOINT, 'Mountpoint is disabled');
    if (s.viewer) throw new StreamingError(STREAMING_ERROR.INVALID_STATE, 'Already watching a stream');
    const streams = mp.fanout.streams.filter((st) => {
      // A subset of mids: [{mid}] as Janus 1.1 takes it (plain mid strings accepted too).
      if (Array.isArray(body.media)) return (body.media as unknown[]).some((m) => m === st.spec.mid || (typeof m === 'object' && m !== null && (m as Record<string, unknown>).mid === st.spec.mid));
      const flag = body[`offer_${st.spec.type}`];
      return flag !== false;
    });
    const viewer: Viewer = { handle: s.handle, streams: [], live: false, dataReady: false };
    s.mountpoint = mp;
    s.viewer = viewer;
    s.started = false;
    s.paused = false;
    if (mp.live) {
      // Joining first lets an on-demand RTSP source connect while we wait for its codecs.
      mp.fanout.viewers.add(viewer);
      mp.source?.viewersChanged?.(mp.fanout.viewers.size);
    }
    for (let i = 0; i < 100 && streams.some((st) => st.spec.type !== 'data' && !st.codec); i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (s.viewer !== viewer) return;
    }
    const usable = streams.filter((st) => st.spec.type === 'data' || st.codec);
    if (usable.length === 0 || s.destroyed) {
      this.#leave(s);
      if (s.destroyed) return;
      throw new StreamingError(STREAMING_ERROR.INVALID_STATE, 'No media to offer (source not ready)');
    }
    for (const st of usable) viewer.streams[st.index] = newViewerStream(st, st.spec.mid, offeredPt(st));
    if (!mp.live) s.onDemand = new OnDemandFile(mp, this.#gw, viewer, () => this.#ended(s));
    const sdp = buildOffer(mp.spec.name, ++s.offers, usable);
    // As Janus: janus.js sets up insertable streams when the offer says e2ee.
    this.#gw.pushEvent(s.handle, { streaming: 'event', result: { status: 'preparing' } }, { transaction, jsep: { type: 'offer', sdp, ...(mp.spec.e2ee ? { e2ee: true } : {}) } });
  }

  #start(s: StreamingSession, transaction: string, jsep: Jsep | undefined): void {
    const v = s.viewer;
    if (!v || !s.mountpoint) throw new StreamingError(STREAMING_ERROR.NO_SUCH_MOUNTPOINT, "Can't start: no mountpoint set");
    if (jsep && jsep.type !== 'answer') throw new StreamingError(STREAMING_ERROR.INVALID_ELEMENT, 'Invalid element (jsep should be an answer)');
    if (jsep) {
      // m-lines the viewer rejected (port 0) get nothing.
      const answer = parseSdp(jsep.sdp);
      for (const [i, vs] of v.streams.entries()) {
        if (!vs) continue;
        const m = answer.media.find((x) => x.mid === vs.mid);
        if (!m || m.port === 0 || m.direction === 'inactive' || m.direction === 'sendonly') v.streams[i] = undefined;
      }
    } else if (!s.started && !s.paused) {
      throw new StreamingError(STREAMING_ERROR.MISSING_ELEMENT, 'Missing element (jsep)');
    }
    s.started = true;
    s.paused = false;
    this.#status(s, 'starting', transaction);
    if (s.connected) this.#goLive(s);
  }

  #goLive(s: StreamingSession): void {
    const v = s.viewer;
    if (!v || !s.started || s.paused || v.live) return;
    v.live = true;
    if (s.onDemand) s.onDemand.play();
    else s.mountpoint?.fanout.primeViewer(v);
    const mp = s.mountpoint;
    if (mp) {
      for (const st of mp.fanout.streams) {
        if (st.spec.type === 'data' && st.lastMessage !== undefined && v.streams[st.index]) this.#gw.relayData(s.handle, 'JanusDataChannel', st.lastMessage);
      }
    }
  }

  #pause(s: StreamingSession, transaction: string): void {
    if (!s.viewer) throw new StreamingError(STREAMING_ERROR.NO_SUCH_MOUNTPOINT, "Can't start: no mountpoint set"); // sic, Janus 1.1.2
    s.paused = true;
    s.viewer.live = false;
    s.onDemand?.pause();
    this.#status(s, 'pausing', transaction);
  }

  #configure(s: StreamingSession, transaction: string, body: Record<string, unknown>): void {
    const v = s.viewer;
    const mp = s.mountpoint;
    if (!v || !mp) throw new StreamingError(STREAMING_ERROR.NO_SUCH_MOUNTPOINT, "Can't configure: not on a mountpoint");
    const layerRules = [['substream', 'integer'], ['temporal', 'integer'], ['fallback', 'integer']] as const;
    check(body, [['media', 'array'], ['audio', 'boolean'], ['video', 'boolean'], ['data', 'boolean'], ...layerRules]);
    // Simulcast targets (JANUS-REFERENCE 2.5 configure): per mid, or top-level for every simulcast stream.
    const setLayers = (i: number, o: Record<string, unknown>): void => {
      const vs = v.streams[i];
      const sim = vs?.sim;
      if (!vs || !sim) return;
      if (typeof o.substream === 'number') {
        if (o.substream < 0 || o.substream > 2) throw invalid('substream');
        vs.substreamTarget = o.substream;
        if (sim.setTarget(o.substream)) this.#gw.pushEvent(s.handle, { streaming: 'event', result: { mid: vs.mid, substream: sim.substream } });
        else mp.fanout.streams[i].requestKeyframe?.();
      }
      if (typeof o.temporal === 'number') {
        if (o.temporal < 0 || o.temporal > 2) throw invalid('temporal');
        vs.temporalTarget = o.temporal;
        if (sim.setTemporalTarget(o.temporal)) this.#gw.pushEvent(s.handle, { streaming: 'event', result: { mid: vs.mid, temporal: sim.templayer } });
      }
      if (typeof o.fallback === 'number') sim.fallbackMs = (o.fallback || DEFAULT_FALLBACK_US) / 1000;
    };
    const setSend = (i: number, send: boolean): void => {
      const vs = v.streams[i];
      if (!vs) return;
      if (send && !vs.send && mp.fanout.streams[i].waitsForKeyframes) vs.waitKeyframe = true;
      vs.send = send;
      if (send && mp.fanout.streams[i].video) mp.fanout.streams[i].requestKeyframe?.();
    };
    if (Array.isArray(body.media)) {
      for (const item of body.media as unknown[]) {
        if (typeof item !== 'object' || item === null) throw invalid('media');
        const { mid, send } = item as Record<string, unknown>;
        if (typeof mid !== 'string') throw new StreamingError(STREAMING_ERROR.MISSING_ELEMENT, 'Missing element (mid)');
        const i = mp.fanout.streams.findIndex((st) => st.spec.mid === mid);
        if (i < 0) throw new StreamingError(STREAMING_ERROR.INVALID_ELEMENT, `Invalid element (no such mid ${mid.slice(0, 16)})`);
        check(item as Record<string, unknown>, [['send', 'boolean'], ...layerRules]);
        if (typeof send === 'boolean') setSend(i, send);
        setLayers(i, item as Record<string, unknown>);
      }
    }
    mp.fanout.streams.forEach((_st, i) => setLayers(i, body));
    for (const type of ['audio', 'video', 'data'] as const) {
      if (typeof body[type] !== 'boolean') continue;
      mp.fanout.streams.forEach((st, i) => { if (st.spec.type === type) setSend(i, body[type] as boolean); });
    }
    this.#gw.pushEvent(s.handle, { streaming: 'event', result: { event: 'configured' } }, { transaction });
  }

  #switch(s: StreamingSession, transaction: string, body: Record<string, unknown>): void {
    const v = s.viewer;
    const from = s.mountpoint;
    if (!v || !from) throw new StreamingError(STREAMING_ERROR.NO_SUCH_MOUNTPOINT, "Can't switch: not on a mountpoint");
    check(body, [['id', 'id', true]], this.#stringIds);
    const to = this.#registry.get(body.id);
    if (!to) throw noSuchMountpoint(body.id);
    if (!from.live || !to.live) throw new StreamingError(STREAMING_ERROR.CANT_SWITCH, "Can't switch to/from an on-demand mountpoint");
    if (to.spec.pin !== undefined && body.pin !== to.spec.pin) throw unauthorized('pin');
    if (!to.spec.enabled) throw new StreamingError(STREAMING_ERROR.NO_SUCH_MOUNTPOINT, 'Mountpoint is disabled');
    // Same layout needed: every watched stream maps to one of the same type and codec at the same index.
    for (const [i, vs] of v.streams.entries()) {
      if (!vs) continue;
      const a = from.fanout.streams[i];
      const b = to.fanout.streams[i];
      if (!b || b.spec.type !== a.spec.type || b.codec !== a.codec || b.spec.mid !== a.spec.mid) {
        throw new StreamingError(STREAMING_ERROR.CANT_SWITCH, "Can't switch: the mountpoints have different media");
      }
    }
    from.fanout.viewers.delete(v);
    from.source?.viewersChanged?.(from.fanout.viewers.size);
    for (const [i, vs] of v.streams.entries()) {
      if (!vs) continue;
      vs.rewriter.switchSource();
      const a = from.fanout.streams[i];
      const b = to.fanout.streams[i];
      // Same simulcast layout: the viewer's selector goes on in the same seq/ts/picture-id space.
      if (vs.sim && a.simulcast === b.simulcast) vs.sim.switchSource();
      else resetSimulcast(vs, b);
    }
    s.mountpoint = to;
    to.fanout.viewers.add(v);
    to.source?.viewersChanged?.(to.fanout.viewers.size);
    if (v.live) to.fanout.primeViewer(v);
    this.#gw.pushEvent(s.handle, { streaming: 'event', result: { switched: 'ok', id: to.id } }, { transaction });
  }

  #stop(s: StreamingSession, transaction: string): void {
    this.#leave(s);
    this.#status(s, 'stopping', transaction);
    this.#gw.closePc(s.handle);
  }

  /** Take the viewer out of its mountpoint. */
  #leave(s: StreamingSession): void {
    const v = s.viewer;
    const mp = s.mountpoint;
    s.viewer = undefined;
    s.mountpoint = undefined;
    s.started = false;
    s.paused = false;
    s.onDemand?.close();
    s.onDemand = undefined;
    if (v) v.live = false;
    if (v && mp && mp.fanout.viewers.delete(v)) mp.source?.viewersChanged?.(mp.fanout.viewers.size);
  }

  /** An on-demand file ended for this viewer. */
  #ended(s: StreamingSession): void {
    this.#leave(s);
    this.#status(s, 'stopped');
    this.#gw.closePc(s.handle);
  }

  /** A live file source ended: everyone watching is done. */
  #sourceEnded(mp: Mountpoint): void {
    this.#kickAll(mp);
  }

  #kickAll(mp: Mountpoint): void {
    for (const s of this.#sessions) {
      if (s.mountpoint !== mp) continue;
      this.#leave(s);
      this.#status(s, 'stopped');
      this.#gw.closePc(s.handle);
    }
  }

  setupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as StreamingSession | undefined;
    if (!s || s.destroyed) return;
    s.connected = true;
    if (s.started) {
      this.#goLive(s);
      this.#status(s, 'started');
    }
  }

  dataReady(handle: PluginHandle): void {
    const s = handle.pluginState as StreamingSession | undefined;
    if (s?.viewer) s.viewer.dataReady = true;
  }

  incomingRtcp(handle: PluginHandle, packet: { buffer: Buffer; video: boolean }): void {
    const s = handle.pluginState as StreamingSession | undefined;
    const mp = s?.mountpoint;
    if (!mp || !packet.video) return;
    // A viewer's PLI/FIR (RTCP PSFB, PT 206): ask the source for a keyframe when it can be asked.
    const b = packet.buffer;
    if (b.length >= 12 && b[1] === 206) for (const st of mp.fanout.streams) if (st.video) st.requestKeyframe?.();
  }

  hangupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as StreamingSession | undefined;
    if (!s) return;
    s.connected = false;
    this.#leave(s);
  }

  destroySession(handle: PluginHandle): void {
    const s = handle.pluginState as StreamingSession | undefined;
    if (!s) return;
    s.destroyed = true;
    this.#leave(s);
    this.#sessions.delete(s);
  }

  querySession(handle: PluginHandle): Record<string, unknown> {
    const s = handle.pluginState as StreamingSession;
    const info: Record<string, unknown> = { state: s.viewer ? (s.paused ? 'paused' : s.started ? 'watching' : 'preparing') : 'idle' };
    if (s.mountpoint) info.mountpoint = s.mountpoint.id;
    info.destroyed = s.destroyed ? 1 : 0;
    return info;
  }
}

export default (): Plugin => new StreamingPlugin();
