/**
 * What we send on one outgoing SSRC, for its sender reports (RFC 3550 s6.4.1: the NTP/RTP
 * timestamp pair, packet and octet counts), and what the peer reports back about it in RR/SR
 * report blocks: fraction and cumulative loss, and the round-trip time from LSR/DLSR (s6.4.1:
 * RTT = A - LSR - DLSR). `onSent` runs per packet and allocates nothing.
 */
import { rtpHeaderLength } from '../../media/rtp.ts';

/** SRs remembered for the RTT computation (the peer's LSR names one of the last few). */
const SR_HISTORY = 4;

export class SendStats {
  readonly ssrc: number;
  clockRate: number;
  /** RTP packets sent, retransmissions included (SR sender's packet count). */
  packets = 0;
  /** Payload octets sent, headers and padding excluded (SR sender's octet count). */
  octets = 0;
  /** Packets resent in answer to NACKs. */
  retransmitted = 0;
  /** RTP timestamp of the newest packet and our clock (ms) when it was sent. */
  private lastTimestamp = 0;
  lastSentMs = -1;
  /** Latest report block about this SSRC from the peer. */
  fractionLost = 0;
  cumulativeLost = 0;
  reports = 0;
  /** Round-trip time in ms from the last report with an LSR we know (-1 until then). */
  rttMs = -1;
  private readonly srMiddle = new Uint32Array(SR_HISTORY);
  private readonly srSentMs = new Float64Array(SR_HISTORY);
  private srNext = 0;
  private lostTaken = 0;

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc >>> 0;
    this.clockRate = clockRate > 0 ? clockRate : 90000;
  }

  /** Account for the RTP packet `buf[off, off+len)` sent now. */
  onSent(buf: Buffer, off: number, len: number, nowMs: number, retransmission: boolean): void {
    const hl = rtpHeaderLength(buf, off, len);
    if (hl < 0) return;
    const pad = buf[off] & 0x20 ? buf[off + len - 1] : 0;
    this.packets++;
    this.octets += Math.max(0, len - hl - pad);
    if (retransmission) {
      this.retransmitted++;
      return;
    }
    const ts = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
    this.lastTimestamp = ts;
    this.lastSentMs = nowMs;
  }

  /**
   * The RTP timestamp matching `nowMs` (s6.4.1: the same instant as the SR's NTP timestamp), from
   * the newest packet's timestamp advanced by the media clock.
   */
  rtpTimestampAt(nowMs: number): number {
    if (this.lastSentMs < 0) return 0;
    return (this.lastTimestamp + Math.round(((nowMs - this.lastSentMs) * this.clockRate) / 1000)) >>> 0;
  }

  /** An SR about this SSRC is being sent: remember its NTP middle for the RTT. */
  onSenderReportSent(ntpMiddle: number, nowMs: number): void {
    this.srMiddle[this.srNext] = ntpMiddle;
    this.srSentMs[this.srNext] = nowMs;
    this.srNext = (this.srNext + 1) % SR_HISTORY;
  }

  /** A report block about this SSRC arrived (s6.4.1). */
  onReportBlock(fractionLost: number, cumulativeLost: number, lsr: number, dlsr: number, nowMs: number): void {
    this.fractionLost = fractionLost;
    this.cumulativeLost = cumulativeLost;
    this.reports++;
    if (lsr === 0) return;
    for (let i = 0; i < SR_HISTORY; i++) {
      if (this.srMiddle[i] === lsr && this.srSentMs[i] > 0) {
        const rtt = nowMs - this.srSentMs[i] - (dlsr * 1000) / 65536;
        if (rtt >= 0 && rtt < 60000) this.rttMs = rtt;
        return;
      }
    }
  }

  /** Packets the peer newly reported lost since the previous call (slowlink downlink). */
  takeLost(): number {
    const delta = this.cumulativeLost - this.lostTaken;
    this.lostTaken = this.cumulativeLost;
    return delta > 0 ? delta : 0;
  }
}
