/**
 * Ogg (RFC 3533) pages and the Ogg encapsulation of Opus (RFC 7845): a reader that turns an .opus
 * file into its Opus packets (for file sources, announcements and playback) and a writer (for making
 * such files). Files are untrusted input: the reader checks page CRCs and bounds, and throws
 * OggFormatError, never anything else.
 *
 * Page header (RFC 3533 s6):
 *  "OggS" | version(1)=0 | flags(1) | granule(8, LE) | serial(4) | seqno(4) | crc(4) | nsegs(1) | lacing[nsegs]
 */

export class OggFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OggFormatError';
  }
}

const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;
const PAGE_HEADER = 27;

// RFC 3533 s6: CRC-32 with polynomial 0x04c11db7, initial value 0, no reflection, no final xor.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** CRC of buf[start, end), continuing from `crc` (0 to start). */
export function oggCrc(buf: Buffer, start: number, end: number, crc = 0): number {
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ buf[i]) & 0xff]) >>> 0;
  return crc;
}

const ZERO4 = Buffer.alloc(4);

/** CRC of a whole page, its CRC field counted as zero (s6). */
function pageCrc(page: Buffer, off: number, end: number): number {
  return oggCrc(page, off + 26, end, oggCrc(ZERO4, 0, 4, oggCrc(page, off, off + 22)));
}

export interface OggPacket {
  data: Buffer;
  /** Granule position of the page on which the packet ends (-1 when the page has none). */
  granule: bigint;
  serial: number;
}

/** Every complete packet of every logical stream in `file`, in file order. */
export function readOggPackets(file: Buffer): OggPacket[] {
  const out: OggPacket[] = [];
  const partial = new Map<number, Buffer[]>();
  let off = 0;
  while (off < file.length) {
    if (off + PAGE_HEADER > file.length) throw new OggFormatError(`truncated page header at ${off}`);
    if (file.toString('latin1', off, off + 4) !== 'OggS') throw new OggFormatError(`no capture pattern at ${off}`);
    if (file[off + 4] !== 0) throw new OggFormatError(`unknown Ogg version ${file[off + 4]} at ${off}`);
    const flags = file[off + 5];
    const granule = file.readBigInt64LE(off + 6);
    const serial = file.readUInt32LE(off + 14);
    const nsegs = file[off + 26];
    const bodyStart = off + PAGE_HEADER + nsegs;
    if (bodyStart > file.length) throw new OggFormatError(`truncated lacing table at ${off}`);
    let bodyLen = 0;
    for (let i = 0; i < nsegs; i++) bodyLen += file[off + PAGE_HEADER + i];
    const end = bodyStart + bodyLen;
    if (end > file.length) throw new OggFormatError(`truncated page body at ${off}`);
    const crc = file.readUInt32LE(off + 22);
    if (pageCrc(file, off, end) !== crc) throw new OggFormatError(`bad page CRC at ${off}`);

    let pieces = partial.get(serial);
    if (!(flags & FLAG_CONTINUED) && pieces) pieces = undefined; // a lost continuation: drop the fragment
    let segStart = bodyStart;
    let pos = bodyStart;
    for (let i = 0; i < nsegs; i++) {
      const lace = file[off + PAGE_HEADER + i];
      pos += lace;
      if (lace < 255) {
        const piece = file.subarray(segStart, pos);
        const data = pieces ? Buffer.concat([...pieces, piece]) : Buffer.from(piece);
        pieces = undefined;
        out.push({ data, granule, serial });
        segStart = pos;
      }
    }
    if (segStart < pos || (nsegs > 0 && file[off + PAGE_HEADER + nsegs - 1] === 255)) {
      (pieces ??= []).push(file.subarray(segStart, pos));
    }
    if (pieces) partial.set(serial, pieces);
    else partial.delete(serial);
    off = end;
  }
  return out;
}

export interface OpusHead {
  channels: number;
  preSkip: number;
  inputSampleRate: number;
  /** Q7.8 dB gain to apply on output. */
  outputGain: number;
  mappingFamily: number;
}

export interface OggOpusFile {
  head: OpusHead;
  /** Audio packets in order (the OpusHead and OpusTags packets removed). */
  packets: Buffer[];
}

