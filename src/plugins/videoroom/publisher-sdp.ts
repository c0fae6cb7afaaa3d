/**
 * The answer to a publisher's offer (Janus answers every audio/video m-line recvonly with one codec
 * from the room's lists) and the streams it describes: codec, payload type, extensions, simulcast.
 */
import { answerFor } from '../../core/webrtc/sdp-negotiation.ts';
import type { MediaSection, SessionDescription } from '../../core/webrtc/sdp.ts';
import { RID_EXT_URI, type SimulcastLayout } from '../../media/simulcast.ts';
import type { RoomSettings } from './room-settings.ts';
import { newPubStream, type PubStream } from './streams.ts';

export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const VIDEO_ORIENT_URI = 'urn:3gpp:video-orientation';
const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
const TWCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const ABS_SEND_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

/**
 * The Opus fmtp Janus 1.1.2 answers a publisher with (and offers its subscribers): in-band FEC
 * (RFC 7587 section 6.1) when the room has opus_fec and the offer asked for it, DTX whenever the offer
 * asked for it; nothing else of the offer's (measured against Janus).
 */
export function opusFmtp(offered: string | undefined, room: RoomSettings): string | undefined {
  const params = new Set((offered ?? '').toLowerCase().split(';').map((p) => p.trim().replace(/\s*=\s*/, '=')));
  const out: string[] = [];
  if (room.opusFec && params.has('useinbandfec=1')) out.push('useinbandfec=1');
  if (params.has('usedtx=1')) out.push('usedtx=1');
  return out.length > 0 ? out.join(';') : undefined;
}

/** The first `send` rid of each simulcast entry (RFC 8853 "a;b;c", alternatives "x,y", paused "~z"). */
function sendRids(m: MediaSection): string[] {
  const parts = m.simulcast?.trim().split(/\s+/) ?? [];
  const at = parts.indexOf('send');
  if (at >= 0 && parts[at + 1]) return parts[at + 1].split(';').map((e) => e.split(',')[0].replace(/^~/, '')).filter((r) => r !== '');
  return m.rids.filter((r) => r.direction === 'send').map((r) => r.id);
}

/** rid (highest first unless rid_order is "lmh", as Janus) or SSRC SIM group simulcast of a video m-line. */
function layoutOf(offered: MediaSection, answered: MediaSection, codec: string, ridOrder: unknown): SimulcastLayout | undefined {
  if (codec !== 'vp8' && codec !== 'h264') return undefined;
  const rids = answered.rids.length > 0 ? sendRids(offered).slice(0, 3) : [];
  if (rids.length > 1) {
    const ext = answered.extmaps.find((e) => e.uri === RID_EXT_URI);
    const lowFirst = typeof ridOrder === 'string' && ridOrder.toLowerCase() === 'lmh';
    return { rids: lowFirst ? rids : rids.reverse(), ssrcs: [], ridExtId: ext?.id ?? 0, codec };
  }
  const sim = offered.ssrcGroups.find((g) => g.semantics === 'SIM');
  if (sim && sim.ssrcs.length > 1) return { rids: [], ssrcs: sim.ssrcs.slice(0, 3), ridExtId: 0, codec };
  return undefined;
}

export interface PublisherNegotiation {
  answer: SessionDescription;
  streams: PubStream[];
}

function codecName(name: string): string {
  return name.toLowerCase();
}

