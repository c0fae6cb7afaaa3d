/**
 * The VideoRoom's synchronous requests (answered in the reply to the `message`): create, edit,
 * destroy, exists, list, allowed, kick, moderate, listparticipants, listforwarders, enable_recording,
 * rtp_forward, stop_rtp_forward. Checks and their order follow Janus 1.1.2 (checked against it).
 */
import { randomInt } from 'node:crypto';
import { VR_ERROR, vrError } from './errors.ts';
import { check, type Id, type IdMode, type Spec } from './params.ts';
import { Room, type Publisher } from './model.ts';
import { jcfgGroup, listEntry, settingsFrom } from './room-settings.ts';
import { RtpForward, type RtpForwardSpec } from './rtp-forward.ts';

/** What the request handlers need from the plugin. */
export interface RoomHost {
  readonly rooms: Map<Id, Room>;
  readonly ids: IdMode;
  readonly adminKey: string | undefined;
  readonly lockRtpForward: boolean;
  /** Whether permanent rooms can be written back (a config file path is known). */
  readonly canPersist: boolean;
  persist(room: Id, group: Record<string, unknown> | undefined): Promise<void>;
  newRoomId(): Id;
  destroyRoom(room: Room): void;
  kick(pub: Publisher): void;
  moderate(pub: Publisher, mid: string, mute: boolean): void;
  setRecording(room: Room, record: boolean): Promise<void>;
}

const CREATE_PARAMS: readonly Spec[] = [
  ['description', 'string'], ['is_private', 'boolean'], ['allowed', 'array'], ['secret', 'string'], ['pin', 'string'],
  ['require_pvtid', 'boolean'], ['signed_tokens', 'boolean'], ['bitrate', 'positive'], ['bitrate_cap', 'boolean'],
  ['fir_freq', 'positive'], ['publishers', 'positive'], ['audiocodec', 'string'], ['videocodec', 'string'],
  ['vp9_profile', 'string'], ['h264_profile', 'string'], ['opus_fec', 'boolean'], ['opus_dtx', 'boolean'],
  ['video_svc', 'boolean'], ['audiolevel_ext', 'boolean'], ['audiolevel_event', 'boolean'],
  ['audio_active_packets', 'positive'], ['audio_level_average', 'positive'], ['videoorient_ext', 'boolean'],
  ['playoutdelay_ext', 'boolean'], ['transport_wide_cc_ext', 'boolean'], ['record', 'boolean'], ['rec_dir', 'string'],
  ['lock_record', 'boolean'], ['permanent', 'boolean'], ['notify_joining', 'boolean'], ['require_e2ee', 'boolean'],
  ['dummy_publisher', 'boolean'],
];

const EDIT_PARAMS: readonly Spec[] = [
  ['secret', 'string'], ['new_description', 'string'], ['new_is_private', 'boolean'], ['new_secret', 'string'],
  ['new_pin', 'string'], ['new_require_pvtid', 'boolean'], ['new_bitrate', 'positive'], ['new_fir_freq', 'positive'],
  ['new_publishers', 'positive'], ['new_lock_record', 'boolean'], ['new_rec_dir', 'string'], ['permanent', 'boolean'],
];

export function findRoom(host: RoomHost, body: Record<string, unknown>): Room {
  check(body, [['room', 'id', true]], host.ids);
  const room = host.rooms.get(body.room as Id);
  if (!room || room.destroyed) throw vrError(VR_ERROR.NO_SUCH_ROOM, `No such room (${String(body.room)})`);
  return room;
}

/** Janus' JANUS_CHECK_SECRET: only when the room has one. */
export function checkSecret(expected: string | undefined, body: Record<string, unknown>, name: string, ids: IdMode): void {
  if (expected === undefined) return;
  check(body, [[name, 'string', true]], ids);
  if (body[name] !== expected) throw vrError(VR_ERROR.UNAUTHORIZED, `Unauthorized (wrong ${name})`);
}

