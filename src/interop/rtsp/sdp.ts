/**
 * The session description a camera returns to DESCRIBE (RFC 2326 appendix C, RFC 8866): per media
 * its type, payload type, codec (rtpmap), fmtp (H.264 sprop-parameter-sets included) and the
 * control URL SETUP goes to, resolved against the session's aggregate control URL
 * (Content-Base/Content-Location/request URL, appendix C.1.1). Untrusted: size, line count and
 * media count are capped; a malformed line is skipped; CameraSdpError for an unusable whole.
 */

export class CameraSdpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CameraSdpError';
  }
}

export interface CameraMedia {
  type: 'audio' | 'video' | string;
  pt: number;
  /** Lower-case encoding name (h264, opus, pcmu, ...); from the static table when no rtpmap. */
  codec: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  /** Absolute URL for SETUP. */
  control: string;
}

export interface CameraSdp {
  /** Aggregate control URL (PLAY, TEARDOWN). */
  control: string;
  media: CameraMedia[];
}

const MAX_SDP = 32 * 1024;
const MAX_LINES = 512;
const MAX_MEDIA = 8;
const STATIC: Record<number, [string, number, number?]> = { 0: ['pcmu', 8000, 1], 8: ['pcma', 8000, 1], 9: ['g722', 8000, 1], 26: ['jpeg', 90000], 32: ['mpv', 90000], 33: ['mp2t', 90000] };

/** RFC 3986 reference resolution, tolerating cameras that give "trackID=1" or absolute URLs. */
export function resolveControl(base: string, control: string): string {
  if (control === '*' || control === '') return base;
  if (/^rtsps?:\/\//i.test(control)) return control;
  try {
    const b = base.endsWith('/') ? base : `${base}/`;
    return new URL(control, b.replace(/^rtsp/i, 'http')).toString().replace(/^http/i, 'rtsp');
  } catch {
    return `${base.replace(/\/$/, '')}/${control}`;
  }
}

export function parseCameraSdp(text: string, baseUrl: string): CameraSdp {
  if (text.length > MAX_SDP) throw new CameraSdpError('SDP too large');
  const lines = text.split(/\r?\n/);
  if (lines.length > MAX_LINES) throw new CameraSdpError('SDP has too many lines');
  if (!lines[0]?.startsWith('v=0')) throw new CameraSdpError('not an SDP');
  let sessionControl: string | undefined;
  const media: Array<CameraMedia & { rawControl?: string; formats: number[] }> = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line.length < 2 || line[1] !== '=') continue;
    const cur = media[media.length - 1];
    if (line.startsWith('m=')) {
      const m = /^m=(\w{1,16}) \d{1,5}(?:\/\d{1,3})? [\w/]{1,32}((?: \d{1,3}){1,32})$/.exec(line);
      if (!m) {
        media.push({ type: 'unsupported', pt: -1, codec: '', clockRate: 0, control: '', formats: [] });
        continue;
      }
      if (media.length >= MAX_MEDIA) throw new CameraSdpError('too many media');
      const formats = m[2].trim().split(' ').map(Number).filter((n) => n <= 127);
      const pt = formats[0] ?? -1;
      const st = STATIC[pt];
      media.push({ type: m[1].toLowerCase(), pt, codec: st?.[0] ?? '', clockRate: st?.[1] ?? 0, ...(st?.[2] ? { channels: st[2] } : {}), control: '', formats });
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line.slice(2) : line.slice(2, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).trim();
    if (name === 'control') {
      if (value.length > 1024 || /[\s\x00-\x1f]/.test(value)) continue;
      if (cur) cur.rawControl = value;
      else sessionControl = value;
      continue;
    }
    if (!cur) continue;
    if (name === 'rtpmap') {
      const m = /^(\d{1,3}) ([A-Za-z0-9_.-]{1,32})\/(\d{1,6})(?:\/(\d{1,2}))?$/.exec(value);
      if (!m || Number(m[1]) !== cur.pt) continue;
      cur.codec = m[2].toLowerCase();
      cur.clockRate = Number(m[3]);
      if (m[4]) cur.channels = Number(m[4]);
      else delete cur.channels;
    } else if (name === 'fmtp') {
      const m = /^(\d{1,3}) ([\x20-\x7e]{1,1024})$/.exec(value);
      if (m && Number(m[1]) === cur.pt) cur.fmtp = m[2].trim();
    }
  }
  const control = sessionControl !== undefined ? resolveControl(baseUrl, sessionControl) : baseUrl;
  const out: CameraMedia[] = [];
  for (const m of media) {
    if (m.pt < 0 || !m.codec || m.clockRate <= 0) continue;
    const { rawControl, formats: _f, ...rest } = m;
    out.push({ ...rest, control: resolveControl(control, rawControl ?? '') });
  }
  if (out.length === 0) throw new CameraSdpError('no usable media in the SDP');
  return { control, media: out };
}
