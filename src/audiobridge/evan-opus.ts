/**
 * Opus decoders from the @evan/opus package's WebAssembly build of libopus (its SIMD variant where
 * the engine has SIMD), driven through the raw libopus exports: that is where `opus_decode`'s
 * `decode_fec` flag and frame size are reachable, for in-band FEC recovery of a lost frame
 * (RFC 6716 s2.1.7) and a PLC of exactly one 20 ms frame. opusscript's wrapper reaches neither.
 *
 * Not used: the package's native addon. It encodes about twice as fast, but it is not safe in
 * worker threads (measured here: a process whose workers loaded it and used its output buffer
 * segfaults when a worker ends, and that buffer is one static area shared by every thread).
 * Encoders stay on opusscript: the package's WASM encoder measured no faster here.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { OpusCodec, OpusDecoder, OpusRate } from './opus-codec.ts';

const OPUS_RESET_STATE = 4028;
/** The largest frame libopus decodes: 120 ms at 48 kHz, per channel. */
const MAX_FRAME = 5760;
const MAX_PACKET = 4000;


interface WasmExports {
  memory: WebAssembly.Memory;
  malloc(n: number): number;
  free(p: number): void;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, rate: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
  opus_decoder_ctl_set(st: number, cmd: number, arg: number): number;
}

const require = createRequire(import.meta.url);

function packageDir(): string {
  return path.dirname(require.resolve('@evan/opus/package.json'));
}


/** A tiny WASM module using a SIMD instruction: validates only where SIMD is supported. */
const SIMD_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11);

/** One libopus WASM instance per thread (each mixer worker loads this module itself). */
class WasmOpus {
  readonly x: WasmExports;
  #heap16: Int16Array;
  #heap8: Uint8Array;
  constructor() {
    const file = path.join(packageDir(), 'wasm', WebAssembly.validate(SIMD_PROBE) ? 'simd.wasm' : 'opus.wasm');
    const mod = new WebAssembly.Module(fs.readFileSync(file));
    const noop = (): number => 0;
    const inst = new WebAssembly.Instance(mod, {
      wasi_snapshot_preview1: { fd_seek: noop, fd_write: noop, fd_close: noop, proc_exit: noop },
      env: { emscripten_notify_memory_growth: () => this.#views() },
    });
    this.x = inst.exports as unknown as WasmExports;
    this.#heap8 = new Uint8Array(this.x.memory.buffer);
    this.#heap16 = new Int16Array(this.x.memory.buffer);
  }

  #views(): void {
    this.#heap8 = new Uint8Array(this.x.memory.buffer);
    this.#heap16 = new Int16Array(this.x.memory.buffer);
  }

  /** Heap views, renewed when the memory has grown (a grown memory detaches the old buffer). */
  get heap8(): Uint8Array {
    if (this.#heap8.buffer !== this.x.memory.buffer) this.#views();
    return this.#heap8;
  }

  get heap16(): Int16Array {
    if (this.#heap16.buffer !== this.x.memory.buffer) this.#views();
    return this.#heap16;
  }
}

let wasm: WasmOpus | undefined;
function wasmOpus(): WasmOpus {
  wasm ??= new WasmOpus();
  return wasm;
}

class WasmOpusDecoder implements OpusDecoder {
  readonly #w: WasmOpus;
  readonly #st: number;
  readonly #in: number;
  readonly #pcm: number;
  #dead = false;
  constructor(w: WasmOpus, rate: OpusRate, readonly channels: 1 | 2) {
    this.#w = w;
    const x = w.x;
    this.#st = x.malloc(x.opus_decoder_get_size(channels));
    this.#in = x.malloc(MAX_PACKET);
    this.#pcm = x.malloc(MAX_FRAME * channels * 2);
    if (x.opus_decoder_init(this.#st, rate, channels) !== 0) {
      this.destroy();
      throw new Error('opus_decoder_init failed');
    }
  }

  #run(packet: Uint8Array | null, off: number, len: number, out: Int16Array, frame: number, fec: number): number {
    const x = this.#w.x;
    let data = 0;
    if (packet) {
      if (len <= 0 || len > MAX_PACKET) return -1;
      const heap8 = this.#w.heap8;
      const dst = this.#in;
      for (let i = 0; i < len; i++) heap8[dst + i] = packet[off + i];
      data = dst;
    }
    const max = Math.min(frame, Math.floor(out.length / this.channels));
    const n = x.opus_decode(this.#st, data, packet ? len : 0, this.#pcm, max, fec);
    if (n < 0) return -1;
    const heap16 = this.#w.heap16;
    const start = this.#pcm >> 1;
    const total = n * this.channels;
    for (let i = 0; i < total; i++) out[i] = heap16[start + i];
    return n;
  }

  decode(packet: Uint8Array, off: number, len: number, out: Int16Array): number {
    return this.#run(packet, off, len, out, MAX_FRAME, 0);
  }

  conceal(out: Int16Array, samples: number): number {
    const n = this.#run(null, 0, 0, out, samples, 0);
    return n < 0 ? 0 : n;
  }

  decodeFec(packet: Uint8Array, off: number, len: number, out: Int16Array, samples: number): number {
    return this.#run(packet, off, len, out, samples, 1);
  }

  reset(): void {
    this.#w.x.opus_decoder_ctl_set(this.#st, OPUS_RESET_STATE, 0);
  }

  destroy(): void {
    if (this.#dead) return;
    this.#dead = true;
    const x = this.#w.x;
    x.free(this.#st);
    x.free(this.#in);
    x.free(this.#pcm);
  }
}

/**
 * A codec with `encoders` (opusscript) and @evan/opus decoders. Loads the WASM module now, so a
 * missing package shows at start-up (the caller then keeps opusscript alone), not mid-call.
 */
export function withEvanDecoders(encoders: OpusCodec): OpusCodec {
  const w = wasmOpus();
  return {
    name: `${encoders.name} encoder, @evan/opus wasm decoder`,
    createEncoder: (rate, channels, opts) => encoders.createEncoder(rate, channels, opts),
    createDecoder: (rate, channels) => new WasmOpusDecoder(w, rate, channels),
  };
}
