/**
 * janus.plugin.videoroom (JANUS-REFERENCE 2.2): the multi-party SFU with Janus 1.1.2's request set.
 *
 * - rooms from janus.plugin.videoroom.jcfg (`room-<id>` groups) and the synchronous room requests
 *   (room-requests.ts), permanent ones written back to the file;
 * - publishers (join, joinandconfigure, configure, publish, unpublish, leave) whose offers are
 *   answered recvonly with the room's codecs (publisher-sdp.ts), announced to the room with their
 *   `streams`;
 * - subscribers (join ptype subscriber with `streams`, or the legacy `feed`; subscribe, unsubscribe,
 *   update, start, pause, configure, switch, leave): we offer, they answer in `start`; a feed that
 *   unpublishes turns their streams inactive with `updated` and a new offer;
 * - media (streams.ts): zero-allocation fan-out with per-subscriber SSRC/sequence/timestamp rewriting,
 *   simulcast layer selection on keyframes, PLI to the publisher on subscribe and on subscriber
 *   PLI/FIR, fir_freq, REMB bitrate caps, talking events, MJR recording and RTP forwarders.
 *
 * Async requests of one handle run one at a time in arrival order.
 */
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { GatewayFacade, Jsep, MediaPacket, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { parseSdp, writeSdp } from '../../core/webrtc/sdp.ts';
import { RtcpKind, RtcpWalker } from '../../media/rtcp.ts';
import { RtpView } from '../../media/rtp.ts';
import { errorBody, VR_ERROR, vrError } from './errors.ts';
import { check, type Id, type IdMode } from './params.ts';
import { describePubStream, Publisher, randomId, Room, Subscriber } from './model.ts';
import { settingsFrom } from './room-settings.ts';
import { checkSecret, findRoom, handleRoomRequest, type RoomHost } from './room-requests.ts';
import { Forwarder, type PubStream, type SubStream } from './streams.ts';
import { negotiatePublisher, subscriberOfferSdp, type OfferLine } from './publisher-sdp.ts';
import { saveJcfg } from '../../config/jcfg-write.ts';
import { startRecording, stopRecording, type RecordingContext } from './recording.ts';

const SYNC = new Set(['create', 'edit', 'destroy', 'exists', 'list', 'allowed', 'kick', 'moderate', 'listparticipants', 'listforwarders', 'enable_recording', 'rtp_forward', 'stop_rtp_forward']);
const ASYNC = new Set(['join', 'joinandconfigure', 'configure', 'publish', 'unpublish', 'start', 'pause', 'switch', 'leave', 'subscribe', 'unsubscribe', 'update']);
/** Janus' "no limit" REMB value. */
const NO_BITRATE_CAP = 10_000_000;
/** Minimum interval between PLIs relayed to one publisher. */
const PLI_MIN_MS = 500;

interface HandleState {
  role: Publisher | Subscriber | undefined;
  /** The participant left, was kicked or its room destroyed: Janus wants a new handle. */
  left: boolean;
  queue: Promise<void>;
  destroyed: boolean;
}

const truthy = (v: unknown): boolean => v === true || v === 'true' || v === 'yes' || v === 1;

/**
 * require_e2ee: a publisher's offer must say `"e2ee": true` in its JSEP (janus.js does with
 * Insertable Streams) unless this publisher already did. Janus 1.1.2 asks nothing of subscribers.
 */
function checkE2ee(room: Room, offer: Jsep, already: boolean): void {
  if (room.settings.requireE2ee && offer.e2ee !== true && !already) throw vrError(VR_ERROR.UNAUTHORIZED, 'Room requires end-to-end encrypted media');
}

export class VideoRoomPlugin implements Plugin, RoomHost {
  readonly package = 'janus.plugin.videoroom';
  readonly name = 'JANUS VideoRoom plugin';
  readonly description = 'A multi-party SFU: publishers and subscribers in rooms (Portunus).';
  readonly author = 'Portunus developers';
  readonly version = 19;
  readonly versionString = '0.0.19';
  readonly rooms = new Map<Id, Room>();
  ids: IdMode = { stringIds: false };
  adminKey: string | undefined;
  lockRtpForward = false;
  #configPath: string | undefined;
  #raw: Record<string, unknown> = {};
  #gw!: GatewayFacade;
  #forwarder!: Forwarder;
  #rec: RecordingContext = { baseDir: process.cwd(), protectedFolders: [] };
  readonly #walker = new RtcpWalker();
  readonly #view = new RtpView();
  readonly #handles = new Set<PluginHandle>();

  init(gateway: GatewayFacade, config: Record<string, unknown>, global: PortunusConfig): void {
    this.#gw = gateway;
    this.#forwarder = new Forwarder(gateway);
    this.#raw = structuredClone(config);
    const tmpExt = global.general.recordings_tmp_ext;
    this.#rec = { baseDir: process.cwd(), protectedFolders: global.general.protected_folders, ...(tmpExt ? { tmpExt } : {}) };
    const folder = global.general.configs_folder;
    this.#configPath = folder ? path.join(folder, `${this.package}.jcfg`) : undefined;
    const general = (config.general ?? {}) as Record<string, unknown>;
    this.ids = { stringIds: truthy(general.string_ids) };
    if (typeof general.admin_key === 'string' && general.admin_key !== '') this.adminKey = general.admin_key;
    this.lockRtpForward = truthy(general.lock_rtp_forward);
    for (const [key, value] of Object.entries(config)) {
      if (!key.startsWith('room-') || typeof value !== 'object' || value === null) continue;
      const name = key.slice(5);
      const id: Id = this.ids.stringIds ? name : Number(name);
      if (!this.ids.stringIds && !(Number.isSafeInteger(id) && (id as number) > 0)) {
        gateway.log.warn(`videoroom: skipping room '${key}': not a numeric id`);
        continue;
      }
      try {
        const group = value as Record<string, unknown>;
        const room = new Room(settingsFrom(id, group));
        room.permanent = true;
        if (Array.isArray(group.allowed)) {
          room.checkAllowed = true;
          for (const a of group.allowed) if (typeof a === 'string') room.allowed.add(a);
        }
        this.rooms.set(id, room);
      } catch (err) {
        gateway.log.warn(`videoroom: skipping room '${key}': ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  destroy(): void {
    for (const room of this.rooms.values()) for (const p of room.participants.values()) for (const f of p.forwarders.values()) f.close();
    this.rooms.clear();
  }

  // ---- RoomHost ------------------------------------------------------------------------

  get canPersist(): boolean {
    return this.#configPath !== undefined;
  }

  async persist(room: Id, group: Record<string, unknown> | undefined): Promise<void> {
    if (!this.#configPath) return;
    if (group) this.#raw[`room-${room}`] = group;
    else delete this.#raw[`room-${room}`];
    await saveJcfg(this.#configPath, this.#raw);
  }

  newRoomId(): Id {
    let id: Id = randomId();
    while (this.rooms.has(this.ids.stringIds ? String(id) : id)) id = randomId();
    return this.ids.stringIds ? String(id) : id;
  }

  destroyRoom(room: Room): void {
    room.destroyed = true;
    this.rooms.delete(room.id);
    const event = { videoroom: 'destroyed', room: room.id };
    for (const sub of [...room.subscribers]) {
      this.#gw.pushEvent(sub.handle, event);
      this.#dropSubscriber(sub);
      this.#gw.closePc(sub.handle);
    }
    for (const pub of [...room.participants.values()]) {
      this.#gw.pushEvent(pub.handle, event);
      this.#dropPublisher(pub, false);
      this.#gw.closePc(pub.handle);
    }
  }

  kick(pub: Publisher): void {
    const room = pub.room;
    this.#gw.pushEvent(pub.handle, { videoroom: 'event', room: room.id, leaving: 'ok', reason: 'kicked' });
    this.#dropPublisher(pub, true);
    this.#broadcast(room, { videoroom: 'event', room: room.id, kicked: pub.id }, undefined);
    this.#gw.closePc(pub.handle);
  }

  moderate(pub: Publisher, mid: string, mute: boolean): void {
    const st = pub.streamByMid(mid)!;
    if (st.muted === mute) return;
    st.muted = mute;
    if (!mute) this.#pli(pub, performance.now(), true);
    this.#broadcast(pub.room, { videoroom: 'event', room: pub.room.id, id: pub.id, mid, moderation: mute ? 'muted' : 'unmuted' }, undefined);
  }

  async setRecording(room: Room, record: boolean): Promise<void> {
    room.settings.record = record;
    for (const pub of room.publishing()) {
      if (record) await startRecording(this.#rec, pub);
      else await stopRecording(pub);
    }
  }

  // ---- messages ------------------------------------------------------------------------

  createSession(handle: PluginHandle): void {
    handle.pluginState = { role: undefined, left: false, queue: Promise.resolve(), destroyed: false } satisfies HandleState;
    this.#handles.add(handle);
  }

  async handleMessage(handle: PluginHandle, transaction: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<PluginResult> {
    const state = handle.pluginState as HandleState | undefined;
    if (!state) return { kind: 'error', reason: 'No session associated with this handle' };
    let request: string;
    try {
      check(body, [['request', 'string', true]], this.ids);
      request = body.request as string;
      if (!SYNC.has(request) && !ASYNC.has(request)) throw vrError(VR_ERROR.INVALID_REQUEST, `Unknown request '${request}'`);
    } catch (err) {
      return { kind: 'ok', data: errorBody(err) };
    }
    if (SYNC.has(request)) {
      try {
        return { kind: 'ok', data: await handleRoomRequest(this, request, body) };
      } catch (err) {
        return { kind: 'ok', data: errorBody(err) };
      }
    }
    state.queue = state.queue.then(async () => {
      await new Promise<void>((r) => setImmediate(r));
      if (state.destroyed) return;
      try {
        await this.#async(handle, state, transaction, request, body, jsep);
      } catch (err) {
        if (!state.destroyed) this.#gw.pushEvent(handle, errorBody(err), { transaction });
      }
    });
    return { kind: 'ack' };
  }

  async #async(handle: PluginHandle, state: HandleState, tx: string, request: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<void> {
    const role = state.role;
    if (state.left) {
      if (request === 'join' || request === 'joinandconfigure') throw vrError(VR_ERROR.ALREADY_JOINED, 'Not in a room (create a new handle)');
      throw vrError(VR_ERROR.NO_SUCH_ROOM, 'No such room');
    }
    if (request === 'join' || request === 'joinandconfigure') {
      if (role) throw vrError(VR_ERROR.ALREADY_JOINED, `Already in as a ${role.kind} on this handle`);
      return this.#join(handle, state, tx, request, body, jsep);
    }
    if (!role) throw vrError(VR_ERROR.JOIN_FIRST, 'Invalid request on unconfigured participant');
    if (role.kind === 'publisher') {
      switch (request) {
        case 'configure':
        case 'publish':
          return this.#configure(role, tx, request, body, jsep, undefined);
        case 'unpublish':
          if (!role.publishing) throw vrError(VR_ERROR.NOT_PUBLISHED, "Can't unpublish, not published");
          this.#unpublish(role, true);
          this.#gw.pushEvent(handle, { videoroom: 'event', room: role.room.id, unpublished: 'ok' }, { transaction: tx });
          this.#gw.closePc(handle);
          return;
        case 'pause':
        case 'switch':
          // What Janus 1.1.2 answers a publisher handle for these subscriber requests.
          throw vrError(VR_ERROR.NO_SUCH_ROOM, 'No such room');
        case 'leave':
          this.#dropPublisher(role, true);
          this.#broadcast(role.room, { videoroom: 'event', room: role.room.id, leaving: role.id }, undefined);
          this.#gw.pushEvent(handle, { videoroom: 'event', room: role.room.id, leaving: 'ok' }, { transaction: tx });
          this.#gw.closePc(handle);
          return;
        default:
          throw vrError(VR_ERROR.INVALID_REQUEST, `Unknown request '${request}'`);
      }
    }
    const sub = role;
    const room = sub.room;
    switch (request) {
      case 'start':
        sub.paused = false;
        sub.update();
        this.#keyframesFor(sub, sub.streams);
        this.#gw.pushEvent(handle, { videoroom: 'event', room: room.id, started: 'ok' }, { transaction: tx });
        return;
      case 'pause':
        sub.paused = true;
        sub.update();
        this.#gw.pushEvent(handle, { videoroom: 'event', room: room.id, paused: 'ok' }, { transaction: tx });
        return;
      case 'configure':
        this.#configureSubscriber(sub, body);
        this.#gw.pushEvent(handle, { videoroom: 'event', room: room.id, configured: 'ok' }, { transaction: tx });
        return;
      case 'subscribe':
      case 'unsubscribe':
      case 'update': {
        const add = request === 'subscribe' ? body.streams : request === 'update' ? body.subscribe : undefined;
        const drop = request === 'unsubscribe' ? body.streams : request === 'update' ? body.unsubscribe : undefined;
        if (request === 'update') {
          check(body, [['subscribe', 'array'], ['unsubscribe', 'array']], this.ids);
          if (add === undefined && drop === undefined) throw vrError(VR_ERROR.MISSING_ELEMENT, 'Missing mandatory element (subscribe or unsubscribe)');
        } else check(body, [['streams', 'array', true]], this.ids);
        // Validate everything before changing anything.
        const toAdd = add ? this.#resolveFeeds(room, add as unknown[]) : [];
        const toDrop = drop ? this.#matchUnsubscribe(sub, drop as unknown[]) : [];
        for (const [s, from] of toDrop) if (from) s.detachFrom(from); else s.detach();
        const hadData = sub.streams.some((s) => s.type === 'data');
        const added = toAdd.map(([pub, st]) => sub.addStream(st, pub.id));
        if (toAdd.length === 0 && toDrop.length === 0) {
          this.#gw.pushEvent(handle, { videoroom: 'updated', room: room.id, streams: sub.describe() }, { transaction: tx });
          return;
        }
        // Data sources come and go on the one data m-line without a renegotiation (Janus 1.1.2
        // answers such an update with a bare `updated`).
        const dataOnly = (toAdd.every(([, st]) => st.type === 'data') && hadData) && toDrop.every(([s, from]) => s.type === 'data' && from !== undefined);
        if (dataOnly) {
          this.#gw.pushEvent(handle, { videoroom: 'updated', room: room.id }, { transaction: tx });
          return;
        }
        if (sub.flowing) this.#keyframesFor(sub, added);
        this.#offer(sub, { videoroom: 'updated', room: room.id }, tx);
        return;
      }
      case 'switch':
        return this.#switch(sub, tx, body);
      case 'leave':
        this.#dropSubscriber(sub);
        this.#gw.pushEvent(handle, { videoroom: 'event', room: room.id, left: 'ok' }, { transaction: tx });
        this.#gw.closePc(handle);
        return;
      default:
        throw vrError(VR_ERROR.INVALID_REQUEST, `Unknown request '${request}'`);
    }
  }

  async #join(handle: PluginHandle, state: HandleState, tx: string, request: string, body: Record<string, unknown>, jsep: Jsep | undefined): Promise<void> {
    check(body, [['room', 'id', true], ['ptype', 'string', true], ['token', 'string']], this.ids);
    const room = findRoom(this, body);
    this.#checkJoin(room, body);
    const ptype = body.ptype as string;
    if (ptype === 'publisher') {
      check(body, [['id', 'id'], ['display', 'string'], ['token', 'string']], this.ids);
      if (room.checkAllowed && (typeof body.token !== 'string' || !room.allowed.has(body.token))) {
        throw vrError(VR_ERROR.UNAUTHORIZED, 'Unauthorized (not in the allowed list)');
      }
      if (request === 'joinandconfigure' && jsep?.type === 'offer') checkE2ee(room, jsep, false);
      let id = body.id as Id | undefined;
      if (id !== undefined && id !== 0 && id !== '') {
        if (room.participants.has(id)) throw vrError(VR_ERROR.ID_EXISTS, `User ID ${String(id)} already exists`);
      } else {
        do id = this.ids.stringIds ? String(randomId()) : randomId();
        while (room.participants.has(id));
      }
      const pub = new Publisher(room, handle, id, body.display as string | undefined);
      const others = room.publishing().map((p) => p.describe());
      const attendees = room.settings.notifyJoining
        ? [...room.participants.values()].filter((p) => !p.publishing).map((p) => ({ id: p.id, ...(p.display !== undefined ? { display: p.display } : {}) }))
        : undefined;
      room.participants.set(id, pub);
      state.role = pub;
      const joined: Record<string, unknown> = {
        videoroom: 'joined', room: room.id, description: room.settings.description, id, private_id: pub.privateId, publishers: others,
        ...(attendees ? { attendees } : {}),
      };
      if (room.settings.notifyJoining) {
        this.#broadcast(room, { videoroom: 'event', room: room.id, joining: { id, ...(pub.display !== undefined ? { display: pub.display } : {}) } }, pub);
      }
      if (request === 'joinandconfigure') return this.#configure(pub, tx, 'joinandconfigure', body, jsep, joined);
      this.#gw.pushEvent(handle, joined, { transaction: tx });
      return;
    }
    if (ptype === 'subscriber' || ptype === 'listener') {
      if (request === 'joinandconfigure') throw vrError(VR_ERROR.INVALID_ELEMENT, 'Invalid element (ptype)');
      check(body, [['streams', 'array'], ['private_id', 'positive'], ['close_pc', 'boolean'], ['use_msid', 'boolean'], ['autoupdate', 'boolean']], this.ids);
      const items = Array.isArray(body.streams) && body.streams.length > 0 ? (body.streams as unknown[]) : undefined;
      const legacy = items === undefined;
      if (legacy) check(body, [['feed', 'id', true]], this.ids);
      const pvt = body.private_id as number | undefined;
      if (room.settings.requirePvtid && (pvt === undefined || !room.byPrivateId(pvt))) {
        throw vrError(VR_ERROR.UNAUTHORIZED, 'Unauthorized (this room requires a valid private_id)');
      }
      let wanted: Array<[Publisher, PubStream]>;
      if (items) wanted = this.#resolveFeeds(room, items);
      else {
        const pub = room.participants.get(body.feed as Id);
        if (!pub || !pub.publishing) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such feed (${String(body.feed)})`);
        wanted = pub.streams.filter((s) => body[`offer_${s.type}`] !== false).map((s) => [pub, s]);
      }
      const sub = new Subscriber(room, handle, legacy, {
        layer: (s, st, substream) => this.#layerEvent(s, st, substream),
        svc: (s, st) => this.#svcEvent(s, st),
        keyframe: (s, st) => this.#keyframeFor(st),
      });
      if (pvt !== undefined) sub.pvtId = pvt;
      for (const [pub, st] of wanted) sub.addStream(st, pub.id);
      room.subscribers.add(sub);
      state.role = sub;
      const feedDisplay = legacy ? room.participants.get(body.feed as Id)?.display : undefined;
      this.#offer(sub, {
        videoroom: 'attached', room: room.id,
        ...(legacy ? { id: body.feed, warning: 'deprecated_api', ...(feedDisplay !== undefined ? { display: feedDisplay } : {}) } : {}),
      }, tx);
      return;
    }
    throw vrError(VR_ERROR.INVALID_ELEMENT, 'Invalid element (ptype)');
  }

  /**
   * Who may join: with signed_tokens (and signed tokens in the core) the request's `token` must grant
   * "janus.plugin.videoroom[room=<id>]", checked before the room's pin, which is still needed. That is
   * Janus' documented rule; the 1.1.2 package refuses every room token (see videoroom-reference-tokens).
   */
  #checkJoin(room: Room, body: Record<string, unknown>): void {
    const gw = this.#gw;
    if (room.settings.signedTokens && (gw.authIsSigned?.() ?? false)) {
      if (!(gw.authSignatureContains?.(this.package, body.token, `room=${String(room.id)}`) ?? false)) throw vrError(VR_ERROR.UNAUTHORIZED, 'Unauthorized (wrong token)');
    }
    checkSecret(room.settings.pin, body, 'pin', this.ids);
  }

  /** `streams` items of join/subscribe/update: {feed, mid?}; each feed must be publishing. */
  #resolveFeeds(room: Room, items: unknown[]): Array<[Publisher, PubStream]> {
    const out: Array<[Publisher, PubStream]> = [];
    for (const item of items) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw vrError(VR_ERROR.INVALID_ELEMENT, 'Invalid element type (streams should be an array of objects)');
      const it = item as Record<string, unknown>;
      check(it, [['feed', 'id', true], ['mid', 'string'], ['crossrefid', 'string']], this.ids);
      const pub = room.participants.get(it.feed as Id);
      if (!pub || !pub.publishing) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such feed (${String(it.feed)})`);
      if (typeof it.mid === 'string') {
        const st = pub.streamByMid(it.mid);
        if (!st) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such mid '${it.mid}' in feed ${String(pub.id)}`);
        out.push([pub, st]);
      } else for (const st of pub.streams) out.push([pub, st]);
    }
    return out;
  }

  /**
   * `streams` items of unsubscribe: {feed, mid?} or {sub_mid}. Each match is a subscriber stream and
   * the one source to drop from it (a data m-line has several), or undefined for all of them.
   */
  #matchUnsubscribe(sub: Subscriber, items: unknown[]): Array<[SubStream, PubStream | undefined]> {
    const out: Array<[SubStream, PubStream | undefined]> = [];
    for (const item of items) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw vrError(VR_ERROR.INVALID_ELEMENT, 'Invalid element type (streams should be an array of objects)');
      const it = item as Record<string, unknown>;
      check(it, [['feed', 'id'], ['mid', 'string'], ['sub_mid', 'string']], this.ids);
      if (it.feed === undefined && it.sub_mid === undefined) throw vrError(VR_ERROR.MISSING_ELEMENT, 'Missing mandatory element (feed or sub_mid)');
      for (const s of sub.streams) {
        if (!s.active) continue;
        if (typeof it.sub_mid === 'string') {
          if (s.mid === it.sub_mid) out.push([s, undefined]);
          continue;
        }
        const feed = sub.room.participants.get(it.feed as Id);
        const sources = s.type === 'data' ? s.dataSources : s.source ? [s.source] : [];
        for (const src of sources) if (feed?.streams.includes(src) && (it.mid === undefined || src.mid === it.mid)) out.push([s, src]);
      }
    }
    return out;
  }

  #switch(sub: Subscriber, tx: string, body: Record<string, unknown>): void {
    check(body, [['streams', 'array', true]], this.ids);
    const changes: Array<[SubStream, Publisher, PubStream]> = [];
    for (const item of body.streams as unknown[]) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw vrError(VR_ERROR.INVALID_ELEMENT, 'Invalid element type (streams should be an array of objects)');
      const it = item as Record<string, unknown>;
      check(it, [['feed', 'id', true], ['mid', 'string', true], ['sub_mid', 'string', true]], this.ids);
      const s = sub.streamByMid(it.sub_mid as string);
      if (!s) throw vrError(VR_ERROR.INVALID_ELEMENT, `Invalid element (no subscriber stream with mid '${String(it.sub_mid)}')`);
      const pub = sub.room.participants.get(it.feed as Id);
      if (!pub || !pub.publishing) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such feed (${String(it.feed)})`);
      const st = pub.streamByMid(it.mid as string);
      if (!st) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such mid '${String(it.mid)}' in feed ${String(pub.id)}`);
      if (st.type !== s.type || st.codec !== s.codec || st.type === 'data') throw vrError(VR_ERROR.INVALID_ELEMENT, `Invalid element (can't switch ${s.type}/${s.codec} to ${st.type}/${st.codec})`);
      changes.push([s, pub, st]);
    }
    let n = 0;
    for (const [s, pub, st] of changes) {
      if (s.source === st) continue;
      s.feedId = pub.id;
      s.attach(st);
      n++;
    }
    this.#keyframesFor(sub, changes.map(([s]) => s));
    this.#gw.pushEvent(sub.handle, { videoroom: 'event', room: sub.room.id, switched: 'ok', changes: n, streams: sub.describe() }, { transaction: tx });
  }

  #configureSubscriber(sub: Subscriber, body: Record<string, unknown>): void {
    const layers: Array<[string, 'positive']> = [['substream', 'positive'], ['temporal', 'positive'], ['spatial_layer', 'positive'], ['temporal_layer', 'positive']];
    check(body, [['streams', 'array'], ['mid', 'string'], ['send', 'boolean'], ...layers], this.ids);
    const items: Array<Record<string, unknown>> = Array.isArray(body.streams) ? (body.streams as Array<Record<string, unknown>>) : [body];
    for (const it of items) {
      if (typeof it !== 'object' || it === null || Array.isArray(it)) throw vrError(VR_ERROR.INVALID_ELEMENT, 'Invalid element type (streams should be an array of objects)');
      check(it, [['mid', 'string'], ['send', 'boolean'], ...layers], this.ids);
      for (const k of ['substream', 'temporal', 'spatial_layer', 'temporal_layer'] as const) {
        if (typeof it[k] === 'number' && (it[k] as number) > 2) throw vrError(VR_ERROR.INVALID_ELEMENT, `Invalid value (${k} should be 0, 1 or 2)`);
      }
    }
    for (const it of items) {
      const targets = typeof it.mid === 'string' ? sub.streams.filter((s) => s.mid === it.mid) : sub.streams;
      for (const s of targets) {
        if (typeof it.send === 'boolean') {
          if (!s.send && it.send) this.#keyframeFor(s, true);
          s.send = it.send;
        }
        if (s.type !== 'video') continue;
        if (typeof it.substream === 'number') {
          s.substreamTarget = it.substream;
          if (s.sim?.setTarget(it.substream)) this.#layerEvent(sub, s, true);
          else this.#keyframeFor(s, true);
        }
        if (typeof it.temporal === 'number') {
          s.temporalTarget = it.temporal;
          if (s.sim?.setTemporalTarget(it.temporal)) this.#layerEvent(sub, s, false);
        }
        // VP9 SVC targets: going down takes effect at the next picture, going up spatially at a keyframe.
        const svc = s.svc;
        if (svc && typeof it.spatial_layer === 'number') {
          const up = it.spatial_layer > svc.spatial;
          svc.spatialTarget = it.spatial_layer;
          if (up) this.#keyframeFor(s, true);
        }
        if (svc && typeof it.temporal_layer === 'number') svc.temporalTarget = it.temporal_layer;
      }
    }
  }

  async #configure(pub: Publisher, tx: string, request: string, body: Record<string, unknown>, jsep: Jsep | undefined, joined: Record<string, unknown> | undefined): Promise<void> {
    check(body, [
      ['audio', 'boolean'], ['video', 'boolean'], ['data', 'boolean'], ['bitrate', 'positive'], ['keyframe', 'boolean'], ['record', 'boolean'],
      ['filename', 'string'], ['display', 'string'], ['descriptions', 'array'], ['streams', 'array'],
    ], this.ids);
    const room = pub.room;
    const offer = jsep?.type === 'offer' ? jsep : undefined;
    if (jsep && jsep.type !== 'offer') throw vrError(VR_ERROR.INVALID_SDP_TYPE, `Unsupported SDP type '${jsep.type}'`);
    if (request === 'publish' && pub.publishing && offer) throw vrError(VR_ERROR.ALREADY_PUBLISHED, "Can't publish, already published");
    if (offer) {
      checkE2ee(room, offer, pub.e2ee);
      if (offer.e2ee === true) pub.e2ee = true;
    }
    if (offer && !pub.publishing && room.publishing().length >= room.settings.maxPublishers) {
      throw vrError(VR_ERROR.PUBLISHERS_FULL, `Maximum number of publishers (${room.settings.maxPublishers}) already reached`);
    }
    let answer: string | undefined;
    let first = false;
    if (offer) {
      let parsed;
      try {
        parsed = parseSdp(offer.sdp);
      } catch (err) {
        throw vrError(VR_ERROR.INVALID_SDP, `Error parsing offer: ${err instanceof Error ? err.message : String(err)}`);
      }
      const n = negotiatePublisher(parsed, room.settings, offer.rid_order);
      if (n.streams.length === 0) {
        if (!pub.publishing) this.#gw.closePc(pub.handle);
        throw vrError(VR_ERROR.INVALID_SDP, 'Error generating answer: nothing we can take in the offer');
      }
      first = !pub.publishing;
      // A renegotiation keeps subscribers and taps of the mids that stay.
      for (const ns of n.streams) {
        const old = pub.streamByMid(ns.mid);
        if (old && old.type === ns.type && old.codec === ns.codec) {
          ns.sinks = old.sinks;
          ns.taps = old.taps;
          for (const s of ns.sinks) s.replaceSource(old, ns);
          ns.muted = old.muted;
        }
      }
      pub.streams = n.streams;
      pub.publishing = true;
      answer = writeSdp(n.answer);
    }
    if (typeof body.display === 'string') pub.display = body.display;
    if (Array.isArray(body.descriptions)) {
      for (const d of body.descriptions as unknown[]) {
        if (typeof d !== 'object' || d === null) continue;
        const { mid, description } = d as Record<string, unknown>;
        if (typeof mid === 'string' && typeof description === 'string') pub.descriptions.set(mid, description);
      }
    }
    for (const s of pub.streams) {
      const d = pub.descriptions.get(s.mid);
      if (d !== undefined) s.description = d;
    }
    if (typeof body.bitrate === 'number') {
      pub.bitrate = body.bitrate;
      this.#remb(pub);
    }
    if (body.keyframe === true) this.#pli(pub, performance.now(), true);
    if (typeof body.filename === 'string') pub.recordingBase = body.filename;
    const record = typeof body.record === 'boolean' && !room.settings.lockRecord ? body.record : first ? room.settings.record : undefined;
    if (record === true && pub.publishing) await startRecording(this.#rec, pub);
    else if (record === false) await stopRecording(pub);
    const data = joined ?? { videoroom: 'event', room: room.id, configured: 'ok' };
    if (answer) {
      // Janus describes what it took from the offer.
      const a = pub.streams.find((s) => s.type === 'audio');
      const v = pub.streams.find((s) => s.type === 'video');
      if (a) data.audio_codec = a.codec;
      if (v) data.video_codec = v.codec;
      data.streams = pub.streams.map((s) => describePubStream(s));
    }
    const jsepOut = answer ? { type: 'answer' as const, sdp: answer, ...(pub.e2ee ? { e2ee: true } : {}) } : undefined;
    this.#gw.pushEvent(pub.handle, data, jsepOut ? { transaction: tx, jsep: jsepOut } : { transaction: tx });
    if (first) this.#broadcast(room, { videoroom: 'event', room: room.id, publishers: [pub.describe()] }, pub);
  }

  /** Send the subscriber our (re-)offer with its streams. */
  #offer(sub: Subscriber, data: Record<string, unknown>, tx: string | undefined): void {
    sub.offerVersion++;
    const lines: OfferLine[] = sub.streams.map((s) => {
      const src = s.source;
      if (s.type === 'data') return { type: 'application', mid: s.mid, active: true, codec: '', payloadType: 0, clockRate: 0, extmaps: [] };
      return {
        type: s.type === 'audio' ? 'audio' : 'video', mid: s.mid, active: src !== undefined, codec: s.codec, payloadType: s.payloadType,
        clockRate: src?.clockRate ?? (s.type === 'audio' ? 48000 : 90000), ...(src?.channels ? { channels: src.channels } : {}),
        ...(src?.fmtp ? { fmtp: src.fmtp } : {}), extmaps: src?.extmaps ?? [],
      };
    });
    const sdp = subscriberOfferSdp(lines, sub.offerVersion, sub.sessionId);
    this.#gw.pushEvent(sub.handle, { ...data, streams: sub.describe() }, { ...(tx !== undefined ? { transaction: tx } : {}), jsep: { type: 'offer', sdp } });
  }

  /** A publisher stops publishing: its subscribers' streams go inactive (updated + new offer). */
  #unpublish(pub: Publisher, notify: boolean): void {
    if (!pub.publishing) return;
    pub.publishing = false;
    const room = pub.room;
    void stopRecording(pub);
    for (const f of pub.forwarders.values()) f.close();
    pub.forwarders.clear();
    const affected = new Set<Subscriber>();
    for (const st of pub.streams) {
      for (const sink of [...st.sinks]) {
        sink.detachFrom(st);
        if (!sink.active) sink.feedId = undefined;
        affected.add(sink.owner as Subscriber);
      }
    }
    pub.streams = [];
    pub.level.talking = false;
    // Like Janus, only a subscriber whose PeerConnection is up is sent a new offer right away; the
    // others see the inactive streams in their next negotiation.
    for (const sub of affected) if (room.subscribers.has(sub) && sub.pcUp) this.#offer(sub, { videoroom: 'updated', room: room.id }, undefined);
    if (notify) this.#broadcast(room, { videoroom: 'event', room: room.id, unpublished: pub.id }, pub);
  }

  /** A publisher leaves the room (leave, kick, destroy, detach). */
  #dropPublisher(pub: Publisher, notify: boolean): void {
    this.#unpublish(pub, notify);
    const room = pub.room;
    if (room.participants.get(pub.id) === pub) room.participants.delete(pub.id);
    const state = pub.handle.pluginState as HandleState | undefined;
    if (state && state.role === pub) {
      state.role = undefined;
      state.left = true;
    }
  }

  #dropSubscriber(sub: Subscriber): void {
    sub.detachAll();
    sub.pcUp = false;
    sub.update();
    sub.room.subscribers.delete(sub);
    const state = sub.handle.pluginState as HandleState | undefined;
    if (state && state.role === sub) {
      state.role = undefined;
      state.left = true;
    }
  }

  /** An event to every participant of the room but `except` (Janus notifies publishers' handles). */
  #broadcast(room: Room, data: Record<string, unknown>, except: Publisher | undefined): void {
    for (const p of room.participants.values()) if (p !== except) this.#gw.pushEvent(p.handle, data);
  }

  #layerEvent(sub: Subscriber, st: SubStream, substream: boolean): void {
    if (!st.sim) return;
    const data: Record<string, unknown> = { videoroom: 'event', room: sub.room.id, mid: st.mid };
    if (substream) data.substream = st.sim.substream;
    else data.temporal = st.sim.templayer;
    this.#gw.pushEvent(sub.handle, data);
  }

  /** Janus tells a subscriber which VP9 SVC layers it now gets (only the ones that changed). */
  #svcEvent(sub: Subscriber, st: SubStream): void {
    const svc = st.svc;
    if (!svc) return;
    const data: Record<string, unknown> = { videoroom: 'event', room: sub.room.id, mid: st.mid };
    if (svc.changedSpatial) data.spatial_layer = svc.spatial;
    if (svc.changedTemporal) data.temporal_layer = svc.temporal;
    this.#gw.pushEvent(sub.handle, data);
  }

  #keyframesFor(sub: Subscriber, streams: readonly SubStream[]): void {
    for (const s of streams) if (s.type === 'video') this.#keyframeFor(s, true);
  }

  #keyframeFor(st: SubStream, force = false): void {
    const feed = st.feedId !== undefined && st.source ? (st.owner as Subscriber).room.participants.get(st.feedId) : undefined;
    if (feed) this.#pli(feed, performance.now(), force);
  }

  #pli(pub: Publisher, now: number, force: boolean): void {
    if (!pub.pcUp) return;
    if (!force && now - pub.lastPliMs < PLI_MIN_MS) return;
    pub.lastPliMs = now;
    this.#gw.sendPli(pub.handle);
  }

  #remb(pub: Publisher): void {
    if (!pub.pcUp) return;
    const room = pub.room.settings;
    let b = pub.bitrate || room.bitrate;
    if (room.bitrateCap && room.bitrate > 0 && b > room.bitrate) b = room.bitrate;
    this.#gw.sendRemb(pub.handle, b || NO_BITRATE_CAP);
  }

  // ---- media ---------------------------------------------------------------------------

  setupMedia(handle: PluginHandle): void {
    const role = (handle.pluginState as HandleState | undefined)?.role;
    if (!role) return;
    role.pcUp = true;
    if (role.kind === 'publisher') {
      this.#remb(role);
      return;
    }
    role.update();
    if (role.flowing) this.#keyframesFor(role, role.streams);
  }

  incomingRtp(handle: PluginHandle, packet: MediaPacket): void {
    const role = (handle.pluginState as HandleState).role;
    if (role === undefined || role.kind !== 'publisher' || !role.publishing) return;
    const streams = role.streams;
    let st: PubStream | undefined;
    for (let i = 0; i < streams.length; i++) if (streams[i].mid === packet.mid) { st = streams[i]; break; }
    if (st === undefined) return;
    const now = performance.now();
    if (!this.#forwarder.forward(st, packet.buffer, now)) return;
    const room = role.room.settings;
    if (st.type === 'audio' && st.audioLevelExtId > 0 && room.audiolevelEvent) this.#audioLevel(role, st, packet.buffer);
    if (now - role.lastRembMs >= 1000) {
      role.lastRembMs = now;
      if (role.bitrate || room.bitrate) this.#remb(role);
    }
    if (room.firFreq > 0 && st.type === 'video' && now - role.lastFirMs >= room.firFreq * 1000) {
      role.lastFirMs = now;
      this.#pli(role, now, true);
    }
  }

  /** RFC 6464 audio level (0..127 -dBov): Janus averages it over audio_active_packets packets. */
  #audioLevel(pub: Publisher, st: PubStream, buf: Buffer): void {
    const v = this.#view;
    if (!v.wrap(buf)) return;
    const at = v.findExtension(st.audioLevelExtId);
    if (at < 0) return;
    const lvl = pub.level;
    lvl.sum += buf[at] & 0x7f;
    lvl.count++;
    const room = pub.room.settings;
    if (lvl.count < room.audioActivePackets) return;
    const avg = lvl.sum / lvl.count;
    lvl.sum = 0;
    lvl.count = 0;
    const talking = avg < room.audioLevelAverage;
    if (talking === lvl.talking) return;
    lvl.talking = talking;
    const data = { videoroom: talking ? 'talking' : 'stopped-talking', room: room.room, id: pub.id, mid: st.mid, 'audio-level-dBov-avg': avg };
    this.#gw.pushEvent(pub.handle, data);
    this.#broadcast(pub.room, data, pub);
  }

  /**
   * A publisher's data-channel message goes to the subscribers of its data stream (text stays text),
   * on a channel labelled with the publisher's id, as Janus 1.1.2 does.
   */
  incomingData(handle: PluginHandle, _label: string, data: Buffer | string): void {
    const role = (handle.pluginState as HandleState | undefined)?.role;
    if (role === undefined || role.kind !== 'publisher' || !role.publishing) return;
    const st = role.streams.find((s) => s.type === 'data');
    if (st !== undefined) this.#forwarder.forwardData(st, role.dataLabel, data);
  }

  /** A data channel of the peer is open: Janus relays data to a subscriber only from then on. */
  dataReady(handle: PluginHandle): void {
    const role = (handle.pluginState as HandleState | undefined)?.role;
    if (role !== undefined) role.dataReady = true;
  }

  incomingRtcp(handle: PluginHandle, packet: MediaPacket): void {
    const role = (handle.pluginState as HandleState).role;
    if (role === undefined || role.kind !== 'subscriber' || !packet.video) return;
    const w = this.#walker.reset(packet.buffer);
    while (w.next()) {
      if (w.kind !== RtcpKind.PLI && w.kind !== RtcpKind.FIR) continue;
      const streams = role.streams;
      for (let i = 0; i < streams.length; i++) if (streams[i].mid === packet.mid) this.#keyframeFor(streams[i]);
      return;
    }
  }

  hangupMedia(handle: PluginHandle): void {
    const state = handle.pluginState as HandleState | undefined;
    const role = state?.role;
    if (!role) return;
    role.pcUp = false;
    role.dataReady = false;
    if (role.kind === 'publisher') this.#unpublish(role, true);
    else role.update();
  }

  destroySession(handle: PluginHandle): void {
    const state = handle.pluginState as HandleState | undefined;
    this.#handles.delete(handle);
    if (!state) return;
    state.destroyed = true;
    const role = state.role;
    if (!role) return;
    if (role.kind === 'publisher') {
      this.#dropPublisher(role, true);
      this.#broadcast(role.room, { videoroom: 'event', room: role.room.id, leaving: role.id }, undefined);
    } else this.#dropSubscriber(role);
  }

  querySession(handle: PluginHandle): Record<string, unknown> {
    const role = (handle.pluginState as HandleState | undefined)?.role;
    if (!role) return { state: 'none' };
    if (role.kind === 'publisher') {
      return { type: 'publisher', room: role.room.id, id: role.id, private_id: role.privateId, ...(role.display !== undefined ? { display: role.display } : {}), ...(role.e2ee ? { e2ee: true } : {}), publishing: role.publishing, streams: role.streams.map((s) => ({ mid: s.mid, type: s.type, codec: s.codec, packets: s.packets, subscribers: s.sinks.length })) };
    }
    return {
      type: 'subscriber', room: role.room.id, paused: role.paused,
      streams: role.streams.map((s) => ({ mid: s.mid, type: s.type, active: s.active, feed_id: s.feedId, packets: s.packets, ...(s.type === 'data' ? { sources: s.dataSources.length } : {}), ...(s.svc ? { 'spatial-layer': s.svc.spatial, 'temporal-layer': s.svc.temporal } : {}) })),
    };
  }
}

export default (): Plugin => new VideoRoomPlugin();
