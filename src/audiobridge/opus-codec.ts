/**
 * Opus behind one small interface, so the mixer does not care which binding runs it. The default is
 * opusscript (libopus compiled to WASM: installs everywhere). We drive its WASM module directly
 * rather than through its JS wrapper, which copies every frame into a fresh Buffer: here PCM and
 * packets are written into and read from the module's heap, with no allocation per frame.
 *
 * The module's C++ glue exchanges PCM one byte per 16-bit heap slot (its JS wrapper fills a
 * Uint16Array from a byte Buffer): a sample s travels as two slots, s & 0xff then s >> 8.
 *
 * Decoders come from @evan/opus' WASM build where it loads (evan-opus.ts: FEC recovery and an exact
 * 20 ms PLC, which opusscript's wrapper cannot do); native bindings are not used (not safe in worker
 * threads, see evan-opus.ts).
 */
import { createRequire } from 'node:module';
import { withEvanDecoders } from './evan-opus.ts';

/** Opus encoder CTLs (opus_defines.h request numbers). */
const OPUS_SET_BITRATE = 4002;
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_RESET_STATE = 4028;
const OPUS_APPLICATION_VOIP = 2048;

export const OPUS_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusRate = (typeof OPUS_RATES)[number];

export interface OpusEncoderOptions {
  /** bits/s; 0 = libopus' automatic choice. */
  bitrate?: number;
  /** 0-10; undefined = libopus' default. */
  complexity?: number;
  /** Expected packet loss in percent: turns in-band FEC on when above 0. */
  expectedLoss?: number;
}

export interface OpusEncoder {
  /** Encode one frame of interleaved PCM (`samples` per channel) into `out`; returns the packet size. */
  encode(pcm: Int16Array, samples: number, out: Uint8Array): number;
  configure(opts: OpusEncoderOptions): void;
  reset(): void;
  destroy(): void;
}

export interface OpusDecoder {
  /**
   * Decode `packet[off, off+len)` into `out` (interleaved); returns samples per channel, or -1 for
   * a packet libopus refuses (the decoder stays usable).
   */
  decode(packet: Uint8Array, off: number, len: number, out: Int16Array): number;
  /** Conceal one lost frame of `samples` per channel into `out` (Opus PLC); returns samples written. */
  conceal(out: Int16Array, samples: number): number;
  /**
   * Recover the frame BEFORE `packet` from the in-band FEC data the packet carries (RFC 6716
   * s2.1.7), `samples` per channel into `out`; returns samples written, or -1. Absent when the
   * binding cannot reach libopus' decode_fec flag (opusscript).
   */
  decodeFec?(packet: Uint8Array, off: number, len: number, out: Int16Array, samples: number): number;
  reset(): void;
  destroy(): void;
}

export interface OpusCodec {
  readonly name: string;
  createEncoder(rate: OpusRate, channels: 1 | 2, opts?: OpusEncoderOptions): OpusEncoder;
  createDecoder(rate: OpusRate, channels: 1 | 2): OpusDecoder;
}

export function isOpusRate(n: number): n is OpusRate {
  return (OPUS_RATES as readonly number[]).includes(n);
}

// ---- opusscript (WASM) ----

interface WasmHandler {
  _encode(pcmPtr: number, bytes: number, outPtr: number, frameSize: number): number;
  _decode(inPtr: number, len: number, outPtr: number): number;
  _encoder_ctl(ctl: number, arg: number): number;
  _decoder_ctl(ctl: number, arg: number): number;
}
interface WasmModule {
  HEAPU8: Uint8Array;
  HEAPU16: Uint16Array;
  _malloc(n: number): number;
  _free(p: number): void;
  OpusScriptHandler: { new (rate: number, channels: number, app: number): WasmHandler; destroy_handler(h: WasmHandler): void };
}

/** The wrapper's largest decode: 120 ms at 48 kHz, per channel (its decoder writes up to this many). */
const WASM_MAX_FRAME = 5760;
const MAX_PACKET = 4000;

let wasm: WasmModule | undefined;
function wasmModule(): WasmModule {
  if (!wasm) {
    const require = createRequire(import.meta.url);
    const factory = require('opusscript/build/opusscript_native_wasm.js') as () => WasmModule;
    wasm = factory();
  }
  return wasm;
}

class WasmOpusEncoder implements OpusEncoder {
  readonly #m: WasmModule;
  readonly #h: WasmHandler;
  readonly #pcm: number;
  readonly #out: number;
  #dead = false;
  constructor(m: WasmModule, rate: number, readonly channels: number, opts: OpusEncoderOptions | undefined) {
    this.#m = m;
    this.#h = new m.OpusScriptHandler(rate, channels, OPUS_APPLICATION_VOIP);
    this.#pcm = m._malloc(WASM_MAX_FRAME * channels * 4);
    this.#out = m._malloc(MAX_PACKET);
    if (opts) this.configure(opts);
  }