export function negotiatePublisher(offer: SessionDescription, room: RoomSettings, ridOrder: unknown): PublisherNegotiation {
  const profile = room.videocodec[0] === 'h264' ? room.h264Profile : room.videocodec[0] === 'vp9' ? room.vp9Profile : undefined;
  const answer = answerFor(offer, { audioCodecs: room.audiocodec, videoCodecs: room.videocodec, videoProfile: profile, acceptSimulcast: true });
  const streams: PubStream[] = [];
  answer.media.forEach((m, i) => {
    const mid = m.mid ?? String(i);
    if (m.port === 0) return;
    if (m.kind === 'application') {
      streams.push(newPubStream({ mindex: i, mid, type: 'data', codec: '', payloadType: 0, clockRate: 0, rtcpFb: [], extmaps: [], audioLevelExtId: 0 }));
      return;
    }
    if (m.kind !== 'audio' && m.kind !== 'video') return;
    // A publisher only sends: its m-lines are answered recvonly (or inactive).
    if (m.direction !== 'inactive') m.direction = 'recvonly';
    m.extmaps = m.extmaps.filter((e) => {
      if (e.uri === AUDIO_LEVEL_URI) return room.audiolevelExt;
      if (e.uri === VIDEO_ORIENT_URI) return room.videoorientExt;
      if (e.uri === PLAYOUT_DELAY_URI) return room.playoutdelayExt;
      if (e.uri === TWCC_URI) return room.transportWideCcExt;
      // Janus does not negotiate abs-send-time with publishers.
      return e.uri !== ABS_SEND_TIME_URI;
    });
    const c = m.codecs[0];
    if (!c) return;
    const codec = codecName(c.name);
    if (codec === 'opus') {
      const fmtp = opusFmtp(c.fmtp, room);
      if (fmtp === undefined) delete c.fmtp;
      else c.fmtp = fmtp;
    }
    let simulcast: SimulcastLayout | undefined;
    if (m.kind === 'video') {
      simulcast = layoutOf(offer.media[i], m, codec, ridOrder);
      if (!simulcast) {
        m.rids = [];
        m.simulcast = undefined;
        m.extmaps = m.extmaps.filter((e) => e.uri !== RID_EXT_URI);
      }
    }
    streams.push(newPubStream({
      mindex: i, mid, type: m.kind, codec, payloadType: c.payloadType, clockRate: c.clockRate,
      ...(c.channels !== undefined ? { channels: c.channels } : {}), ...(c.fmtp ? { fmtp: c.fmtp } : {}),
      rtcpFb: c.rtcpFb.slice(), extmaps: m.extmaps.map((e) => ({ id: e.id, uri: e.uri })),
      audioLevelExtId: m.extmaps.find((e) => e.uri === AUDIO_LEVEL_URI)?.id ?? 0,
      ...(simulcast ? { simulcast } : {}),
      ...(codec === 'vp9' && room.videoSvc ? { svc: true } : {}),
      ...(m.direction === 'inactive' ? {} : {}),
    }));
  });
  return { answer, streams };
}

/** Extensions we pass on to subscribers, with the publisher's ids (packets keep them as they are). */
const RELAYED_EXTS = new Set([AUDIO_LEVEL_URI, VIDEO_ORIENT_URI]);

/** The rtpmap encoding name Janus writes for a codec. */
const RTPMAP: Record<string, string> = { opus: 'opus', pcmu: 'PCMU', pcma: 'PCMA', g722: 'G722', isac16: 'ISAC', isac32: 'ISAC', vp8: 'VP8', vp9: 'VP9', h264: 'H264', av1: 'AV1', h265: 'H265' };

export interface OfferLine {
  type: 'audio' | 'video' | 'application';
  mid: string;
  active: boolean;
  codec: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  extmaps: Array<{ id: number; uri: string }>;
}

/** A subscriber offer: one sendonly m-line per active stream, inactive for the ones whose feed left. */
export function subscriberOfferSdp(lines: readonly OfferLine[], version: number, sessionId: number): string {
  const out = ['v=0', `o=- ${sessionId} ${version} IN IP4 127.0.0.1`, 's=VideoRoom', 't=0 0'];
  for (const l of lines) {
    if (l.type === 'application') {
      // RFC 8841 data channels; the core adds ICE/DTLS and bundles it with the media.
      out.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 127.0.0.1', `a=mid:${l.mid}`, 'a=sctp-port:5000');
      continue;
    }
    out.push(`m=${l.type} 9 UDP/TLS/RTP/SAVPF ${l.payloadType}`, 'c=IN IP4 127.0.0.1', `a=mid:${l.mid}`, l.active ? 'a=sendonly' : 'a=inactive', 'a=rtcp-mux');
    const name = RTPMAP[l.codec] ?? l.codec;
    out.push(`a=rtpmap:${l.payloadType} ${name}/${l.clockRate}${l.type === 'audio' && l.codec === 'opus' ? '/2' : l.channels && l.channels > 1 ? `/${l.channels}` : ''}`);
    if (l.fmtp) out.push(`a=fmtp:${l.payloadType} ${l.fmtp}`);
    if (l.type === 'video') for (const fb of ['ccm fir', 'nack', 'nack pli', 'goog-remb']) out.push(`a=rtcp-fb:${l.payloadType} ${fb}`);
    for (const e of l.extmaps) if (RELAYED_EXTS.has(e.uri)) out.push(`a=extmap:${e.id} ${e.uri}`);
  }
  return out.join('\r\n') + '\r\n';
}
