/**
 * Mountpoint definitions, from a `create` request or a janus.plugin.streaming.jcfg section, turned
 * into one typed MountpointSpec. Both Janus syntaxes are read: the legacy audio/video/data keys
 * (audioport, videortpmap, ...) and the multistream `media` array of {type, mid, port, pt, codec,
 * fmtp, ...}. Values from .jcfg files may be strings ("yes", "5002"), so numbers and booleans are
 * coerced there; API requests are type-checked strictly.
 */
import { STREAMING_ERROR, StreamingError, invalid, invalidType, missing } from './errors.ts';
import { truthy } from './params.ts';

export type StreamType = 'audio' | 'video' | 'data';
export type SourceKind = 'rtp' | 'live' | 'ondemand' | 'rtsp';

export interface StreamSpec {
  type: StreamType;
  mid: string;
  label?: string;
  msid?: string;
  /** Port to bind; 0 = pick one from rtp_port_range. Undefined for non-RTP sources. */
  port: number;
  rtcpPort?: number;
  /** Multicast group to join. */
  mcast?: string;
  /** Address (or interface address) to bind on. */
  iface?: string;
  pt: number;
  /** Lower-case codec name (opus, pcmu, vp8, h264, ...); "text"/"binary" for data. */
  codec: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  /** Keep the packets since the last keyframe for new viewers (videobufferkf). */
  bufferKeyframe: boolean;
  /** Keep the last data message for new viewers (databuffermsg). */
  bufferMessage: boolean;
  /** Ignore a new SSRC for this many ms after the last packet of the current one. */
  collision: number;
  /**
   * Simulcast video (VP8/H.264): the ports of substreams 1 and 2 (0 = picked from the range; the
   * stream's own `port` carries substream 0). Undefined = no simulcast.
   */
  simulcastPorts?: number[];
}

export interface RtspSpec {
  url: string;
  user?: string;
  password?: string;
  /** 'udp' (default, falling back to TCP when nothing arrives), 'tcp', or 'udp-only'. */
  transport: 'udp' | 'tcp' | 'udp-only';
  reconnectDelay: number;
  sessionTimeout: number;
  timeout: number;
  connTimeout: number;
  /** Connect only while someone watches. */
  onDemand: boolean;
  /** On-demand: seconds to keep the camera after the last viewer left. */
  graceSeconds: number;
  quirk: boolean;
}

export interface MountpointSpec {
  id: number | string;
  name: string;
  description: string;
  metadata?: string;
  isPrivate: boolean;
  secret?: string;
  pin?: string;
  enabled: boolean;
  source: SourceKind;
  /** Legacy syntax: the create reply names audio_port/video_port/data_port. */
  legacy: boolean;
  streams: StreamSpec[];
  /** live/ondemand file sources: the file path. */
  filename?: string;
  rtsp?: RtspSpec;
  /** SRTP-protected RTP sources (srtpsuite 32|80, srtpcrypto: base64 of the 30-byte key+salt). */
  srtp?: { suite: 32 | 80; key: Buffer; salt: Buffer };
  /**
   * End-to-end encrypted media (insertable streams): viewers' offers carry `e2ee: true` for
   * janus.js, and payloads are opaque, so no keyframe detection or buffering.
   */
  e2ee: boolean;
  /**
   * Janus' helper threads for the fan-out. Accepted and kept for `info`; Portunus' fan-out is one
   * loop in the event loop either way (see README: Helper threads).
   */
  threads: number;
}

const AUDIO_RATES: Record<string, [number, number?]> = {
  opus: [48000, 2], pcmu: [8000], pcma: [8000], g722: [8000], isac16: [16000], isac32: [32000], l16: [16000], multiopus: [48000, 6],
};
const VIDEO_CODECS = new Set(['vp8', 'vp9', 'h264', 'av1', 'h265']);
/** Static payload types (RFC 3551) a mountpoint may use without an rtpmap. */
const STATIC_PT: Record<number, string> = { 0: 'pcmu', 8: 'pcma', 9: 'g722' };

/** Reads values strictly (API) or leniently (.jcfg strings). */
class Reader {
  constructor(private readonly o: Record<string, unknown>, private readonly lenient: boolean, private readonly prefix = '') {}

  has(k: string): boolean {
    return this.o[k] !== undefined;
  }

