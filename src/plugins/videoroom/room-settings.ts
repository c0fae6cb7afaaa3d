/**
 * A room's settings (JANUS-REFERENCE 2.2 room config) as read from janus.plugin.videoroom.jcfg or a
 * `create` request, their `list` form, and their jcfg form for permanent rooms. Codec lists are
 * checked against what Janus 1.1.2 accepts, with its error wording.
 */
import { VR_ERROR, vrError } from './errors.ts';
import type { Id } from './params.ts';

export const ROOM_AUDIO_CODECS = ['opus', 'isac32', 'isac16', 'pcmu', 'pcma', 'g722'] as const;
export const ROOM_VIDEO_CODECS = ['vp8', 'vp9', 'av1', 'h264', 'h265'] as const;

export interface RoomSettings {
  room: Id;
  description: string;
  isPrivate: boolean;
  secret?: string;
  pin?: string;
  requirePvtid: boolean;
  signedTokens: boolean;
  requireE2ee: boolean;
  maxPublishers: number;
  bitrate: number;
  bitrateCap: boolean;
  firFreq: number;
  audiocodec: string[];
  videocodec: string[];
  vp9Profile?: string;
  h264Profile?: string;
  opusFec: boolean;
  opusDtx: boolean;
  videoSvc: boolean;
  audiolevelExt: boolean;
  audiolevelEvent: boolean;
  audioActivePackets: number;
  audioLevelAverage: number;
  videoorientExt: boolean;
  playoutdelayExt: boolean;
  transportWideCcExt: boolean;
  record: boolean;
  recDir?: string;
  lockRecord: boolean;
  notifyJoining: boolean;
  dummyPublisher: boolean;
}

export function defaultSettings(room: Id): RoomSettings {
  return {
    room, description: `Room ${room}`, isPrivate: false, requirePvtid: false, signedTokens: false, requireE2ee: false,
    maxPublishers: 3, bitrate: 0, bitrateCap: false, firFreq: 0, audiocodec: ['opus'], videocodec: ['vp8'],
    opusFec: true, opusDtx: false, videoSvc: false, audiolevelExt: true, audiolevelEvent: false, audioActivePackets: 100,
    audioLevelAverage: 25, videoorientExt: true, playoutdelayExt: true, transportWideCcExt: true, record: false,
    lockRecord: false, notifyJoining: false, dummyPublisher: false,
  };
}

/** "opus,pcmu" -> ['opus','pcmu'], each checked; at most 5 as in Janus. */
export function parseCodecs(value: string, video: boolean): string[] {
  const known: readonly string[] = video ? ROOM_VIDEO_CODECS : ROOM_AUDIO_CODECS;
  const list = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '').slice(0, 5);
  if (list.length === 0 || list.some((c) => !known.includes(c))) {
    const name = video ? 'videocodec' : 'audiocodec';
    const all = `${known.slice(0, -1).join(', ')} or ${known[known.length - 1]}`;
    throw vrError(VR_ERROR.INVALID_ELEMENT, `Invalid element (${name} can only be or contain ${all})`);
  }
  return list;
}

const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && /^(true|yes|1)$/i.test(v)) || v === 1;

function intOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

const textOf = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined);

/**
 * Settings from attributes named as in Janus' jcfg rooms and `create` requests (they share names).
 * Values from jcfg may be strings; request values were type-checked before.
 */
export function settingsFrom(room: Id, a: Record<string, unknown>): RoomSettings {
  const s = defaultSettings(room);
  const text = (k: string): string | undefined => textOf(a[k]);
  const int = (k: string): number | undefined => intOf(a[k]);
  const flag = (k: string, d: boolean): boolean => (a[k] === undefined ? d : truthy(a[k]));
  const description = text('description');
  if (description !== undefined && description !== '') s.description = description;
  s.isPrivate = flag('is_private', false);
  const secret = text('secret');
  if (secret !== undefined) s.secret = secret;
  const pin = text('pin');
  if (pin !== undefined) s.pin = pin;
  s.requirePvtid = flag('require_pvtid', false);
  s.signedTokens = flag('signed_tokens', false);
  s.requireE2ee = flag('require_e2ee', false);
  s.maxPublishers = Math.max(0, int('publishers') ?? 3);
  s.bitrate = Math.max(0, int('bitrate') ?? 0);
  if (s.bitrate > 0 && s.bitrate < 64000) s.bitrate = 64000; // Janus' floor for a room bitrate
  s.bitrateCap = flag('bitrate_cap', false);
  s.firFreq = Math.max(0, int('fir_freq') ?? 0);
  const ac = text('audiocodec');
  if (ac !== undefined) s.audiocodec = parseCodecs(ac, false);
  const vc = text('videocodec');
  if (vc !== undefined) s.videocodec = parseCodecs(vc, true);
  const vp9 = text('vp9_profile');
  if (vp9 !== undefined) s.vp9Profile = vp9;
  const h264 = text('h264_profile');
  if (h264 !== undefined) s.h264Profile = h264;
  s.opusFec = flag('opus_fec', true);
  s.opusDtx = flag('opus_dtx', false);
  s.videoSvc = flag('video_svc', false);
  s.audiolevelExt = flag('audiolevel_ext', true);
  s.audiolevelEvent = flag('audiolevel_event', false);
  const aap = int('audio_active_packets');
  if (aap !== undefined && aap > 0) s.audioActivePackets = aap;
  const ala = int('audio_level_average');
  if (ala !== undefined && ala > 0 && ala <= 127) s.audioLevelAverage = ala;
  s.videoorientExt = flag('videoorient_ext', true);
  s.playoutdelayExt = flag('playoutdelay_ext', true);
  s.transportWideCcExt = flag('transport_wide_cc_ext', true);
  s.record = flag('record', false);
  const recDir = text('rec_dir');
  if (recDir !== undefined) s.recDir = recDir;
  s.lockRecord = flag('lock_record', false);
  s.notifyJoining = flag('notify_joining', false);
  s.dummyPublisher = flag('dummy_publisher', false);
  return s;
}

