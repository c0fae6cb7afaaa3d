/**
 * The RTCP side of one handle's media, kept in the core as Janus keeps it (the plugin sees RTP and
 * RTCP buffers only):
 *  - receive statistics per incoming SSRC (receive-stats.ts) and periodic SR/RR + SDES compounds
 *    per m-line (rtcp-reports.ts, RFC 3550 s6.4);
 *  - a retransmission buffer per outgoing SSRC answering the peer's generic NACKs
 *    (retransmission.ts, RFC 4585 s6.2.1), which are then removed before the plugin sees the RTCP;
 *  - our own NACKs for gaps in incoming video that negotiated `nack` (nack-generator.ts);
 *  - RTT and loss from the peer's report blocks about our streams (send-stats.ts), and `slowlink`
 *    per m-line and direction (slowlink.ts).
 * Per packet (`onRtpIn`, `onRtpOut`) it does arithmetic on preallocated state; report and NACK
 * building happens in a scratch buffer, copied once by SRTP on the way out.
 */
import { writeNack } from '../../media/rtcp-build.ts';
import {
  RtcpKind, RtcpWalker, RTCP_PSFB, RTCP_RTPFB, rbCumulativeLost, rbDelaySinceLastSr, rbFractionLost, rbLastSr, rbSsrc,
  reportBlockOffset, rtcpMediaSsrc, rtcpSenderSsrc, srNtpFraction, srNtpSeconds,
} from '../../media/rtcp.ts';
import { readU32 } from '../../media/rtp.ts';
import { NackGenerator } from './nack-generator.ts';
import { ReceiveStats } from './receive-stats.ts';
import { Retransmission } from './retransmission.ts';
import { compactRtcp, isCoreOwned, isGenericNack } from './rtcp-filter.ts';
import { nextReportDelay, ReportWriter } from './rtcp-reports.ts';
import { SendStats } from './send-stats.ts';
import { SlowLinkMonitor } from './slowlink.ts';

/** What the negotiated SDP says about one payload type of an m-line. */
export interface PayloadInfo {
  /** Media clock, Hz. */
  clockRate: number;
  /** Codec name in lower case (vp8, opus, ...). */
  codec: string;
  /** Both sides listed `a=rtcp-fb:<pt> nack` (RFC 4585 s4.2). */
  nack: boolean;
}

/** The media options read live (the Admin API may change them at run time). */
export interface FeedbackSettings {
  min_nack_queue: number;
  nack_optimizations: boolean;
  slowlink_threshold: number;
}

export interface RtcpEngineOptions {
  cname: string;
  settings: FeedbackSettings;
  /** Protect and send an RTP packet (the buffer is not kept). */
  sendRtp(packet: Buffer): void;
  /** Protect and send an RTCP compound packet (the buffer is not kept). */
  sendRtcp(packet: Buffer): void;
  /** Lost packets per second over `slowlink_threshold` on an m-line. */
  slowLink(mid: string, video: boolean, uplink: boolean, lost: number): void;
}

/** One of the peer's streams. */
interface Source {
  readonly stats: ReceiveStats;
  /** Our NACK generator, when the codec negotiated `nack` (video only). */
  readonly nack: NackGenerator | undefined;
  readonly line: MediaLine;
}

/** Incoming SSRCs tracked per m-line (simulcast layers, RTX); more are only counted per packet. */
const MAX_SOURCES_PER_LINE = 8;
const SCRATCH = 1500;
/** Sequence numbers in one NACK we send. */
const MAX_NACK_ITEMS = 256;

/** The feedback state of one m-line. */
export class MediaLine {
  readonly mid: string;
  readonly video: boolean;
  readonly localSsrc: number;
  /** Negotiated payload types (set by the SDP side). */
  readonly payloads = new Map<number, PayloadInfo>();
  sender: SendStats | undefined;
  retransmission: Retransmission | undefined;
  readonly sources = new Map<number, Source>();
  readonly slowlink = new SlowLinkMonitor();
  lastReportMs = -Infinity;
  nextReportMs = 0;
  /** Resends a stored packet: bound once, so answering a NACK allocates no closure. */
  readonly resend: (packet: Buffer) => void;

  constructor(mid: string, video: boolean, localSsrc: number, resend: (line: MediaLine, packet: Buffer) => void) {
    this.mid = mid;
    this.video = video;
    this.localSsrc = localSsrc >>> 0;
    this.resend = (packet) => resend(this, packet);
  }
}

export class RtcpEngine {
  readonly #opts: RtcpEngineOptions;
  readonly #lines = new Map<string, MediaLine>();
  readonly #byLocalSsrc = new Map<number, MediaLine>();
  readonly #sources = new Map<number, Source>();
  readonly #walker = new RtcpWalker();
  readonly #reports = new ReportWriter();
  readonly #scratch = Buffer.alloc(SCRATCH);
  readonly #lost = new Uint16Array(MAX_NACK_ITEMS);
  #now = 0;
  /** Latest round-trip time measured on any of our streams, ms (-1 until known). */
  rttMs = -1;
  /** Generic NACK packets we sent. */
  nacksSent = 0;
  /** Compound reports we sent. */
  reportsSent = 0;

