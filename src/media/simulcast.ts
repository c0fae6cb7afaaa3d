/**
 * Simulcast layer selection (JANUS-REFERENCE 2.1 `substream`/`temporal`, used by EchoTest, VideoCall, VideoRoom): the peer sends up to three
 * encodings of its video (rid-based, RFC 8851/8853, or an SSRC SIM group) and gets back one of them.
 *
 * - Substreams are numbered from the lowest quality (0) to the highest (2). A packet's substream is
 *   known by its SSRC once learned, else by the rid header extension
 *   (urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id, RFC 8852), which teaches the SSRC.
 * - Only the current substream is echoed. A change (towards the target, up or down) happens on a
 *   keyframe of the new substream; until then a PLI is asked for (at most once a second). When the
 *   current substream stops for `fallback` (default 250 ms) while others flow, the target drops a
 *   step until it, or a better one, comes back (as Janus' drop_trigger).
 * - VP8 temporal layers: packets whose TID exceeds the current layer are dropped; the current layer
 *   moves to the target when a packet of the target layer shows up.
 * - The echo is one continuous stream: SeqTsRewriter maps every substream onto one sequence/timestamp
 *   space (packets dropped for the temporal layer leave no gap), and the VP8 PictureID/TL0PICIDX are
 *   kept continuous across switches.
 *
 * Everything per packet works on views and numbers: no allocation, no JSON.
 */
import { RtpView } from './rtp.ts';
import { SeqTsRewriter } from './rtp-rewriter.ts';
import { isH264Keyframe, isVp8Keyframe } from './keyframe.ts';
import { Vp8DescriptorRewriter, vp8TemporalId } from './vp8-descriptor.ts';

export const RID_EXT_URI = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
/** Janus' default drop_trigger: 250 ms without the current substream. */
export const DEFAULT_FALLBACK_US = 250_000;
/** Minimum interval between PLIs asked while a switch waits for a keyframe. */
const PLI_INTERVAL_MS = 1000;

export interface SimulcastLayout {
  /** rid of each substream, lowest quality first (empty for SSRC simulcast). */
  rids: string[];
  /** SSRC of each substream when known from the SDP (SIM group), lowest first. */
  ssrcs: number[];
  /** Extension id of the rid header extension, 0 when not negotiated. */
  ridExtId: number;
  /** 'vp8' or 'h264': the codecs Janus simulcasts. */
  codec: 'vp8' | 'h264';
}

export class SimulcastSelector {
  readonly layout: SimulcastLayout;
  /** Number of substreams. */
  readonly count: number;
  /** Substream echoed now (-1: none yet). */
  substream = -1;
  /** Substream asked for (clamped to what exists when switching). */
  target = 2;
  /** Temporary lower target while the current substream is missing (-1: none). */
  tempTarget = -1;
  /** Temporal layer echoed now (-1: all) and asked for. */
  templayer = -1;
  templayerTarget = 2;
  fallbackMs = DEFAULT_FALLBACK_US / 1000;
  /** Set by process(): the substream / temporal layer changed with this packet. */
  changedSubstream = false;
  changedTemporal = false;
  /** Set by process(): a keyframe should be asked for. */
  needPli = false;

  readonly #ssrcs = [0, 0, 0];
  readonly #rids: Buffer[];
  readonly #view = new RtpView();
  readonly #rewriter = new SeqTsRewriter({ ssrc: 1, clockRate: 90000 });
  readonly #vp8 = new Vp8DescriptorRewriter();
  readonly #vp8Codec: boolean;
  /** Packets of the current substream dropped for the temporal layer (kept out of the sequence). */
  #holes = 0;
  /** When each substream was last seen (ms). */
  readonly #lastSeen = new Float64Array(3);
  #lastPliMs = -PLI_INTERVAL_MS;

