/**
 * MJR recorder: Janus' structured recording format (JANUS-REFERENCE 2.10, Janus src/record.c,
 * doc page "recordings"), one file per stream, readable by janus-pp-rec.
 *
 *   "MJR00002"                                   written when the file is created
 *   len (16-bit BE) | JSON info header           written with the first frame:
 *        {"t":"a"|"v"|"d","c":codec[,"f":fmtp][,"d":description][,"x":{id:extmap}],
 *         "s":created µs (wall clock),"u":first frame µs (wall clock)}
 *   per frame:
 *   "MEET" | time (32-bit BE, ms since the first frame, monotonic) | len (16-bit BE) | frame
 *        frame = the RTP packet (audio/video), or 64-bit BE wall-clock µs + the message (data)
 *
 * Like Janus, the RTP header written is rewritten for continuity across SSRC changes (seq/ts/SSRC,
 * see SeqTsRewriter); the caller's buffer is never modified. Writes are buffered: frames are
 * copied into a chunk that goes to a file write stream when full, on a timer, and at close().
 * With a temporary extension the file is written as NAME.mjr.EXT and renamed to NAME.mjr on close.
 */
import { open, rename, mkdir } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import type { WriteStream } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RtpView, writeU32 } from './rtp.ts';
import { SeqTsRewriter } from './rtp-rewriter.ts';
import { UnsafePathError, confirmRealPath, resolveSafePath, type PathPolicy } from './safe-path.ts';

const MAGIC = Buffer.from('MJR00002', 'latin1');
const VIDEO_CODECS = new Set(['vp8', 'vp9', 'h264', 'av1', 'h265']);
const AUDIO_CODECS = new Set(['opus', 'multiopus', 'g711', 'pcmu', 'pcma', 'g722', 'l16']);
const DATA_CODECS = new Set(['text', 'binary']);

export type MjrMediaType = 'a' | 'v' | 'd';

/** 'a', 'v' or 'd' for a codec Janus records, or null (Janus refuses other codecs too). */
export function mjrTypeOf(codec: string): MjrMediaType | null {
  const c = codec.toLowerCase();
  if (VIDEO_CODECS.has(c)) return 'v';
  if (AUDIO_CODECS.has(c)) return 'a';
  if (DATA_CODECS.has(c)) return 'd';
  return null;
}

export interface MjrRecorderOptions extends PathPolicy {
  /** Folder, relative to baseDir (or absolute inside an allowed base). */
  dir?: string;
  /** File name without the .mjr extension (Janus appends it). */
  filename: string;
  codec: string;
  fmtp?: string;
  description?: string;
  /** RTP header extensions negotiated, id -> URI (the "x" header key). */
  extmaps?: Record<number, string>;
  /** Audio sent as Opus RED (RFC 2198) with this payload type: the "or" header key, as Janus writes it. */
  opusRedPt?: number;
  /** Media end-to-end encrypted by the peers (Insertable Streams): the "e" header key, as Janus writes it. */
  encrypted?: boolean;
  /** Janus `recordings_tmp_ext`: write NAME.mjr.EXT, rename on close. */
  tmpExt?: string;
  /** RTP clock rate for the continuity rewrite (default 48000 audio, 90000 video). */
  clockRate?: number;
  /** Chunk size of the write buffer (default 64 KiB). */
  bufferSize?: number;
  /** Hand buffered frames to the file at least this often (ms, default 1000; 0: only when full). */
  flushIntervalMs?: number;
  /** Drop frames while this many bytes wait for the disk (default 8 MiB). */
  maxPendingBytes?: number;
}

