/**
 * SDP (RFC 8866) parsing and writing for WebRTC offers and answers (RFC 8829 JSEP, RFC 8843 BUNDLE).
 * The parser turns a session description into media sections with their codecs, extmaps, directions
 * and transport attributes; anything it does not model is kept as a raw attribute so writing it back
 * loses nothing. Bad input raises SdpError (the core answers 465); nothing else escapes.
 */

export class SdpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SdpError';
  }
}

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

export interface Codec {
  payloadType: number;
  /** Encoding name as written (e.g. "opus", "VP8", "H264", "rtx"). */
  name: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  rtcpFb: string[];
}

export interface Extmap {
  id: number;
  uri: string;
  direction?: Direction;
}

export interface Fingerprint {
  algorithm: string;
  value: string;
}

export interface MediaSection {
  kind: string; // audio | video | application | other
  port: number;
  protocol: string;
  /** Format list of the m= line, in preference order. */
  formats: string[];
  mid?: string;
  direction: Direction;
  codecs: Codec[];
  extmaps: Extmap[];
  iceUfrag?: string;
  icePwd?: string;
  iceOptions?: string;
  fingerprint?: Fingerprint;
  setup?: string;
  rtcpMux: boolean;
  rtcpRsize: boolean;
  /** Candidate lines (value after "candidate:"), as written. */
  candidates: string[];
  endOfCandidates: boolean;
  msid?: string;
  ssrcs: Array<{ ssrc: number; attribute: string; value?: string }>;
  ssrcGroups: Array<{ semantics: string; ssrcs: number[] }>;
  rids: Array<{ id: string; direction: string; params?: string }>;
  simulcast?: string;
  sctpPort?: number;
  maxMessageSize?: number;
  connection?: string;
  /** Attributes not modelled above, in order: [name, value or undefined]. */
  other: Array<[string, string | undefined]>;
}

export interface SessionDescription {
  origin: string;
  sessionName: string;
  timing: string;
  connection?: string;
  iceUfrag?: string;
  icePwd?: string;
  iceOptions?: string;
  iceLite: boolean;
  fingerprint?: Fingerprint;
  setup?: string;
  groups: Array<{ semantics: string; mids: string[] }>;
  msidSemantic?: string;
  other: Array<[string, string | undefined]>;
  media: MediaSection[];
}

const MAX_SDP_LENGTH = 64 * 1024;
const MAX_MEDIA = 64;

function int(value: string, what: string, min = 0, max = 0xffffffff): number {
  if (!/^\d{1,10}$/.test(value)) throw new SdpError(`bad ${what} '${value.slice(0, 20)}'`);
  const n = Number(value);
  if (n < min || n > max) throw new SdpError(`${what} out of range`);
  return n;
}

function splitAttr(line: string): [string, string | undefined] {
  const body = line.slice(2);
  const colon = body.indexOf(':');
  return colon < 0 ? [body, undefined] : [body.slice(0, colon), body.slice(colon + 1)];
}

function parseFingerprint(v: string): Fingerprint {
  const [algorithm, value] = v.trim().split(/\s+/);
  if (!algorithm || !value) throw new SdpError('bad fingerprint');
  return { algorithm: algorithm.toLowerCase(), value: value.toUpperCase() };
}

function newMedia(line: string): MediaSection {
  const parts = line.slice(2).split(' ');
  if (parts.length < 3) throw new SdpError('bad m= line');
  const [kind, portPart, protocol, ...formats] = parts;
  const port = int(portPart.split('/')[0], 'm= port', 0, 65535);
  return {
    kind, port, protocol, formats: formats.filter((f) => f !== ''), direction: 'sendrecv', codecs: [], extmaps: [],
    rtcpMux: false, rtcpRsize: false, candidates: [], endOfCandidates: false, ssrcs: [], ssrcGroups: [], rids: [], other: [],
  };
}

function codecFor(m: MediaSection, pt: number): Codec {
  let c = m.codecs.find((x) => x.payloadType === pt);
  if (!c) {
    c = { payloadType: pt, name: '', clockRate: 0, rtcpFb: [] };
    m.codecs.push(c);
  }
  return c;
}