/** The room as `list` describes it (key order as Janus 1.1.2). */
export function listEntry(s: RoomSettings, participants: number): Record<string, unknown> {
  const e: Record<string, unknown> = {
    room: s.room, description: s.description, pin_required: s.pin !== undefined, is_private: s.isPrivate,
    max_publishers: s.maxPublishers, bitrate: s.bitrate,
  };
  if (s.bitrateCap) e.bitrate_cap = true;
  e.fir_freq = s.firFreq;
  e.require_pvtid = s.requirePvtid;
  e.require_e2ee = s.requireE2ee;
  e.dummy_publisher = s.dummyPublisher;
  e.notify_joining = s.notifyJoining;
  e.audiocodec = s.audiocodec.join(',');
  e.videocodec = s.videocodec.join(',');
  if (s.opusFec) e.opus_fec = true;
  if (s.opusDtx) e.opus_dtx = true;
  if (s.videoSvc) e.video_svc = true;
  e.record = s.record;
  if (s.recDir !== undefined) e.rec_dir = s.recDir;
  e.lock_record = s.lockRecord;
  e.num_participants = participants;
  e.audiolevel_ext = s.audiolevelExt;
  e.audiolevel_event = s.audiolevelEvent;
  if (s.audiolevelEvent) {
    e.audio_active_packets = s.audioActivePackets;
    e.audio_level_average = s.audioLevelAverage;
  }
  e.videoorient_ext = s.videoorientExt;
  e.playoutdelay_ext = s.playoutdelayExt;
  e.transport_wide_cc_ext = s.transportWideCcExt;
  return e;
}

/** The jcfg attributes of a permanent room (what settingsFrom reads back). */
export function jcfgGroup(s: RoomSettings, allowed: readonly string[] | undefined): Record<string, unknown> {
  const g: Record<string, unknown> = { description: s.description };
  if (s.isPrivate) g.is_private = true;
  if (s.secret !== undefined) g.secret = s.secret;
  if (s.pin !== undefined) g.pin = s.pin;
  if (s.requirePvtid) g.require_pvtid = true;
  if (s.signedTokens) g.signed_tokens = true;
  if (s.requireE2ee) g.require_e2ee = true;
  g.publishers = s.maxPublishers;
  if (s.bitrate) g.bitrate = s.bitrate;
  if (s.bitrateCap) g.bitrate_cap = true;
  if (s.firFreq) g.fir_freq = s.firFreq;
  g.audiocodec = s.audiocodec.join(',');
  g.videocodec = s.videocodec.join(',');
  if (s.vp9Profile) g.vp9_profile = s.vp9Profile;
  if (s.h264Profile) g.h264_profile = s.h264Profile;
  if (!s.opusFec) g.opus_fec = false;
  if (s.opusDtx) g.opus_dtx = true;
  if (s.videoSvc) g.video_svc = true;
  if (!s.audiolevelExt) g.audiolevel_ext = false;
  if (s.audiolevelEvent) {
    g.audiolevel_event = true;
    g.audio_active_packets = s.audioActivePackets;
    g.audio_level_average = s.audioLevelAverage;
  }
  if (!s.videoorientExt) g.videoorient_ext = false;
  if (!s.playoutdelayExt) g.playoutdelay_ext = false;
  if (!s.transportWideCcExt) g.transport_wide_cc_ext = false;
  if (s.record) g.record = true;
  if (s.recDir !== undefined) g.rec_dir = s.recDir;
  if (s.lockRecord) g.lock_record = true;
  if (s.notifyJoining) g.notify_joining = true;
  if (allowed && allowed.length) g.allowed = [...allowed];
  return g;
}
