/**
 * Retransmission buffer for one outgoing SSRC, answering generic NACKs (RFC 4585 s6.2.1) by
 * sequence number. Janus keeps every sent packet for at least `min_nack_queue` ms (200 by default,
 * RTT-adaptive above that); so does this.
 *
 * Storage is one preallocated Buffer cut into fixed-size slots. Slot = seq mod capacity (capacity a
 * power of two, so the mapping survives the 16-bit wrap: 65536 is a multiple of it). Storing copies
 * the packet's bytes into its slot; look-up is one index computation plus a sequence/age check.
 * When a store would evict a packet younger than the keep horizon, capacity doubles (up to
 * `maxSlots`), which is the only allocation after construction.
 *
 *   data: | slot 0 (slotSize bytes) | slot 1 | ... | slot capacity-1 |
 *   seqs[i]: sequence number held by slot i (-1 empty); times[i]: when stored; lengths[i]: bytes
 */

export interface NackBufferOptions {
  /** Minimum time a packet stays retrievable, in ms (Janus `min_nack_queue`, default 200). */
  minNackQueueMs?: number;
  /** Initial slot count (rounded up to a power of two; default 256). */
  initialSlots?: number;
  /** Slot count ceiling (power of two, at most 32768; default 4096). */
  maxSlots?: number;
  /** Largest packet stored, in bytes (default 1500, the MTU cap Janus applies). */
  slotSize?: number;
}

function pow2AtLeast(n: number, max: number): number {
  let p = 1;
  while (p < n && p < max) p <<= 1;
  return p;
}

export class NackBuffer {
  readonly slotSize: number;
  readonly maxSlots: number;
  private minKeepMs: number;
  private keepMs: number;
  private cap: number;
  private mask: number;
  /** Packet bytes; slot i starts at i * slotSize. Replaced (not resized) when capacity grows. */
  data: Buffer;
  private seqs: Int32Array;
  private times: Float64Array;
  private lengths: Uint16Array;
  /** Packets stored. */
  stored = 0;
  /** Packets refused (larger than a slot, or not RTP-sized). */
  refused = 0;
  /** Packets evicted before the keep horizon because `maxSlots` was reached. */
  evictedEarly = 0;

  constructor(opts: NackBufferOptions = {}) {
    this.minKeepMs = opts.minNackQueueMs ?? 200;
    this.keepMs = this.minKeepMs;
    this.slotSize = opts.slotSize ?? 1500;
    this.maxSlots = pow2AtLeast(Math.min(opts.maxSlots ?? 4096, 32768), 32768);
    this.cap = pow2AtLeast(Math.max(1, opts.initialSlots ?? 256), this.maxSlots);
    this.mask = this.cap - 1;
    this.data = Buffer.alloc(this.cap * this.slotSize);
    this.seqs = new Int32Array(this.cap).fill(-1);
    this.times = new Float64Array(this.cap);
    this.lengths = new Uint16Array(this.cap);
  }

  get capacity(): number {
    return this.cap;
  }

  /** Current keep horizon in ms (never below `minNackQueueMs`). */
  get keepTimeMs(): number {
    return this.keepMs;
  }

  /** RTT-adaptive horizon: keep packets `ms` (clamped to at least `minNackQueueMs`). */
  setKeepTimeMs(ms: number): void {
    this.keepMs = ms > this.minKeepMs ? ms : this.minKeepMs;
  }

  /**
   * Copy the RTP packet `buf[off, off+len)` into its slot (its sequence number read from the
   * header). `nowMs` is a monotonic clock. Returns false if it was refused.
   */
  store(buf: Buffer, off: number, len: number, nowMs: number): boolean {
    if (len < 12 || len > this.slotSize || off < 0 || off + len > buf.length) {
      this.refused++;
      return false;
    }
    const seq = (buf[off + 2] << 8) | buf[off + 3];
    let slot = seq & this.mask;
    // Evicting a packet still inside the keep horizon: grow until its slot differs from ours.
    while (this.seqs[slot] >= 0 && this.seqs[slot] !== seq && nowMs - this.times[slot] < this.keepMs) {
      if (this.cap >= this.maxSlots) {
        this.evictedEarly++;
        break;
      }
      this.grow(nowMs);
      slot = seq & this.mask;
    }
    buf.copy(this.data, slot * this.slotSize, off, off + len);
    this.seqs[slot] = seq;
    this.times[slot] = nowMs;
    this.lengths[slot] = len;
    this.stored++;
    return true;
  }

  /**
   * Slot holding sequence number `seq` (16-bit, wrap-safe) if it is still within the keep horizon,
   * else -1. Read it with `slotOffset`/`slotLength` on `data`, or `packet()`.
   */
  find(seq: number, nowMs: number): number {
    const slot = seq & this.mask;
    if (this.seqs[slot] !== (seq & 0xffff)) return -1;
    if (nowMs - this.times[slot] > this.keepMs) return -1;
    return slot;
  }

  slotOffset(slot: number): number {
    return slot * this.slotSize;
  }
  slotLength(slot: number): number {
    return this.lengths[slot];
  }
  /** A view (no copy) of the packet in `slot`; valid until that slot is overwritten. */
  packet(slot: number): Buffer {
    const o = slot * this.slotSize;
    return this.data.subarray(o, o + this.lengths[slot]);
  }

  /** Forget every packet (Janus `nack_optimizations`: flush on keyframe). */
  flush(): void {
    this.seqs.fill(-1);
  }

  private grow(nowMs: number): void {
    const oldCap = this.cap;
    const oldData = this.data;
    const oldSeqs = this.seqs;
    const oldTimes = this.times;
    const oldLengths = this.lengths;
    this.cap = oldCap * 2;
    this.mask = this.cap - 1;
    this.data = Buffer.alloc(this.cap * this.slotSize);
    this.seqs = new Int32Array(this.cap).fill(-1);
    this.times = new Float64Array(this.cap);
    this.lengths = new Uint16Array(this.cap);
    for (let i = 0; i < oldCap; i++) {
      const seq = oldSeqs[i];
      if (seq < 0 || nowMs - oldTimes[i] > this.keepMs) continue;
      const slot = seq & this.mask;
      oldData.copy(this.data, slot * this.slotSize, i * this.slotSize, i * this.slotSize + oldLengths[i]);
      this.seqs[slot] = seq;
      this.times[slot] = oldTimes[i];
      this.lengths[slot] = oldLengths[i];
    }
  }
}
