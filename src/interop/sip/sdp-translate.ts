/**
 * SDP translation between the WebRTC side (what the core negotiates with the browser) and the SIP
 * side (plain RTP/AVP on our bridge sockets, advertised as sdp_ip), both ways, without transcoding:
 * codecs (Opus, G.722, PCMU, PCMA, telephone-event; VP8/H.264 video) are carried across with their
 * fmtp, ICE/DTLS/rtcp-fb/extmap/ssrc attributes are dropped, directions are carried (hold), and the
 * payload type maps between the two sides are worked out for the RTP bridge (RFC 3264 section 5.1/6.1:
 * each side sends with the numbers its receiver declared).
 */
import { parseSdp, SdpError, writeSdp, type Codec, type Direction, type MediaSection, type SessionDescription } from '../../core/webrtc/sdp.ts';

export { SdpError } from '../../core/webrtc/sdp.ts';

const AUDIO = new Set(['opus', 'g722', 'pcmu', 'pcma', 'telephone-event']);
const VIDEO = new Set(['vp8', 'h264']);

/** RFC 3551 static payload types we carry. */
const STATIC: Record<number, { name: string; clockRate: number }> = {
  0: { name: 'PCMU', clockRate: 8000 },
  8: { name: 'PCMA', clockRate: 8000 },
  9: { name: 'G722', clockRate: 8000 },
};

/** Where a SIP peer wants one media line's RTP and RTCP, and what it sends with. */
export interface SipMediaLine {
  kind: 'audio' | 'video';
  /** Index in the WebRTC description (m-line order is the same on both sides). */
  index: number;
  mid: string;
  host: string;
  port: number;
  rtcpPort: number;
  direction: Direction;
  codecs: Codec[];
}

export interface BridgePorts {
  /** Our RTP port for each m-line index (RTCP on port + 1). */
  rtpPort(index: number): number;
}

function codecsOf(m: MediaSection): Codec[] {
  const out: Codec[] = [];
  for (const f of m.formats) {
    const pt = Number(f);
    const c = m.codecs.find((x) => x.payloadType === pt) ?? (STATIC[pt] ? { payloadType: pt, ...STATIC[pt], rtcpFb: [] } : undefined);
    if (c && c.name !== '') out.push(c);
  }
  return out;
}

function keep(m: MediaSection): Codec[] {
  const allow = m.kind === 'audio' ? AUDIO : m.kind === 'video' ? VIDEO : undefined;
  if (!allow) return [];
  return codecsOf(m).filter((c) => allow.has(c.name.toLowerCase()));
}

const main = (list: Codec[]): Codec | undefined => list.find((c) => c.name.toLowerCase() !== 'telephone-event');

function plainCodec(c: Codec): Codec {
  return { payloadType: c.payloadType, name: c.name, clockRate: c.clockRate, ...(c.channels ? { channels: c.channels } : {}), ...(c.fmtp ? { fmtp: c.fmtp } : {}), rtcpFb: [] };
}

function connectionHost(value: string | undefined): string | undefined {
  const m = /^IN IP[46] (\S+)/.exec(value ?? '');
  return m ? m[1] : undefined;
}

function ipVersion(ip: string): string {
  return ip.includes(':') ? 'IP6' : 'IP4';
}

let sessionVersion = 1;

function sipSession(sdpIp: string, media: MediaSection[], sessionId: string): SessionDescription {
  return {
    origin: `- ${sessionId} ${sessionVersion++} IN ${ipVersion(sdpIp)} ${sdpIp}`, sessionName: 'Portunus', timing: '0 0',
    connection: `IN ${ipVersion(sdpIp)} ${sdpIp}`, iceLite: false, groups: [], other: [], media,
  };
}

function sipLine(kind: string, port: number, codecs: Codec[], direction: Direction, formatsIfRejected: string[], sdpIp: string): MediaSection {
  const active = codecs.length > 0 && port > 0;
  return {
    connection: `IN ${ipVersion(sdpIp)} ${sdpIp}`,
    kind, port: active ? port : 0, protocol: 'RTP/AVP', formats: active ? codecs.map((c) => String(c.payloadType)) : formatsIfRejected.slice(0, 1),
    direction: active ? direction : 'inactive', codecs: active ? codecs : [], extmaps: [], rtcpMux: false, rtcpRsize: false, candidates: [],
    endOfCandidates: false, ssrcs: [], ssrcGroups: [], rids: [], other: active ? [['rtcp', String(port + 1)]] : [],
  };
}