  constructor(layout: SimulcastLayout) {
    this.layout = layout;
    this.#rids = layout.rids.slice(0, 3).map((r) => Buffer.from(r, 'latin1'));
    this.count = Math.max(this.#rids.length, Math.min(layout.ssrcs.length, 3));
    for (let i = 0; i < 3 && i < layout.ssrcs.length; i++) this.#ssrcs[i] = layout.ssrcs[i] >>> 0;
    this.#vp8Codec = layout.codec === 'vp8';
  }

  /** The learned SSRC of each substream (0 = not seen yet). */
  get ssrcs(): readonly number[] {
    return this.#ssrcs;
  }

  /** Ask for another substream; true when it is already the one echoed. */
  setTarget(substream: number): boolean {
    this.target = substream;
    this.tempTarget = -1;
    return this.substream === Math.min(substream, this.count - 1);
  }

  setTemporalTarget(layer: number): boolean {
    this.templayerTarget = layer;
    return this.templayer === layer;
  }

  /**
   * Every substream now comes from another source (the Streaming plugin's `switch` to another
   * mountpoint): start again on a keyframe, keeping the targets and continuing the same outgoing
   * sequence numbers, timestamps and VP8 picture ids.
   */
  switchSource(): void {
    this.substream = -1;
    this.tempTarget = -1;
    for (let i = 0; i < 3; i++) this.#ssrcs[i] = (this.layout.ssrcs[i] ?? 0) >>> 0;
    this.#lastSeen.fill(0);
    this.#rewriter.switchSource();
    this.#vp8.switchSource();
  }

  /** Substream of an RTP packet (wrapped in the view), learning SSRCs from rids; -1 if unknown. */
  #substreamOf(view: RtpView): number {
    const ssrc = view.ssrc;
    const s = this.#ssrcs;
    if (ssrc === s[0] && ssrc !== 0) return 0;
    if (ssrc === s[1] && ssrc !== 0) return 1;
    if (ssrc === s[2] && ssrc !== 0) return 2;
    const id = this.layout.ridExtId;
    if (id <= 0) return -1;
    const at = view.findExtension(id);
    if (at < 0) return -1;
    const b = view.buf;
    // A one-byte element may carry trailing NULs when padded by the sender.
    let n = view.foundExtLength;
    while (n > 0 && b[at + n - 1] === 0) n--;
    for (let i = 0; i < this.#rids.length; i++) {
      const rid = this.#rids[i];
      if (n !== rid.length) continue;
      let same = true;
      for (let k = 0; k < n; k++) {
        if (b[at + k] !== rid[k]) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      s[i] = ssrc;
      return i;
    }
    return -1;
  }

  #isKeyframe(view: RtpView): boolean {
    return this.#vp8Codec
      ? isVp8Keyframe(view.buf, view.payloadOffset, view.payloadLength)
      : isH264Keyframe(view.buf, view.payloadOffset, view.payloadLength);
  }

  /**
   * Decide on one incoming video packet: true to echo it, in which case its sequence number,
   * timestamp (and VP8 descriptor) were rewritten in place. Sets changedSubstream, changedTemporal
   * and needPli for the caller. `knownSubstream` (0-2) is given when the caller already knows the
   * packet's substream (the Streaming plugin: one source port per substream); -1 = from SSRC/rid.
   */
  process(buf: Buffer, nowMs: number, knownSubstream = -1): boolean {
    this.changedSubstream = false;
    this.changedTemporal = false;
    this.needPli = false;
    const view = this.#view;
    if (!view.wrap(buf)) return false;
    const substream = knownSubstream >= 0 && knownSubstream < this.count ? knownSubstream : this.#substreamOf(view);
    if (substream < 0) return false;
    const top = this.count - 1;
    if (this.tempTarget >= 0 && substream > this.tempTarget && substream > this.substream && substream <= Math.min(this.target, top)) {
      // A better substream than the one echoed is flowing again: aim for the real target.
      this.tempTarget = -1;
    }
    const target = Math.min(this.tempTarget >= 0 ? this.tempTarget : this.target, top);
    const current = this.substream;
    if (substream !== current) {
      if ((target >= substream && current < substream) || (target <= substream && current > substream)) {
        if (this.#isKeyframe(view)) {
          this.substream = substream;
          this.changedSubstream = true;
          this.#vp8.switchSource();
          // Substreams may share an SSRC (Streaming: told apart by port): re-base explicitly.
          this.#rewriter.switchSource();
        } else if (nowMs - this.#lastPliMs >= PLI_INTERVAL_MS) {
          this.#lastPliMs = nowMs;
          this.needPli = true;
        }
      }
    }
    const seen = this.#lastSeen;
    const previous = seen[substream];
    seen[substream] = nowMs;
    const cur = this.substream;
    if (cur >= 0 && target > 0 && substream !== cur && nowMs - seen[cur] >= this.fallbackMs && nowMs - previous < this.fallbackMs) {
      // The current substream went quiet while this one flows: step down until it (or a better
      // one) comes back. (After a pause of everything, nothing is concluded.)
      this.tempTarget = Math.max(0, Math.min(target, cur) - 1);
      seen[cur] = nowMs;
      this.#lastPliMs = nowMs;
      this.needPli = true;
    }
    if (cur < 0 || substream !== cur) return false;
    // The current substream is back before the fallback happened: forget the fallback.
    if (this.tempTarget >= 0 && this.tempTarget < cur) this.tempTarget = -1;
    if (this.#vp8Codec) {
      const tid = vp8TemporalId(view.buf, view.payloadOffset, view.payloadLength);
      if (tid >= 0) {
        if (this.templayer !== this.templayerTarget && tid === this.templayerTarget) {
          this.templayer = this.templayerTarget;
          this.changedTemporal = true;
        }
        if (this.templayer !== -1 && tid > this.templayer) {
          this.#holes++;
          return false;
        }
      }
    }
    this.#rewriter.rewrite(view, nowMs);
    if (this.#holes !== 0) view.sequenceNumber = (view.sequenceNumber - this.#holes) & 0xffff;
    if (this.#vp8Codec) this.#vp8.rewrite(view.buf, view.payloadOffset, view.payloadLength);
    return true;
  }
}

/** Whether two layouts describe the same simulcast set-up (a renegotiation that keeps it). */
export function sameLayout(a: SimulcastLayout, b: SimulcastLayout): boolean {
  return a.codec === b.codec && a.ridExtId === b.ridExtId && a.rids.join(';') === b.rids.join(';') && a.ssrcs.join(';') === b.ssrcs.join(';');
}
