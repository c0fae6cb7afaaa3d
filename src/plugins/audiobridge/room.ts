/**
 * An AudioBridge room's settings as Janus names them: read from a `room-<id>` group of
 * janus.plugin.audiobridge.jcfg or a `create` request, shown by `list`, written back for permanent
 * rooms.
 */
import { AB_ERROR, AudioBridgeError } from './errors.ts';
import type { MixCodec } from '../../audiobridge/room-mixer.ts';
import type { OpusRate } from '../../audiobridge/opus-codec.ts';

export interface RoomSettings {
  /** A number, or a string when the plugin has string_ids. */
  id: number | string;
  description: string;
  secret?: string;
  pin?: string;
  isPrivate: boolean;
  samplingRate: OpusRate;
  spatialAudio: boolean;
  audiolevelExt: boolean;
  audiolevelEvent: boolean;
  audioActivePackets: number;
  audioLevelAverage: number;
  defaultPrebuffering: number;
  defaultExpectedLoss: number;
  defaultBitrate: number;
  record: boolean;
  recordFile?: string;
  recordDir?: string;
  mjrs: boolean;
  mjrsDir?: string;
  allowRtpParticipants: boolean;
  /** Group names; a participant's group number is its index + 1. */
  groups: string[];
}

function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return ['true', 'yes', '1'].includes(v.toLowerCase());
  if (typeof v === 'number') return v !== 0;
  return dflt;
}

function int(v: unknown, dflt: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return dflt;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** Janus: 8/12/16/24/48 kHz, anything else falls back to 16 kHz (config) or is refused (API). */
export function samplingRateOf(v: unknown, strict: boolean): OpusRate {
  const n = int(v, 16000);
  if ([8000, 12000, 16000, 24000, 48000].includes(n)) return n as OpusRate;
  if (strict) throw new AudioBridgeError(AB_ERROR.UNKNOWN_ERROR, `Unsupported sampling rate ${n}`);
  return 16000;
}

/** Settings from a config group or create request (`o`), `strict` for API requests. */
export function roomSettings(id: number | string, o: Record<string, unknown>, strict: boolean): RoomSettings {
  const groups = Array.isArray(o.groups) ? o.groups.filter((g): g is string => typeof g === 'string') : [];
  return {
    id,
    description: str(o.description) ?? `Room ${id}`,
    secret: str(o.secret),
    pin: str(o.pin),
    isPrivate: bool(o.is_private, false),
    samplingRate: samplingRateOf(o.sampling_rate ?? o.sampling, strict),
    spatialAudio: bool(o.spatial_audio, false),
    audiolevelExt: bool(o.audiolevel_ext, true),
    audiolevelEvent: bool(o.audiolevel_event, false),
    audioActivePackets: Math.max(1, int(o.audio_active_packets, 100)),
    audioLevelAverage: Math.max(1, Math.min(127, int(o.audio_level_average, 25))),
    defaultPrebuffering: Math.max(0, Math.min(50, int(o.default_prebuffering, 6))),
    defaultExpectedLoss: Math.max(0, Math.min(20, int(o.default_expectedloss, 0))),
    defaultBitrate: Math.max(0, int(o.default_bitrate, 0)),
    record: bool(o.record, false),
    recordFile: str(o.record_file),
    recordDir: str(o.record_dir),
    mjrs: bool(o.mjrs, false),
    mjrsDir: str(o.mjrs_dir),
    allowRtpParticipants: bool(o.allow_rtp_participants, false),
    groups,
  };
}

function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The room as a jcfg group (for permanent rooms). */
export function roomJcfg(r: RoomSettings): string {
  const lines = [`room-${r.id}: {`, `\tdescription = ${q(r.description)}`];
  if (r.secret !== undefined) lines.push(`\tsecret = ${q(r.secret)}`);
  if (r.pin !== undefined) lines.push(`\tpin = ${q(r.pin)}`);
  if (r.isPrivate) lines.push('\tis_private = true');
  lines.push(`\tsampling_rate = ${r.samplingRate}`);
  if (r.spatialAudio) lines.push('\tspatial_audio = true');
  if (!r.audiolevelExt) lines.push('\taudiolevel_ext = false');
  if (r.audiolevelEvent) {
    lines.push('\taudiolevel_event = true', `\taudio_active_packets = ${r.audioActivePackets}`, `\taudio_level_average = ${r.audioLevelAverage}`);
  }
  if (r.defaultPrebuffering !== 6) lines.push(`\tdefault_prebuffering = ${r.defaultPrebuffering}`);
  if (r.defaultExpectedLoss) lines.push(`\tdefault_expectedloss = ${r.defaultExpectedLoss}`);
  if (r.defaultBitrate) lines.push(`\tdefault_bitrate = ${r.defaultBitrate}`);
  if (r.record) lines.push('\trecord = true');
  if (r.recordFile) lines.push(`\trecord_file = ${q(r.recordFile)}`);
  if (r.recordDir) lines.push(`\trecord_dir = ${q(r.recordDir)}`);
  if (r.mjrs) lines.push('\tmjrs = true');
  if (r.mjrsDir) lines.push(`\tmjrs_dir = ${q(r.mjrsDir)}`);
  if (r.allowRtpParticipants) lines.push('\tallow_rtp_participants = true');
  if (r.groups.length > 0) lines.push(`\tgroups = [${r.groups.map(q).join(', ')}]`);
  lines.push('}');
  return lines.join('\n');
}

/** janus.plugin.audiobridge.jcfg: the general section as it was read, then the permanent rooms. */
export function configFileText(general: Record<string, unknown>, rooms: RoomSettings[]): string {
  const lines = Object.entries(general).map(([k, v]) => `\t${k} = ${typeof v === 'string' ? q(v) : String(v)}`);
  return ['general: {', ...lines, '}', '', ...rooms.map(roomJcfg), ''].join('\n');
}

/** Codec names a participant may ask for. */
export function participantCodec(v: unknown): MixCodec | undefined {
  return v === 'opus' || v === 'pcma' || v === 'pcmu' ? v : undefined;
}
