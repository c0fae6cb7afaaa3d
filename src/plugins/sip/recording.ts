/**
 * SIP call recordings (JANUS-REFERENCE 2.8 `recording`): MJR files of our own audio (what the browser
 * sends towards the SIP peer) and of the peer's audio, named `<filename>-own-audio.mjr` and
 * `<filename>-peer-audio.mjr` (default `sip-<handle>-<µs>`). Client-given names go through
 * safe-path.ts (no '..', nothing inside protected_folders).
 */
import path from 'node:path';
import { MjrRecorder } from '../../media/mjr.ts';
import { UnsafePathError, type PathPolicy } from '../../media/safe-path.ts';

export interface SipRecordingPolicy {
  baseDir: string;
  protectedFolders: readonly string[];
  tmpExt?: string;
}

export class CallRecording {
  own: MjrRecorder | undefined;
  peer: MjrRecorder | undefined;

  async start(policy: SipRecordingPolicy, base: string, which: { own: boolean; peer: boolean }, codec: { name: string; clockRate: number }): Promise<void> {
    const pp: PathPolicy = { baseDir: policy.baseDir, allowedBases: [path.parse(policy.baseDir).root], protectedFolders: policy.protectedFolders };
    const open = (suffix: string): Promise<MjrRecorder> => MjrRecorder.open({
      ...pp, ...(policy.tmpExt ? { tmpExt: policy.tmpExt } : {}), filename: `${base}-${suffix}-audio`, codec: codec.name, clockRate: codec.clockRate,
    });
    if (which.own && !this.own) this.own = await open('own');
    if (which.peer && !this.peer) this.peer = await open('peer');
  }

  async stop(which: { own: boolean; peer: boolean }): Promise<void> {
    const closing: Array<Promise<unknown>> = [];
    if (which.own && this.own) {
      closing.push(this.own.close());
      this.own = undefined;
    }
    if (which.peer && this.peer) {
      closing.push(this.peer.close());
      this.peer = undefined;
    }
    await Promise.all(closing.map((p) => p.catch(() => undefined)));
  }

  info(): Record<string, string> {
    return { ...(this.own ? { own_audio: this.own.path } : {}), ...(this.peer ? { peer_audio: this.peer.path } : {}) };
  }
}

export function isUnsafePath(err: unknown): boolean {
  return err instanceof UnsafePathError;
}