function mediaAttribute(m: MediaSection, name: string, value: string | undefined): void {
  switch (name) {
    case 'mid': m.mid = value ?? ''; return;
    case 'sendrecv': case 'sendonly': case 'recvonly': case 'inactive': m.direction = name; return;
    case 'rtcp-mux': m.rtcpMux = true; return;
    case 'rtcp-rsize': m.rtcpRsize = true; return;
    case 'ice-ufrag': m.iceUfrag = value; return;
    case 'ice-pwd': m.icePwd = value; return;
    case 'ice-options': m.iceOptions = value; return;
    case 'fingerprint': m.fingerprint = parseFingerprint(value ?? ''); return;
    case 'setup': m.setup = value; return;
    case 'candidate': if (m.candidates.length < 64) m.candidates.push(value ?? ''); return;
    case 'end-of-candidates': m.endOfCandidates = true; return;
    case 'msid': m.msid = value; return;
    case 'simulcast': m.simulcast = value; return;
    case 'sctp-port': m.sctpPort = int(value ?? '', 'sctp-port', 0, 65535); return;
    case 'max-message-size': m.maxMessageSize = int(value ?? '', 'max-message-size'); return;
    case 'rtpmap': {
      const match = /^(\d{1,3}) ([^/\s]+)\/(\d+)(?:\/(\d+))?$/.exec(value ?? '');
      if (!match) throw new SdpError('bad rtpmap');
      const c = codecFor(m, int(match[1], 'payload type', 0, 127));
      c.name = match[2];
      c.clockRate = int(match[3], 'clock rate');
      if (match[4]) c.channels = int(match[4], 'channels', 1, 255);
      return;
    }
    case 'fmtp': {
      const match = /^(\d{1,3}) (.*)$/.exec(value ?? '');
      if (!match) throw new SdpError('bad fmtp');
      codecFor(m, int(match[1], 'payload type', 0, 127)).fmtp = match[2];
      return;
    }
    case 'rtcp-fb': {
      const match = /^(\d{1,3}|\*) (.+)$/.exec(value ?? '');
      if (!match) throw new SdpError('bad rtcp-fb');
      if (match[1] === '*') m.other.push([name, value]);
      else codecFor(m, int(match[1], 'payload type', 0, 127)).rtcpFb.push(match[2]);
      return;
    }
    case 'extmap': {
      const match = /^(\d{1,3})(?:\/(\w+))? (\S+)/.exec(value ?? '');
      if (!match) throw new SdpError('bad extmap');
      const dir = match[2];
      m.extmaps.push({ id: int(match[1], 'extmap id', 1, 255), uri: match[3], ...(dir && DIRECTIONS.has(dir) ? { direction: dir as Direction } : {}) });
      return;
    }
    case 'ssrc': {
      const match = /^(\d{1,10}) ([^:\s]+)(?::(.*))?$/.exec(value ?? '');
      if (!match) throw new SdpError('bad ssrc');
      if (m.ssrcs.length < 64) m.ssrcs.push({ ssrc: int(match[1], 'ssrc'), attribute: match[2], ...(match[3] !== undefined ? { value: match[3] } : {}) });
      return;
    }
    case 'ssrc-group': {
      const [semantics, ...ids] = (value ?? '').split(' ');
      if (!semantics) throw new SdpError('bad ssrc-group');
      m.ssrcGroups.push({ semantics, ssrcs: ids.filter(Boolean).map((s) => int(s, 'ssrc')) });
      return;
    }
    case 'rid': {
      const [id, direction, params] = (value ?? '').split(' ');
      if (!id || !direction) throw new SdpError('bad rid');
      m.rids.push({ id, direction, ...(params ? { params } : {}) });
      return;
    }
  }
  m.other.push([name, value]);
}

/** Parse an SDP. Throws SdpError on anything malformed. */
export function parseSdp(sdp: string): SessionDescription {
  if (typeof sdp !== 'string' || sdp.length === 0) throw new SdpError('empty SDP');
  if (sdp.length > MAX_SDP_LENGTH) throw new SdpError('SDP too large');
  const lines = sdp.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'v=0') throw new SdpError('SDP must start with v=0');
  const s: SessionDescription = { origin: '', sessionName: '-', timing: '0 0', iceLite: false, groups: [], other: [], media: [] };
  let m: MediaSection | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.length < 2 || line[1] !== '=' || line[0] < 'a' || line[0] > 'z') throw new SdpError(`malformed line ${i + 1}`);
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      if (s.media.length >= MAX_MEDIA) throw new SdpError('too many media sections');
      m = newMedia(line);
      s.media.push(m);
      continue;
    }
    if (type === 'a') {
      const [name, v] = splitAttr(line);
      if (m) {
        mediaAttribute(m, name, v);
        continue;
      }
      switch (name) {
        case 'group': {
          const [semantics, ...mids] = (v ?? '').split(' ');
          if (!semantics) throw new SdpError('bad group');
          s.groups.push({ semantics, mids: mids.filter(Boolean) });
          break;
        }
        case 'ice-ufrag': s.iceUfrag = v; break;
        case 'ice-pwd': s.icePwd = v; break;
        case 'ice-options': s.iceOptions = v; break;
        case 'ice-lite': s.iceLite = true; break;
        case 'fingerprint': s.fingerprint = parseFingerprint(v ?? ''); break;
        case 'setup': s.setup = v; break;
        case 'msid-semantic': s.msidSemantic = v; break;
        default: s.other.push([name, v]);
      }
      continue;
    }
    if (m) {
      if (type === 'c') m.connection = value;
      // b=, i= and other media-level lines are not needed by the core.
      continue;
    }
    if (type === 'o') s.origin = value;
    else if (type === 's') s.sessionName = value;
    else if (type === 't') s.timing = value;
    else if (type === 'c') s.connection = value;
  }
  if (s.media.length === 0) throw new SdpError('no media section');
  for (const sec of s.media) {
    for (const c of sec.codecs) {
      if (!sec.formats.includes(String(c.payloadType))) continue;
      if (c.name === '') throw new SdpError(`payload type ${c.payloadType} has fmtp/rtcp-fb but no rtpmap`);
    }
  }
  return s;
}