  str(k: string): string | undefined {
    const v = this.o[k];
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (this.lenient && (typeof v === 'number' || typeof v === 'boolean')) return String(v);
    throw invalidType(this.prefix + k, 'a string');
  }

  bool(k: string, dflt = false): boolean {
    const v = this.o[k];
    if (v === undefined) return dflt;
    if (typeof v === 'boolean') return v;
    if (this.lenient) return truthy(v);
    throw invalidType(this.prefix + k, 'a boolean');
  }

  int(k: string, max = 0xffffffff): number | undefined {
    const v = this.o[k];
    if (v === undefined) return undefined;
    const n = typeof v === 'number' ? v : this.lenient && typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < 0) throw invalidType(this.prefix + k, 'a positive integer');
    if (n > max) throw invalid(this.prefix + k);
    return n;
  }
}

/** "opus/48000/2" -> codec, rate, channels. */
function parseRtpmap(rtpmap: string, name: string): { codec: string; clockRate: number; channels?: number } {
  const m = /^([A-Za-z0-9_.-]{1,32})\/(\d{1,6})(?:\/(\d{1,2}))?$/.exec(rtpmap.trim());
  if (!m) throw invalid(name);
  const codec = m[1].toLowerCase();
  return { codec, clockRate: Number(m[2]), ...(m[3] ? { channels: Number(m[3]) } : {}) };
}

function codecFacts(type: StreamType, r: Reader, codecKey: string, rtpmapKey: string, pt: number | undefined): { codec: string; clockRate: number; channels?: number } {
  const rtpmap = r.str(rtpmapKey);
  if (rtpmap !== undefined) return parseRtpmap(rtpmap, rtpmapKey);
  const named = r.str(codecKey)?.toLowerCase();
  if (type === 'data') return { codec: named === 'binary' ? 'binary' : 'text', clockRate: 0 };
  const codec = named ?? (pt !== undefined ? STATIC_PT[pt] : undefined);
  if (codec === undefined) throw missing(codecKey);
  if (type === 'audio') {
    const rate = AUDIO_RATES[codec];
    if (!rate) throw invalid(codecKey);
    return { codec, clockRate: rate[0], ...(rate[1] ? { channels: rate[1] } : {}) };
  }
  if (!VIDEO_CODECS.has(codec)) throw invalid(codecKey);
  return { codec, clockRate: 90000 };
}

function streamFrom(type: StreamType, r: Reader, keys: { port: string; rtcp: string; pt: string; codec: string; rtpmap: string; fmtp: string; mcast: string; iface: string; kf: string; sim?: [string, string, string] }, mid: string, rtpSource: boolean, lenient: boolean): StreamSpec {
  const port = rtpSource ? r.int(keys.port, 65535) : 0;
  if (rtpSource && port === undefined && !lenient) throw missing(keys.port);
  const rtcpPort = r.int(keys.rtcp, 65535);
  const pt = type === 'data' ? 0 : r.int(keys.pt, 127);
  // RTSP sources learn codecs from the camera's SDP; everything else must name them.
  const facts = rtpSource || r.has(keys.codec) || r.has(keys.rtpmap) || type === 'data'
    ? codecFacts(type, r, keys.codec, keys.rtpmap, pt)
    : { codec: '', clockRate: type === 'audio' ? 48000 : 90000 };
  if (type !== 'data' && pt === undefined && rtpSource) throw missing(keys.pt);
  const spec: StreamSpec = {
    type, mid, port: port ?? 0, pt: pt ?? 0, ...facts, bufferKeyframe: type === 'video' && r.bool(keys.kf), bufferMessage: type === 'data' && r.bool('databuffermsg'), collision: r.int('collision') ?? 0,
  };
  if (rtcpPort !== undefined) spec.rtcpPort = rtcpPort;
  const fmtp = r.str(keys.fmtp);
  if (fmtp !== undefined) spec.fmtp = fmtp;
  const mcast = r.str(keys.mcast);
  if (mcast !== undefined && mcast !== '') spec.mcast = mcast;
  const iface = r.str(keys.iface);
  if (iface !== undefined && iface !== '') spec.iface = iface;
  if (keys.sim && type === 'video' && rtpSource && r.bool(keys.sim[0])) {
    // As Janus: substreams 1 and 2 come on ports of their own (videoport2/3, port2/3).
    if (spec.codec !== 'vp8' && spec.codec !== 'h264') throw new StreamingError(STREAMING_ERROR.CANT_CREATE, "Can't create mountpoint (simulcast needs VP8 or H.264)");
    const port2 = r.int(keys.sim[1], 65535) ?? 0;
    const port3 = r.int(keys.sim[2], 65535);
    spec.simulcastPorts = port3 === undefined && r.has(keys.sim[1]) && port2 !== 0 ? [port2] : [port2, port3 ?? 0];
  }
  return spec;
}

