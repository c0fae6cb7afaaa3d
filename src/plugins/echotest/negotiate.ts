/**
 * The EchoTest's answer to an offer (as Janus' janus_sdp_generate_answer with the request's codec
 * preferences): one codec per m-line chosen by `audiocodec`/`videocodec` (comma lists, in order of
 * preference) and `videoprofile` (H.264 profile-level-id or VP9 profile-id), rid simulcast accepted
 * for VP8 and H.264, Opus RED when asked (`opusred`), sendonly answers turned inactive (the echo has nothing of its own to send), and
 * the facts the media path needs: codecs, clock rates, fmtp, data channel, simulcast layout.
 */
import { answerFor, AUDIO_CODECS, VIDEO_CODECS } from '../../core/webrtc/sdp-negotiation.ts';
import type { MediaSection, SessionDescription } from '../../core/webrtc/sdp.ts';
import { codecList, type EchoRequest } from './requests.ts';
import { RID_EXT_URI, type SimulcastLayout } from '../../media/simulcast.ts';

export interface MediaCodec {
  mid: string;
  /** Lower-case codec name as Janus names it (opus, pcmu, vp8, h264, ...). */
  codec: string;
  payloadType: number;
  clockRate: number;
  fmtp?: string;
  /** Payload type of Opus RED when negotiated (`opusred`). */
  redPt?: number;
}

export interface Negotiated {
  answer: SessionDescription;
  audio?: MediaCodec;
  video?: MediaCodec;
  data: boolean;
  simulcast?: SimulcastLayout;
}

function codecOf(m: MediaSection, index: number): MediaCodec | undefined {
  const c = m.port === 0 ? undefined : m.codecs[0];
  if (!c) return undefined;
  const name = c.name.toLowerCase();
  const codec = name === 'l16' && c.clockRate === 48000 ? 'l16-48' : name === 'isac' ? (c.clockRate === 32000 ? 'isac32' : 'isac16') : name;
  return { mid: m.mid ?? String(index), codec, payloadType: c.payloadType, clockRate: c.clockRate, ...(c.fmtp ? { fmtp: c.fmtp } : {}) };
}

/** The first `send` stream of each simulcast entry ("h;m;l", alternatives "a,b", paused "~x"). */
function simulcastRids(m: MediaSection): string[] {
  const sc = m.simulcast?.trim();
  if (sc) {
    const parts = sc.split(/\s+/);
    const at = parts.indexOf('send');
    if (at >= 0 && parts[at + 1]) return parts[at + 1].split(';').map((e) => e.split(',')[0].replace(/^~/, '')).filter((r) => r !== '');
  }
  return m.rids.filter((r) => r.direction === 'send').map((r) => r.id);
}

/**
 * Simulcast layout of an offered video m-line, lowest quality first. Like Janus, rids are taken as
 * listed from highest to lowest quality unless the JSEP says `rid_order: "lmh"`.
 */
function layoutOf(offered: MediaSection, answered: MediaSection, codec: 'vp8' | 'h264', ridOrder: unknown): SimulcastLayout | undefined {
  const sim = offered.ssrcGroups.find((g) => g.semantics === 'SIM');
  const ext = answered.extmaps.find((e) => e.uri === RID_EXT_URI);
  const rids = answered.rids.length > 0 ? simulcastRids(offered).slice(0, 3) : [];
  if (rids.length > 1) {
    const lowFirst = typeof ridOrder === 'string' && ridOrder.toLowerCase() === 'lmh';
    return { rids: lowFirst ? rids : rids.reverse(), ssrcs: [], ridExtId: ext?.id ?? 0, codec };
  }
  if (sim && sim.ssrcs.length > 1) return { rids: [], ssrcs: sim.ssrcs.slice(0, 3), ridExtId: 0, codec };
  return undefined;
}

/** Janus' JANUS_SDP_OA_ACCEPT_OPUSRED: answer RED (first) and Opus when RED wraps Opus in the offer. */
function acceptRed(offered: MediaSection, answered: MediaSection, opus: MediaCodec): void {
  const red = offered.codecs.find((k) => k.name.toLowerCase() === 'red' && k.clockRate === 48000 && offered.formats.includes(String(k.payloadType)));
  if (!red) return;
  answered.codecs = [{ payloadType: red.payloadType, name: red.name, clockRate: 48000, channels: red.channels ?? 2, fmtp: `${opus.payloadType}/${opus.payloadType}`, rtcpFb: [] }, ...answered.codecs];
  answered.formats = [String(red.payloadType), ...answered.formats];
  opus.redPt = red.payloadType;
}

/** The answer to `offer`, or undefined when nothing in it can be echoed. */
export function negotiate(offer: SessionDescription, req: EchoRequest, ridOrder: unknown): Negotiated | undefined {
  const answer = answerFor(offer, {
    audioCodecs: codecList(req.audiocodec, AUDIO_CODECS),
    videoCodecs: codecList(req.videocodec, VIDEO_CODECS),
    videoProfile: req.videoprofile,
    acceptSimulcast: true,
  });
  if (answer.media.every((m) => m.port === 0)) return undefined;
  const result: Negotiated = { answer, data: false };
  answer.media.forEach((m, i) => {
    if (m.port === 0) return;
    if ((m.kind === 'audio' || m.kind === 'video') && m.direction === 'sendonly') m.direction = 'inactive';
    if (m.kind === 'application') {
      result.data ||= m.direction !== 'inactive';
      return;
    }
    const c = codecOf(m, i);
    if (!c) return;
    if (m.kind === 'audio') {
      if (req.opusred === true && c.codec === 'opus' && result.audio === undefined) acceptRed(offer.media[i], m, c);
      result.audio ??= c;
      return;
    }
    if (m.kind !== 'video') return;
    const first = result.video === undefined;
    result.video ??= c;
    const simulcastCodec = c.codec === 'vp8' || c.codec === 'h264' ? c.codec : undefined;
    const layout = first && simulcastCodec ? layoutOf(offer.media[i], m, simulcastCodec, ridOrder) : undefined;
    if (layout) {
      result.simulcast = layout;
      return;
    }
    // No simulcast here (another codec, a second video m-line, one rid): answer without it.
    m.rids = [];
    m.simulcast = undefined;
    m.extmaps = m.extmaps.filter((e) => e.uri !== RID_EXT_URI);
  });
  return result;
}
