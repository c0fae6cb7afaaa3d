/**
 * Talking detection as Janus' AudioBridge does it: average the RFC 6464 audio level (0 = loudest,
 * 127 = silence, in -dBov) over a window of packets; at or below the threshold the participant is
 * talking. Packets without the extension are measured from the decoded frame's energy instead.
 */

export class TalkDetector {
  #sum = 0;
  #count = 0;
  talking = false;

  constructor(public windowPackets = 100, public threshold = 25) {}

  /** Feed one packet's level; returns true when the talking state flipped. */
  feed(level: number): boolean {
    this.#sum += level;
    this.#count++;
    if (this.#count < this.windowPackets) return false;
    const avg = this.#sum / this.#count;
    this.#sum = 0;
    this.#count = 0;
    const now = avg <= this.threshold;
    if (now === this.talking) return false;
    this.talking = now;
    return true;
  }

  reset(): void {
    this.#sum = 0;
    this.#count = 0;
    this.talking = false;
  }
}

/** RFC 6464 level (-dBov, 0-127) of a frame whose sum of squared samples is `energy` over `n` samples. */
export function levelOfEnergy(energy: number, n: number): number {
  if (n <= 0 || energy <= 0) return 127;
  const rms = Math.sqrt(energy / n) / 32768;
  const db = -20 * Math.log10(rms);
  return db >= 127 ? 127 : db <= 0 ? 0 : Math.round(db);
}
