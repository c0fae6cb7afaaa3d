/**
 * Our generic NACKs (RFC 4585 s6.2.1) for one incoming video SSRC whose codec negotiated `nack`:
 * a jump in sequence numbers marks the skipped ones missing; each missing packet is asked for at
 * once and again every retry interval (about an RTT), at most MAX_TRIES times, and dropped from the
 * list when it arrives, when it is given up, or when it falls too far behind. A jump too large to be
 * loss (a restarted sender) clears the list instead. Fixed-size typed arrays: no allocation per packet.
 */

/** Missing packets tracked at once; older ones are dropped first when full. */
const CAPACITY = 512;
/** A jump larger than this is not loss worth repairing (RFC 3550 A.1 uses 3000 for restarts). */
const MAX_GAP = 500;
/** NACKs per missing packet before giving up. */
export const MAX_TRIES = 3;
/** Shortest retry interval, ms (loopback RTTs are ~0). */
const MIN_RETRY_MS = 30;
/** A missing packet further behind the newest than this is given up. */
const MAX_AGE_SEQ = 1000;

export class NackGenerator {
  #highest = -1;
  readonly #seq = new Uint16Array(CAPACITY);
  readonly #tries = new Uint8Array(CAPACITY);
  readonly #due = new Float64Array(CAPACITY);
  #count = 0;
  /** Earliest due time of a pending request (Infinity when none). */
  nextDue = Infinity;
  /** Sequence numbers put in NACKs (each try counts). */
  requested = 0;
  /** Missing packets that arrived after all (late or retransmitted). */
  recovered = 0;
  /** Missing packets given up on. */
  givenUp = 0;

  /** Packets currently missing. */
  get pending(): number {
    return this.#count;
  }

  /** Account for a received sequence number. */
  onPacket(seq: number, nowMs: number): void {
    if (this.#highest < 0) {
      this.#highest = seq;
      return;
    }
    const d = (seq - this.#highest) & 0xffff;
    if (d === 0) return;
    if (d < 0x8000) {
      if (d > MAX_GAP) {
        this.givenUp += this.#count;
        this.#count = 0;
        this.nextDue = Infinity;
      } else {
        for (let s = (this.#highest + 1) & 0xffff; s !== seq; s = (s + 1) & 0xffff) this.#add(s, nowMs);
      }
      this.#highest = seq;
      return;
    }
    // Older than the newest: a late or retransmitted packet fills its hole.
    for (let i = 0; i < this.#count; i++) {
      if (this.#seq[i] === seq) {
        this.#removeAt(i);
        this.recovered++;
        return;
      }
    }
  }

  #add(seq: number, nowMs: number): void {
    if (this.#count === CAPACITY) {
      this.#removeAt(0);
      this.givenUp++;
    }
    const i = this.#count++;
    this.#seq[i] = seq;
    this.#tries[i] = 0;
    this.#due[i] = nowMs;
    if (nowMs < this.nextDue) this.nextDue = nowMs;
  }

  #removeAt(i: number): void {
    const last = this.#count - 1;
    // Keep the order (oldest first): shift the tail down by one.
    this.#seq.copyWithin(i, i + 1, this.#count);
    this.#tries.copyWithin(i, i + 1, this.#count);
    this.#due.copyWithin(i, i + 1, this.#count);
    this.#count = last;
  }

  /**
   * Sequence numbers to NACK now, oldest first, written to `out` (at most out.length); each counts
   * as a try and is rescheduled a retry interval later. Returns how many were written.
   */
  collect(nowMs: number, rttMs: number, out: Uint16Array): number {
    if (nowMs < this.nextDue) return 0;
    const retry = rttMs > MIN_RETRY_MS ? rttMs * 1.5 : MIN_RETRY_MS;
    let n = 0;
    let w = 0;
    let next = Infinity;
    for (let i = 0; i < this.#count; i++) {
      const seq = this.#seq[i];
      let tries = this.#tries[i];
      let due = this.#due[i];
      const behind = (this.#highest - seq) & 0xffff;
      if ((tries >= MAX_TRIES && due <= nowMs) || behind > MAX_AGE_SEQ) {
        this.givenUp++;
        continue;
      }
      if (due <= nowMs && n < out.length) {
        out[n++] = seq;
        tries++;
        due = nowMs + retry;
        this.requested++;
      }
      // After its last try an entry stays one more interval, so a late arrival counts as recovered.
      this.#seq[w] = seq;
      this.#tries[w] = tries;
      this.#due[w] = due;
      w++;
      if (due < next) next = due;
    }
    this.#count = w;
    this.nextDue = w === 0 ? Infinity : next;
    return n;
  }

  /** Forget all state (the sender restarted, or the stream went away). */
  reset(): void {
    this.#highest = -1;
    this.#count = 0;
    this.nextDue = Infinity;
  }
}