  encode(pcm: Int16Array, samples: number, out: Uint8Array): number {
    const m = this.#m;
    const n = samples * this.channels;
    // The heap views are read every call: the module's memory may grow (and be replaced) later.
    const slots = m.HEAPU16;
    const base = this.#pcm >> 1;
    for (let i = 0; i < n; i++) {
      const v = pcm[i];
      slots[base + 2 * i] = v & 0xff;
      slots[base + 2 * i + 1] = (v >> 8) & 0xff;
    }
    const len = this.#h._encode(this.#pcm, n * 2, this.#out, samples);
    if (len < 0) return -1;
    const size = Math.min(len, out.length);
    const heap8 = m.HEAPU8;
    const o = this.#out;
    for (let i = 0; i < size; i++) out[i] = heap8[o + i];
    return size;
  }

  configure(opts: OpusEncoderOptions): void {
    const h = this.#h;
    if (opts.bitrate !== undefined && opts.bitrate > 0) h._encoder_ctl(OPUS_SET_BITRATE, opts.bitrate);
    if (opts.complexity !== undefined) h._encoder_ctl(OPUS_SET_COMPLEXITY, Math.max(0, Math.min(10, opts.complexity)));
    if (opts.expectedLoss !== undefined) {
      const loss = Math.max(0, Math.min(100, opts.expectedLoss));
      h._encoder_ctl(OPUS_SET_INBAND_FEC, loss > 0 ? 1 : 0);
      h._encoder_ctl(OPUS_SET_PACKET_LOSS_PERC, loss);
    }
  }

  reset(): void {
    this.#h._encoder_ctl(OPUS_RESET_STATE, 0);
  }

  destroy(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#m.OpusScriptHandler.destroy_handler(this.#h);
    this.#m._free(this.#pcm);
    this.#m._free(this.#out);
  }
}

class WasmOpusDecoder implements OpusDecoder {
  readonly #m: WasmModule;
  #h: WasmHandler;
  readonly #in: number;
  readonly #pcm: number;
  #dead = false;
  constructor(m: WasmModule, readonly rate: number, readonly channels: number) {
    this.#m = m;
    this.#h = new m.OpusScriptHandler(rate, channels, OPUS_APPLICATION_VOIP);
    this.#in = m._malloc(MAX_PACKET);
    this.#pcm = m._malloc(WASM_MAX_FRAME * channels * 4);
  }

  decode(packet: Uint8Array, off: number, len: number, out: Int16Array): number {
    if (len <= 0 || len > MAX_PACKET) return -1;
    const heap8 = this.#m.HEAPU8;
    const dst = this.#in;
    for (let i = 0; i < len; i++) heap8[dst + i] = packet[off + i];
    const n = this.#h._decode(this.#in, len, this.#pcm);
    if (n < 0) return -1;
    return this.#copyOut(out, n);
  }

  #copyOut(out: Int16Array, samples: number): number {
    const take = Math.min(samples, Math.floor(out.length / this.channels));
    const slots = this.#m.HEAPU16;
    const start = this.#pcm >> 1;
    const n = take * this.channels;
    for (let i = 0; i < n; i++) out[i] = (slots[start + 2 * i] | (slots[start + 2 * i + 1] << 8)) << 16 >> 16;
    return take;
  }

  conceal(out: Int16Array, samples: number): number {
    // The wrapper asks libopus for a whole 120 ms of concealment (its fixed frame size); we keep
    // the first frame. libopus fades concealment out on its own, and the next real packet resyncs.
    const n = this.#h._decode(0, 0, this.#pcm);
    if (n < 0) return 0;
    return this.#copyOut(out, Math.min(samples, n));
  }

  reset(): void {
    this.#h._decoder_ctl(OPUS_RESET_STATE, 0);
  }

  destroy(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#m.OpusScriptHandler.destroy_handler(this.#h);
    this.#m._free(this.#in);
    this.#m._free(this.#pcm);
  }
}

export const opusscriptCodec: OpusCodec = {
  name: 'opusscript-wasm',
  createEncoder(rate, channels, opts) {
    return new WasmOpusEncoder(wasmModule(), rate, channels, opts);
  },
  createDecoder(rate, channels) {
    return new WasmOpusDecoder(wasmModule(), rate, channels);
  },
};

let chosen: OpusCodec | undefined;

/**
 * The codec to use: opusscript encoders with @evan/opus WASM decoders (FEC recovery, exact PLC)
 * where that package loads, else opusscript alone. `PORTUNUS_OPUS=opusscript` forces the latter.
 */
export function loadOpusCodec(): OpusCodec {
  if (chosen) return chosen;
  chosen = opusscriptCodec;
  if (process.env.PORTUNUS_OPUS !== 'opusscript') {
    try {
      chosen = withEvanDecoders(opusscriptCodec);
    } catch {
      // no usable @evan/opus binary here: opusscript it is
    }
  }
  return chosen;
}
