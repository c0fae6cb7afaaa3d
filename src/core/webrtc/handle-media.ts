/**
 * The media side of one handle: owns its PeerEndpoint, turns the plugin's SDP into the one we send
 * (adding ICE, DTLS, BUNDLE and our SSRCs, as Janus' core does), applies the client's SDP and
 * trickled candidates, routes RTP/RTCP/data between the endpoint and the plugin, and reports
 * webrtcup / media / slowlink / hangup. The RTCP the core owns (reports, NACKs both ways, the
 * retransmission buffer) runs in its RtcpEngine. Knows no transport and no plugin internals.
 */
import { randomBytes } from 'node:crypto';
import type { RTCCertificate } from 'werift';
import type { Logger } from '../log.ts';
import { PeerEndpoint, EndpointError, type EndpointSettings } from './peer-endpoint.ts';
import { parseSdp, writeSdp, transportOf, type SessionDescription, type MediaSection, type Codec } from './sdp.ts';
import { RtcpEngine, type FeedbackSettings, type MediaLine, type PayloadInfo } from './rtcp-engine.ts';

export interface HandleMediaEvents {
  webrtcUp(): void;
  hangup(reason: string): void;
  media(mid: string, type: 'audio' | 'video', receiving: boolean): void;
  /** Lost packets per second over slowlink_threshold (uplink: in what we receive). */
  slowLink(mid: string, video: boolean, uplink: boolean, lost: number): void;
  /** A local candidate to trickle (full_trickle), or completion. */
  localCandidate(c: { sdpMid: string; sdpMLineIndex: number; candidate: string } | { completed: true }): void;
  rtp(mid: string, video: boolean, packet: Buffer): void;
  rtcp(mid: string, video: boolean, packet: Buffer): void;
  data(label: string, data: Buffer | string, binary: boolean): void;
  dataReady(): void;
}

export interface HandleMediaOptions {
  settings: EndpointSettings;
  certificate: RTCCertificate;
  fullTrickle: boolean;
  /**
   * The media options, read live (the Admin API changes them at run time): `no_media_timer`
   * seconds without packets before `media receiving:false` (0 = off), and the RTCP engine's.
   */
  media: FeedbackSettings & { no_media_timer: number };
  log: Logger;
}

interface MidInfo {
  mid: string;
  kind: string;
  video: boolean;
  /** SSRC we send with on this mid (rewritten into relayed packets). */
  localSsrc: number;
  /** Last SSRC seen from the peer on this mid. */
  remoteSsrc: number;
  /** Media SSRCs (not RTX) seen on this mid, at most MAX_MEDIA_SSRCS (simulcast layers), ... */
  ssrcs: number[];
  /** ... and when each last became the current one (ms): PLIs go to those still live. */
  ssrcSeen: number[];
  receiving: boolean;
  lastPacket: number;
  /** RTCP state of this m-line (statistics, retransmission buffer, NACKs). */
  line: MediaLine;
}

const MID_EXT_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
/** Period of the media timer: no_media_timer checks, NACK retries, RTCP reports when due. */
const TICK_MS = 250;
/** SSRCs remembered per mid for keyframe requests (simulcast has up to three). */
const MAX_MEDIA_SSRCS = 8;
/** A stream not heard from for this long gets no more PLIs. */
const SSRC_LIVE_MS = 5000;

/**
 * One interval timer for the media ticks of every connected handle: M handles cost one event-loop
 * wake-up per period instead of M (each wake-up costs more than a tick's own work).
 */
class MediaTicker {
  readonly #ticks = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;

