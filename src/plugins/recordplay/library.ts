/**
 * The recordings folder of Record&Play: `<id>.nfo` index files (INI, as Janus writes them:
 * `[id]`, `name`, `date`, `audio`/`video`/`data` = MJR file names) mapping a recording to its MJR
 * files, the codecs read from each MJR info header, and the playback offer of a recording.
 */
import { readdir, readFile, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { readMjrInfo } from '../../media/mjr-reader.ts';

export interface Recording {
  id: number;
  name: string;
  date: string;
  /** MJR file names (without .mjr) inside the folder. */
  audioFile?: string;
  videoFile?: string;
  dataFile?: string;
  acodec?: string;
  afmtp?: string;
  vcodec?: string;
  vfmtp?: string;
  opusRedPt?: number;
  textdata: boolean;
  audioLevelExt: number;
  videoOrientExt: number;
  /** Finished: listed and playable. */
  completed: boolean;
  /** Media end-to-end encrypted by the recorded peer ("e" in its MJR headers). */
  e2ee?: boolean;
  /** Its files could not be created (protected folder, bad name): nothing recorded, nothing listed. */
  unwritable?: boolean;
}

export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
export const VIDEO_ORIENT_URI = 'urn:3gpp:video-orientation';

/** A minimal INI reader: the first `[section]` and its `key = value` lines. */
export function parseNfo(text: string): { section: string; values: Record<string, string> } | undefined {
  let section: string | undefined;
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const sec = /^\[([^\]]*)\]$/.exec(line);
    if (sec) {
      if (section !== undefined) break;
      section = sec[1].trim();
      continue;
    }
    const eq = line.indexOf('=');
    if (section === undefined || eq < 0) continue;
    values[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return section === undefined ? undefined : { section, values };
}

export function nfoText(r: Recording): string {
  let s = `[${r.id}]\r\nname = ${r.name}\r\ndate = ${r.date}\r\n`;
  if (r.audioFile) s += `audio = ${r.audioFile}.mjr\r\n`;
  if (r.videoFile) s += `video = ${r.videoFile}.mjr\r\n`;
  if (r.dataFile) s += `data = ${r.dataFile}.mjr\r\n`;
  return s;
}

export async function writeNfo(folder: string, r: Recording): Promise<void> {
  const file = path.join(folder, `${r.id}.nfo`);
  await writeFile(`${file}.tmp`, nfoText(r));
  await rename(`${file}.tmp`, file);
}

const strip = (name: string): string => name.replace(/\.mjr$/i, '');

/** Codec facts of one recorded file, or undefined when it cannot be read. */
async function codecOf(folder: string, file: string): Promise<Awaited<ReturnType<typeof readMjrInfo>> | undefined> {
  // Names come from a file in the folder: keep them inside it.
  if (file.includes('/') || file.includes('\\') || file.startsWith('..')) return undefined;
  try {
    return await readMjrInfo(path.join(folder, `${file}.mjr`));
  } catch {
    return undefined;
  }
}

/** The parsed INI of one .nfo and its recording id, or why it is unusable. */
async function readNfo(folder: string, name: string): Promise<{ id: number; values: Record<string, string> } | string> {
  let text: string;
  try {
    text = await readFile(path.join(folder, name), 'utf8');
  } catch (err) {
    return `cannot read ${name}: ${(err as Error).message}`;
  }
  const nfo = parseNfo(text);
  if (!nfo) return `no recording info in ${name}`;
  const id = Number(nfo.section);
  if (!Number.isSafeInteger(id) || id <= 0) return `invalid id in ${name}`;
  return { id, values: nfo.values };
}

/**
 * A recording from its .nfo and the MJR headers it names, or why it is unusable. As Janus, a
 * recording whose files say no codec (missing, empty, unreadable) is still listed (without codecs);
 * playing it fails then.
 */
async function recordingOf(folder: string, id: number, v: Record<string, string>): Promise<Recording | string> {
  if (!v.name || !v.date) return `invalid info for recording ${id}`;
  if (!v.audio && !v.video) return `no audio and no video in recording ${id}`;
  const r: Recording = { id, name: v.name, date: v.date, textdata: true, audioLevelExt: 0, videoOrientExt: 0, completed: true };
  if (v.audio) {
    r.audioFile = strip(v.audio);
    const info = await codecOf(folder, r.audioFile);
    if (info?.e2ee) r.e2ee = true;
    if (info && info.type === 'a') {
      r.acodec = info.codec === 'g711' ? 'pcmu' : info.codec;
      if (info.fmtp) r.afmtp = info.fmtp;
      if (info.opusRedPt) r.opusRedPt = info.opusRedPt;
      r.audioLevelExt = Number(Object.entries(info.extmaps).find(([, u]) => u === AUDIO_LEVEL_URI)?.[0] ?? 0);
    }
  }
  if (v.video) {
    r.videoFile = strip(v.video);
    const info = await codecOf(folder, r.videoFile);
    if (info?.e2ee) r.e2ee = true;
    if (info && info.type === 'v') {
      r.vcodec = info.codec;
      if (info.fmtp) r.vfmtp = info.fmtp;
      r.videoOrientExt = Number(Object.entries(info.extmaps).find(([, u]) => u === VIDEO_ORIENT_URI)?.[0] ?? 0);
    }
  }
  if (v.data) {
    r.dataFile = strip(v.data);
    const info = await codecOf(folder, r.dataFile);
    r.textdata = info?.codec !== 'binary';
  }
  return r;
}

/**
 * Every usable recording of the folder (the reasons the others were skipped in `skipped`); ids in
 * `known` are not read again (as Janus: a listed recording stays as it is), only reported in `seen`.
 */
export async function scanFolder(folder: string, known: ReadonlySet<number> = new Set()): Promise<{ recordings: Recording[]; seen: Set<number>; skipped: string[] }> {
  const seen = new Set<number>();
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    return { recordings: [], seen, skipped: [`cannot read the folder: ${(err as Error).message}`] };
  }
  const recordings: Recording[] = [];
  const skipped: string[] = [];
  for (const name of names.sort()) {
    if (!name.toLowerCase().endsWith('.nfo')) continue;
    const nfo = await readNfo(folder, name);
    if (typeof nfo === 'string') {
      skipped.push(nfo);
      continue;
    }
    seen.add(nfo.id);
    if (known.has(nfo.id)) continue;
    const r = await recordingOf(folder, nfo.id, nfo.values);
    if (typeof r === 'string') skipped.push(r);
    else recordings.push(r);
  }
  return { recordings, seen, skipped };
}

/** Janus' `date` of a recording: local "%Y-%m-%d %H:%M:%S". */
export function recordingDate(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
