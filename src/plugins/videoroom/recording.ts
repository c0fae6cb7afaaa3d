/**
 * Publisher recordings (JANUS-REFERENCE 2.2 record/rec_dir, 2.10): one MJR file per audio/video
 * stream, named as Janus names them, `videoroom-<room>-user-<id>-<µs>-<audio|video>-<mindex>`, or
 * `<filename>-<audio|video>-<mindex>` when the publisher gives a filename. janus-pp-rec converts them.
 */
import path from 'node:path';
import { MjrRecorder } from '../../media/mjr.ts';
import type { PathPolicy } from '../../media/safe-path.ts';
import type { Publisher } from './model.ts';

export interface RecordingContext {
  baseDir: string;
  protectedFolders: readonly string[];
  tmpExt?: string;
}

export async function startRecording(ctx: RecordingContext, pub: Publisher): Promise<void> {
  if (pub.recorders.length > 0) return;
  const s = pub.room.settings;
  const policy: PathPolicy = { baseDir: ctx.baseDir, allowedBases: [path.parse(ctx.baseDir).root], protectedFolders: ctx.protectedFolders };
  const stamp = Date.now() * 1000;
  const base = pub.recordingBase ?? `videoroom-${s.room}-user-${pub.id}-${stamp}`;
  pub.recording = true;
  for (const st of pub.streams) {
    if (st.type === 'data') continue;
    const rec = await MjrRecorder.open({
      ...policy, ...(s.recDir !== undefined ? { dir: s.recDir } : {}), filename: `${base}-${st.type}-${st.mindex}`, codec: st.codec,
      ...(st.fmtp ? { fmtp: st.fmtp } : {}), clockRate: st.clockRate,
      extmaps: Object.fromEntries(st.extmaps.map((e) => [e.id, e.uri])), ...(ctx.tmpExt ? { tmpExt: ctx.tmpExt } : {}),
    });
    if (!pub.recording || !pub.streams.includes(st)) {
      await rec.close();
      continue;
    }
    const tap = (buf: Buffer): void => {
      rec.saveRtp(buf);
    };
    st.taps.push(tap);
    pub.recorders.push(rec);
    pub.recorderTaps.push([st, tap]);
  }
}

export async function stopRecording(pub: Publisher): Promise<string[]> {
  pub.recording = false;
  for (const [st, tap] of pub.recorderTaps) {
    const i = st.taps.indexOf(tap);
    if (i >= 0) st.taps.splice(i, 1);
  }
  pub.recorderTaps = [];
  const recs = pub.recorders;
  pub.recorders = [];
  return Promise.all(recs.map((r) => r.close()));
}
