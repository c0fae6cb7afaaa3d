/**
 * Answering generic NACKs (RFC 4585 s6.2.1) for one outgoing SSRC, as Janus' core does: every
 * packet we send is copied (after the SSRC rewrite, before SRTP) into a NackBuffer kept at least
 * `min_nack_queue` ms (more when the RTT asks for it), and a NACK naming our SSRC is answered by
 * sending the stored packets again, unchanged. Without RFC 4588 RTX negotiated a retransmission is
 * the original packet (same SSRC, sequence number and SRTP index: our SRTP sender, like libsrtp with
 * allow_repeat_tx, protects an index again). With `nack_optimizations` the buffer is flushed when a
 * keyframe goes out: nothing before it is worth repairing.
 */
import { NackBuffer } from '../../media/nack-buffer.ts';
import { isKeyframe } from '../../media/keyframe.ts';
import { nackExpand, type RtcpWalker } from '../../media/rtcp.ts';
import { rtpHeaderLength } from '../../media/rtp.ts';

/** Most sequence numbers taken from one NACK packet (each FCI entry names up to 17). */
const MAX_NACKED = 512;
/** Upper bound of the RTT-adaptive keep time, ms. */
const MAX_KEEP_MS = 1000;
/** Do not resend the same packet again within this long (or the RTT if larger), ms. */
const MIN_RESEND_GAP_MS = 10;
/** Recently resent sequence numbers remembered for that check. */
const RECENT = 64;

export interface RetransmissionOptions {
  /** Janus `min_nack_queue` in ms. */
  minNackQueueMs: number;
  video: boolean;
}

export class Retransmission {
  readonly buffer: NackBuffer;
  readonly #minKeepMs: number;
  /** NACK packets received naming this SSRC. */
  nacks = 0;
  /** Sequence numbers asked for. */
  requested = 0;
  /** Packets resent. */
  resent = 0;
  /** Asked for but gone (older than the keep time, flushed, never sent). */
  missed = 0;
  /** Buffer flushes on keyframes (nack_optimizations). */
  flushes = 0;
  readonly #lost = new Uint16Array(MAX_NACKED);
  readonly #recentSeq = new Int32Array(RECENT).fill(-1);
  readonly #recentAt = new Float64Array(RECENT);
  #recentNext = 0;
  #lastKeyframeTs = -1;

  constructor(opts: RetransmissionOptions) {
    this.#minKeepMs = opts.minNackQueueMs > 0 ? opts.minNackQueueMs : 0;
    // Audio runs at about 50 packets/s, video at hundreds: start small, the buffer grows as needed.
    this.buffer = new NackBuffer({ minNackQueueMs: this.#minKeepMs, initialSlots: opts.video ? 256 : 32, maxSlots: 4096 });
  }

  /** The RTT changed: keep packets twice as long as a round trip, within [min_nack_queue, 1 s]. */
  setRtt(rttMs: number): void {
    const keep = Math.min(MAX_KEEP_MS, 2 * rttMs);
    this.buffer.setKeepTimeMs(keep > this.#minKeepMs ? keep : this.#minKeepMs);
  }

  /**
   * Store the RTP packet `buf[off, off+len)` about to be sent. With `flushOnKeyframe`, a keyframe of
   * `codec` first empties the buffer (once per frame: every packet of it has the same timestamp).
   */
  store(buf: Buffer, off: number, len: number, nowMs: number, codec: string | undefined, flushOnKeyframe: boolean): void {
    if (flushOnKeyframe && codec !== undefined) {
      const hl = rtpHeaderLength(buf, off, len);
      const pad = hl > 0 && buf[off] & 0x20 ? buf[off + len - 1] : 0;
      if (hl > 0 && len - hl - pad > 0 && isKeyframe(codec, buf, off + hl, len - hl - pad)) {
        const ts = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
        if (ts !== this.#lastKeyframeTs) {
          this.#lastKeyframeTs = ts;
          this.buffer.flush();
          this.flushes++;
        }
      }
    }
    this.buffer.store(buf, off, len, nowMs);
  }

  /**
   * Answer the walker's current NACK: `send` gets a view of each stored packet still in the buffer
   * (valid during the call only). `rttMs` (or -1) spaces repeated requests for the same packet.
   */
  answer(w: RtcpWalker, nowMs: number, rttMs: number, send: (packet: Buffer) => void): number {
    this.nacks++;
    const n = nackExpand(w, this.#lost);
    const gap = rttMs > MIN_RESEND_GAP_MS ? rttMs : MIN_RESEND_GAP_MS;
    let sent = 0;
    for (let i = 0; i < n; i++) {
      const seq = this.#lost[i];
      this.requested++;
      const slot = this.buffer.find(seq, nowMs);
      if (slot < 0) {
        this.missed++;
        continue;
      }
      if (this.#resentRecently(seq, nowMs, gap)) continue;
      send(this.buffer.packet(slot));
      this.#remember(seq, nowMs);
      this.resent++;
      sent++;
    }
    return sent;
  }

  #resentRecently(seq: number, nowMs: number, gap: number): boolean {
    for (let i = 0; i < RECENT; i++) {
      if (this.#recentSeq[i] === seq && nowMs - this.#recentAt[i] < gap) return true;
    }
    return false;
  }

  #remember(seq: number, nowMs: number): void {
    this.#recentSeq[this.#recentNext] = seq;
    this.#recentAt[this.#recentNext] = nowMs;
    this.#recentNext = (this.#recentNext + 1) % RECENT;
  }
}
