/**
 * A participant's jitter buffer: RTP packets stored by sequence number in preallocated slots,
 * played out one per 20 ms tick after `prebuffer` packets have gathered. Out-of-order packets fall
 * into their slot; a hole at play-out time is reported as a loss (the caller conceals it); packets
 * older than the play-out point are dropped as late; a buffer grown past its cap (a burst) drops
 * its oldest packets so delay stays bounded. Nothing is allocated per packet.
 */

const SLOTS = 64;
const SLOT_BYTES = 1500;

export const enum PopResult {
  /** `data` holds the next frame at `payloadOffset`. */
  Packet,
  /** The next frame is missing but later ones exist: conceal one frame. */
  Lost,
  /** Nothing to play (not started, prebuffering, or drained). */
  Empty,
}

export class JitterBuffer {
  readonly #data = new Uint8Array(SLOTS * SLOT_BYTES);
  readonly #len = new Int32Array(SLOTS);
  readonly #seq = new Int32Array(SLOTS).fill(-1);
  readonly #level = new Int16Array(SLOTS);
  #count = 0;
  #next = -1;
  #playing = false;
  /** Highest sequence number stored (extended by wrap). */
  #highest = -1;
  #outOff = 0;
  #outLen = 0;
  #outLevel = -1;
  /** Counters for stats. */
  received = 0;
  lost = 0;
  late = 0;
  dropped = 0;

  constructor(public prebuffer = 6, public maxPackets = 0) {}

  get size(): number {
    return this.#count;
  }

  /** Packets kept before old ones are dropped. */
  #cap(): number {
    return Math.min(SLOTS - 2, this.maxPackets > 0 ? this.maxPackets : this.prebuffer * 2 + 10);
  }

  reset(): void {
    this.#seq.fill(-1);
    this.#count = 0;
    this.#next = -1;
    this.#playing = false;
    this.#highest = -1;
  }

  /**
   * Store the payload `buf[off, off+len)` of the packet with sequence number `seq`; `level` is the
   * RFC 6464 audio level (0-127 -dBov) when the packet carried one, else -1.
   */
  push(seq: number, buf: Uint8Array, off: number, len: number, level = -1): void {
    if (len <= 0 || len > SLOT_BYTES) return;
    this.received++;
    if (this.#next >= 0) {
      const ahead = (seq - this.#next) & 0xffff;
      if (ahead >= 0x8000) {
        // Behind the play-out point: too late (or a restarted stream far behind: start over).
        const behind = 0x10000 - ahead;
        if (behind > SLOTS * 4) this.reset();
        else if (!this.#playing && behind < SLOTS / 2) this.#next = seq; // still prebuffering: start earlier
        else {
          this.late++;
          return;
        }
      } else if (ahead >= SLOTS) {
        // A jump far ahead (a new stream, a long gap): start over from this packet.
        this.reset();
      }
    }
    if (this.#next < 0) this.#next = seq;
    const slot = seq % SLOTS;
    if (this.#seq[slot] === seq) return; // duplicate
    if (this.#seq[slot] < 0) this.#count++;
    this.#seq[slot] = seq;
    this.#len[slot] = len;
    this.#level[slot] = level;
    const data = this.#data;
    const base = slot * SLOT_BYTES;
    for (let i = 0; i < len; i++) data[base + i] = buf[off + i];
    if (this.#highest < 0 || ((seq - this.#highest) & 0xffff) < 0x8000) this.#highest = seq;
    // A burst: drop the oldest until back under the cap.
    const cap = this.#cap();
    while (this.#count > cap) {
      const s = this.#next % SLOTS;
      if (this.#seq[s] === this.#next) {
        this.#seq[s] = -1;
        this.#count--;
        this.dropped++;
      }
      this.#next = (this.#next + 1) & 0xffff;
    }
  }

  /** Take the frame due now. */
  pop(): PopResult {
    if (this.#next < 0) return PopResult.Empty;
    if (!this.#playing) {
      if (this.#count < Math.max(1, this.prebuffer)) return PopResult.Empty;
      this.#playing = true;
    }
    if (this.#count === 0) {
      // Drained: prebuffer again before playing on.
      this.#playing = false;
      return PopResult.Empty;
    }
    const slot = this.#next % SLOTS;
    const seq = this.#next;
    this.#next = (this.#next + 1) & 0xffff;
    if (this.#seq[slot] !== seq) {
      this.lost++;
      return PopResult.Lost;
    }
    this.#seq[slot] = -1;
    this.#count--;
    this.#outOff = slot * SLOT_BYTES;
    this.#outLen = this.#len[slot];
    this.#outLevel = this.#level[slot];
    return PopResult.Packet;
  }

  /**
   * After a `Lost` pop: whether the packet that follows the lost one is already here. If so its
   * payload is at `payloadOffset` (not consumed: the next pop plays it), for FEC recovery of the
   * lost frame from it.
   */
  peekNext(): boolean {
    if (this.#next < 0) return false;
    const slot = this.#next % SLOTS;
    if (this.#seq[slot] !== this.#next) return false;
    this.#outOff = slot * SLOT_BYTES;
    this.#outLen = this.#len[slot];
    this.#outLevel = this.#level[slot];
    return true;
  }

  /** The buffer holding the popped payload at `payloadOffset` (valid until the next push or pop). */
  get data(): Uint8Array {
    return this.#data;
  }

  get payloadOffset(): number {
    return this.#outOff;
  }

  get payloadLength(): number {
    return this.#outLen;
  }

  /** The popped packet's audio level (0-127 -dBov), or -1 when it carried none. */
  get payloadLevel(): number {
    return this.#outLevel;
  }
}
