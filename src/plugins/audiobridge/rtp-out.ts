/**
 * The RTP stream we send one listener (or forwarder): our SSRC, a running sequence number and
 * timestamp, written in front of each mixed payload into one reused buffer (RFC 3550 s5.1).
 */
import { randomInt } from 'node:crypto';

export class RtpOut {
  readonly ssrc: number;
  #seq = randomInt(0, 0x10000);
  #ts = randomInt(0, 0x7fffffff);
  readonly buffer = Buffer.alloc(1500);
  packets = 0;

  constructor(public payloadType: number, ssrc?: number) {
    this.ssrc = ssrc ?? randomInt(1, 0x7fffffff);
  }

  /** Writes the packet for `payload[off, off+len)`; returns its length in `buffer`. */
  write(payload: Uint8Array, off: number, len: number, samples: number): number {
    const b = this.buffer;
    if (len + 12 > b.length) return 0;
    b[0] = 0x80;
    b[1] = this.payloadType & 0x7f;
    b[2] = (this.#seq >> 8) & 0xff;
    b[3] = this.#seq & 0xff;
    b.writeUInt32BE(this.#ts >>> 0, 4);
    b.writeUInt32BE(this.ssrc >>> 0, 8);
    for (let i = 0; i < len; i++) b[12 + i] = payload[off + i];
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + samples) >>> 0;
    this.packets++;
    return 12 + len;
  }
}