function checkAdminKey(host: RoomHost, body: Record<string, unknown>): void {
  checkSecret(host.adminKey, body, 'admin_key', host.ids);
}

function stringList(v: unknown): string[] {
  const list = v as unknown[];
  if (list.some((x) => typeof x !== 'string')) throw vrError(VR_ERROR.INVALID_ELEMENT, 'Invalid element in the allowed array (not a string)');
  return list as string[];
}

function feedOf(room: Room, body: Record<string, unknown>): Publisher {
  const pub = room.participants.get(body.publisher_id as Id);
  if (!pub || !pub.publishing) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such feed (${String(body.publisher_id)})`);
  return pub;
}

export async function handleRoomRequest(host: RoomHost, request: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const ids = host.ids;
  switch (request) {
    case 'create': {
      checkAdminKey(host, body);
      check(body, [['room', 'id'], ...CREATE_PARAMS], ids);
      const allowed = body.allowed !== undefined ? stringList(body.allowed) : undefined;
      const permanent = body.permanent === true;
      if (permanent && !host.canPersist) throw vrError(VR_ERROR.UNKNOWN_ERROR, "No configuration file, can't create permanent room");
      let id = body.room as Id | undefined;
      if (id === undefined || id === 0 || id === '') id = host.newRoomId();
      if (host.rooms.has(id)) throw vrError(VR_ERROR.ROOM_EXISTS, `Room ${id} already exists`);
      const room = new Room(settingsFrom(id, body));
      if (allowed) {
        room.checkAllowed = true;
        for (const a of allowed) room.allowed.add(a);
      }
      room.permanent = permanent;
      host.rooms.set(id, room);
      if (permanent) await host.persist(id, jcfgGroup(room.settings, room.checkAllowed ? [...room.allowed] : undefined));
      return { videoroom: 'created', room: id, permanent };
    }
    case 'edit': {
      const room = findRoom(host, body);
      check(body, EDIT_PARAMS, ids);
      checkSecret(room.settings.secret, body, 'secret', ids);
      const permanent = body.permanent === true;
      if (permanent && !host.canPersist) throw vrError(VR_ERROR.UNKNOWN_ERROR, "No configuration file, can't edit room permanently");
      const s = room.settings;
      if (typeof body.new_description === 'string' && body.new_description !== '') s.description = body.new_description;
      if (typeof body.new_is_private === 'boolean') s.isPrivate = body.new_is_private;
      if (typeof body.new_secret === 'string') s.secret = body.new_secret;
      if (typeof body.new_pin === 'string') s.pin = body.new_pin === '' ? undefined : body.new_pin;
      if (typeof body.new_require_pvtid === 'boolean') s.requirePvtid = body.new_require_pvtid;
      if (typeof body.new_bitrate === 'number') s.bitrate = body.new_bitrate > 0 && body.new_bitrate < 64000 ? 64000 : body.new_bitrate;
      if (typeof body.new_fir_freq === 'number') s.firFreq = body.new_fir_freq;
      if (typeof body.new_publishers === 'number') s.maxPublishers = body.new_publishers;
      if (typeof body.new_lock_record === 'boolean') s.lockRecord = body.new_lock_record;
      if (typeof body.new_rec_dir === 'string') s.recDir = body.new_rec_dir;
      if (permanent) await host.persist(room.id, jcfgGroup(s, room.checkAllowed ? [...room.allowed] : undefined));
      return { videoroom: 'edited', room: room.id, permanent };
    }
    case 'destroy': {
      const room = findRoom(host, body);
      check(body, [['secret', 'string'], ['permanent', 'boolean']], ids);
      checkSecret(room.settings.secret, body, 'secret', ids);
      const permanent = body.permanent === true;
      if (permanent && !host.canPersist) throw vrError(VR_ERROR.UNKNOWN_ERROR, "No configuration file, can't destroy room permanently");
      host.destroyRoom(room);
      if (permanent) await host.persist(room.id, undefined);
      return { videoroom: 'destroyed', room: room.id, permanent };
    }
    case 'exists': {
      check(body, [['room', 'id', true]], ids);
      const room = host.rooms.get(body.room as Id);
      return { videoroom: 'success', room: body.room, exists: room !== undefined && !room.destroyed };
    }
    case 'list': {
      check(body, [['admin_key', 'string']], ids);
      const admin = host.adminKey !== undefined && body.admin_key === host.adminKey;
      const list = [...host.rooms.values()].filter((r) => !r.destroyed && (admin || !r.settings.isPrivate));
      return { videoroom: 'success', list: list.map((r) => roomListEntry(r)) };
    }
    case 'allowed': {
      check(body, [['action', 'string', true], ['allowed', 'array']], ids);
      const action = body.action as string;
      if (!['enable', 'disable', 'add', 'remove'].includes(action)) throw vrError(VR_ERROR.INVALID_ELEMENT, `Unsupported action '${action}' (allowed)`);
      const room = findRoom(host, body);
      check(body, [['secret', 'string']], ids);
      checkSecret(room.settings.secret, body, 'secret', ids);
      if (action === 'enable') room.checkAllowed = true;
      else if (action === 'disable') room.checkAllowed = false;
      else if (body.allowed !== undefined) {
        const list = stringList(body.allowed);
        for (const t of list) {
          if (action === 'add') room.allowed.add(t);
          else room.allowed.delete(t);
        }
      }
      return { videoroom: 'success', room: room.id, allowed: [...room.allowed] };
    }
    case 'kick': {
      const room = findRoom(host, body);
      check(body, [['secret', 'string']], ids);
      checkSecret(room.settings.secret, body, 'secret', ids);
      check(body, [['id', 'id', true]], ids);
      const pub = room.participants.get(body.id as Id);
      if (!pub) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such user ${String(body.id)} in room ${String(room.id)}`);
      host.kick(pub);
      return { videoroom: 'success' };
    }
    case 'moderate': {
      const room = findRoom(host, body);
      check(body, [['secret', 'string']], ids);
      checkSecret(room.settings.secret, body, 'secret', ids);
      check(body, [['id', 'id', true], ['mid', 'string', true], ['mute', 'boolean', true]], ids);
      const pub = room.participants.get(body.id as Id);
      if (!pub) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such user ${String(body.id)} in room ${String(room.id)}`);
      if (!pub.streamByMid(body.mid as string)) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such mid ${String(body.mid)} in publisher ${String(pub.id)}`);
      host.moderate(pub, body.mid as string, body.mute as boolean);
      return { videoroom: 'success' };
    }
    case 'listparticipants': {
      const room = findRoom(host, body);
      const participants = [...room.participants.values()].map((p) => {
        const e: Record<string, unknown> = { id: p.id };
        if (p.display !== undefined) e.display = p.display;
        e.publisher = p.publishing;
        if (p.publishing && room.settings.audiolevelEvent) e.talking = p.level.talking;
        return e;
      });
      return { videoroom: 'participants', room: room.id, participants };
    }
    case 'listforwarders': {
      const room = findRoom(host, body);
      check(body, [['secret', 'string']], ids);
      checkSecret(room.settings.secret, body, 'secret', ids);
      const publishers = [...room.participants.values()].filter((p) => p.forwarders.size > 0).map((p) => ({
        publisher_id: p.id, ...(p.display !== undefined ? { display: p.display } : {}), forwarders: [...p.forwarders.values()].map((f) => f.describe()),
      }));
      return { videoroom: 'forwarders', room: room.id, publishers };
    }
    case 'enable_recording': {
      const room = findRoom(host, body);
      check(body, [['secret', 'string'], ['record', 'boolean', true]], ids);
      checkSecret(room.settings.secret, body, 'secret', ids);
      await host.setRecording(room, body.record as boolean);
      return { videoroom: 'success', record: body.record };
    }
    case 'rtp_forward':
      return rtpForward(host, body);
    case 'stop_rtp_forward': {
      const room = findRoom(host, body);
      if (host.lockRtpForward) checkAdminKey(host, body);
      check(body, [['secret', 'string']], ids);
      checkSecret(room.settings.secret, body, 'secret', ids);
      check(body, [['publisher_id', 'id', true], ['stream_id', 'positive', true]], ids);
      const pub = feedOf(room, body);
      const f = pub.forwarders.get(body.stream_id as number);
      if (!f) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such stream (${String(body.stream_id)})`);
      f.close();
      pub.forwarders.delete(f.streamId);
      return { videoroom: 'stop_rtp_forward', room: room.id, publisher_id: pub.id, stream_id: f.streamId };
    }
    default:
      throw vrError(VR_ERROR.INVALID_REQUEST, `Unknown request '${request}'`);
  }
}

export function roomListEntry(r: Room): Record<string, unknown> {
  return listEntry(r.settings, r.participants.size);
}

const STREAM_PARAMS: readonly Spec[] = [['mid', 'string', true], ['host', 'string'], ['port', 'positive', true], ['ssrc', 'positive'], ['pt', 'positive']];

function rtpForward(host: RoomHost, body: Record<string, unknown>): Record<string, unknown> {
  const ids = host.ids;
  const room = findRoom(host, body);
  if (host.lockRtpForward) checkAdminKey(host, body);
  check(body, [['secret', 'string']], ids);
  checkSecret(room.settings.secret, body, 'secret', ids);
  check(body, [
    ['host', 'string', true], ['publisher_id', 'id', true], ['host_family', 'string'], ['streams', 'array'],
    ['audio_port', 'positive'], ['audio_ssrc', 'positive'], ['audio_pt', 'positive'],
    ['video_port', 'positive'], ['video_ssrc', 'positive'], ['video_pt', 'positive'],
  ], ids);
  const pub = feedOf(room, body);
  const wanted: Array<{ mid: string; spec: RtpForwardSpec }> = [];
  const defaultHost = body.host as string;
  if (Array.isArray(body.streams)) {
    for (const item of body.streams) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw vrError(VR_ERROR.INVALID_ELEMENT, 'Invalid element type (streams should be an array of objects)');
      const it = item as Record<string, unknown>;
      check(it, STREAM_PARAMS, ids);
      const spec: RtpForwardSpec = { host: (it.host as string | undefined) ?? defaultHost, port: it.port as number };
      if (it.ssrc !== undefined) spec.ssrc = it.ssrc as number;
      if (it.pt !== undefined) spec.pt = it.pt as number;
      wanted.push({ mid: it.mid as string, spec });
    }
  }
  for (const kind of ['audio', 'video'] as const) {
    const port = body[`${kind}_port`];
    if (typeof port !== 'number' || port === 0) continue;
    const st = pub.streams.find((s) => s.type === kind);
    if (!st) continue;
    const spec: RtpForwardSpec = { host: defaultHost, port };
    if (typeof body[`${kind}_ssrc`] === 'number') spec.ssrc = body[`${kind}_ssrc`] as number;
    if (typeof body[`${kind}_pt`] === 'number') spec.pt = body[`${kind}_pt`] as number;
    wanted.push({ mid: st.mid, spec });
  }
  for (const w of wanted) {
    if (w.spec.port > 65535) throw vrError(VR_ERROR.INVALID_ELEMENT, 'Invalid element (port out of range)');
    if (!pub.streamByMid(w.mid)) throw vrError(VR_ERROR.NO_SUCH_FEED, `No such mid '${w.mid}' in publisher ${String(pub.id)}`);
  }
  const forwarders = wanted.map((w) => {
    let sid = randomInt(1, 2 ** 31);
    while (pub.forwarders.has(sid)) sid = randomInt(1, 2 ** 31);
    const f = new RtpForward(sid, pub.streamByMid(w.mid)!, w.spec);
    pub.forwarders.set(sid, f);
    return f.describe();
  });
  return { videoroom: 'rtp_forward', room: room.id, publisher_id: pub.id, forwarders };
}