/** RFC 7845 s5.1: the identification header. */
export function parseOpusHead(p: Buffer): OpusHead {
  if (p.length < 19 || p.toString('latin1', 0, 8) !== 'OpusHead') throw new OggFormatError('first packet is not OpusHead');
  if (p[8] >> 4 !== 0) throw new OggFormatError(`unsupported OpusHead version ${p[8]}`);
  const channels = p[9];
  if (channels === 0) throw new OggFormatError('OpusHead with 0 channels');
  return { channels, preSkip: p.readUInt16LE(10), inputSampleRate: p.readUInt32LE(12), outputGain: p.readInt16LE(16), mappingFamily: p[18] };
}

/** An Ogg Opus file (the first Opus stream in it) as its header and audio packets. */
export function readOggOpus(file: Buffer): OggOpusFile {
  const all = readOggPackets(file);
  if (all.length === 0) throw new OggFormatError('no Ogg packets');
  const serial = all[0].serial;
  const mine = all.filter((p) => p.serial === serial);
  const head = parseOpusHead(mine[0].data);
  if (mine.length < 2 || mine[1].data.toString('latin1', 0, 8) !== 'OpusTags') throw new OggFormatError('second packet is not OpusTags');
  return { head, packets: mine.slice(2).map((p) => p.data) };
}

/** Samples at 48 kHz in one Opus packet (RFC 6716 s3.1 TOC byte and frame count code). */
export function opusPacketSamples(p: Buffer): number {
  if (p.length === 0) return 0;
  const toc = p[0];
  const config = toc >> 3;
  let frameSamples: number;
  if (config < 12) frameSamples = [480, 960, 1920, 2880][config & 3]; // SILK: 10/20/40/60 ms
  else if (config < 16) frameSamples = (config & 1) ? 960 : 480; // hybrid: 10/20 ms
  else frameSamples = [120, 240, 480, 960][config & 3]; // CELT: 2.5/5/10/20 ms
  const code = toc & 3;
  const frames = code === 0 ? 1 : code === 3 ? (p.length > 1 ? p[1] & 0x3f : 0) : 2;
  return frameSamples * frames;
}

/** Builds an Ogg Opus file page by page (one packet per page: simple, and fine for audio files). */
export class OggOpusWriter {
  #pages: Buffer[] = [];
  #seq = 0;
  #granule = 0n;
  readonly serial: number;

  constructor(readonly channels = 1, readonly inputSampleRate = 48000, serial?: number, readonly preSkip = 312) {
    this.serial = serial ?? Math.floor(Math.random() * 0xffffffff);
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'latin1');
    head[8] = 1;
    head[9] = channels;
    head.writeUInt16LE(preSkip, 10);
    head.writeUInt32LE(inputSampleRate, 12);
    head.writeInt16LE(0, 16);
    head[18] = 0;
    this.#page(head, FLAG_BOS, 0n);
    const vendor = Buffer.from('portunus', 'latin1');
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
    tags.write('OpusTags', 0, 'latin1');
    tags.writeUInt32LE(vendor.length, 8);
    vendor.copy(tags, 12);
    tags.writeUInt32LE(0, 12 + vendor.length);
    this.#page(tags, 0, 0n);
  }

  /** Append one Opus packet. */
  add(packet: Buffer): void {
    this.#granule += BigInt(opusPacketSamples(packet));
    this.#page(packet, 0, this.#granule);
  }

  /** The whole file; marks the last page end-of-stream. */
  finish(): Buffer {
    const last = this.#pages[this.#pages.length - 1];
    last[5] |= FLAG_EOS;
    last.writeUInt32LE(0, 22);
    last.writeUInt32LE(oggCrc(last, 0, last.length), 22);
    return Buffer.concat(this.#pages);
  }

  #page(packet: Buffer, flags: number, granule: bigint): void {
    const lacing: number[] = [];
    let left = packet.length;
    while (left >= 255) {
      lacing.push(255);
      left -= 255;
    }
    lacing.push(left);
    if (lacing.length > 255) throw new OggFormatError('packet too large for one page');
    const page = Buffer.alloc(PAGE_HEADER + lacing.length + packet.length);
    page.write('OggS', 0, 'latin1');
    page[4] = 0;
    page[5] = flags;
    page.writeBigInt64LE(granule, 6);
    page.writeUInt32LE(this.serial, 14);
    page.writeUInt32LE(this.#seq++, 18);
    page[26] = lacing.length;
    for (let i = 0; i < lacing.length; i++) page[PAGE_HEADER + i] = lacing[i];
    packet.copy(page, PAGE_HEADER + lacing.length);
    page.writeUInt32LE(oggCrc(page, 0, page.length), 22);
    this.#pages.push(page);
  }
}