/** ICE credentials and DTLS fingerprint of a media section, falling back to the session level. */
export function transportOf(s: SessionDescription, m: MediaSection): { ufrag?: string; pwd?: string; fingerprint?: Fingerprint; setup?: string } {
  return {
    ufrag: m.iceUfrag ?? s.iceUfrag,
    pwd: m.icePwd ?? s.icePwd,
    fingerprint: m.fingerprint ?? s.fingerprint,
    setup: m.setup ?? s.setup,
  };
}

function codecLines(c: Codec): string[] {
  const out = [`a=rtpmap:${c.payloadType} ${c.name}/${c.clockRate}${c.channels && c.channels > 1 ? `/${c.channels}` : ''}`];
  for (const fb of c.rtcpFb) out.push(`a=rtcp-fb:${c.payloadType} ${fb}`);
  if (c.fmtp) out.push(`a=fmtp:${c.payloadType} ${c.fmtp}`);
  return out;
}

function attr(name: string, value: string | undefined): string {
  return value === undefined ? `a=${name}` : `a=${name}:${value}`;
}

/** Write a session description back to SDP text (CRLF line ends, RFC 8866 section 5). */
export function writeSdp(s: SessionDescription): string {
  const out: string[] = ['v=0', `o=${s.origin || '- 0 0 IN IP4 127.0.0.1'}`, `s=${s.sessionName || '-'}`, `t=${s.timing || '0 0'}`];
  if (s.connection) out.push(`c=${s.connection}`);
  for (const g of s.groups) out.push(`a=group:${g.semantics}${g.mids.map((x) => ` ${x}`).join('')}`);
  if (s.msidSemantic !== undefined) out.push(attr('msid-semantic', s.msidSemantic));
  if (s.iceLite) out.push('a=ice-lite');
  if (s.iceUfrag) out.push(`a=ice-ufrag:${s.iceUfrag}`);
  if (s.icePwd) out.push(`a=ice-pwd:${s.icePwd}`);
  if (s.iceOptions) out.push(`a=ice-options:${s.iceOptions}`);
  if (s.fingerprint) out.push(`a=fingerprint:${s.fingerprint.algorithm} ${s.fingerprint.value}`);
  if (s.setup) out.push(`a=setup:${s.setup}`);
  for (const [n, v] of s.other) out.push(attr(n, v));
  for (const m of s.media) {
    out.push(`m=${m.kind} ${m.port} ${m.protocol}${m.formats.map((f) => ` ${f}`).join('')}`);
    out.push(`c=${m.connection ?? 'IN IP4 0.0.0.0'}`);
    if (m.iceUfrag) out.push(`a=ice-ufrag:${m.iceUfrag}`);
    if (m.icePwd) out.push(`a=ice-pwd:${m.icePwd}`);
    if (m.iceOptions) out.push(`a=ice-options:${m.iceOptions}`);
    if (m.fingerprint) out.push(`a=fingerprint:${m.fingerprint.algorithm} ${m.fingerprint.value}`);
    if (m.setup) out.push(`a=setup:${m.setup}`);
    if (m.mid !== undefined) out.push(`a=mid:${m.mid}`);
    if (m.kind !== 'application') out.push(`a=${m.direction}`);
    if (m.msid) out.push(`a=msid:${m.msid}`);
    if (m.rtcpMux) out.push('a=rtcp-mux');
    if (m.rtcpRsize) out.push('a=rtcp-rsize');
    for (const e of m.extmaps) out.push(`a=extmap:${e.id}${e.direction ? `/${e.direction}` : ''} ${e.uri}`);
    for (const f of m.formats) {
      const c = m.codecs.find((x) => String(x.payloadType) === f);
      if (c) out.push(...codecLines(c));
    }
    for (const r of m.rids) out.push(`a=rid:${r.id} ${r.direction}${r.params ? ` ${r.params}` : ''}`);
    if (m.simulcast) out.push(`a=simulcast:${m.simulcast}`);
    if (m.sctpPort !== undefined) out.push(`a=sctp-port:${m.sctpPort}`);
    if (m.maxMessageSize !== undefined) out.push(`a=max-message-size:${m.maxMessageSize}`);
    for (const g of m.ssrcGroups) out.push(`a=ssrc-group:${g.semantics} ${g.ssrcs.join(' ')}`);
    for (const x of m.ssrcs) out.push(`a=ssrc:${x.ssrc} ${x.attribute}${x.value !== undefined ? `:${x.value}` : ''}`);
    for (const [n, v] of m.other) out.push(attr(n, v));
    for (const c of m.candidates) out.push(`a=candidate:${c}`);
    if (m.endOfCandidates) out.push('a=end-of-candidates');
  }
  return out.join('\r\n') + '\r\n';
}
