/**
 * VP9 SVC layer selection for one outgoing stream (Janus' `spatial_layer`/`temporal_layer` targets,
 * JANUS-REFERENCE 2.2): a publisher sends one VP9 stream carrying up to three spatial and three
 * temporal layers (RFC 9628); a subscriber gets only the layers up to its targets.
 *
 * - Packets whose spatial id (SID) or temporal id (TID) is above the current layers are dropped.
 * - Going up in space needs a keyframe (a picture whose base layer frame is not inter-picture
 *   predicted, P=0): higher layer frames before it reference pictures the receiver never got. Until
 *   one arrives `needPli` asks the caller for a PLI (at most once a second). A layer the publisher
 *   stopped sending (not seen for 250 ms, as Janus) is not switched to; the next one down is. Going
 *   down happens at the start of the next picture (lower layers never depend on higher ones).
 * - Temporal changes happen at the start of a picture: down at any, up at a TL0 picture or at a
 *   switching-up point (U) of a layer within the target.
 * - The receiver must see a complete picture: the marker bit is set on the last packet (E) of the
 *   highest spatial layer forwarded, since the publisher put it on a layer we may drop (a marker the
 *   publisher set is left alone).
 * - The outgoing sequence numbers leave no gaps for dropped packets (`holes` are taken out after
 *   the stream's SeqTsRewriter), so the receiver's loss statistics and NACKs stay right.
 *
 * Per packet everything is views and numbers: no allocation, no JSON.
 */
import type { RtpView } from './rtp.ts';
import type { SeqTsRewriter } from './rtp-rewriter.ts';
import { Vp9Descriptor } from './vp9-descriptor.ts';

const PLI_INTERVAL_MS = 1000;
/** A spatial layer not seen for this long is taken as stopped (Janus uses 250 ms too). */
const LAYER_GONE_MS = 250;

export class Vp9SvcSelector {
  /** Spatial layer forwarded now, -1 before the first keyframe. */
  spatial = -1;
  /** Temporal layer forwarded now, -1 before the first keyframe. */
  temporal = -1;
  spatialTarget: number;
  temporalTarget: number;
  /** Set by process(): the current layers changed with this packet (for an event). */
  changedSpatial = false;
  changedTemporal = false;
  /** Set by process(): a keyframe is needed (send a PLI to the publisher). */
  needPli = false;
  /** Packets dropped so far, taken out of the outgoing sequence numbers. */
  holes = 0;
  readonly #desc = new Vp9Descriptor();
  #lastPliMs = -PLI_INTERVAL_MS;
  /** When each spatial layer was last seen (ms), -1 = never. */
  readonly #lastSeen = new Float64Array(8).fill(-1);

  constructor(spatialTarget = 2, temporalTarget = 2) {
    this.spatialTarget = spatialTarget;
    this.temporalTarget = temporalTarget;
  }

  /** A new source (feed switch, renegotiation): wait for its next keyframe. */
  reset(): void {
    this.spatial = -1;
    this.temporal = -1;
  }

  /**
   * Decide on one packet (wrapped in `view`): true to forward it, in which case `rewriter` has
   * rewritten its SSRC/sequence/timestamp in place and the marker bit is set as the receiver needs.
   */
  process(view: RtpView, rewriter: SeqTsRewriter, nowMs: number): boolean {
    this.changedSpatial = false;
    this.changedTemporal = false;
    this.needPli = false;
    const d = this.#desc;
    if (!d.parse(view.buf, view.payloadOffset, view.payloadLength)) {
      this.holes++;
      return false;
    }
    this.#lastSeen[d.sid] = nowMs;
    const startOfPicture = d.b && d.sid === 0;
    if (startOfPicture) this.#atPictureStart(d, nowMs);
    else if (this.spatial < 0 || this.#highestFlowing(this.spatialTarget, nowMs) > this.spatial) this.#wantKeyframe(nowMs);
    if (this.spatial < 0 || d.sid > this.spatial || d.tid > this.temporal) {
      this.holes++;
      return false;
    }
    rewriter.rewrite(view, nowMs);
    if (this.holes !== 0) view.sequenceNumber = (view.sequenceNumber - this.holes) & 0xffff;
    // RFC 9628 section 4.1: the marker ends the picture; ours ends at the highest layer we send.
    if (d.sid === this.spatial && d.e) view.marker = true;
    return true;
  }

  #atPictureStart(d: Vp9Descriptor, nowMs: number): void {
    const keyframe = !d.p;
    const spatialTarget = this.spatialTarget;
    if (spatialTarget > this.spatial) {
      const layer = this.#highestFlowing(spatialTarget, nowMs);
      if (keyframe) this.#setSpatial(layer);
      else if (layer > this.spatial) this.#wantKeyframe(nowMs);
    } else if (spatialTarget < this.spatial) this.#setSpatial(spatialTarget);
    if (this.spatial < 0) return;
    const temporalTarget = this.temporalTarget;
    if (temporalTarget < this.temporal) this.#setTemporal(temporalTarget);
    else if (temporalTarget > this.temporal) {
      if (keyframe || d.tid === 0) this.#setTemporal(temporalTarget);
      else if (d.u && d.tid > this.temporal && d.tid <= temporalTarget) this.#setTemporal(d.tid);
    }
  }

  /** The highest layer up to `target` that has not stopped (a layer never seen yet may still come). */
  #highestFlowing(target: number, nowMs: number): number {
    let layer = target;
    while (layer > 0 && this.#lastSeen[layer] >= 0 && nowMs - this.#lastSeen[layer] >= LAYER_GONE_MS) layer--;
    return layer;
  }

  #setSpatial(layer: number): void {
    if (this.spatial === layer) return;
    this.spatial = layer;
    this.changedSpatial = true;
  }

  #setTemporal(layer: number): void {
    if (this.temporal === layer) return;
    this.temporal = layer;
    this.changedTemporal = true;
  }

  #wantKeyframe(nowMs: number): void {
    if (nowMs - this.#lastPliMs < PLI_INTERVAL_MS) return;
    this.#lastPliMs = nowMs;
    this.needPli = true;
  }
}