  constructor(opts: RtcpEngineOptions) {
    this.#opts = opts;
  }

  /** The m-line `mid` (created on first use). */
  line(mid: string, video: boolean, localSsrc: number): MediaLine {
    let line = this.#lines.get(mid);
    if (!line) {
      line = new MediaLine(mid, video, localSsrc, (l, p) => this.#resend(l, p));
      this.#lines.set(mid, line);
      this.#byLocalSsrc.set(line.localSsrc, line);
    }
    return line;
  }

  /** The m-line whose stream the first packet of an RTCP compound is about, if known. */
  lineOf(packet: Buffer, len: number): MediaLine | undefined {
    if (len < 8) return undefined;
    const pt = packet[1];
    if ((pt === RTCP_PSFB || pt === RTCP_RTPFB) && len >= 12) {
      const line = this.#byLocalSsrc.get(readU32(packet, 8));
      if (line) return line;
    }
    return this.#sources.get(readU32(packet, 4))?.line;
  }

  // ---------------------------------------------------------------- RTP

  /** A decrypted RTP packet from the peer on `line` (header already checked to be 12+ bytes). */
  onRtpIn(line: MediaLine, packet: Buffer, nowMs: number): void {
    const ssrc = readU32(packet, 8);
    let src = line.sources.get(ssrc);
    if (src === undefined) {
      src = this.#addSource(line, ssrc, packet[1] & 0x7f);
      if (src === undefined) return;
    }
    const seq = (packet[2] << 8) | packet[3];
    src.stats.update(seq, readU32(packet, 4), nowMs, packet.length);
    const nack = src.nack;
    if (nack !== undefined) {
      nack.onPacket(seq, nowMs);
      if (nowMs >= nack.nextDue) this.#sendNacks(src, nack, nowMs);
    }
  }

  #addSource(line: MediaLine, ssrc: number, pt: number): Source | undefined {
    if (line.sources.size >= MAX_SOURCES_PER_LINE) return undefined;
    const payload = line.payloads.get(pt);
    const clockRate = payload?.clockRate ?? (line.video ? 90000 : 48000);
    const src: Source = { stats: new ReceiveStats(ssrc, clockRate), nack: line.video && payload?.nack ? new NackGenerator() : undefined, line };
    line.sources.set(ssrc, src);
    this.#sources.set(ssrc, src);
    return src;
  }

