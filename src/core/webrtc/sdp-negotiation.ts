/**
 * What plugins use to state the media they want, as Janus plugins use janus_sdp_generate_answer/offer:
 * pick one codec per m-line by preference, keep the feedback and header extensions we implement,
 * set directions. The core then adds ICE, DTLS, BUNDLE and SSRCs (HandleMedia.prepareLocal).
 */
import { writeSdp, type Codec, type Direction, type Extmap, type MediaSection, type SessionDescription } from './sdp.ts';

export const AUDIO_CODECS = ['opus', 'multiopus', 'pcmu', 'pcma', 'g722', 'isac16', 'isac32', 'l16-48', 'l16'] as const;
export const VIDEO_CODECS = ['vp8', 'vp9', 'h264', 'av1', 'h265'] as const;

/** Header extensions the core understands or passes through harmlessly. */
const KEPT_EXTMAPS = new Set([
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'urn:ietf:params:rtp-hdrext:toffset',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'urn:3gpp:video-orientation',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
]);

/** RTCP feedback we answer: NACK, PLI, FIR and REMB (no transport-cc yet). */
const KEPT_FEEDBACK = new Set(['nack', 'nack pli', 'ccm fir', 'goog-remb']);

export interface AnswerPreferences {
  audio?: boolean;
  video?: boolean;
  data?: boolean;
  /** Codec names in preference order (Janus `audiocodec`/`videocodec`, lower case). */
  audioCodecs?: readonly string[];
  videoCodecs?: readonly string[];
  /** H.264 profile-level-id or VP9 profile-id to prefer (Janus `videoprofile`). */
  videoProfile?: string;
  /** Keep simulcast (rid/simulcast attributes) in the answer. */
  acceptSimulcast?: boolean;
}

function codecKey(c: Codec): string {
  const name = c.name.toLowerCase();
  if (name === 'isac') return c.clockRate === 32000 ? 'isac32' : 'isac16';
  if (name === 'l16') return c.clockRate === 48000 ? 'l16-48' : 'l16';
  return name;
}

function profileMatches(c: Codec, profile: string | undefined): boolean {
  if (!profile) return true;
  const fmtp = (c.fmtp ?? '').toLowerCase();
  return fmtp.includes(`profile-level-id=${profile.toLowerCase()}`) || fmtp.includes(`profile-id=${profile.toLowerCase()}`);
}

/** The offered codec to use: the first of our preferences the offer has (profile honoured when given). */
export function chooseCodec(m: MediaSection, prefs: readonly string[], profile?: string): Codec | undefined {
  const offered = m.formats.map((f) => m.codecs.find((c) => String(c.payloadType) === f)).filter((c): c is Codec => c !== undefined);
  for (const want of prefs) {
    const withProfile = offered.find((c) => codecKey(c) === want && profileMatches(c, profile));
    if (withProfile) return withProfile;
    const any = offered.find((c) => codecKey(c) === want);
    if (any) return any;
  }
  return undefined;
}

function answerDirection(offered: Direction, enabled: boolean): Direction {
  if (!enabled || offered === 'inactive') return 'inactive';
  if (offered === 'sendonly') return 'recvonly';
  if (offered === 'recvonly') return 'sendonly';
  return 'sendrecv';
}

function rejected(m: MediaSection): MediaSection {
  return { ...m, port: 0, direction: 'inactive', codecs: [], extmaps: [], rids: [], simulcast: undefined, candidates: [], ssrcs: [], ssrcGroups: [], other: [], formats: m.formats.slice(0, 1) };
}

function keptExtmaps(list: Extmap[], simulcast: boolean): Extmap[] {
  return list.filter((e) => KEPT_EXTMAPS.has(e.uri) || (simulcast && e.uri.includes('rtp-stream-id'))).map((e) => ({ id: e.id, uri: e.uri }));
}

/** An answer to an offer, one m-line per offered m-line, in order (RFC 8829 section 5.3). */
export function answerFor(offer: SessionDescription, prefs: AnswerPreferences = {}): SessionDescription {
  const media: MediaSection[] = offer.media.map((m) => {
    const base: MediaSection = {
      kind: m.kind, port: 9, protocol: m.protocol, formats: [], mid: m.mid, direction: 'sendrecv', codecs: [], extmaps: [],
      rtcpMux: true, rtcpRsize: m.rtcpRsize, candidates: [], endOfCandidates: false, ssrcs: [], ssrcGroups: [], rids: [], other: [],
    };
    if (m.port === 0) return rejected(m);
    if (m.kind === 'application') {
      if (prefs.data === false || !m.protocol.includes('SCTP')) return rejected(m);
      return { ...base, formats: m.formats.slice(), sctpPort: m.sctpPort ?? 5000, maxMessageSize: m.maxMessageSize ?? 262144, rtcpMux: false, rtcpRsize: false };
    }
    if (m.kind !== 'audio' && m.kind !== 'video') return rejected(m);
    const audio = m.kind === 'audio';
    const enabled = audio ? prefs.audio !== false : prefs.video !== false;
    const codec = chooseCodec(m, audio ? (prefs.audioCodecs ?? AUDIO_CODECS) : (prefs.videoCodecs ?? VIDEO_CODECS), audio ? undefined : prefs.videoProfile);
    if (!codec) return rejected(m);
    const chosen: Codec = { ...codec, rtcpFb: codec.rtcpFb.filter((f) => KEPT_FEEDBACK.has(f)) };
    const simulcast = prefs.acceptSimulcast === true && m.rids.length > 0;
    return {
      ...base,
      formats: [String(chosen.payloadType)],
      codecs: [chosen],
      direction: answerDirection(m.direction, enabled),
      extmaps: keptExtmaps(m.extmaps, simulcast),
      rids: simulcast ? m.rids.map((r) => ({ id: r.id, direction: r.direction === 'send' ? 'recv' : 'send' })) : [],
      simulcast: simulcast && m.simulcast ? m.simulcast.replace(/^send /, 'recv ') : undefined,
    };
  });
  return {
    origin: '- 1 1 IN IP4 127.0.0.1', sessionName: '-', timing: '0 0', iceLite: false,
    groups: [], other: [], media,
  };
}

export function answerSdpFor(offer: SessionDescription, prefs: AnswerPreferences = {}): string {
  return writeSdp(answerFor(offer, prefs));
}

/** The chosen codec of each active m-line of a description we produced. */
export function negotiatedCodecs(desc: SessionDescription): Array<{ mid: string; kind: string; codec: Codec | undefined; direction: Direction }> {
  return desc.media.map((m, i) => ({ mid: m.mid ?? String(i), kind: m.kind, codec: m.port === 0 ? undefined : m.codecs[0], direction: m.direction }));
}
