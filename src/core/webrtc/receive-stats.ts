/**
 * Reception statistics of one incoming SSRC, as RFC 3550 Appendix A computes them for a report
 * block (s6.4.1): the extended highest sequence number with its cycle count (A.1), expected and
 * lost packets and the fraction lost since the previous report (A.3), the interarrival jitter in
 * timestamp units (A.8), and the middle of the NTP timestamp of the last SR with its arrival time
 * (LSR/DLSR). Plain numbers only: `update` runs per received packet and allocates nothing.
 */
import type { ReportBlock } from '../../media/rtcp-build.ts';

/** A.1: a jump of more than this is a new sequence (or a restarted source). */
const MAX_DROPOUT = 3000;
/** A.1: packets up to this far behind are late, not a restart. */
const MAX_MISORDER = 100;
const RTP_SEQ_MOD = 0x10000;

export class ReceiveStats {
  readonly ssrc: number;
  /** Media clock of the negotiated codec (Hz), for the jitter's timestamp units. */
  clockRate: number;
  /** Highest sequence number seen (16 bits). */
  maxSeq = 0;
  /** Shifted count of sequence number wraps (A.1 `cycles`, a multiple of 65536). */
  cycles = 0;
  baseSeq = 0;
  /** A.1 `bad_seq`: the sequence number a restart would continue from. */
  private badSeq = RTP_SEQ_MOD + 1;
  /** Packets received, duplicates and late ones included (A.3). */
  received = 0;
  /** Payload and header bytes received. */
  bytes = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  /** A.8: relative transit time of the previous in-order packet, timestamp units. */
  private transit = 0;
  private haveTransit = false;
  /** A.8: interarrival jitter estimate, timestamp units (fractional; reported truncated). */
  jitter = 0;
  /** Middle 32 bits of the NTP timestamp of the last SR from this source (s6.4.1 LSR); 0 if none. */
  lastSr = 0;
  /** Our clock (ms) when that SR arrived. */
  lastSrArrivalMs = 0;
  /** Our clock (ms) of the last packet. */
  lastPacketMs = 0;
  /** Cumulative lost at the last `takeLost()` (slowlink accounting). */
  private lostTaken = 0;
  private started = false;

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc >>> 0;
    this.clockRate = clockRate > 0 ? clockRate : 90000;
  }

  /**
   * Account for one received packet (A.1 update_seq, A.8 jitter). `nowMs` is a monotonic clock.
   * Returns false when the packet was treated as the first of a restarted sequence.
   */
  update(seq: number, timestamp: number, nowMs: number, length: number): boolean {
    this.lastPacketMs = nowMs;
    this.bytes += length;
    if (!this.started) {
      this.started = true;
      this.initSeq(seq);
      this.received = 1;
      this.updateJitter(timestamp, nowMs);
      return true;
    }
    const udelta = (seq - this.maxSeq) & 0xffff;
    let restarted = false;
    if (udelta < MAX_DROPOUT) {
      // In order, with a permissible gap (A.1).
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD;
      this.maxSeq = seq;
      if (udelta !== 0) this.updateJitter(timestamp, nowMs);
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      // A very large jump: a restart if the next packet follows this one (A.1), else ignore it.
      if (seq === this.badSeq) {
        this.initSeq(seq);
        this.haveTransit = false;
        this.updateJitter(timestamp, nowMs);
        restarted = true;
      } else {
        this.badSeq = (seq + 1) & 0xffff;
        return false;
      }
    }
    // else: a duplicate or a late (reordered, retransmitted) packet; no jitter sample (A.8 note).
    this.received++;
    return !restarted;
  }

  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.lostTaken = 0;
  }

  /** A.8: J(i) = J(i-1) + (|D(i-1,i)| - J(i-1)) / 16, D from arrival and RTP timestamps. */
  private updateJitter(timestamp: number, nowMs: number): void {
    const arrival = (nowMs * this.clockRate) / 1000;
    // Wrap-safe difference of the 32-bit RTP timestamp against arrival, in timestamp units.
    const transit = arrival - timestamp;
    if (this.haveTransit) {
      let d = transit - this.transit;
      // A timestamp wrap between the two packets shows up as a 2^32 step: fold it back.
      if (d > 0x80000000) d -= 0x100000000;
      else if (d < -0x80000000) d += 0x100000000;
      if (d < 0) d = -d;
      this.jitter += (d - this.jitter) / 16;
    }
    this.transit = transit;
    this.haveTransit = true;
  }

  /** Extended highest sequence number received (A.3: cycles + max_seq). */
  get extendedMax(): number {
    return this.cycles + this.maxSeq;
  }

  /** A.3: packets expected since the base sequence number. */
  get expected(): number {
    return this.extendedMax - this.baseSeq + 1;
  }

  /** A.3: cumulative packets lost (negative with duplicates). */
  get lost(): number {
    return this.started ? this.expected - this.received : 0;
  }

  /** An SR from this source arrived (s6.4.1): keep its NTP middle for LSR and when it came. */
  onSenderReport(ntpSeconds: number, ntpFraction: number, nowMs: number): void {
    this.lastSr = (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
    this.lastSrArrivalMs = nowMs;
  }

  /**
   * Fill `rb` for a report sent now (A.3): the fraction lost covers the interval since the previous
   * call, so call it once per report.
   */
  fillReportBlock(rb: ReportBlock, nowMs: number): void {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    rb.ssrc = this.ssrc;
    rb.fractionLost = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
    rb.cumulativeLost = this.lost;
    rb.highestSeq = this.extendedMax >>> 0;
    rb.jitter = Math.floor(this.jitter) >>> 0;
    rb.lastSr = this.lastSr;
    // DLSR in 1/65536 s (s6.4.1), 0 when no SR was received.
    rb.delaySinceLastSr = this.lastSr === 0 ? 0 : Math.min(0xffffffff, Math.floor(((nowMs - this.lastSrArrivalMs) * 65536) / 1000)) >>> 0;
  }

  /** Packets newly lost since the previous call (slowlink: losses in what we receive). */
  takeLost(): number {
    const lost = this.lost;
    const delta = lost - this.lostTaken;
    this.lostTaken = lost;
    return delta > 0 ? delta : 0;
  }
}
