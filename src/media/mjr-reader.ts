/**
 * MJR reader: parses Janus' structured recordings (JANUS-REFERENCE 2.10, the format mjr.ts writes)
 * for playback, from our recorder or from Janus itself.
 *
 *   "MJR00002" | len (16-bit BE) | JSON info {"t","c","f","x","s","u",...}    (current format)
 *   per frame: "MEET" | time (32-bit BE, ms since the first frame) | len (16-bit BE) | frame
 *
 * and the legacy layout Janus still plays: "MEETECHO" | len=5 | "audio"/"video" (Opus/VP8 assumed),
 * then per frame "MEETECHO" | len | RTP packet. Data frames carry an 8-byte wall-clock time first.
 *
 * The file is untrusted input: every length is checked against what is left, a bad header is a
 * MjrFormatError, and a truncated last frame ends the recording (as a crash mid-write leaves it).
 * RTP frames come back in playing order: by extended sequence number (RFC 3550 A.1 wrap handling),
 * with the extended RTP timestamp the playout clock uses.
 */
import { readFile } from 'node:fs/promises';

export class MjrFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MjrFormatError';
  }
}

export interface MjrInfo {
  /** 'a', 'v' or 'd'. */
  type: 'a' | 'v' | 'd';
  /** Codec as written ("opus", "vp8", "text", ...), lower case. */
  codec: string;
  fmtp?: string;
  /** RTP header extensions recorded, id -> URI. */
  extmaps: Record<number, string>;
  /** Creation and first-frame wall clock, µs (0 when absent: legacy files). */
  created: number;
  firstFrame: number;
  /** Opus RED payload type ("or"), when the audio was recorded with RED. */
  opusRedPt?: number;
  /** End-to-end encrypted media ("e"). */
  e2ee: boolean;
  legacy: boolean;
}

export interface MjrFrame {
  /** RTP packet, or for data recordings the message (the 8-byte time removed). */
  data: Buffer;
  /** Milliseconds since the first frame as the recorder wrote it (0 in legacy files). */
  time: number;
  /** RTP: extended sequence number and timestamp (wraps unrolled); data: 0. */
  seq: number;
  ts: number;
}

export interface MjrRecording {
  info: MjrInfo;
  frames: MjrFrame[];
}

const NEW_MAGIC = 'MJR00002';
const LEGACY_MAGIC = 'MEETECHO';
/** Refuse info headers larger than this (Janus' own are a few hundred bytes). */
const MAX_INFO = 16 * 1024;

function parseInfo(json: string): MjrInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new MjrFormatError('info header is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new MjrFormatError('info header is not an object');
  const o = raw as Record<string, unknown>;
  const t = typeof o.t === 'string' ? o.t.toLowerCase() : '';
  if (t !== 'a' && t !== 'v' && t !== 'd') throw new MjrFormatError(`unsupported recording type '${String(o.t)}'`);
  if (typeof o.c !== 'string' || o.c === '') throw new MjrFormatError('missing codec in info header');
  const extmaps: Record<number, string> = {};
  if (typeof o.x === 'object' && o.x !== null && !Array.isArray(o.x)) {
    for (const [k, v] of Object.entries(o.x as Record<string, unknown>)) {
      const id = Number(k);
      if (Number.isInteger(id) && id > 0 && id < 256 && typeof v === 'string') extmaps[id] = v;
    }
  }
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    type: t, codec: o.c.toLowerCase(), ...(typeof o.f === 'string' ? { fmtp: o.f } : {}), extmaps,
    created: num(o.s), firstFrame: num(o.u), ...(num(o.or) > 0 ? { opusRedPt: num(o.or) } : {}), e2ee: o.e === true, legacy: false,
  };
}

/** Parse a whole MJR file held in memory. Throws MjrFormatError on a bad header. */
export function parseMjr(buf: Buffer): MjrRecording {
  if (buf.length < 10) throw new MjrFormatError('file too short');
  const magic = buf.toString('latin1', 0, 8);
  let info: MjrInfo;
  let off: number;
  if (magic === NEW_MAGIC) {
    const len = buf.readUInt16BE(8);
    if (len === 0 || len > MAX_INFO || 10 + len > buf.length) throw new MjrFormatError('bad info header length');
    info = parseInfo(buf.toString('utf8', 10, 10 + len));
    off = 10 + len;
  } else if (magic === LEGACY_MAGIC) {
    const len = buf.readUInt16BE(8);
    if (len !== 5 || buf.length < 15) throw new MjrFormatError('bad legacy header');
    const kind = buf.toString('latin1', 10, 15);
    if (kind !== 'audio' && kind !== 'video') throw new MjrFormatError(`unsupported legacy media '${kind}'`);
    info = { type: kind === 'audio' ? 'a' : 'v', codec: kind === 'audio' ? 'opus' : 'vp8', extmaps: {}, created: 0, firstFrame: 0, e2ee: false, legacy: true };
    off = 15;
  } else {
    throw new MjrFormatError('not an MJR file');
  }
  const frames: MjrFrame[] = [];
  while (off + 10 <= buf.length) {
    let time = 0;
    if (info.legacy) {
      if (buf.toString('latin1', off, off + 8) !== LEGACY_MAGIC) break;
    } else {
      if (buf.toString('latin1', off, off + 4) !== 'MEET') break;
      time = buf.readUInt32BE(off + 4);
    }
    const len = buf.readUInt16BE(off + 8);
    off += 10;
    if (off + len > buf.length) break; // truncated last frame
    const frame = buf.subarray(off, off + len);
    off += len;
    if (info.type === 'd') {
      if (len > 8) frames.push({ data: frame.subarray(8), time, seq: 0, ts: 0 });
    } else if (len >= 12 && (frame[0] >> 6) === 2) {
      frames.push({ data: frame, time, seq: frame.readUInt16BE(2), ts: frame.readUInt32BE(4) });
    }
  }
  if (info.type !== 'd') orderRtp(frames);
  return { info, frames };
}

/** Unroll sequence number and timestamp wraps (signed distance to the previous one), then sort. */
function orderRtp(frames: MjrFrame[]): void {
  let extSeq = 0;
  let extTs = 0;
  let first = true;
  for (const f of frames) {
    if (first) {
      extSeq = f.seq;
      extTs = f.ts;
      first = false;
    } else {
      // RFC 3550 A.1: the shortest way round the 16-bit (and 32-bit) space is the true distance.
      extSeq += ((((f.seq - extSeq) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      extTs += (f.ts - extTs) | 0;
    }
    f.seq = extSeq;
    f.ts = extTs;
  }
  frames.sort((a, b) => a.seq - b.seq);
}

export async function readMjr(file: string): Promise<MjrRecording> {
  return parseMjr(await readFile(file));
}

/** Only the info header (for listing): reads the file's first bytes. */
export async function readMjrInfo(file: string): Promise<MjrInfo> {
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(10 + MAX_INFO);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const part = head.subarray(0, bytesRead);
    if (part.length >= 10 && part.toString('latin1', 0, 8) === NEW_MAGIC) {
      const len = part.readUInt16BE(8);
      if (len === 0 || 10 + len > part.length) throw new MjrFormatError('bad info header length');
      return parseInfo(part.toString('utf8', 10, 10 + len));
    }
    return parseMjr(part.subarray(0, Math.min(part.length, 15))).info;
  } finally {
    await fh.close();
  }
}
