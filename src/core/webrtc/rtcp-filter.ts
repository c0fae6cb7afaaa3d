/**
 * Removing from an RTCP compound packet (RFC 3550 s6.1) what the core handles itself, as Janus'
 * janus_rtcp_remove_nacks / janus_rtcp_filter do:
 *  - from what the peer sends, the generic NACKs we answered (RFC 4585 s6.2.1), before the rest
 *    reaches the plugin;
 *  - from what a plugin relays, the reports we generate (SR, RR, SDES; s6.4, s6.5) and the
 *    transport feedback the core owns (generic NACK, transport-wide CC), so the peer never gets two
 *    sets of them.
 * Packets are moved down in place (or copied to a destination) whole, padding included; a malformed
 * tail is dropped. Nothing is allocated.
 */
import { RTCP_RR, RTCP_RTPFB, RTCP_SDES, RTCP_SR, RtcpWalker } from '../../media/rtcp.ts';

/** RTPFB FMT 1 (RFC 4585 s6.2.1). */
export function isGenericNack(pt: number, fmt: number): boolean {
  return pt === RTCP_RTPFB && fmt === 1;
}

/** What a plugin may not relay: our own reports and the transport feedback the core generates. */
export function isCoreOwned(pt: number, fmt: number): boolean {
  return pt === RTCP_SR || pt === RTCP_RR || pt === RTCP_SDES || (pt === RTCP_RTPFB && (fmt === 1 || fmt === 15));
}

/**
 * Copy the packets of `src[0, len)` for which `drop(pt, fmt)` is false to `dst` from 0 (`dst` may
 * be `src`: packets only move down). Returns the new length.
 */
export function compactRtcp(src: Buffer, len: number, dst: Buffer, drop: (pt: number, fmt: number) => boolean, w: RtcpWalker): number {
  let out = 0;
  w.reset(src, 0, len);
  while (w.next()) {
    if (drop(w.pt, w.fmt)) continue;
    const total = (((src[w.off + 2] << 8) | src[w.off + 3]) + 1) * 4;
    if (out + total > dst.length) break;
    if (dst !== src || out !== w.off) src.copy(dst, out, w.off, w.off + total);
    out += total;
  }
  return out;
}