export class MjrRecorder {
  /** Final path of the recording (after any rename). */
  readonly path: string;
  /** Path being written (path + tmp extension, or path). */
  readonly writingPath: string;
  readonly type: MjrMediaType;
  readonly codec: string;
  /** Frames written. */
  frames = 0;
  /** Frames refused (not RTP, too large) or dropped (disk too slow, closed). */
  dropped = 0;
  private readonly opts: MjrRecorderOptions;
  private readonly stream: WriteStream;
  private readonly created: number;
  private readonly view = new RtpView();
  /** Created at the first packet: the recording keeps that packet's SSRC throughout. */
  private rewriter: SeqTsRewriter | null = null;
  private readonly bufferSize: number;
  private readonly maxPending: number;
  private chunk: Buffer;
  private pos = 0;
  private headerWritten = false;
  private startedMs = 0;
  private paused = false;
  private closing: Promise<string> | null = null;
  private error: Error | null = null;
  private timer: NodeJS.Timeout | null = null;

  private constructor(opts: MjrRecorderOptions, type: MjrMediaType, finalPath: string, writingPath: string, stream: WriteStream) {
    this.opts = opts;
    this.type = type;
    this.codec = opts.codec;
    this.path = finalPath;
    this.writingPath = writingPath;
    this.stream = stream;
    this.created = wallMicros();
    this.bufferSize = Math.max(opts.bufferSize ?? 65536, 2048);
    this.maxPending = opts.maxPendingBytes ?? 8 * 1024 * 1024;
    this.chunk = Buffer.allocUnsafe(this.bufferSize);
    stream.on('error', (err) => {
      this.error ??= err;
    });
    const every = opts.flushIntervalMs ?? 1000;
    if (every > 0) {
      this.timer = setInterval(() => this.flushChunk(), every);
      this.timer.unref();
    }
  }

  /**
   * Create the recording file (folders included) after the path checks of safe-path.ts, and write
   * the "MJR00002" magic. Throws UnsafePathError, or the filesystem error.
   */
  static async open(opts: MjrRecorderOptions): Promise<MjrRecorder> {
    const type = mjrTypeOf(opts.codec);
    if (type === null) throw new Error(`unsupported codec '${opts.codec}' for recording`);
    if (opts.tmpExt !== undefined && !/^[A-Za-z0-9_-]{1,16}$/.test(opts.tmpExt)) throw new Error(`bad temporary extension '${opts.tmpExt}'`);
    if (opts.filename === '') throw new UnsafePathError('empty file name');
    const full = resolveSafePath(opts, opts.dir, opts.filename + '.mjr');
    await confirmRealPath(opts, full); // before creating folders: no mkdir through a symlink
    await mkdir(path.dirname(full), { recursive: true });
    const real = await confirmRealPath(opts, full);
    const writing = opts.tmpExt ? `${real}.${opts.tmpExt}` : real;
    // O_NOFOLLOW: a symlink planted at the file name itself is not followed
    const fh = await open(writing, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_NOFOLLOW, 0o644);
    const stream = fh.createWriteStream();
    const rec = new MjrRecorder(opts, type, real, writing, stream);
    rec.put(MAGIC, 0, MAGIC.length);
    return rec;
  }

  /** Stop recording frames until resume() (Janus janus_recorder_pause). */
  pause(): void {
    this.paused = true;
  }
  /** Resume after pause(); the next frame is re-based for continuity. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.rewriter?.switchSource();
  }

  /**
   * Record the RTP packet `buf[off, off+len)` (audio/video recorders). Returns false if it was not
   * recorded (not RTP, too large, paused, closed, failing disk).
   */
  saveRtp(buf: Buffer, off = 0, len = buf.length - off): boolean {
    if (this.type === 'd' || !this.writable() || len > 0xffff || !this.view.wrap(buf, off, len)) {
      this.dropped++;
      return false;
    }
    const now = performance.now();
    if (!this.headerWritten) this.writeInfoHeader(now);
    const at = this.reserve(10 + len);
    this.frameHeader(at, now, len);
    buf.copy(this.chunk, at + 10, off, off + len);
    this.view.wrap(this.chunk, at + 10, len);
    this.rewriter ??= new SeqTsRewriter({ ssrc: this.view.ssrc, clockRate: this.opts.clockRate ?? (this.type === 'v' ? 90000 : 48000) });
    this.rewriter.rewrite(this.view, now);
    this.frames++;
    return true;
  }