  /**
   * An RTP packet we are about to send on `line` (SSRC already rewritten, not yet protected): keep
   * it for retransmission and count it.
   */
  onRtpOut(line: MediaLine, packet: Buffer, nowMs: number): void {
    const payload = line.payloads.get(packet[1] & 0x7f);
    let sender = line.sender;
    let rtx = line.retransmission;
    if (sender === undefined || rtx === undefined) {
      sender = line.sender = new SendStats(line.localSsrc, payload?.clockRate ?? (line.video ? 90000 : 48000));
      rtx = line.retransmission = new Retransmission({ minNackQueueMs: this.#opts.settings.min_nack_queue, video: line.video });
      if (this.rttMs >= 0) rtx.setRtt(this.rttMs);
    } else if (payload !== undefined && payload.clockRate !== sender.clockRate) {
      sender.clockRate = payload.clockRate;
    }
    rtx.store(packet, 0, packet.length, nowMs, payload?.codec, line.video && this.#opts.settings.nack_optimizations);
    sender.onSent(packet, 0, packet.length, nowMs, false);
  }

  #resend(line: MediaLine, packet: Buffer): void {
    line.sender?.onSent(packet, 0, packet.length, this.#now, true);
    this.#opts.sendRtp(packet);
  }

  // ---------------------------------------------------------------- RTCP in

  /**
   * A decrypted RTCP compound from the peer: note SRs and report blocks, answer NACKs about our
   * streams and remove them. Returns the length left for the plugin (0: nothing left).
   */
  onRtcpIn(packet: Buffer, nowMs: number): number {
    this.#now = nowMs;
    const w = this.#walker.reset(packet);
    let sawNack = false;
    while (w.next()) {
      switch (w.kind) {
        case RtcpKind.SR: {
          const src = this.#sources.get(rtcpSenderSsrc(packet, w.off));
          src?.stats.onSenderReport(srNtpSeconds(packet, w.off), srNtpFraction(packet, w.off), nowMs);
          this.#reportBlocks(w, nowMs);
          break;
        }
        case RtcpKind.RR:
          this.#reportBlocks(w, nowMs);
          break;
        case RtcpKind.NACK: {
          sawNack = true;
          const line = this.#byLocalSsrc.get(rtcpMediaSsrc(packet, w.off));
          line?.retransmission?.answer(w, nowMs, this.rttMs, line.resend);
          break;
        }
        default:
          break;
      }
    }
    // RFC 4585 NACKs are the core's business (Janus removes them before the plugin sees RTCP).
    return sawNack ? compactRtcp(packet, packet.length, packet, isGenericNack, w) : packet.length;
  }

  #reportBlocks(w: RtcpWalker, nowMs: number): void {
    const buf = w.buf;
    for (let i = 0; i < w.count; i++) {
      const rb = reportBlockOffset(w, i);
      const line = this.#byLocalSsrc.get(rbSsrc(buf, rb));
      const sender = line?.sender;
      if (sender === undefined) continue;
      sender.onReportBlock(rbFractionLost(buf, rb), rbCumulativeLost(buf, rb), rbLastSr(buf, rb), rbDelaySinceLastSr(buf, rb), nowMs);
      if (sender.rttMs >= 0 && sender.rttMs !== this.rttMs) {
        this.rttMs = sender.rttMs;
        for (const l of this.#lines.values()) l.retransmission?.setRtt(this.rttMs);
      }
    }
  }

  /**
   * RTCP a plugin relays to the peer: without the reports and transport feedback the core sends
   * itself. Returns a view of the filtered packet (in a scratch buffer) or undefined if none is left.
   */
  filterRelayed(packet: Buffer): Buffer | undefined {
    const n = compactRtcp(packet, packet.length, this.#scratch, isCoreOwned, this.#walker);
    return n > 0 ? this.#scratch.subarray(0, n) : undefined;
  }

  // ---------------------------------------------------------------- timers

  /** Called every few hundred ms: NACK retries, reports when due, slowlink checks. */
  tick(nowMs: number): void {
    this.#now = nowMs;
    for (const line of this.#lines.values()) {
      for (const src of line.sources.values()) {
        if (src.nack !== undefined && nowMs >= src.nack.nextDue) this.#sendNacks(src, src.nack, nowMs);
      }
      if (nowMs < line.nextReportMs) continue;
      line.nextReportMs = nowMs + nextReportDelay();
      this.#report(line, nowMs);
      this.#checkSlowLink(line, nowMs);
    }
  }

  #sendNacks(src: Source, nack: NackGenerator, nowMs: number): void {
    const n = nack.collect(nowMs, this.rttMs, this.#lost);
    if (n === 0) return;
    const len = writeNack(this.#scratch, 0, src.line.localSsrc, src.stats.ssrc, this.#lost, n);
    if (len === 0) return;
    this.nacksSent++;
    this.#opts.sendRtcp(this.#scratch.subarray(0, len));
  }

  #report(line: MediaLine, nowMs: number): void {
    const len = this.#reports.write(this.#scratch, line.localSsrc, line.sender, this.#sourceStats(line), this.#opts.cname, nowMs, line.lastReportMs);
    line.lastReportMs = nowMs;
    if (len === 0) return;
    this.reportsSent++;
    this.#opts.sendRtcp(this.#scratch.subarray(0, len));
  }

  *#sourceStats(line: MediaLine): Generator<ReceiveStats> {
    for (const s of line.sources.values()) yield s.stats;
  }

  #checkSlowLink(line: MediaLine, nowMs: number): void {
    let uplink = 0;
    for (const s of line.sources.values()) uplink += s.stats.takeLost();
    const downlink = line.sender?.takeLost() ?? 0;
    line.slowlink.check(nowMs, this.#opts.settings.slowlink_threshold, uplink, downlink, (up, lost) => this.#opts.slowLink(line.mid, line.video, up, lost));
  }

  /** A snapshot for the Admin API and tests (allocates; not for the hot path). */
  snapshot(): Record<string, unknown> {
    const lines: Record<string, unknown> = {};
    for (const l of this.#lines.values()) {
      lines[l.mid] = {
        video: l.video,
        ssrc: l.localSsrc,
        sent: l.sender ? { packets: l.sender.packets, octets: l.sender.octets, retransmitted: l.sender.retransmitted, fraction_lost: l.sender.fractionLost, lost: l.sender.cumulativeLost, rtt: l.sender.rttMs } : undefined,
        nack_buffer: l.retransmission ? { nacks: l.retransmission.nacks, requested: l.retransmission.requested, resent: l.retransmission.resent, missed: l.retransmission.missed, flushes: l.retransmission.flushes, keep_ms: l.retransmission.buffer.keepTimeMs } : undefined,
        received: [...l.sources.values()].map((s) => ({
          ssrc: s.stats.ssrc, packets: s.stats.received, lost: s.stats.lost, highest_seq: s.stats.extendedMax, jitter: Math.floor(s.stats.jitter),
          nacks_requested: s.nack?.requested ?? 0, recovered: s.nack?.recovered ?? 0, nack_pending: s.nack?.pending ?? 0,
        })),
      };
    }
    return { rtt: this.rttMs, nacks_sent: this.nacksSent, reports_sent: this.reportsSent, media: lines };
  }
}
