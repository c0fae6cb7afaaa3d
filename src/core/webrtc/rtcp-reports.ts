/**
 * The periodic RTCP compound packet of one m-line (RFC 3550 s6.1, s6.4): an SR when we sent RTP on
 * its SSRC lately (NTP and RTP timestamps of the same instant, packet and octet counts), an RR
 * otherwise, each with report blocks for the peer's SSRCs heard since the previous report, then an
 * SDES chunk with our CNAME (every compound carries one, s6.1).
 *
 * Timing (s6.2, s6.3.1) is simplified the way WebRTC endpoints do it: a fixed nominal interval of
 * one second (no bandwidth-share computation, RFC 8834 s5.1 allows it), randomised over
 * [0.5, 1.5] times that so many handles started together do not report in lockstep.
 */
import { ntpFraction, ntpMiddle, ntpSeconds, writeReportBlock, writeSdesCname, writeSr, writeRr, type ReportBlock } from '../../media/rtcp-build.ts';
import type { ReceiveStats } from './receive-stats.ts';
import type { SendStats } from './send-stats.ts';

/** Nominal report interval, ms. */
export const REPORT_INTERVAL_MS = 1000;
/** A sender that sent within this long sends SRs (s6.4: "since the second previous report"). */
const SENDER_WINDOW_MS = 2 * REPORT_INTERVAL_MS;
/** Report blocks per SR/RR (the 5-bit RC field). */
const MAX_BLOCKS = 31;

/** Delay until the next report: the nominal interval times a random factor in [0.5, 1.5] (s6.3.1). */
export function nextReportDelay(): number {
  return REPORT_INTERVAL_MS * (0.5 + Math.random());
}

/** Wall-clock time in Unix ms with sub-millisecond precision, for NTP timestamps. */
export function wallClockMs(nowMs: number): number {
  return performance.timeOrigin + nowMs;
}

const NO_BLOCKS: ReportBlock[] = [];

export class ReportWriter {
  readonly #block: ReportBlock = { ssrc: 0, fractionLost: 0, cumulativeLost: 0, highestSeq: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 };

  /**
   * Write the compound packet into `buf` from 0; returns its length (0 when there is nothing to
   * report: we neither sent lately nor heard any source since the last report).
   *
   * @param reporterSsrc our SSRC on this m-line (the SR's sender, or the RR's reporter)
   * @param sender       our outgoing stream on it, if any
   * @param sources      the peer's streams on it
   * @param lastReportMs when the previous report was written (sources heard since then get a block;
   *                     -Infinity before the first)
   */
  write(buf: Buffer, reporterSsrc: number, sender: SendStats | undefined, sources: Iterable<ReceiveStats>, cname: string, nowMs: number, lastReportMs: number): number {
    const sending = sender !== undefined && sender.lastSentMs >= 0 && nowMs - sender.lastSentMs <= SENDER_WINDOW_MS;
    let off: number;
    let blocksAt: number;
    if (sending) {
      const wall = wallClockMs(nowMs);
      const sec = ntpSeconds(wall);
      const frac = ntpFraction(wall);
      off = writeSr(buf, 0, reporterSsrc, sec, frac, sender.rtpTimestampAt(nowMs), sender.packets, sender.octets, NO_BLOCKS);
      sender.onSenderReportSent(ntpMiddle(sec, frac), nowMs);
      blocksAt = 28;
    } else {
      off = writeRr(buf, 0, reporterSsrc, NO_BLOCKS);
      blocksAt = 8;
    }
    if (off === 0) return 0;
    let count = 0;
    for (const s of sources) {
      if (count === MAX_BLOCKS) break;
      if (s.lastPacketMs <= lastReportMs) continue;
      if (off + 24 > buf.length) break;
      s.fillReportBlock(this.#block, nowMs);
      writeReportBlock(buf, off, this.#block);
      off += 24;
      count++;
    }
    if (!sending && count === 0) return 0;
    // Patch the report's count and length now that the blocks are written (s6.4.1).
    buf[0] = (buf[0] & 0xe0) | count;
    const words = (blocksAt + 24 * count) / 4 - 1;
    buf[2] = words >> 8;
    buf[3] = words & 0xff;
    const sdes = writeSdesCname(buf, off, reporterSsrc, cname);
    return sdes === 0 ? off : off + sdes;
  }
}