/**
 * The SIP offer for a browser's offer (outgoing call, or our re-INVITE): same m-lines in the same
 * order, the codecs we carry with the browser's payload numbers. `direction` overrides (hold).
 */
export function sipOfferFromWebrtc(webrtcSdp: string, sdpIp: string, ports: BridgePorts, sessionId: string, direction?: Direction): string {
  const desc = parseSdp(webrtcSdp);
  const media = desc.media.map((m, i) => {
    const codecs = m.port === 0 ? [] : keep(m).map(plainCodec);
    return sipLine(m.kind, main(codecs) ? ports.rtpPort(i) : 0, main(codecs) ? codecs : [], direction ?? m.direction, m.formats, sdpIp);
  });
  if (!media.some((m) => m.port !== 0)) throw new SdpError('no codec of the offer can be carried to SIP');
  return writeSdp(sipSession(sdpIp, media, sessionId));
}

/** A SIP description's media lines (where to send, what it uses). Throws SdpError. */
export function sipMediaLines(sipSdp: string): SipMediaLine[] {
  const desc = parseSdp(sipSdp);
  const out: SipMediaLine[] = [];
  desc.media.forEach((m, index) => {
    if (m.port === 0 || (m.kind !== 'audio' && m.kind !== 'video')) return;
    const host = connectionHost(m.connection) ?? connectionHost(desc.connection);
    if (!host) throw new SdpError('no connection address');
    const rtcpAttr = m.other.find(([n]) => n === 'rtcp')?.[1];
    const rtcpPort = rtcpAttr && /^\d{1,5}/.test(rtcpAttr) ? Number(/^\d{1,5}/.exec(rtcpAttr)![0]) : m.port + 1;
    let direction = m.direction;
    // RFC 2543 hold: c=0.0.0.0 means "do not send to me".
    if (host === '0.0.0.0') direction = direction === 'sendrecv' ? 'sendonly' : direction === 'recvonly' ? 'inactive' : direction;
    out.push({ kind: m.kind, index, mid: m.mid ?? String(index), host, port: m.port, rtcpPort, direction, codecs: keep(m) });
  });
  return out;
}

/** Payload type maps for the bridge: what arrives with `from` numbers leaves with `to` numbers. */
export type PtMap = Uint8Array;

export function identityPtMap(): PtMap {
  const t = new Uint8Array(128);
  for (let i = 0; i < 128; i++) t[i] = i;
  return t;
}

function sameCodec(a: Codec, b: Codec): boolean {
  return a.name.toLowerCase() === b.name.toLowerCase() && a.clockRate === b.clockRate;
}

export interface WebrtcAnswer {
  /** The plugin's answer for the core (codecs and directions; the core adds ICE/DTLS). */
  sdp: string;
  lines: SipMediaLine[];
  /** browser payload number -> SIP payload number (RTP towards the SIP peer). */
  toSip: PtMap;
  /** SIP payload number -> browser payload number. */
  toWebrtc: PtMap;
}

function browserLine(m: MediaSection, codecs: Codec[], direction: Direction): MediaSection {
  return {
    kind: m.kind, port: 9, protocol: 'UDP/TLS/RTP/SAVPF', formats: codecs.map((c) => String(c.payloadType)), mid: m.mid, direction,
    codecs, extmaps: [], rtcpMux: true, rtcpRsize: false, candidates: [], endOfCandidates: false, ssrcs: [], ssrcGroups: [], rids: [], other: [],
  };
}

function rejectedBrowserLine(m: MediaSection): MediaSection {
  return { ...browserLine(m, [], 'inactive'), port: 0, formats: m.formats.slice(0, 1) };
}

function mirror(d: Direction): Direction {
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}

/**
 * The browser's answer from the SIP peer's answer to our SIP offer (outgoing call): per m-line, the
 * codecs the SIP side accepted, named with the browser's payload numbers, its direction mirrored.
 */
