/**
 * RTCP builders writing into a caller-provided Buffer (RFC 3550 s6.4-6.6, RFC 4585 s6.2.1/6.3.1,
 * RFC 5104 s4.3.1, draft-alvestrand-rmcat-remb). Each returns the number of bytes written, or 0
 * when the packet does not fit in `buf` from `off` (nothing useful is written then). Packets are
 * written back to back to form a compound packet (s6.1).
 */
import { writeU32 } from './rtp.ts';
import { RTCP_BYE, RTCP_PSFB, RTCP_RR, RTCP_RTPFB, RTCP_SDES, RTCP_SR, SDES_CNAME } from './rtcp.ts';

/** One reception report block (s6.4.1). */
export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the previous report, 8-bit fixed point (0-255). */
  fractionLost: number;
  /** Cumulative packets lost, signed 24-bit (clamped). */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles << 16 | seq). */
  highestSeq: number;
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received (0 if none). */
  lastSr: number;
  /** Delay since that SR, in 1/65536 s. */
  delaySinceLastSr: number;
}

/** Write the 4-byte common header: V=2, no padding, count/FMT, PT, length in words minus one. */
function header(buf: Buffer, off: number, fmt: number, pt: number, size: number): void {
  buf[off] = 0x80 | (fmt & 0x1f);
  buf[off + 1] = pt;
  const words = size / 4 - 1;
  buf[off + 2] = (words >> 8) & 0xff;
  buf[off + 3] = words & 0xff;
}

function fits(buf: Buffer, off: number, size: number): boolean {
  return off >= 0 && off + size <= buf.length;
}

/** Write one 24-byte report block at `off`. */
export function writeReportBlock(buf: Buffer, off: number, rb: ReportBlock): void {
  writeU32(buf, off, rb.ssrc);
  buf[off + 4] = rb.fractionLost & 0xff;
  let lost = Math.trunc(rb.cumulativeLost);
  if (lost > 0x7fffff) lost = 0x7fffff;
  else if (lost < -0x800000) lost = -0x800000;
  const l = lost & 0xffffff;
  buf[off + 5] = (l >> 16) & 0xff;
  buf[off + 6] = (l >> 8) & 0xff;
  buf[off + 7] = l & 0xff;
  writeU32(buf, off + 8, rb.highestSeq);
  writeU32(buf, off + 12, rb.jitter);
  writeU32(buf, off + 16, rb.lastSr);
  writeU32(buf, off + 20, rb.delaySinceLastSr);
}

/**
 * Sender report (s6.4.1): SSRC, NTP timestamp (seconds since 1900, fraction), the RTP timestamp
 * of the same instant, packet and octet counts, then up to 31 report blocks.
 */
export function writeSr(
  buf: Buffer,
  off: number,
  ssrc: number,
  ntpSeconds: number,
  ntpFraction: number,
  rtpTimestamp: number,
  packetCount: number,
  octetCount: number,
  blocks: ReadonlyArray<ReportBlock> = [],
): number {
  const n = blocks.length;
  const size = 28 + 24 * n;
  if (n > 31 || !fits(buf, off, size)) return 0;
  header(buf, off, n, RTCP_SR, size);
  writeU32(buf, off + 4, ssrc);
  writeU32(buf, off + 8, ntpSeconds);
  writeU32(buf, off + 12, ntpFraction);
  writeU32(buf, off + 16, rtpTimestamp);
  writeU32(buf, off + 20, packetCount);
  writeU32(buf, off + 24, octetCount);
  for (let i = 0; i < n; i++) writeReportBlock(buf, off + 28 + 24 * i, blocks[i]);
  return size;
}

/** Receiver report (s6.4.2): SSRC of the reporter then up to 31 report blocks (0 is legal). */
export function writeRr(buf: Buffer, off: number, ssrc: number, blocks: ReadonlyArray<ReportBlock> = []): number {
  const n = blocks.length;
  const size = 8 + 24 * n;
  if (n > 31 || !fits(buf, off, size)) return 0;
  header(buf, off, n, RTCP_RR, size);
  writeU32(buf, off + 4, ssrc);
  for (let i = 0; i < n; i++) writeReportBlock(buf, off + 8 + 24 * i, blocks[i]);
  return size;
}

/**
 * SDES with one chunk holding a CNAME item (s6.5.1), as every compound packet must carry (s6.1).
 * The item list ends with a null octet and is padded with zeros to a 32-bit boundary.
 */
export function writeSdesCname(buf: Buffer, off: number, ssrc: number, cname: string): number {
  const textLen = Buffer.byteLength(cname, 'utf8');
  if (textLen > 255) return 0;
  const size = (4 + 4 + 2 + textLen + 1 + 3) & ~3;
  if (!fits(buf, off, size)) return 0;
  header(buf, off, 1, RTCP_SDES, size);
  writeU32(buf, off + 4, ssrc);
  buf[off + 8] = SDES_CNAME;
  buf[off + 9] = textLen;
  buf.write(cname, off + 10, textLen, 'utf8');
  buf.fill(0, off + 10 + textLen, off + size);
  return size;
}

/** Goodbye (s6.6) for up to 31 SSRCs, no reason. */
export function writeBye(buf: Buffer, off: number, ssrcs: ArrayLike<number>): number {
  const n = ssrcs.length;
  const size = 4 + 4 * n;
  if (n > 31 || !fits(buf, off, size)) return 0;
  header(buf, off, n, RTCP_BYE, size);
  for (let i = 0; i < n; i++) writeU32(buf, off + 4 + 4 * i, ssrcs[i]);
  return size;
}

