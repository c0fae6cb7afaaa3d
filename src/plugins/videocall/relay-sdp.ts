/**
 * The SDPs VideoCall passes between its two legs.
 *
 * - Caller's offer -> callee: RFC 4588 RTX payload types are taken out (the media core neither
 *   de-encapsulates RTX nor declares RTX SSRCs, and an RTX packet relayed onto the other leg's
 *   primary SSRC breaks the receiver's stream; NACKs are served by the core's buffer on each leg),
 *   and so is simulcast (rid lines, a=simulcast, the rid header extensions, SIM groups): the callee
 *   gets one stream, picked by the plugin (substream/temporal).
 * - Callee's answer -> caller: the caller's simulcast is accepted again (a=rid recv, a=simulcast:recv,
 *   the rid extension), as Janus' core does when it merges the plugin's SDP, so the caller's
 *   browser keeps sending its layers.
 */
import { parseSdp, writeSdp, type MediaSection } from '../../core/webrtc/sdp.ts';
import { RID_EXT_URI, type SimulcastLayout } from '../../media/simulcast.ts';

const REPAIRED_RID_URI = 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id';

export interface RelayedOffer {
  /** The SDP the callee gets. */
  sdp: string;
  /** RTX payload types of the caller (never relayed): a 128-entry flag table. */
  dropPt: Uint8Array;
  /** The caller's simulcast, without the codec (known once answered). */
  simulcast?: Omit<SimulcastLayout, 'codec'> & { mid: string; offered: { rids: MediaSection['rids']; simulcast?: string } };
}

/** The first `send` stream of each a=simulcast entry ("h;m;l", alternatives "a,b", paused "~x"). */
function sendRids(m: MediaSection): string[] {
  const parts = m.simulcast?.trim().split(/\s+/) ?? [];
  const at = parts.indexOf('send');
  if (at >= 0 && parts[at + 1]) return parts[at + 1].split(';').map((e) => e.split(',')[0].replace(/^~/, '')).filter((r) => r !== '');
  return m.rids.filter((r) => r.direction === 'send').map((r) => r.id);
}

/**
 * The caller's offer as the callee gets it. Like Janus, rids are taken as listed from the highest
 * quality to the lowest unless the JSEP says `rid_order: "lmh"`. Throws SdpError when unparsable.
 */
export function relayOffer(sdp: string, ridOrder?: unknown): RelayedOffer {
  const desc = parseSdp(sdp);
  const dropPt = new Uint8Array(128);
  let simulcast: RelayedOffer['simulcast'];
  desc.media.forEach((m, i) => {
    const rtx = new Set(m.codecs.filter((c) => c.name.toLowerCase() === 'rtx').map((c) => c.payloadType));
    for (const pt of rtx) if (pt < 128) dropPt[pt] = 1;
    m.codecs = m.codecs.filter((c) => !rtx.has(c.payloadType));
    m.formats = m.formats.filter((f) => !rtx.has(Number(f)));
    if (m.kind === 'video' && simulcast === undefined && m.port !== 0) {
      const rids = sendRids(m).slice(0, 3);
      const sim = m.ssrcGroups.find((g) => g.semantics === 'SIM');
      const ext = m.extmaps.find((e) => e.uri === RID_EXT_URI);
      const offered = { rids: m.rids.slice(), ...(m.simulcast ? { simulcast: m.simulcast } : {}) };
      const lowFirst = typeof ridOrder === 'string' && ridOrder.toLowerCase() === 'lmh';
      if (rids.length > 1) simulcast = { mid: m.mid ?? String(i), rids: lowFirst ? rids : rids.reverse(), ssrcs: [], ridExtId: ext?.id ?? 0, offered };
      else if (sim && sim.ssrcs.length > 1) simulcast = { mid: m.mid ?? String(i), rids: [], ssrcs: sim.ssrcs.slice(0, 3), ridExtId: 0, offered };
    }
    m.rids = [];
    m.simulcast = undefined;
    m.extmaps = m.extmaps.filter((e) => e.uri !== RID_EXT_URI && e.uri !== REPAIRED_RID_URI);
    m.ssrcGroups = m.ssrcGroups.filter((g) => g.semantics !== 'FID' && g.semantics !== 'SIM');
  });
  return { sdp: writeSdp(desc), dropPt, ...(simulcast ? { simulcast } : {}) };
}

/** The callee's answer as the caller gets it: the caller's simulcast accepted on its video m-line. */
export function answerForCaller(answerSdp: string, callerOffer: RelayedOffer): string {
  const sim = callerOffer.simulcast;
  if (!sim) return answerSdp;
  const desc = parseSdp(answerSdp);
  const m = desc.media.find((x, i) => (x.mid ?? String(i)) === sim.mid && x.kind === 'video');
  if (!m || m.port === 0) return answerSdp;
  m.rids = sim.offered.rids.filter((r) => r.direction === 'send').map((r) => ({ id: r.id, direction: 'recv' }));
  if (sim.offered.simulcast) m.simulcast = sim.offered.simulcast.replace(/^send /, 'recv ');
  if (sim.ridExtId > 0 && !m.extmaps.some((e) => e.id === sim.ridExtId)) m.extmaps.push({ id: sim.ridExtId, uri: RID_EXT_URI });
  return writeSdp(desc);
}
