/**
 * The caller's offer as the callee gets it. The media core neither de-encapsulates RFC 4588 RTX
 * nor declares RTX SSRCs on our legs, so retransmission payload types are taken out of the relayed
 * offer: the callee then answers without them and neither browser sends RTX (a browser that did
 * would have its RTX packets relayed onto the primary SSRC of the other leg, which breaks the
 * receiver's stream). NACK retransmission is done by the core's own buffer on each leg.
 */
import { parseSdp, writeSdp } from '../../core/webrtc/sdp.ts';

/** The offer without `rtx` payload types (throws SdpError on an unparsable SDP). */
export function withoutRtx(sdp: string): string {
  const desc = parseSdp(sdp);
  for (const m of desc.media) {
    const rtx = new Set(m.codecs.filter((c) => c.name.toLowerCase() === 'rtx').map((c) => String(c.payloadType)));
    if (rtx.size === 0) continue;
    m.codecs = m.codecs.filter((c) => !rtx.has(String(c.payloadType)));
    m.formats = m.formats.filter((f) => !rtx.has(f));
    m.ssrcGroups = m.ssrcGroups.filter((g) => g.semantics !== 'FID');
  }
  return writeSdp(desc);
}

/** Payload types that must not be relayed (RTX of the caller's own offer): a 128-entry flag table. */
export function rtxTable(sdp: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const m of parseSdp(sdp).media) {
    for (const c of m.codecs) if (c.name.toLowerCase() === 'rtx' && c.payloadType < 128) table[c.payloadType] = 1;
  }
  return table;
}
