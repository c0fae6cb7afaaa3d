/**
 * janus.plugin.audiobridge (JANUS-REFERENCE 2.6): audio conference rooms mixed by the engine in
 * src/audiobridge (decode, jitter buffer, mix-minus, encode, on worker threads).
 *
 * - sync requests: create, edit, destroy, exists, allowed, kick, kick_all, list, listparticipants,
 *   mute, unmute, mute_room, unmute_room, resetdecoder, rtp_forward, stop_rtp_forward,
 *   listforwarders, enable_recording, enable_mjrs, play_file, is_playing, stop_file (also reachable
 *   from the Admin API's message_plugin);
 * - async requests: join, configure, changeroom, leave, with a JSEP offer to answer (WebRTC) or an
 *   `rtp` object (plain RTP participants, for phone legs);
 * - events as Janus 1.1.2 sends them (shapes and error codes checked against a running 1.1.2).
 *
 * The media path: incoming RTP goes to the mixer's ring untouched; each mixed frame comes back as a
 * payload and gets our RTP header in a reused buffer (rtp-out.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomInt, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type dgram from 'node:dgram';
import type { GatewayFacade, Jsep, MediaPacket, Plugin, PluginHandle, PluginResult } from '../../core/plugin.ts';
import type { PortunusConfig } from '../../config/types.ts';
import { parseSdp, writeSdp } from '../../core/webrtc/sdp.ts';
import { answerFor } from '../../core/webrtc/sdp-negotiation.ts';
import { freshId } from '../../core/ids.ts';
import { MixerPool } from '../../audiobridge/mixer-pool.ts';
import type { MixerEvent } from '../../audiobridge/mixer-core.ts';
import type { MixCodec } from '../../audiobridge/room-mixer.ts';
import { bindUdpSocket, parsePortRangeString, type PortRange } from '../../media/udp-ports.ts';
import { readOggOpus } from '../../media/ogg.ts';
import { MjrRecorder } from '../../media/mjr.ts';
import { resolveSafePath, UnsafePathError } from '../../media/safe-path.ts';
import { AB_ERROR, AudioBridgeError, checkFields, type FieldType } from './errors.ts';
import { configFileText, participantCodec, roomSettings, type RoomSettings } from './room.ts';
import { RtpOut } from './rtp-out.ts';
import { forwarderSrtp } from './srtp-forward.ts';
import type { SrtpContext } from '../../core/webrtc/srtp.ts';

export { AB_ERROR } from './errors.ts';

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const DEFAULT_PT: Record<MixCodec, number> = { opus: 100, pcmu: 0, pcma: 8 };

interface Room {
  s: RoomSettings;
  /** The mixer's own number for the room (room ids may be strings). */
  poolId: number;
  participants: Map<RoomId, Participant>;
  forwarders: Map<number, Forwarder>;
  files: Map<string, { mixId: number; group: number }>;
  allowed: Set<string> | null;
  muted: boolean;
  permanent: boolean;
  recording: string | null;
}

/** Room and participant ids: numbers, or strings when the plugin has `string_ids = true` (as Janus). */
type RoomId = number | string;

interface Participant {
  id: RoomId;
  display?: string;
  room: Room;
  session: Session;
  mixId: number;
  muted: boolean;
  volume: number;
  spatial: number;
  group: number;
  codec: MixCodec;
  prebuffer: number;
  bitrate: number;
  quality: number;
  expectedLoss: number;
  talking: boolean;
  out: RtpOut;
  plain?: PlainLeg;
  mjr?: MjrRecorder;
}

interface PlainLeg {
  sock: dgram.Socket;
  remoteIp?: string;
  remotePort?: number;
  localIp: string;
  localPort: number;
}

interface Forwarder {
  streamId: number;
  host: string;
  port: number;
  codec: MixCodec;
  ptype: number;
  group?: string;
  alwaysOn: boolean;
  mixId: number;
  out: RtpOut;
  sock: dgram.Socket;
  room: Room;
  /** Protects what it sends (srtp_suite/srtp_crypto). */
  srtp?: SrtpContext;
}

interface Session {
  handle: PluginHandle;
  participant?: Participant;
  /** The negotiated audio: mid, payload type and audio-level extension id. */
  mid: string;
  pt: number;
  levelExt: number;
  webrtc: boolean;
  setup: boolean;
  queue: Promise<void>;
  destroyed: boolean;
  packet: MediaPacket;
}

type Target = { kind: 'participant'; p: Participant } | { kind: 'forwarder'; f: Forwarder };

type Body = Record<string, unknown>;
type Reply = Record<string, unknown>;

export class AudioBridgePlugin implements Plugin {
  readonly package = 'janus.plugin.audiobridge';
  readonly name = 'JANUS AudioBridge plugin';
  readonly description = 'Audio conference rooms with an Opus mixer and mix-minus (Portunus).';
  readonly author = 'Portunus developers';
  readonly version = 12;
  readonly versionString = '0.0.12';

  #gw!: GatewayFacade;
  #pool!: MixerPool;
  readonly #rooms = new Map<RoomId, Room>();
  #stringIds = false;
  #idType: FieldType = 'posint';
  #nextPoolId = 1;
  readonly #targets = new Map<number, Target>();
  readonly #files = new Map<number, { room: Room; fileId: string }>();
  #nextMixId = 1;
  #adminKey: string | undefined;
  #lockRtpForward = false;
  #lockPlayFile = false;
  #recordTmpExt: string | undefined;
  #portRange: PortRange | undefined;
  #localIp = '127.0.0.1';
  #configFile: string | undefined;
  #generalRaw: Record<string, unknown> = {};
  #baseDir = process.cwd();
  #protected: readonly string[] = [];
  #notifyEvents = true;