  /** Record a data channel message (data recorders, codec 'text' or 'binary'). */
  saveData(data: Buffer | string): boolean {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const len = buf.length + 8;
    if (this.type !== 'd' || !this.writable() || len > 0xffff || buf.length === 0) {
      this.dropped++;
      return false;
    }
    const now = performance.now();
    if (!this.headerWritten) this.writeInfoHeader(now);
    const at = this.reserve(10 + len);
    this.frameHeader(at, now, len);
    this.chunk.writeBigUInt64BE(BigInt(wallMicros()), at + 10);
    buf.copy(this.chunk, at + 18);
    this.frames++;
    return true;
  }

  /** Flush, close and (with a temporary extension) rename. Resolves to the final path. */
  close(): Promise<string> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<string> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flushChunk();
    // wait for 'close' (file descriptor released), not just 'finish'
    if (!this.stream.closed) {
      await new Promise<void>((resolve) => {
        this.stream.once('close', resolve);
        this.stream.end();
      });
    }
    if (this.error) throw this.error;
    if (this.writingPath !== this.path) await rename(this.writingPath, this.path);
    return this.path;
  }

  private writable(): boolean {
    return this.closing === null && this.error === null && !this.paused && this.stream.writableLength <= this.maxPending;
  }

  private writeInfoHeader(nowMs: number): void {
    const o = this.opts;
    // Key order as Janus writes it: t, c, f, d, x, s, u, or, e.
    const info: Record<string, unknown> = { t: this.type, c: o.codec.toLowerCase() };
    if (o.fmtp) info.f = o.fmtp;
    if (o.description) info.d = o.description;
    if (o.extmaps && Object.keys(o.extmaps).length > 0) info.x = o.extmaps;
    info.s = this.created;
    info.u = wallMicros();
    if (this.type === 'a' && o.opusRedPt !== undefined && o.opusRedPt > 0) info.or = o.opusRedPt;
    if (o.encrypted === true) info.e = true;
    const json = Buffer.from(JSON.stringify(info), 'utf8');
    const at = this.reserve(2 + json.length);
    this.chunk[at] = json.length >> 8;
    this.chunk[at + 1] = json.length & 0xff;
    json.copy(this.chunk, at + 2);
    this.startedMs = nowMs;
    this.headerWritten = true;
  }

  /** "MEET" | ms since the first frame | length. */
  private frameHeader(at: number, nowMs: number, len: number): void {
    const c = this.chunk;
    c[at] = 0x4d; // M
    c[at + 1] = 0x45; // E
    c[at + 2] = 0x45; // E
    c[at + 3] = 0x54; // T
    let t = Math.floor(nowMs - this.startedMs);
    if (t < 0) t = 0;
    writeU32(c, at + 4, t);
    c[at + 8] = len >> 8;
    c[at + 9] = len & 0xff;
  }

  /** Room for `n` bytes in the chunk (flushing it first if needed); returns where to write. */
  private reserve(n: number): number {
    if (this.pos + n > this.chunk.length) {
      this.flushChunk();
      if (n > this.chunk.length) this.chunk = Buffer.allocUnsafe(n);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private put(src: Buffer, off: number, len: number): void {
    const at = this.reserve(len);
    src.copy(this.chunk, at, off, off + len);
  }

  /** Hand the filled part of the chunk to the stream and start a new chunk. */
  private flushChunk(): void {
    if (this.pos === 0) return;
    this.stream.write(this.chunk.subarray(0, this.pos));
    this.chunk = Buffer.allocUnsafe(this.bufferSize);
    this.pos = 0;
  }
}

/** Wall-clock time in microseconds (Janus janus_get_real_time). */
function wallMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