  add(tick: () => void): void {
    this.#ticks.add(tick);
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      for (const t of this.#ticks) t();
    }, TICK_MS);
    this.#timer.unref();
  }

  delete(tick: () => void): void {
    this.#ticks.delete(tick);
    if (this.#ticks.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
const mediaTicker = new MediaTicker();

export class HandleMedia {
  readonly #opts: HandleMediaOptions;
  readonly #events: HandleMediaEvents;
  readonly endpoint: PeerEndpoint;
  #local: SessionDescription | undefined;
  #remote: SessionDescription | undefined;
  readonly #mids = new Map<string, MidInfo>();
  /** Payload type -> mid, from the negotiated descriptions (for packets without a mid extension). */
  readonly #ptToMid = new Map<number, string>();
  readonly #ssrcToMid = new Map<number, string>();
  #midExtId = 0;
  #pendingCandidates: string[] = [];
  #remoteCompleted = false;
  #connectStarted = false;
  /** This handle's tick, on the shared MediaTicker while connected. */
  readonly #ticker = (): void => this.#tick();
  #cname = randomBytes(8).toString('hex');
  readonly rtcp: RtcpEngine;
  closed = false;

  constructor(opts: HandleMediaOptions, events: HandleMediaEvents) {
    this.#opts = opts;
    this.#events = events;
    this.rtcp = new RtcpEngine({
      cname: this.#cname,
      settings: opts.media,
      sendRtp: (p) => this.endpoint.sendRtp(p),
      sendRtcp: (p) => this.endpoint.sendRtcp(p),
      slowLink: (mid, video, uplink, lost) => events.slowLink(mid, video, uplink, lost),
    });
    this.endpoint = new PeerEndpoint(opts.settings, opts.certificate, {
      localCandidate: () => {},
      connected: () => this.#onConnected(),
      closed: (reason) => this.#onClosed(reason),
      rtp: (p) => this.#onRtp(p),
      rtcp: (p) => this.#onRtcp(p),
      data: (l, d, b) => events.data(l, d, b),
      dataReady: () => events.dataReady(),
    }, opts.log);
  }

  get remoteDescription(): SessionDescription | undefined {
    return this.#remote;
  }

  get localDescription(): SessionDescription | undefined {
    return this.#local;
  }

  /** The client's offer or answer. Throws SdpError/EndpointError on bad input. */
  async applyRemote(type: 'offer' | 'answer', sdp: string): Promise<SessionDescription> {
    const desc = parseSdp(sdp);
    const first = desc.media[0];
    const t = transportOf(desc, first);
    if (!t.ufrag || !t.pwd) throw new EndpointError('SDP has no ICE credentials');
    if (!t.fingerprint) throw new EndpointError('SDP has no DTLS fingerprint');
    await this.endpoint.gather();
    const app = desc.media.find((m) => m.kind === 'application' && m.port !== 0);
    this.endpoint.setRemote({
      ufrag: t.ufrag, pwd: t.pwd, fingerprints: [t.fingerprint], setup: t.setup, iceLite: desc.iceLite,
      sctpPort: app?.sctpPort, maxMessageSize: app?.maxMessageSize,
    }, type === 'offer', app !== undefined);
    this.#remote = desc;
    this.#learnRemote(desc);
    this.#learnPayloads();
    for (const m of desc.media) for (const c of m.candidates) void this.endpoint.addRemoteCandidate(c);
    for (const c of this.#pendingCandidates) void this.endpoint.addRemoteCandidate(c);
    this.#pendingCandidates = [];
    if (desc.media.some((m) => m.endOfCandidates) || this.#remoteCompleted) void this.endpoint.remoteGatheringComplete();
    if (type === 'answer') this.#startConnect();
    return desc;
  }

  /** The plugin's offer or answer: returns the SDP to send, with our transport attributes. */
  async prepareLocal(type: 'offer' | 'answer', pluginSdp: string): Promise<string> {
    const desc = parseSdp(pluginSdp);
    const candidates = await this.endpoint.gather();
    const ice = this.endpoint.localIceParameters;
    const fp = this.endpoint.localFingerprint;
    const setup = this.endpoint.localSetup(type);
    const bundle: string[] = [];
    desc.media.forEach((m, i) => {
      if (m.mid === undefined) m.mid = String(i);
      m.iceUfrag = ice.ufrag;
      m.icePwd = ice.pwd;
      m.iceOptions = 'trickle';
      m.fingerprint = fp;
      m.setup = setup;
      m.connection = 'IN IP4 127.0.0.1';
      m.candidates = [];
      m.endOfCandidates = false;
      if (m.port === 0) return;
      m.port = 9;
      bundle.push(m.mid);
      if (m.kind === 'audio' || m.kind === 'video') {
        m.rtcpMux = true;
        this.#declareLocalSsrc(m);
      }
    });
    desc.iceUfrag = undefined;
    desc.icePwd = undefined;
    desc.fingerprint = undefined;
    desc.setup = undefined;
    desc.groups = bundle.length ? [{ semantics: 'BUNDLE', mids: bundle }] : [];
    desc.msidSemantic = ' WMS *';
    if (!this.#opts.fullTrickle) {
      // Half-trickle as Janus does by default: all our candidates in the SDP, on the first m-line.
      const firstActive = desc.media.find((m) => m.port !== 0);
      if (firstActive) {
        firstActive.candidates = candidates;
        firstActive.endOfCandidates = true;
      }
    }
    desc.origin = `- ${Date.now()} ${this.#local ? 2 : 1} IN IP4 127.0.0.1`;
    this.#local = desc;
    this.#learnLocal(desc);
    this.#learnPayloads();
    if (this.#opts.fullTrickle) {
      setImmediate(() => {
        const mid = bundle[0] ?? '0';
        for (const c of candidates) this.#events.localCandidate({ sdpMid: mid, sdpMLineIndex: 0, candidate: `candidate:${c}` });
        this.#events.localCandidate({ completed: true });
      });
    }
    if (type === 'answer') this.#startConnect();
    return writeSdp(desc);
  }

  addRemoteCandidate(c: Record<string, unknown>): void {
    if (c.completed === true) {
      this.#remoteCompleted = true;
      if (this.#remote) void this.endpoint.remoteGatheringComplete();
      return;
    }
    const text = typeof c.candidate === 'string' ? c.candidate : '';
    if (text === '') return;
    if (!this.#remote) {
      if (this.#pendingCandidates.length < 64) this.#pendingCandidates.push(text);
      return;
    }
    void this.endpoint.addRemoteCandidate(text);
  }

  #startConnect(): void {
    if (this.endpoint.restartPending && this.#connectStarted) {
      void this.endpoint.completeRestart();
      return;
    }
    if (this.#connectStarted) return;
    this.#connectStarted = true;
    void this.endpoint.connect();
  }

  #declareLocalSsrc(m: MediaSection): void {
    const mid = m.mid!;
    let info = this.#mids.get(mid);
    if (!info) {
      info = this.#newMid(mid, m.kind);
      this.#mids.set(mid, info);
    }
    m.ssrcs = [];
    m.ssrcGroups = [];
    if (m.direction === 'sendrecv' || m.direction === 'sendonly') {
      m.msid = `portunus ${m.kind}${mid}`;
      m.ssrcs.push({ ssrc: info.localSsrc, attribute: 'cname', value: this.#cname });
      m.ssrcs.push({ ssrc: info.localSsrc, attribute: 'msid', value: m.msid });
    } else {
      m.msid = undefined;
    }
  }

  #newMid(mid: string, kind: string): MidInfo {
    const video = kind === 'video';
    const localSsrc = randomBytes(4).readUInt32BE(0) || 1;
    return { mid, kind, video, localSsrc, remoteSsrc: 0, ssrcs: [], ssrcSeen: [], receiving: false, lastPacket: 0, line: this.rtcp.line(mid, video, localSsrc) };
  }

  /**
   * Per m-line, what each payload type negotiated: clock rate (jitter, SR timestamps), codec
   * (keyframes) and whether both sides listed `nack` (RFC 4585 s4.2; `*` applies to all).
   */
  #learnPayloads(): void {
    const local = this.#local;
    const remote = this.#remote;
    for (const info of this.#mids.values()) {
      const l = local?.media.find((m, i) => (m.mid ?? String(i)) === info.mid);
      const r = remote?.media.find((m, i) => (m.mid ?? String(i)) === info.mid);
      const payloads = info.line.payloads;
      payloads.clear();
      for (const m of [l, r]) {
        for (const c of m?.codecs ?? []) {
          if (payloads.has(c.payloadType) || c.clockRate <= 0) continue;
          const lc = l?.codecs.find((x) => x.payloadType === c.payloadType);
          const rc = r?.codecs.find((x) => x.payloadType === c.payloadType);
          const nack = (!l || (lc !== undefined && hasNack(l, lc))) && (!r || (rc !== undefined && hasNack(r, rc)));
          payloads.set(c.payloadType, { clockRate: c.clockRate, codec: c.name.toLowerCase(), nack } satisfies PayloadInfo);
        }
      }
    }
  }

  #learnLocal(desc: SessionDescription): void {
    for (const m of desc.media) {
      const ext = m.extmaps.find((e) => e.uri === MID_EXT_URI);
      if (ext) this.#midExtId = ext.id;
      for (const c of m.codecs) if (m.mid !== undefined) this.#ptToMid.set(c.payloadType, m.mid);
    }
  }

  #learnRemote(desc: SessionDescription): void {
    desc.media.forEach((m, i) => {
      const mid = m.mid ?? String(i);
      if (m.kind !== 'audio' && m.kind !== 'video') return;
      if (!this.#mids.has(mid)) this.#mids.set(mid, this.#newMid(mid, m.kind));
      for (const s of m.ssrcs) this.#ssrcToMid.set(s.ssrc, mid);
      for (const c of m.codecs) if (!this.#ptToMid.has(c.payloadType)) this.#ptToMid.set(c.payloadType, mid);
      const ext = m.extmaps.find((e) => e.uri === MID_EXT_URI);
      if (ext && !this.#midExtId) this.#midExtId = ext.id;
    });
  }

  /** Which mid an incoming RTP packet belongs to: SSRC seen before, mid extension, then payload type. */
  #midOf(packet: Buffer): MidInfo | undefined {
    const ssrc = packet.readUInt32BE(8);
    let mid = this.#ssrcToMid.get(ssrc);
    if (mid === undefined) {
      mid = this.#midFromExtension(packet) ?? this.#ptToMid.get(packet[1] & 0x7f);
      if (mid === undefined) return undefined;
      if (this.#ssrcToMid.size < 64) this.#ssrcToMid.set(ssrc, mid);
    }
    return this.#mids.get(mid);
  }

  /** Reads the RFC 8843 mid header extension (one-byte form, RFC 8285 section 4.2). */
  #midFromExtension(packet: Buffer): string | undefined {
    if (!this.#midExtId || (packet[0] & 0x10) === 0) return undefined;
    const cc = packet[0] & 0x0f;
    let off = 12 + cc * 4;
    if (packet.length < off + 4) return undefined;
    const profile = packet.readUInt16BE(off);
    const words = packet.readUInt16BE(off + 2);
    off += 4;
    const end = off + words * 4;
    if (end > packet.length || profile !== 0xbede) return undefined;
    while (off < end) {
      const b = packet[off];
      if (b === 0) { off++; continue; }
      const id = b >> 4;
      const len = (b & 0x0f) + 1;
      if (id === 15) return undefined;
      if (id === this.#midExtId) return off + 1 + len <= end ? packet.toString('latin1', off + 1, off + 1 + len) : undefined;
      off += 1 + len;
    }
    return undefined;
  }

  #onRtp(packet: Buffer): void {
    if (packet.length < 12) return;
    const info = this.#midOf(packet);
    if (!info) return;
    const now = performance.now();
    const ssrc = packet.readUInt32BE(8);
    if (ssrc !== info.remoteSsrc) this.#switchedSsrc(info, ssrc, packet[1] & 0x7f, now);
    info.remoteSsrc = ssrc;
    info.lastPacket = now;
    if (!info.receiving) {
      info.receiving = true;
      this.#events.media(info.mid, info.video ? 'video' : 'audio', true);
    }
    this.rtcp.onRtpIn(info.line, packet, now);
    this.#events.rtp(info.mid, info.video, packet);
  }

  /** The peer's stream on `info` changed to `ssrc` (every packet with simulcast): note when. */
  #switchedSsrc(info: MidInfo, ssrc: number, pt: number, now: number): void {
    const i = info.ssrcs.indexOf(ssrc);
    if (i >= 0) {
      info.ssrcSeen[i] = now;
      return;
    }
    if (info.ssrcs.length >= MAX_MEDIA_SSRCS || info.line.payloads.get(pt)?.codec === 'rtx') return;
    info.ssrcs.push(ssrc);
    info.ssrcSeen.push(now);
  }

  #onRtcp(packet: Buffer): void {
    // Reports and NACKs are the core's: what is left (PLI, FIR, REMB, ...) goes to the plugin.
    const n = this.rtcp.onRtcpIn(packet, performance.now());
    if (n === 0) return;
    const rest = n === packet.length ? packet : packet.subarray(0, n);
    // Route by the stream the first packet is about (feedback: our SSRC; reports: the sender's).
    const line = this.rtcp.lineOf(rest, n);
    let info = line ? this.#mids.get(line.mid) : undefined;
    if (!info) {
      const ssrc = n >= 8 ? rest.readUInt32BE(4) : 0;
      for (const m of this.#mids.values()) if (m.remoteSsrc === ssrc) { info = m; break; }
    }
    if (!info) for (const m of this.#mids.values()) if (m.video) { info = m; break; }
    if (!info) info = this.#mids.values().next().value;
    this.#events.rtcp(info?.mid ?? '0', info?.video ?? false, rest);
  }

  /** Send an RTP packet from the plugin on a mid: the SSRC is rewritten to ours for that mid. */
  sendRtp(mid: string | undefined, video: boolean, packet: Buffer): void {
    let info = mid !== undefined ? this.#mids.get(mid) : undefined;
    if (!info) for (const m of this.#mids.values()) if (m.video === video) { info = m; break; }
    if (!info || packet.length < 12 || this.endpoint.state !== 'connected') return;
    packet.writeUInt32BE(info.localSsrc, 8);
    this.rtcp.onRtpOut(info.line, packet, performance.now());
    this.endpoint.sendRtp(packet);
  }

  /** RTCP the core built (PLI, REMB): sent as is. */
  sendRtcp(packet: Buffer): void {
    this.endpoint.sendRtcp(packet);
  }

  /** RTCP a plugin relays: without the reports and NACKs the core generates itself (janus_rtcp_filter). */
  relayRtcp(packet: Buffer): void {
    const filtered = this.rtcp.filterRelayed(packet);
    if (filtered) this.endpoint.sendRtcp(filtered);
  }

  /** The remote SSRC of the first mid of a kind (for PLI/REMB we originate). */
  remoteSsrcOf(video: boolean): number {
    return [...this.#mids.values()].find((m) => m.video === video && m.remoteSsrc !== 0)?.remoteSsrc ?? 0;
  }

  /**
   * Every live media SSRC the peer sends on mids of a kind (all simulcast layers), for keyframe
   * requests; the last seen SSRC where none is known yet.
   */
  remoteMediaSsrcsOf(video: boolean): number[] {
    const now = performance.now();
    const out: number[] = [];
    for (const m of this.#mids.values()) {
      if (m.video !== video) continue;
      m.ssrcs.forEach((ssrc, i) => {
        // The current stream counts as live; the others if they were current lately.
        if ((ssrc === m.remoteSsrc || now - m.ssrcSeen[i] <= SSRC_LIVE_MS) && !out.includes(ssrc)) out.push(ssrc);
      });
      if (m.remoteSsrc !== 0 && !out.includes(m.remoteSsrc)) out.push(m.remoteSsrc);
    }
    return out;
  }

  localSsrcOf(video: boolean): number {
    return [...this.#mids.values()].find((m) => m.video === video)?.localSsrc ?? 0;
  }

  sendData(label: string, data: Buffer | string): void {
    this.endpoint.sendData(label, data);
  }

  #onConnected(): void {
    this.#events.webrtcUp();
    mediaTicker.add(this.#ticker);
  }

  /** Every TICK_MS while connected; never throws (the ticker is shared by all handles). */
  #tick(): void {
    if (this.closed) return;
    const now = performance.now();
    try {
      const timer = this.#opts.media.no_media_timer;
      if (timer > 0) {
        for (const m of this.#mids.values()) {
          if (m.receiving && now - m.lastPacket > timer * 1000) {
            m.receiving = false;
            this.#events.media(m.mid, m.video ? 'video' : 'audio', false);
          }
        }
      }
      this.rtcp.tick(now);
    } catch (err) {
      this.#opts.log.warn({ err }, 'media timer failed');
    }
  }

  #onClosed(reason: string): void {
    mediaTicker.delete(this.#ticker);
    if (this.closed) return;
    this.closed = true;
    this.#events.hangup(reason);
  }

  /** Closed by the core (hangup, detach): the core reports it, so no hangup event from here. */
  close(reason: string): void {
    mediaTicker.delete(this.#ticker);
    if (this.closed) return;
    this.closed = true;
    this.endpoint.close(reason);
  }
}

function hasNack(m: MediaSection, c: Codec): boolean {
  return c.rtcpFb.includes('nack') || m.other.some(([name, value]) => name === 'rtcp-fb' && value === '* nack');
}