export function webrtcAnswerFromSip(webrtcOffer: string, sipAnswer: string): WebrtcAnswer {
  const offer = parseSdp(webrtcOffer);
  const lines = sipMediaLines(sipAnswer);
  const toSip = identityPtMap();
  const toWebrtc = identityPtMap();
  const media = offer.media.map((m, i) => {
    const line = lines.find((l) => l.index === i);
    if (!line || m.port === 0) return rejectedBrowserLine(m);
    const offered = keep(m);
    const chosen: Codec[] = [];
    for (const sc of line.codecs) {
      const bc = offered.find((c) => sameCodec(c, sc));
      if (!bc || chosen.some((c) => c.payloadType === bc.payloadType)) continue;
      toSip[bc.payloadType] = sc.payloadType;
      toWebrtc[sc.payloadType] = bc.payloadType;
      chosen.push({ ...plainCodec(bc), rtcpFb: bc.rtcpFb.filter((f) => f === 'nack' || f === 'nack pli' || f === 'ccm fir') });
    }
    if (!main(chosen)) return rejectedBrowserLine(m);
    return browserLine(m, chosen, mirror(line.direction));
  });
  if (!media.some((m) => m.port !== 0)) throw new SdpError('the SIP answer has no codec of the offer');
  return { sdp: writeSdp({ origin: '- 1 1 IN IP4 127.0.0.1', sessionName: '-', timing: '0 0', iceLite: false, groups: [], other: [], media }), lines, toSip, toWebrtc };
}

/** The browser's offer from a SIP offer (incoming call): the codecs we carry, with the SIP numbers. */
export function webrtcOfferFromSip(sipOffer: string): { sdp: string; lines: SipMediaLine[] } {
  const desc = parseSdp(sipOffer);
  const lines = sipMediaLines(sipOffer);
  const media = desc.media.map((m, i) => {
    const line = lines.find((l) => l.index === i);
    const codecs = line ? line.codecs.map(plainCodec) : [];
    if (!line || !main(codecs)) return rejectedBrowserLine({ ...m, mid: String(i) });
    return browserLine({ ...m, mid: String(i) }, codecs, mirror(line.direction));
  });
  if (!media.some((m) => m.port !== 0)) throw new SdpError('no codec of the SIP offer can be carried to WebRTC');
  return { sdp: writeSdp({ origin: '- 1 1 IN IP4 127.0.0.1', sessionName: '-', timing: '0 0', iceLite: false, groups: [], other: [], media }), lines };
}

/**
 * Our SIP answer from the browser's answer to the offer we built from the SIP offer: the codecs the
 * browser kept (numbers are the SIP offer's, since the browser answered our offer made of them).
 */
export function sipAnswerFromWebrtc(webrtcAnswer: string, sipOffer: string, sdpIp: string, ports: BridgePorts, sessionId: string): string {
  const answer = parseSdp(webrtcAnswer);
  const offer = parseSdp(sipOffer);
  const media = offer.media.map((m, i) => {
    const a = answer.media[i];
    const codecs = a && a.port !== 0 ? keep(a).map(plainCodec) : [];
    return sipLine(m.kind, main(codecs) ? ports.rtpPort(i) : 0, main(codecs) ? codecs : [], a ? a.direction : 'inactive', m.formats, sdpIp);
  });
  return writeSdp(sipSession(sdpIp, media, sessionId));
}

/** Our current SIP description with another direction (hold: sendonly, unhold: sendrecv). */
export function withDirection(sipSdp: string, direction: Direction): string {
  const desc = parseSdp(sipSdp);
  for (const m of desc.media) if (m.port !== 0) m.direction = direction;
  const o = desc.origin.split(' ');
  if (o.length >= 6) {
    o[2] = String(Number(o[2]) + 1 || 1);
    desc.origin = o.join(' ');
  }
  return writeSdp(desc);
}

/** A SIP answer to a peer's re-INVITE offer, from our current description (direction mirrored). */
export function answerReoffer(ourSipSdp: string, peerOffer: string): string {
  const ours = parseSdp(ourSipSdp);
  const lines = sipMediaLines(peerOffer);
  for (const l of lines) {
    const m = ours.media[l.index];
    if (m && m.port !== 0) m.direction = mirror(l.direction);
  }
  const o = ours.origin.split(' ');
  if (o.length >= 6) {
    o[2] = String(Number(o[2]) + 1 || 1);
    ours.origin = o.join(' ');
  }
  return writeSdp(ours);
}
