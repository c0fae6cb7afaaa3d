/**
 * SeqTsRewriter: one per outgoing RTP stream. Maps whatever source currently feeds the stream
 * (incoming SSRC, sequence number, timestamp) onto one continuous outgoing SSRC/sequence/timestamp
 * space, so a receiver sees a single well-formed stream across source switches (an SFU changing
 * publisher or simulcast layer, an echo that restarts, a recording resumed after a pause).
 *
 * RFC 3550 s5.1: sequence numbers increment by one per packet and the timestamp follows the media
 * clock; a receiver's jitter buffer and loss statistics (A.1, A.3) break if either jumps. Inside one
 * source the mapping is a fixed offset, so reordering and gaps are preserved (NACK still works); at a
 * switch the new source is re-based to continue right after the highest packet sent so far, its
 * timestamp advanced by the wall-clock time elapsed since then.
 */
import type { RtpView } from './rtp.ts';

export interface SeqTsRewriterOptions {
  /** Outgoing SSRC written into every packet. */
  ssrc: number;
  /** Media clock rate in Hz (48000 for Opus, 90000 for video). */
  clockRate: number;
  /** First outgoing sequence number; default: the first incoming packet's own. */
  initialSeq?: number;
  /** First outgoing timestamp; default: the first incoming packet's own. */
  initialTimestamp?: number;
}

export class SeqTsRewriter {
  readonly ssrc: number;
  readonly clockRate: number;
  private readonly initialSeq: number;
  private readonly initialTs: number;
  private started = false;
  private rebase = true;
  private inSsrc = -1;
  private seqOffset = 0;
  private tsOffset = 0;
  /** Highest outgoing sequence number written so far (serial order). */
  lastSeq = 0;
  /** Outgoing timestamp of the packet that carried `lastSeq`. */
  lastTimestamp = 0;
  /** Time (ms, caller's clock) when `lastSeq` was written. */
  private lastTimeMs = 0;
  /** Number of source switches performed. */
  switches = 0;

  constructor(opts: SeqTsRewriterOptions) {
    this.ssrc = opts.ssrc >>> 0;
    this.clockRate = opts.clockRate;
    this.initialSeq = opts.initialSeq ?? -1;
    this.initialTs = opts.initialTimestamp ?? -1;
  }

  /** Force a re-base on the next packet even if its SSRC is unchanged (e.g. after a pause). */
  switchSource(): void {
    this.rebase = true;
  }

  /**
   * Rewrite `view`'s SSRC, sequence number and timestamp in place. `nowMs` is a monotonic clock in
   * milliseconds, used only to size the timestamp step at a source switch.
   */
  rewrite(view: RtpView, nowMs: number): void {
    const inSsrc = view.ssrc;
    const inSeq = view.sequenceNumber;
    const inTs = view.timestamp;
    if (this.rebase || inSsrc !== this.inSsrc) {
      if (!this.started) {
        this.seqOffset = this.initialSeq < 0 ? 0 : (this.initialSeq - inSeq) & 0xffff;
        this.tsOffset = this.initialTs < 0 ? 0 : (this.initialTs - inTs) >>> 0;
      } else {
        // Continue right after the highest packet sent, the timestamp advanced by elapsed time
        // (at least one tick so it never repeats).
        let step = Math.round(((nowMs - this.lastTimeMs) * this.clockRate) / 1000);
        if (!(step >= 1)) step = 1;
        this.seqOffset = (this.lastSeq + 1 - inSeq) & 0xffff;
        this.tsOffset = (this.lastTimestamp + step - inTs) >>> 0;
        this.switches++;
      }
      this.inSsrc = inSsrc;
      this.rebase = false;
      const seq = (inSeq + this.seqOffset) & 0xffff;
      const ts = (inTs + this.tsOffset) >>> 0;
      this.started = true;
      this.lastSeq = seq;
      this.lastTimestamp = ts;
      this.lastTimeMs = nowMs;
      view.rewrite(this.ssrc, seq, ts);
      return;
    }
    const seq = (inSeq + this.seqOffset) & 0xffff;
    const ts = (inTs + this.tsOffset) >>> 0;
    const d = (seq - this.lastSeq) & 0xffff;
    if (d !== 0 && d < 0x8000) {
      this.lastSeq = seq;
      this.lastTimestamp = ts;
      this.lastTimeMs = nowMs;
    }
    view.rewrite(this.ssrc, seq, ts);
  }
}