  async init(gateway: GatewayFacade, config: Record<string, unknown>, global: PortunusConfig): Promise<void> {
    this.#gw = gateway;
    const general = (config.general ?? {}) as Record<string, unknown>;
    this.#generalRaw = general;
    const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const b = (v: unknown): boolean => v === true || v === 'true' || v === 'yes';
    this.#adminKey = s(general.admin_key);
    this.#lockRtpForward = b(general.lock_rtp_forward);
    this.#lockPlayFile = b(general.lock_play_file);
    this.#recordTmpExt = s(general.record_tmp_ext);
    if (general.events !== undefined) this.#notifyEvents = b(general.events);
    try {
      this.#portRange = parsePortRangeString(s(general.rtp_port_range) ?? '10000-60000');
    } catch (err) {
      gateway.log.warn(`audiobridge: ${(err as Error).message}; using 10000-60000`);
      this.#portRange = [10000, 60000];
    }
    this.#localIp = s(general.local_ip) ?? '127.0.0.1';
    this.#protected = global.general.protected_folders;
    if (global.general.configs_folder) this.#configFile = path.join(global.general.configs_folder, 'janus.plugin.audiobridge.jcfg');
    // One mixer thread per spare core (at least one, at most four) unless configured.
    const spare = Math.min(4, Math.max(1, availableParallelism() - 1));
    const threads = typeof general.mixer_threads === 'number' ? general.mixer_threads : Number(general.mixer_threads ?? spare);
    const splitAbove = Number(general.mixer_split_above ?? 40);
    this.#pool = new MixerPool({
      threads: Number.isFinite(threads) ? Math.max(0, Math.min(16, threads)) : spare,
      splitAbove: Number.isFinite(splitAbove) ? Math.max(0, splitAbove) : 40,
    }, {
      onAudio: (id, buf, off, len, samples) => this.#onAudio(id, buf, off, len, samples),
      onEvent: (e) => this.#onMixerEvent(e),
    });
    this.#stringIds = b(general.string_ids);
    this.#idType = this.#stringIds ? 'string' : 'posint';
    for (const [key, value] of Object.entries(config)) {
      const m = (this.#stringIds ? /^room-(.+)$/ : /^room-(\d+)$/).exec(key);
      if (!m || typeof value !== 'object' || value === null) continue;
      const id = this.#stringIds ? m[1] : Number(m[1]);
      const settings = roomSettings(id, value as Record<string, unknown>, false);
      this.#addRoom(settings, true, null);
    }
  }

  async destroy(): Promise<void> {
    for (const room of [...this.#rooms.values()]) this.#teardownRoom(room);
    await this.#pool?.stop();
  }

  createSession(handle: PluginHandle): void {
    const s: Session = {
      handle, mid: '0', pt: 111, levelExt: 0, webrtc: false, setup: false, queue: Promise.resolve(), destroyed: false,
      packet: { buffer: Buffer.alloc(0), mid: '0', video: false },
    };
    handle.pluginState = s;
  }

  handleMessage(handle: PluginHandle, transaction: string, body: Body, jsep: Jsep | undefined): PluginResult | Promise<PluginResult> {
    const session = handle.pluginState as Session | undefined;
    if (!session) return { kind: 'error', reason: 'No session associated with this handle' };
    const request = body.request;
    if (request === 'join' || request === 'configure' || request === 'changeroom' || request === 'leave' || request === 'hangup') {
      session.queue = session.queue.then(() => this.#async(session, transaction, request, body, jsep)).catch((err: unknown) => {
        this.#gw.log.warn(`audiobridge: ${String(request)} failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      return { kind: 'ack' };
    }
    return this.#sync(body, session).then((data) => ({ kind: 'ok', data }) as PluginResult);
  }

  async handleAdminMessage(body: Body): Promise<Record<string, unknown>> {
    return this.#sync(body, undefined);
  }

  // ---- synchronous requests ----

  async #sync(body: Body, session: Session | undefined): Promise<Reply> {
    try {
      checkFields(body, [['request', 'string', true]]);
      const request = body.request as string;
      switch (request) {
        case 'create': return await this.#create(body);
        case 'edit': return this.#edit(body);
        case 'destroy': return this.#destroyRoom(body);
        case 'exists': {
          checkFields(body, [['room', this.#idType, true]]);
          return { audiobridge: 'success', room: body.room, exists: this.#rooms.has(body.room as RoomId) };
        }
        case 'allowed': return this.#allowed(body);
        case 'kick': return this.#kick(body);
        case 'kick_all': return this.#kickAll(body);
        case 'list': return this.#list(body);
        case 'listparticipants': {
          const room = this.#room(body);
          return { audiobridge: 'participants', room: room.s.id, participants: [...room.participants.values()].map((p) => this.#describe(p)) };
        }
        case 'mute':
        case 'unmute': return this.#muteOne(body, request === 'mute');
        case 'mute_room':
        case 'unmute_room': return this.#muteRoom(body, request === 'mute_room');
        case 'resetdecoder': {
          const p = session?.participant;
          if (!p) throw new AudioBridgeError(AB_ERROR.NOT_JOINED, "Can't reset (not in a room)");
          this.#pool.resetDecoder(p.mixId);
          return { audiobridge: 'success' };
        }
        case 'rtp_forward': return await this.#rtpForward(body);
        case 'stop_rtp_forward': return this.#stopRtpForward(body);
        case 'listforwarders': {
          const room = this.#room(body);
          this.#checkSecret(room, body);
          return { audiobridge: 'forwarders', room: room.s.id, rtp_forwarders: [...room.forwarders.values()].map((f) => this.#describeForwarder(f)) };
        }
        case 'enable_recording': return this.#enableRecording(body);
        case 'enable_mjrs': return this.#enableMjrs(body);
        case 'play_file': return await this.#playFile(body);
        case 'is_playing': {
          checkFields(body, [['file_id', 'string', true]]);
          const room = this.#room(body);
          return { audiobridge: 'success', room: room.s.id, file_id: body.file_id, playing: room.files.has(body.file_id as string) };
        }
        case 'stop_file': return this.#stopFile(body);
        default:
          throw new AudioBridgeError(AB_ERROR.INVALID_REQUEST, `Unknown request '${request}'`);
      }
    } catch (err) {
      return this.#errorReply(err);
    }
  }

  /** A new room or participant id: a random number, or with string_ids a random UUID (as Janus). */
  #freshId(taken: Map<RoomId, unknown>): RoomId {
    if (!this.#stringIds) return freshId(taken);
    let id: string;
    do id = randomUUID(); while (taken.has(id));
    return id;
  }

  #errorReply(err: unknown): Reply {
    if (err instanceof AudioBridgeError) return { audiobridge: 'event', error_code: err.code, error: err.message };
    this.#gw.log.warn(`audiobridge: ${err instanceof Error ? err.stack : String(err)}`);
    return { audiobridge: 'event', error_code: AB_ERROR.UNKNOWN_ERROR, error: err instanceof Error ? err.message : String(err) };
  }

  #room(body: Body): Room {
    checkFields(body, [['room', this.#idType, true]]);
    const room = this.#rooms.get(body.room as RoomId);
    if (!room) throw new AudioBridgeError(AB_ERROR.NO_SUCH_ROOM, `No such room (${String(body.room)})`);
    return room;
  }

  /** Janus' JANUS_CHECK_SECRET: a room secret, when set, must be given and match. */
  #checkSecret(room: Room, body: Body, field = 'secret', expected = room.s.secret): void {
    if (expected === undefined) return;
    checkFields(body, [[field, 'string', true]]);
    if (body[field] !== expected) throw new AudioBridgeError(AB_ERROR.UNAUTHORIZED, `Unauthorized (wrong ${field})`);
  }

  #checkAdminKey(body: Body): void {
    if (this.#adminKey === undefined) return;
    checkFields(body, [['admin_key', 'string', true]]);
    if (body.admin_key !== this.#adminKey) throw new AudioBridgeError(AB_ERROR.UNAUTHORIZED, 'Unauthorized (wrong admin_key)');
  }

  async #create(body: Body): Promise<Reply> {
    checkFields(body, [
      ['room', this.#idType], ['description', 'string'], ['secret', 'string'], ['pin', 'string'], ['is_private', 'boolean'],
      ['allowed', 'string-array'], ['sampling', 'posint'], ['sampling_rate', 'posint'], ['spatial_audio', 'boolean'],
      ['audiolevel_ext', 'boolean'], ['audiolevel_event', 'boolean'], ['audio_active_packets', 'posint'],
      ['audio_level_average', 'posint'], ['default_prebuffering', 'posint'], ['default_expectedloss', 'posint'],
      ['default_bitrate', 'posint'], ['record', 'boolean'], ['record_file', 'string'], ['record_dir', 'string'],
      ['mjrs', 'boolean'], ['mjrs_dir', 'string'], ['allow_rtp_participants', 'boolean'], ['groups', 'string-array'],
      ['permanent', 'boolean'],
    ]);
    this.#checkAdminKey(body);
    const permanent = body.permanent === true;
    if (permanent && !this.#configFile) throw new AudioBridgeError(AB_ERROR.UNKNOWN_ERROR, 'No configuration file, can\'t create permanent room');
    let id = body.room as RoomId | undefined;
    if (id === undefined || id === 0 || id === '') id = this.#freshId(this.#rooms);
    if (this.#rooms.has(id)) throw new AudioBridgeError(AB_ERROR.ROOM_EXISTS, `Room ${id} already exists`);
    const settings = roomSettings(id, body, true);
    const allowed = Array.isArray(body.allowed) ? new Set(body.allowed as string[]) : null;
    const room = this.#addRoom(settings, permanent, allowed);
    if (permanent) await this.#saveConfig();
    this.#event({ event: 'created', room: room.s.id });
    return { audiobridge: 'created', room: id, permanent };
  }

  #addRoom(settings: RoomSettings, permanent: boolean, allowed: Set<string> | null): Room {
    const room: Room = { s: settings, poolId: this.#nextPoolId++, participants: new Map(), forwarders: new Map(), files: new Map(), allowed, muted: false, permanent, recording: null };
    this.#rooms.set(settings.id, room);
    this.#pool.createRoom(room.poolId, {
      rate: settings.samplingRate,
      spatial: settings.spatialAudio,
      talkWindow: settings.audiolevelEvent ? settings.audioActivePackets : 0,
      talkThreshold: settings.audioLevelAverage,
    });
    if (settings.record) this.#startRecording(room, settings.recordFile, settings.recordDir);
    return room;
  }

  #edit(body: Body): Reply {
    checkFields(body, [
      ['room', this.#idType, true], ['secret', 'string'], ['new_description', 'string'], ['new_secret', 'string'], ['new_pin', 'string'],
      ['new_is_private', 'boolean'], ['new_record_dir', 'string'], ['new_mjrs_dir', 'string'], ['permanent', 'boolean'],
    ]);
    const room = this.#room(body);
    this.#checkSecret(room, body);
    const s = room.s;
    if (typeof body.new_description === 'string' && body.new_description !== '') s.description = body.new_description;
    if (typeof body.new_secret === 'string') s.secret = body.new_secret;
    if (typeof body.new_pin === 'string') s.pin = body.new_pin === '' ? undefined : body.new_pin;
    if (typeof body.new_is_private === 'boolean') s.isPrivate = body.new_is_private;
    if (typeof body.new_record_dir === 'string') s.recordDir = body.new_record_dir;
    if (typeof body.new_mjrs_dir === 'string') s.mjrsDir = body.new_mjrs_dir;
    const permanent = body.permanent === true;
    if (permanent) {
      room.permanent = true;
      void this.#saveConfig();
    }
    return { audiobridge: 'edited', room: s.id, permanent };
  }

  #destroyRoom(body: Body): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string'], ['permanent', 'boolean']]);
    const room = this.#room(body);
    this.#checkSecret(room, body);
    for (const p of room.participants.values()) this.#push(p.session, { audiobridge: 'destroyed', room: room.s.id });
    const wasPermanent = room.permanent;
    this.#teardownRoom(room);
    const permanent = body.permanent === true;
    if (wasPermanent) void this.#saveConfig();
    this.#event({ event: 'destroyed', room: room.s.id });
    return { audiobridge: 'destroyed', room: room.s.id, permanent };
  }

  #teardownRoom(room: Room): void {
    for (const p of [...room.participants.values()]) {
      this.#removeParticipant(p);
      p.session.participant = undefined;
      if (p.session.webrtc) this.#gw.closePc(p.session.handle);
    }
    for (const f of [...room.forwarders.values()]) this.#dropForwarder(f);
    for (const { mixId } of room.files.values()) this.#files.delete(mixId);
    room.files.clear();
    this.#pool.destroyRoom(room.poolId);
    this.#rooms.delete(room.s.id);
  }

  #allowed(body: Body): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string'], ['action', 'string', true], ['allowed', 'string-array']]);
    const room = this.#room(body);
    this.#checkSecret(room, body);
    const action = body.action as string;
    if (!['enable', 'disable', 'add', 'remove'].includes(action)) throw new AudioBridgeError(AB_ERROR.INVALID_ELEMENT, "Unsupported action '" + action + "' (allowed)");
    const list = (body.allowed as string[] | undefined) ?? [];
    if ((action === 'add' || action === 'remove') && body.allowed === undefined) throw new AudioBridgeError(AB_ERROR.MISSING_ELEMENT, 'Missing element (allowed)');
    if (action === 'disable') {
      room.allowed = null;
      return { audiobridge: 'success', room: room.s.id };
    }
    room.allowed ??= new Set();
    if (action === 'add') for (const t of list) room.allowed.add(t);
    if (action === 'remove') for (const t of list) room.allowed.delete(t);
    return { audiobridge: 'success', room: room.s.id, allowed: [...room.allowed] };
  }

  #participant(room: Room, body: Body): Participant {
    checkFields(body, [['id', this.#idType, true]]);
    const p = room.participants.get(body.id as RoomId);
    if (!p) throw new AudioBridgeError(AB_ERROR.NO_SUCH_USER, `No such user ${String(body.id)} in room ${room.s.id}`);
    return p;
  }

  #kick(body: Body): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string'], ['id', this.#idType, true]]);
    const room = this.#room(body);
    this.#checkSecret(room, body);
    const p = this.#participant(room, body);
    this.#notifyRoom(room, { audiobridge: 'event', room: room.s.id, kicked: p.id });
    this.#removeParticipant(p);
    p.session.participant = undefined;
    if (p.session.webrtc) this.#gw.closePc(p.session.handle);
    return { audiobridge: 'success' };
  }

  #kickAll(body: Body): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string']]);
    const room = this.#room(body);
    this.#checkSecret(room, body);
    for (const p of [...room.participants.values()]) {
      this.#push(p.session, { audiobridge: 'event', room: room.s.id, kicked_all: p.id });
      this.#removeParticipant(p);
      p.session.participant = undefined;
      if (p.session.webrtc) this.#gw.closePc(p.session.handle);
    }
    return { audiobridge: 'success' };
  }

  #list(body: Body): Reply {
    checkFields(body, [['admin_key', 'string']]);
    const all = this.#adminKey !== undefined && body.admin_key === this.#adminKey;
    const list = [...this.#rooms.values()].filter((r) => all || !r.s.isPrivate).map((r) => ({
      room: r.s.id, description: r.s.description, sampling_rate: r.s.samplingRate, spatial_audio: r.s.spatialAudio,
      pin_required: r.s.pin !== undefined, record: r.recording !== null, muted: r.muted, num_participants: r.participants.size,
    }));
    return { audiobridge: 'success', list };
  }

  #muteOne(body: Body, mute: boolean): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string'], ['id', this.#idType, true]]);
    const room = this.#room(body);
    this.#checkSecret(room, body);
    const p = this.#participant(room, body);
    if (p.muted !== mute) {
      p.muted = mute;
      this.#applyMute(p);
      this.#notifyRoom(room, { audiobridge: 'event', room: room.s.id, participants: [this.#describe(p)] });
    }
    return { audiobridge: 'success', room: room.s.id };
  }

  #muteRoom(body: Body, mute: boolean): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string']]);
    const room = this.#room(body);
    this.#checkSecret(room, body);
    if (room.muted !== mute) {
      room.muted = mute;
      for (const p of room.participants.values()) this.#applyMute(p);
      this.#notifyRoom(room, { audiobridge: 'event', room: room.s.id, muted: mute });
    }
    return { audiobridge: 'success', room: room.s.id };
  }

  #applyMute(p: Participant): void {
    this.#pool.updateParticipant(p.mixId, { muted: p.muted || p.room.muted });
  }

  async #rtpForward(body: Body): Promise<Reply> {
    checkFields(body, [
      ['room', this.#idType, true], ['secret', 'string'], ['host', 'string', true], ['host_family', 'string'], ['port', 'posint', true],
      ['ssrc', 'posint'], ['ptype', 'posint'], ['codec', 'string'], ['group', 'string'], ['always_on', 'boolean'],
      ['srtp_suite', 'posint'], ['srtp_crypto', 'string'],
    ]);
    const room = this.#room(body);
    if (this.#lockRtpForward) this.#checkAdminKey(body);
    this.#checkSecret(room, body);
    const codec = body.codec === undefined ? 'opus' : participantCodec(body.codec);
    if (!codec) throw new AudioBridgeError(AB_ERROR.INVALID_ELEMENT, `Unsupported codec (${String(body.codec)})`);
    const srtp = forwarderSrtp(body.srtp_suite, body.srtp_crypto);
    let groupIndex = 0;
    if (body.group !== undefined) {
      groupIndex = room.s.groups.indexOf(body.group as string) + 1;
      if (groupIndex === 0) throw new AudioBridgeError(AB_ERROR.NO_SUCH_GROUP, 'No such group');
    }
    const port = body.port as number;
    if (port === 0 || port > 65535) throw new AudioBridgeError(AB_ERROR.INVALID_ELEMENT, 'Invalid element (port)');
    const host = body.host as string;
    const ipv6 = host.includes(':');
    const sock = await bindUdpSocket({ address: ipv6 ? '::' : '0.0.0.0' });
    sock.on('error', () => {});
    sock.on('message', () => {}); // RTCP from the receiver: ignored
    const streamId = typeof body.ssrc === 'number' && body.ssrc > 0 && !room.forwarders.has(body.ssrc) ? body.ssrc : freshForwarderId(room);
    const ptype = typeof body.ptype === 'number' ? body.ptype & 0x7f : DEFAULT_PT[codec];
    const f: Forwarder = {
      streamId, host, port, codec, ptype, group: body.group as string | undefined, alwaysOn: body.always_on === true,
      mixId: this.#nextMixId++, out: new RtpOut(ptype, typeof body.ssrc === 'number' ? body.ssrc : streamId), sock, room, srtp,
    };
    room.forwarders.set(streamId, f);
    this.#targets.set(f.mixId, { kind: 'forwarder', f });
    this.#pool.addForwarder(room.poolId, f.mixId, { codec, group: groupIndex, bitrate: room.s.defaultBitrate || undefined });
    return { audiobridge: 'success', room: room.s.id, ...(f.group !== undefined ? { group: f.group } : {}), stream_id: streamId, host, port };
  }

  #stopRtpForward(body: Body): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string'], ['stream_id', 'posint', true]]);
    const room = this.#room(body);
    if (this.#lockRtpForward) this.#checkAdminKey(body);
    this.#checkSecret(room, body);
    const f = room.forwarders.get(body.stream_id as number);
    if (f) this.#dropForwarder(f);
    return { audiobridge: 'success', room: room.s.id, stream_id: body.stream_id };
  }

  #dropForwarder(f: Forwarder): void {
    f.room.forwarders.delete(f.streamId);
    this.#targets.delete(f.mixId);
    this.#pool.removeForwarder(f.mixId);
    try { f.sock.close(); } catch { /* already closed */ }
  }

  #describeForwarder(f: Forwarder): Reply {
    return {
      stream_id: f.streamId, ...(f.group !== undefined ? { group: f.group } : {}), ip: f.host, port: f.port, ssrc: f.out.ssrc,
      codec: f.codec, ptype: f.ptype, ...(f.srtp ? { srtp: true } : {}), always_on: f.alwaysOn,
    };
  }

  #enableRecording(body: Body): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string'], ['record', 'boolean', true], ['record_file', 'string'], ['record_dir', 'string']]);
    const room = this.#room(body);
    this.#checkSecret(room, body);
    if (body.record === true) {
      if (typeof body.record_dir === 'string') room.s.recordDir = body.record_dir;
      if (room.recording === null) this.#startRecording(room, body.record_file as string | undefined, room.s.recordDir);
    } else if (room.recording !== null) {
      this.#pool.record(room.poolId, null);
      room.recording = null;
    }
    return { audiobridge: 'success', record: body.record };
  }

  #startRecording(room: Room, file: string | undefined, dir: string | undefined): void {
    const name = file ?? `janus-audioroom-${room.s.id}-${Date.now() * 1000}.wav`;
    let full: string;
    try {
      full = resolveSafePath(this.#pathPolicy(), dir, name);
    } catch (err) {
      if (err instanceof UnsafePathError) throw new AudioBridgeError(AB_ERROR.INVALID_ELEMENT, `Invalid element (record_file: ${err.message})`);
      throw err;
    }
    room.recording = full;
    this.#pool.record(room.poolId, full, this.#recordTmpExt);
  }

  #enableMjrs(body: Body): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string'], ['mjrs', 'boolean', true], ['mjrs_dir', 'string']]);
    const room = this.#room(body);
    this.#checkSecret(room, body);
    if (typeof body.mjrs_dir === 'string') room.s.mjrsDir = body.mjrs_dir;
    room.s.mjrs = body.mjrs === true;
    for (const p of room.participants.values()) {
      if (room.s.mjrs) void this.#startMjr(p);
      else this.#stopMjr(p);
    }
    return { audiobridge: 'success', mjrs: room.s.mjrs };
  }

  /** As Janus: recordings may go anywhere outside the protected folders (the room secret guards them). */
  #pathPolicy(): { baseDir: string; allowedBases: string[]; protectedFolders: readonly string[] } {
    return { baseDir: this.#baseDir, allowedBases: ['/'], protectedFolders: this.#protected };
  }

  async #startMjr(p: Participant): Promise<void> {
    if (p.mjr || p.session.destroyed) return;
    const room = p.room;
    try {
      const rec = await MjrRecorder.open({
        ...this.#pathPolicy(), dir: room.s.mjrsDir,
        filename: `janus-audioroom-${room.s.id}-user-${p.id}-${Date.now() * 1000}-audio`, codec: p.codec,
        ...(this.#recordTmpExt ? { tmpExt: this.#recordTmpExt } : {}),
      });
      if (p.mjr || !room.participants.has(p.id) || room.participants.get(p.id) !== p) {
        await rec.close();
        return;
      }
      p.mjr = rec;
    } catch (err) {
      this.#gw.log.warn(`audiobridge: could not record participant ${p.id}: ${(err as Error).message}`);
    }
  }

  #stopMjr(p: Participant): void {
    const r = p.mjr;
    p.mjr = undefined;
    if (r) void r.close();
  }

  async #playFile(body: Body): Promise<Reply> {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string'], ['group', 'string'], ['file_id', 'string'], ['filename', 'string', true], ['loop', 'boolean']]);
    const room = this.#room(body);
    if (this.#lockPlayFile) this.#checkAdminKey(body);
    this.#checkSecret(room, body);
    let group = 0;
    if (room.s.groups.length > 0) {
      checkFields(body, [['group', 'string', true]]);
      group = room.s.groups.indexOf(body.group as string) + 1;
      if (group === 0) throw new AudioBridgeError(AB_ERROR.NO_SUCH_GROUP, `No such group (${String(body.group)})`);
    }
    const fileId = (body.file_id as string | undefined) ?? String(randomInt(1, 0x7fffffff));
    if (room.files.has(fileId)) throw new AudioBridgeError(AB_ERROR.INVALID_ELEMENT, `File ID exists (${fileId})`);
    let packets: Buffer[];
    try {
      packets = readOggOpus(await fs.promises.readFile(body.filename as string)).packets;
    } catch {
      throw new AudioBridgeError(AB_ERROR.UNKNOWN_ERROR, 'Error opening file');
    }
    const mixId = this.#nextMixId++;
    room.files.set(fileId, { mixId, group });
    this.#files.set(mixId, { room, fileId });
    this.#pool.playFile(room.poolId, mixId, packets, body.loop === true, group);
    this.#notifyRoom(room, { audiobridge: 'announcement-started', room: room.s.id, file_id: fileId });
    return { audiobridge: 'success', room: room.s.id, file_id: fileId };
  }

  #stopFile(body: Body): Reply {
    checkFields(body, [['room', this.#idType, true], ['secret', 'string'], ['file_id', 'string', true]]);
    const room = this.#room(body);
    if (this.#lockPlayFile) this.#checkAdminKey(body);
    this.#checkSecret(room, body);
    const fileId = body.file_id as string;
    const f = room.files.get(fileId);
    if (f) {
      this.#pool.stopFile(room.poolId, f.mixId);
      this.#fileEnded(f.mixId);
    }
    return { audiobridge: 'success', room: room.s.id, file_id: fileId };
  }

  #fileEnded(mixId: number): void {
    const f = this.#files.get(mixId);
    if (!f) return;
    this.#files.delete(mixId);
    f.room.files.delete(f.fileId);
    this.#notifyRoom(f.room, { audiobridge: 'announcement-stopped', room: f.room.s.id, file_id: f.fileId });
  }

  // ---- asynchronous requests ----

  async #async(session: Session, transaction: string, request: string, body: Body, jsep: Jsep | undefined): Promise<void> {
    if (session.destroyed) return;
    try {
      let reply: Reply;
      let answer: Jsep | undefined;
      if (request === 'join') reply = await this.#join(session, body, false);
      else if (request === 'changeroom') reply = await this.#join(session, body, true);
      else if (request === 'configure') reply = this.#configure(session, body);
      else if (request === 'leave') reply = this.#leave(session);
      else {
        // hangup: drop the PeerConnection (which takes a WebRTC participant out of the room).
        if (session.webrtc) this.#gw.closePc(session.handle);
        reply = { audiobridge: 'hangingup' };
      }
      if (jsep && session.participant && request !== 'leave') answer = this.#negotiate(session, jsep);
      this.#push(session, reply, { transaction, ...(answer ? { jsep: answer } : {}) });
    } catch (err) {
      this.#push(session, this.#errorReply(err), { transaction });
    }
  }

  async #join(session: Session, body: Body, change: boolean): Promise<Reply> {
    checkFields(body, [
      ['room', this.#idType, true], ['id', this.#idType], ['group', 'string'], ['pin', 'string'], ['display', 'string'], ['token', 'string'],
      ['muted', 'boolean'], ['codec', 'string'], ['bitrate', 'posint'], ['quality', 'posint'], ['expected_loss', 'posint'],
      ['volume', 'posint'], ['spatial_position', 'posint'], ['audiolevel_ext', 'boolean'], ['prebuffer', 'posint'],
      ['record', 'boolean'], ['filename', 'string'], ['secret', 'string'], ['rtp', 'object'],
    ]);
    if (change && !session.participant) throw new AudioBridgeError(AB_ERROR.NOT_JOINED, "Can't change room (not in a room in the first place)");
    if (!change && session.participant) throw new AudioBridgeError(AB_ERROR.ALREADY_JOINED, 'Already in a room (use changeroom to join another one)');
    const room = this.#room(body);
    this.#checkSecret(room, body, 'pin', room.s.pin);
    if (room.allowed && !(typeof body.token === 'string' && room.allowed.has(body.token))) {
      throw new AudioBridgeError(AB_ERROR.UNAUTHORIZED, 'Unauthorized (not in the allowed list)');
    }
    let group = 0;
    if (room.s.groups.length > 0) {
      checkFields(body, [['group', 'string', true]]);
      group = room.s.groups.indexOf(body.group as string) + 1;
      if (group === 0) throw new AudioBridgeError(AB_ERROR.NO_SUCH_GROUP, `No such group (${String(body.group)})`);
    }
    const rtp = body.rtp as Record<string, unknown> | undefined;
    if (rtp !== undefined) {
      if (!room.s.allowRtpParticipants) throw new AudioBridgeError(AB_ERROR.UNAUTHORIZED, 'Plain RTP participants not allowed in this room');
      checkFields(rtp, [['ip', 'string'], ['port', 'posint'], ['payload_type', 'posint'], ['audiolevel_ext', 'posint'], ['fec', 'boolean']]);
    }
    const codec = body.codec === undefined ? 'opus' : participantCodec(body.codec);
    if (!codec) throw new AudioBridgeError(AB_ERROR.INVALID_ELEMENT, `Invalid element (codec: ${String(body.codec)})`);
    let id = body.id as RoomId | undefined;
    if (id !== undefined && id !== 0 && id !== '' && room.participants.has(id)) throw new AudioBridgeError(AB_ERROR.ID_EXISTS, `User ID ${id} already exists`);
    if (id === undefined || id === 0 || id === '') id = this.#freshId(room.participants);

    let plain: PlainLeg | undefined;
    if (rtp !== undefined && !(change && session.participant?.plain)) {
      const sock = await bindUdpSocket({ address: this.#localIp, range: this.#portRange });
      const addr = sock.address();
      plain = { sock, localIp: this.#localIp, localPort: addr.port, remoteIp: rtp.ip as string | undefined, remotePort: rtp.port as number | undefined };
    }
    if (session.destroyed) {
      plain?.sock.close();
      return { audiobridge: 'event', result: 'ok' };
    }
    const old = session.participant;
    if (change && old) {
      plain = old.plain;
      old.plain = undefined;
      this.#removeParticipant(old);
    }
    const volume = typeof body.volume === 'number' ? body.volume : 100;
    const p: Participant = {
      id, display: body.display as string | undefined, room, session, mixId: old?.mixId ?? this.#nextMixId++,
      muted: body.muted === true, volume, spatial: typeof body.spatial_position === 'number' ? Math.min(100, body.spatial_position) : 50,
      group, codec: old?.codec ?? codec, prebuffer: typeof body.prebuffer === 'number' ? body.prebuffer : room.s.defaultPrebuffering,
      bitrate: typeof body.bitrate === 'number' ? body.bitrate : room.s.defaultBitrate,
      quality: typeof body.quality === 'number' ? Math.max(1, Math.min(10, body.quality)) : 4,
      expectedLoss: typeof body.expected_loss === 'number' ? Math.min(20, body.expected_loss) : room.s.defaultExpectedLoss,
      talking: false, out: old?.out ?? new RtpOut(session.pt), plain,
    };
    if (plain) {
      const pt = typeof rtp?.payload_type === 'number' ? rtp.payload_type : (old?.out.payloadType ?? DEFAULT_PT[p.codec]);
      p.out.payloadType = pt;
      if (typeof rtp?.audiolevel_ext === 'number') session.levelExt = rtp.audiolevel_ext;
      this.#wirePlain(p, plain);
    }
    const others = [...room.participants.values()].map((o) => this.#describe(o));
    room.participants.set(id, p);
    session.participant = p;
    this.#targets.set(p.mixId, { kind: 'participant', p });
    this.#pool.addParticipant(room.poolId, p.mixId, {
      codec: p.codec, volume: p.volume, muted: p.muted || room.muted, prebuffer: p.prebuffer, spatial: p.spatial, group: p.group,
      bitrate: p.bitrate || undefined, complexity: p.quality, expectedLoss: p.expectedLoss,
      audioLevelExt: room.s.audiolevelExt ? session.levelExt : 0,
    });
    this.#notifyRoom(room, { audiobridge: 'joined', room: room.s.id, participants: [this.#describe(p)] }, p);
    if (room.s.mjrs || body.record === true) void this.#startMjr(p);
    this.#event({ event: 'joined', room: room.s.id, id, display: p.display, muted: p.muted });
    const reply: Reply = { audiobridge: change ? 'roomchanged' : 'joined', room: room.s.id, id, participants: others };
    if (plain) reply.rtp = { ip: plain.localIp, port: plain.localPort, payload_type: p.out.payloadType };
    return reply;
  }

  #wirePlain(p: Participant, leg: PlainLeg): void {
    leg.sock.removeAllListeners('message');
    leg.sock.on('error', () => {});
    leg.sock.on('message', (msg, rinfo) => {
      if (leg.remotePort === undefined) {
        // No address given at join: latch on to the first sender.
        leg.remoteIp = rinfo.address;
        leg.remotePort = rinfo.port;
      }
      if (msg.length < 12 || msg[0] >> 6 !== 2) return;
      const pt = msg[1] & 0x7f;
      if (pt >= 64 && pt <= 95) return; // RTCP (RFC 5761 s4)
      const current = p.session.participant;
      if (!current) return;
      current.mjr?.saveRtp(msg);
      this.#pool.pushRtp(current.mixId, msg, 0, msg.length);
    });
  }

  #configure(session: Session, body: Body): Reply {
    checkFields(body, [
      ['muted', 'boolean'], ['display', 'string'], ['bitrate', 'posint'], ['quality', 'posint'], ['expected_loss', 'posint'],
      ['volume', 'posint'], ['spatial_position', 'posint'], ['prebuffer', 'posint'], ['record', 'boolean'], ['filename', 'string'],
      ['group', 'string'],
    ]);
    const p = session.participant;
    if (!p) throw new AudioBridgeError(AB_ERROR.NOT_JOINED, "Can't configure (not in a room)");
    const room = p.room;
    let notify = false;
    if (typeof body.group === 'string') {
      const g = room.s.groups.indexOf(body.group) + 1;
      if (g === 0) throw new AudioBridgeError(AB_ERROR.NO_SUCH_GROUP, `No such group (${body.group})`);
      p.group = g;
    }
    if (typeof body.muted === 'boolean' && body.muted !== p.muted) {
      p.muted = body.muted;
      notify = true;
    }
    if (typeof body.display === 'string') {
      p.display = body.display;
      notify = true;
    }
    if (typeof body.volume === 'number') p.volume = body.volume;
    if (typeof body.spatial_position === 'number') p.spatial = Math.min(100, body.spatial_position);
    if (typeof body.prebuffer === 'number') p.prebuffer = body.prebuffer;
    if (typeof body.bitrate === 'number') p.bitrate = body.bitrate;
    if (typeof body.quality === 'number') p.quality = Math.max(1, Math.min(10, body.quality));
    if (typeof body.expected_loss === 'number') p.expectedLoss = Math.min(20, body.expected_loss);
    this.#pool.updateParticipant(p.mixId, {
      muted: p.muted || room.muted, volume: p.volume, spatial: p.spatial, prebuffer: p.prebuffer, group: p.group,
      ...(body.bitrate !== undefined || body.quality !== undefined || body.expected_loss !== undefined
        ? { bitrate: p.bitrate || undefined, complexity: p.quality, expectedLoss: p.expectedLoss } : {}),
    });
    if (body.record === true) void this.#startMjr(p);
    else if (body.record === false && !room.s.mjrs) this.#stopMjr(p);
    if (notify) this.#notifyRoom(room, { audiobridge: 'event', room: room.s.id, participants: [this.#describe(p)] }, p);
    return { audiobridge: 'event', result: 'ok' };
  }

  #leave(session: Session): Reply {
    const p = session.participant;
    if (!p) throw new AudioBridgeError(AB_ERROR.NOT_JOINED, "Can't leave (not in a room)");
    const room = p.room;
    this.#removeParticipant(p);
    session.participant = undefined;
    if (session.webrtc) this.#gw.closePc(session.handle);
    return { audiobridge: 'left', room: room.s.id, id: p.id };
  }

  /** Takes `p` out of its room and the mixer, and tells the others. */
  #removeParticipant(p: Participant): void {
    const room = p.room;
    if (room.participants.get(p.id) !== p) return;
    room.participants.delete(p.id);
    this.#targets.delete(p.mixId);
    this.#pool.removeParticipant(p.mixId);
    this.#stopMjr(p);
    if (p.plain) {
      try { p.plain.sock.close(); } catch { /* closed */ }
      p.plain = undefined;
    }
    this.#notifyRoom(room, { audiobridge: 'event', room: room.s.id, leaving: p.id });
    this.#event({ event: 'left', room: room.s.id, id: p.id });
  }

  #negotiate(session: Session, jsep: Jsep): Jsep {
    if (jsep.type !== 'offer') throw new AudioBridgeError(AB_ERROR.INVALID_SDP, 'Unsupported JSEP type (only offers)');
    let offer;
    try {
      offer = parseSdp(jsep.sdp);
    } catch (err) {
      throw new AudioBridgeError(AB_ERROR.INVALID_SDP, `Error parsing offer: ${(err as Error).message}`);
    }
    const p = session.participant!;
    const answer = answerFor(offer, { audio: true, video: false, data: false, audioCodecs: [p.codec] });
    const m = answer.media.find((x) => x.kind === 'audio' && x.port !== 0);
    if (!m || !m.codecs[0]) throw new AudioBridgeError(AB_ERROR.INVALID_SDP, `Error generating answer: no ${p.codec} audio in the offer`);
    if (!p.room.s.audiolevelExt) m.extmaps = m.extmaps.filter((e) => e.uri !== AUDIO_LEVEL_URI);
    session.mid = m.mid ?? '0';
    session.pt = m.codecs[0].payloadType;
    session.levelExt = m.extmaps.find((e) => e.uri === AUDIO_LEVEL_URI)?.id ?? 0;
    session.webrtc = true;
    session.packet.mid = session.mid;
    p.out.payloadType = session.pt;
    this.#pool.updateParticipant(p.mixId, { audioLevelExt: p.room.s.audiolevelExt ? session.levelExt : 0 });
    return { type: 'answer', sdp: writeSdp(answer) };
  }

  // ---- media ----

  setupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as Session | undefined;
    if (!s) return;
    s.setup = true;
    const p = s.participant;
    if (p) this.#notifyRoom(p.room, { audiobridge: 'event', room: p.room.s.id, participants: [this.#describe(p)] }, p);
  }

  incomingRtp(handle: PluginHandle, packet: MediaPacket): void {
    if (packet.video) return;
    const s = handle.pluginState as Session;
    const p = s.participant;
    if (!p || s.destroyed) return;
    p.mjr?.saveRtp(packet.buffer);
    this.#pool.pushRtp(p.mixId, packet.buffer, 0, packet.buffer.length);
  }

  #onAudio(id: number, buf: Buffer, off: number, len: number, samples: number): void {
    const t = this.#targets.get(id);
    if (!t) return;
    if (t.kind === 'forwarder') {
      const f = t.f;
      if (!f.alwaysOn && f.room.participants.size === 0) return;
      let n = f.out.write(buf, off, len, samples);
      if (f.srtp) n = f.srtp.protectRtp(f.out.buffer, 0, n); // in place; the buffer has room for the tag
      if (n <= 0) return;
      f.sock.send(Buffer.from(f.out.buffer.subarray(0, n)), f.port, f.host);
      return;
    }
    const p = t.p;
    const leg = p.plain;
    if (leg) {
      if (leg.remotePort === undefined || leg.remoteIp === undefined) return;
      const n = p.out.write(buf, off, len, samples);
      leg.sock.send(Buffer.from(p.out.buffer.subarray(0, n)), leg.remotePort, leg.remoteIp);
      return;
    }
    const s = p.session;
    if (!s.setup || s.destroyed) return;
    const n = p.out.write(buf, off, len, samples);
    s.packet.buffer = p.out.buffer.subarray(0, n);
    this.#gw.relayRtp(s.handle, s.packet);
  }

  #onMixerEvent(e: MixerEvent): void {
    if (e.ev === 'talking') {
      const t = this.#targets.get(e.id);
      if (!t || t.kind !== 'participant') return;
      const p = t.p;
      p.talking = e.talking;
      if (p.room.s.audiolevelEvent) this.#notifyRoom(p.room, { audiobridge: e.talking ? 'talking' : 'stopped-talking', room: p.room.s.id, id: p.id });
    } else if (e.ev === 'fileEnded') this.#fileEnded(e.id);
    else if (e.ev === 'error') this.#gw.log.warn(`audiobridge mixer: ${e.message}`);
  }

  hangupMedia(handle: PluginHandle): void {
    const s = handle.pluginState as Session | undefined;
    if (!s) return;
    const was = s.webrtc;
    s.setup = false;
    s.webrtc = false;
    // As Janus: losing the PeerConnection takes a WebRTC participant out of its room.
    const p = s.participant;
    if (was && p && !p.plain) {
      this.#removeParticipant(p);
      s.participant = undefined;
    }
  }

  destroySession(handle: PluginHandle): void {
    const s = handle.pluginState as Session | undefined;
    if (!s) return;
    s.destroyed = true;
    const p = s.participant;
    if (p) {
      this.#removeParticipant(p);
      s.participant = undefined;
    }
  }

  querySession(handle: PluginHandle): Record<string, unknown> {
    const s = handle.pluginState as Session;
    const p = s.participant;
    if (!p) return { state: 'idle' };
    return {
      room: p.room.s.id, id: p.id, display: p.display, muted: p.muted, active: s.setup, codec: p.codec, volume: p.volume,
      prebuffer: p.prebuffer, talking: p.talking, ...(p.plain ? { rtp: { local_port: p.plain.localPort, remote_ip: p.plain.remoteIp, remote_port: p.plain.remotePort } } : {}),
    };
  }

  // ---- helpers ----

  #describe(p: Participant): Reply {
    const d: Reply = { id: p.id };
    if (p.display !== undefined) d.display = p.display;
    d.setup = p.plain !== undefined || p.session.setup;
    d.muted = p.muted;
    if (p.room.s.audiolevelEvent) d.talking = p.talking;
    if (p.room.s.spatialAudio) d.spatial_position = p.spatial;
    return d;
  }

  #push(s: Session, data: Reply, opts?: { transaction?: string; jsep?: Jsep }): void {
    if (s.destroyed) return;
    this.#gw.pushEvent(s.handle, data, opts);
  }

  #notifyRoom(room: Room, data: Reply, except?: Participant): void {
    for (const p of room.participants.values()) if (p !== except) this.#push(p.session, data);
  }

  #event(info: Record<string, unknown>): void {
    if (this.#notifyEvents) this.#gw.notifyEvent(undefined, info);
  }

  /** Rewrites janus.plugin.audiobridge.jcfg with the general section and every permanent room. */
  async #saveConfig(): Promise<void> {
    const file = this.#configFile;
    if (!file) return;
    const text = configFileText(this.#generalRaw, [...this.#rooms.values()].filter((r) => r.permanent).map((r) => r.s));
    try {
      await fs.promises.writeFile(`${file}.tmp`, text);
      await fs.promises.rename(`${file}.tmp`, file);
    } catch (err) {
      this.#gw.log.warn(`audiobridge: could not save ${file}: ${(err as Error).message}`);
    }
  }
}

function freshForwarderId(room: Room): number {
  let id: number;
  do id = randomInt(1, 0x7fffffff); while (room.forwarders.has(id));
  return id;
}

/** Field types used above, exported for tests that probe validation. */
export type { FieldType };

export default (): Plugin => new AudioBridgePlugin();
