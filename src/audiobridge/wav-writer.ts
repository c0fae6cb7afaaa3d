/**
 * A 16-bit PCM WAV file written as the mix goes (RIFF/WAVE, "fmt " and "data" chunks); the sizes in
 * the header are filled in when it is closed. Writes are synchronous: it runs in a mixer worker,
 * 20 ms of audio at a time.
 */
import fs from 'node:fs';

const HEADER = 44;

export class WavWriter {
  readonly #fd: number;
  #bytes = 0;
  #closed = false;
  readonly #scratch: Buffer;

  constructor(readonly path: string, readonly rate: number, readonly channels: number) {
    this.#fd = fs.openSync(path, 'w');
    fs.writeSync(this.#fd, this.#header(0));
    this.#scratch = Buffer.alloc((rate / 50) * channels * 2);
  }

  /** Append `samples` per channel of interleaved PCM. */
  write(pcm: Int16Array, samples: number): void {
    if (this.#closed) return;
    const n = samples * this.channels;
    const b = this.#scratch.length >= n * 2 ? this.#scratch : Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) b.writeInt16LE(pcm[i], i * 2);
    fs.writeSync(this.#fd, b, 0, n * 2);
    this.#bytes += n * 2;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    fs.writeSync(this.#fd, this.#header(this.#bytes), 0, HEADER, 0);
    fs.closeSync(this.#fd);
  }

  #header(dataBytes: number): Buffer {
    const h = Buffer.alloc(HEADER);
    h.write('RIFF', 0, 'latin1');
    h.writeUInt32LE(36 + dataBytes, 4);
    h.write('WAVE', 8, 'latin1');
    h.write('fmt ', 12, 'latin1');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20); // PCM
    h.writeUInt16LE(this.channels, 22);
    h.writeUInt32LE(this.rate, 24);
    h.writeUInt32LE(this.rate * this.channels * 2, 28);
    h.writeUInt16LE(this.channels * 2, 32);
    h.writeUInt16LE(16, 34);
    h.write('data', 36, 'latin1');
    h.writeUInt32LE(dataBytes, 40);
    return h;
  }
}
