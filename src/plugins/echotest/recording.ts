/**
 * EchoTest recordings (JANUS-REFERENCE 2.1, 2.10): `record: true` writes what is echoed to MJR files
 * named as Janus names them, `<filename>-audio.mjr`, `<filename>-video.mjr` and `<filename>-data.mjr`
 * (data: text, only with a data channel), or `echotest-<handle>-<µs>-<kind>.mjr` without a filename.
 * Relative names resolve against the working folder, as in Janus. The client names the files, so the
 * names go through safe-path.ts first (no '..', nothing inside protected_folders, no symlink out):
 * a refused name is reported before anything else of the request is applied.
 */
import path from 'node:path';
import { MjrRecorder } from '../../media/mjr.ts';
import { confirmRealPath, resolveSafePath, UnsafePathError, type PathPolicy } from '../../media/safe-path.ts';
import type { MediaCodec } from './negotiate.ts';

export interface RecordingPolicy {
  /** Folder relative names resolve against. */
  baseDir: string;
  protectedFolders: readonly string[];
  /** Janus `recordings_tmp_ext`. */
  tmpExt?: string;
}

const SUFFIXES = ['audio', 'video', 'data'] as const;

function pathPolicy(p: RecordingPolicy): PathPolicy {
  // Like Janus, an absolute name may point anywhere but into a protected folder.
  return { baseDir: p.baseDir, allowedBases: [path.parse(p.baseDir).root], protectedFolders: p.protectedFolders };
}

/** Why `base` may not be used as a recording name (undefined when it may), symlinks resolved. */
export async function refusedName(policy: RecordingPolicy, base: string): Promise<string | undefined> {
  const pp = pathPolicy(policy);
  try {
    for (const s of SUFFIXES) await confirmRealPath(pp, resolveSafePath(pp, undefined, `${base}-${s}.mjr`));
    return undefined;
  } catch (err) {
    if (err instanceof UnsafePathError) return err.message;
    throw err;
  }
}

export interface RecordedMedia {
  audio?: MediaCodec;
  video?: MediaCodec;
  data: boolean;
}

/** The recorders of one EchoTest session; any of them may be missing. */
export class EchoRecording {
  audio: MjrRecorder | undefined;
  video: MjrRecorder | undefined;
  data: MjrRecorder | undefined;

  private constructor(audio: MjrRecorder | undefined, video: MjrRecorder | undefined, data: MjrRecorder | undefined) {
    this.audio = audio;
    this.video = video;
    this.data = data;
  }

  /** Open one recorder per negotiated medium. Throws (after closing what it opened) on failure. */
  static async open(policy: RecordingPolicy, base: string, media: RecordedMedia): Promise<EchoRecording> {
    const pp = pathPolicy(policy);
    const common = { ...pp, ...(policy.tmpExt ? { tmpExt: policy.tmpExt } : {}) };
    const opened: MjrRecorder[] = [];
    const one = async (kind: string, codec: string, c?: MediaCodec): Promise<MjrRecorder> => {
      const rec = await MjrRecorder.open({
        ...common,
        filename: `${base}-${kind}`,
        codec,
        ...(c?.fmtp && kind === 'video' ? { fmtp: c.fmtp } : {}),
        ...(c ? { clockRate: c.clockRate } : {}),
      });
      opened.push(rec);
      return rec;
    };
    try {
      const audio = media.audio ? await one('audio', media.audio.codec, media.audio) : undefined;
      const video = media.video ? await one('video', media.video.codec, media.video) : undefined;
      const data = media.data ? await one('data', 'text') : undefined;
      return new EchoRecording(audio, video, data);
    } catch (err) {
      await Promise.all(opened.map((r) => r.close().catch(() => undefined)));
      throw err;
    }
  }

  /** Flush and close every file; resolves when they are complete on disk. */
  async close(): Promise<void> {
    const all = [this.audio, this.video, this.data];
    this.audio = this.video = this.data = undefined;
    await Promise.all(all.map((r) => r?.close().catch(() => undefined)));
  }

  /** Janus' query_session "recording" object: file names per medium. */
  info(): Record<string, string> {
    const out: Record<string, string> = {};
    if (this.audio) out.audio = this.audio.path;
    if (this.video) out.video = this.video.path;
    if (this.data) out.data = this.data.path;
    return out;
  }
}