function legacyStreams(r: Reader, rtpSource: boolean, lenient: boolean, fileSource: boolean): StreamSpec[] {
  const out: StreamSpec[] = [];
  if (r.bool('audio')) {
    out.push(streamFrom('audio', r, { port: 'audioport', rtcp: 'audiortcpport', pt: 'audiopt', codec: 'audiocodec', rtpmap: 'audiortpmap', fmtp: 'audiofmtp', mcast: 'audiomcast', iface: 'audioiface', kf: '-' }, 'a', rtpSource, lenient || fileSource));
  }
  if (r.bool('video')) {
    out.push(streamFrom('video', r, { port: 'videoport', rtcp: 'videortcpport', pt: 'videopt', codec: 'videocodec', rtpmap: 'videortpmap', fmtp: 'videofmtp', mcast: 'videomcast', iface: 'videoiface', kf: 'videobufferkf', sim: ['videosimulcast', 'videoport2', 'videoport3'] }, 'v', rtpSource, lenient));
  }
  if (r.bool('data')) {
    out.push(streamFrom('data', r, { port: 'dataport', rtcp: '-', pt: '-', codec: 'datatype', rtpmap: '-', fmtp: '-', mcast: 'datamcast', iface: 'dataiface', kf: '-' }, 'd', rtpSource, lenient));
  }
  return out;
}

function mediaStreams(list: unknown, rtpSource: boolean, lenient: boolean): StreamSpec[] {
  if (!Array.isArray(list)) throw invalidType('media', 'an array');
  if (list.length === 0 || list.length > 16) throw invalid('media');
  const mids = new Set<string>();
  return list.map((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalidType('media', 'an array of objects');
    const r = new Reader(item as Record<string, unknown>, lenient, 'media.');
    const type = r.str('type');
    if (type === undefined) throw missing('type');
    if (type !== 'audio' && type !== 'video' && type !== 'data') throw invalid('type');
    const mid = r.str('mid') ?? (lenient ? String(i) : undefined);
    if (mid === undefined) throw missing('mid');
    if (!/^[A-Za-z0-9_-]{1,16}$/.test(mid) || mids.has(mid)) throw invalid('mid');
    mids.add(mid);
    const s = streamFrom(type, r, { port: 'port', rtcp: 'rtcpport', pt: 'pt', codec: 'codec', rtpmap: 'rtpmap', fmtp: 'fmtp', mcast: 'mcast', iface: 'iface', kf: 'videobufferkf', sim: ['simulcast', 'port2', 'port3'] }, mid, rtpSource, lenient);
    const label = r.str('label');
    if (label !== undefined) s.label = label;
    const msid = r.str('msid');
    if (msid !== undefined) s.msid = msid;
    if (type === 'video' && r.bool('bufferkf')) s.bufferKeyframe = true;
    return s;
  });
}