/** Picture Loss Indication (RFC 4585 s6.3.1): PSFB FMT 1, no FCI. */
export function writePli(buf: Buffer, off: number, senderSsrc: number, mediaSsrc: number): number {
  if (!fits(buf, off, 12)) return 0;
  header(buf, off, 1, RTCP_PSFB, 12);
  writeU32(buf, off + 4, senderSsrc);
  writeU32(buf, off + 8, mediaSsrc);
  return 12;
}

/**
 * Full Intra Request (RFC 5104 s4.3.1): PSFB FMT 4. The header's media source SSRC is 0; the FCI
 * names the target SSRC and a command sequence number the sender increments per new request.
 */
export function writeFir(buf: Buffer, off: number, senderSsrc: number, mediaSsrc: number, seqNr: number): number {
  if (!fits(buf, off, 20)) return 0;
  header(buf, off, 4, RTCP_PSFB, 20);
  writeU32(buf, off + 4, senderSsrc);
  writeU32(buf, off + 8, 0);
  writeU32(buf, off + 12, mediaSsrc);
  buf[off + 16] = seqNr & 0xff;
  buf[off + 17] = 0;
  buf[off + 18] = 0;
  buf[off + 19] = 0;
  return 20;
}

/**
 * Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb s2.2): PSFB FMT 15, media SSRC
 * 0, 'REMB', the SSRC count and the bitrate as an 18-bit mantissa with a 6-bit exponent (rounded
 * down), then the SSRCs the estimate applies to.
 */
export function writeRemb(buf: Buffer, off: number, senderSsrc: number, bitrate: number, ssrcs: ArrayLike<number>): number {
  const n = ssrcs.length;
  const size = 20 + 4 * n;
  if (n > 255 || !fits(buf, off, size)) return 0;
  let mantissa = bitrate > 0 ? Math.floor(bitrate) : 0;
  let exp = 0;
  while (mantissa > 0x3ffff && exp < 63) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  if (mantissa > 0x3ffff) mantissa = 0x3ffff;
  header(buf, off, 15, RTCP_PSFB, size);
  writeU32(buf, off + 4, senderSsrc);
  writeU32(buf, off + 8, 0);
  buf[off + 12] = 0x52; // R
  buf[off + 13] = 0x45; // E
  buf[off + 14] = 0x4d; // M
  buf[off + 15] = 0x42; // B
  buf[off + 16] = n;
  buf[off + 17] = (exp << 2) | (mantissa >> 16);
  buf[off + 18] = (mantissa >> 8) & 0xff;
  buf[off + 19] = mantissa & 0xff;
  for (let i = 0; i < n; i++) writeU32(buf, off + 20 + 4 * i, ssrcs[i]);
  return size;
}

/**
 * Generic NACK (RFC 4585 s6.2.1): RTPFB FMT 1 listing `lost[0, count)` (sequence numbers in
 * sending order, wrap allowed) as PID+BLP entries: each entry covers its PID and the 16 that follow.
 * Returns 0 when nothing is lost or the packet does not fit.
 */
export function writeNack(
  buf: Buffer,
  off: number,
  senderSsrc: number,
  mediaSsrc: number,
  lost: ArrayLike<number>,
  count = lost.length,
): number {
  if (count <= 0 || !fits(buf, off, 16)) return 0;
  let p = off + 12;
  let pid = lost[0] & 0xffff;
  let blp = 0;
  for (let i = 1; i < count; i++) {
    const seq = lost[i] & 0xffff;
    const d = (seq - pid) & 0xffff;
    if (d === 0) continue;
    if (d <= 16) {
      blp |= 1 << (d - 1);
      continue;
    }
    if (p + 8 > buf.length) return 0;
    writeNackEntry(buf, p, pid, blp);
    p += 4;
    pid = seq;
    blp = 0;
  }
  if (p + 4 > buf.length) return 0;
  writeNackEntry(buf, p, pid, blp);
  p += 4;
  const size = p - off;
  header(buf, off, 1, RTCP_RTPFB, size);
  writeU32(buf, off + 4, senderSsrc);
  writeU32(buf, off + 8, mediaSsrc);
  return size;
}

function writeNackEntry(buf: Buffer, p: number, pid: number, blp: number): void {
  buf[p] = pid >> 8;
  buf[p + 1] = pid & 0xff;
  buf[p + 2] = (blp >> 8) & 0xff;
  buf[p + 3] = blp & 0xff;
}

/** NTP epoch (1900) is 2208988800 s before the Unix epoch (RFC 5905 s6). */
const NTP_UNIX_OFFSET = 2208988800;

/** NTP seconds (most significant word) of a Unix time in milliseconds. */
export function ntpSeconds(unixMs: number): number {
  return (Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET) >>> 0;
}
/** NTP fraction (least significant word, 1/2^32 s) of a Unix time in milliseconds. */
export function ntpFraction(unixMs: number): number {
  const ms = unixMs - Math.floor(unixMs / 1000) * 1000;
  return Math.floor((ms / 1000) * 0x100000000) >>> 0;
}
/** The middle 32 bits of an NTP timestamp, as carried in LSR (s6.4.1). */
export function ntpMiddle(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}