function rtspFrom(r: Reader, onDemandDefault: boolean): RtspSpec {
  const url = r.str('url');
  if (url === undefined) throw missing('url');
  if (!/^rtsps?:\/\//i.test(url) || url.length > 2048) throw invalid('url');
  const transport = r.str('rtsp_transport')?.toLowerCase() ?? 'udp';
  if (transport !== 'udp' && transport !== 'tcp' && transport !== 'udp-only') throw invalid('rtsp_transport');
  const spec: RtspSpec = {
    url, transport, reconnectDelay: r.int('rtsp_reconnect_delay') ?? 5, sessionTimeout: r.int('rtsp_session_timeout') ?? 0,
    timeout: r.int('rtsp_timeout') ?? 10, connTimeout: r.int('rtsp_conn_timeout') ?? 5, onDemand: r.bool('rtsp_ondemand', onDemandDefault), graceSeconds: r.int('rtsp_ondemand_grace') ?? 10, quirk: r.bool('rtsp_quirk'),
  };
  const user = r.str('rtsp_user');
  if (user !== undefined) spec.user = user;
  const pwd = r.str('rtsp_pwd');
  if (pwd !== undefined) spec.password = pwd;
  return spec;
}

/** RFC 4568-style inline keying as Janus takes it: suite 32 or 80, base64 of key (16) + salt (14). */
function srtpFrom(r: Reader): { suite: 32 | 80; key: Buffer; salt: Buffer } {
  const suite = r.int('srtpsuite');
  const crypto = r.str('srtpcrypto');
  if (suite === undefined) throw missing('srtpsuite');
  if (crypto === undefined) throw missing('srtpcrypto');
  if (suite !== 32 && suite !== 80) throw invalid('srtpsuite');
  const raw = /^[A-Za-z0-9+/]{40}$/.test(crypto) ? Buffer.from(crypto, 'base64') : Buffer.alloc(0);
  if (raw.length !== 30) throw invalid('srtpcrypto');
  return { suite, key: raw.subarray(0, 16), salt: raw.subarray(16, 30) };
}

/**
 * A mountpoint from a create request (`lenient` false) or a .jcfg section (`lenient` true, `name`
 * the section name). `id` was already validated and chosen by the caller.
 */
export function parseMountpoint(body: Record<string, unknown>, id: number | string, lenient: boolean, sectionName?: string): MountpointSpec {
  const r = new Reader(body, lenient);
  const type = r.str('type');
  if (type === undefined) throw missing('type');
  if (type !== 'rtp' && type !== 'live' && type !== 'ondemand' && type !== 'rtsp') {
    throw new StreamingError(STREAMING_ERROR.INVALID_ELEMENT, `Unknown stream type '${type.slice(0, 32)}'...\n`);
  }
  const name = r.str('name') ?? sectionName ?? `mp-${String(id)}`;
  const spec: MountpointSpec = {
    id, name, description: r.str('description') ?? name, isPrivate: r.bool('is_private'), enabled: !r.has('enabled') || r.bool('enabled'),
    source: type, legacy: !r.has('media'), streams: [], e2ee: r.bool('e2ee'), threads: r.int('threads', 64) ?? 0,
  };
  const metadata = r.str('metadata');
  if (metadata !== undefined) spec.metadata = metadata;
  const secret = r.str('secret');
  if (secret !== undefined) spec.secret = secret;
  const pin = r.str('pin');
  if (pin !== undefined) spec.pin = pin;
  if (type === 'live' || type === 'ondemand') {
    const filename = r.str('filename');
    if (filename === undefined) throw missing('filename');
    if (!/\.(alaw|mulaw|opus)$/i.test(filename)) throw new StreamingError(STREAMING_ERROR.CANT_CREATE, "Can't create mountpoint (only .alaw, .mulaw and .opus files)");
    spec.filename = filename;
    const codec = /\.alaw$/i.test(filename) ? 'pcma' : /\.mulaw$/i.test(filename) ? 'pcmu' : 'opus';
    const pt = codec === 'pcma' ? 8 : codec === 'pcmu' ? 0 : r.int('audiopt', 127) ?? 111;
    spec.streams = [{ type: 'audio', mid: 'a', port: 0, pt, codec, clockRate: codec === 'opus' ? 48000 : 8000, ...(codec === 'opus' ? { channels: 2 } : {}), bufferKeyframe: false, bufferMessage: false, collision: 0 }];
    if (r.has('video') && r.bool('video')) throw new StreamingError(STREAMING_ERROR.CANT_CREATE, "Can't create mountpoint (file sources are audio only)");
    return spec;
  }
  const rtpSource = type === 'rtp';
  spec.streams = r.has('media') ? mediaStreams(body.media, rtpSource, lenient) : legacyStreams(r, rtpSource, lenient, false);
  if (spec.streams.length === 0) throw new StreamingError(STREAMING_ERROR.CANT_CREATE, "Can't add 'rtp' stream, no audio, video or data have to be streamed...");
  if (spec.e2ee) {
    for (const st of spec.streams) {
      st.bufferKeyframe = false;
      if (st.simulcastPorts) throw new StreamingError(STREAMING_ERROR.CANT_CREATE, "Can't create mountpoint (simulcast needs readable payloads, not e2ee)");
    }
  }
  if (type === 'rtsp') spec.rtsp = rtspFrom(r, false);
  if (rtpSource && (r.has('srtpsuite') || r.has('srtpcrypto'))) spec.srtp = srtpFrom(r);
  return spec;
}
