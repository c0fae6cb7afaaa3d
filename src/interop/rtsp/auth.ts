/**
 * RTSP authentication (RFC 2326 s12.5 borrows HTTP's): Basic (RFC 7617) and Digest (RFC 7616 /
 * RFC 2617; MD5 or SHA-256, qop "auth" or none) answering a server's WWW-Authenticate challenge.
 * Digest is preferred when offered; credentials come from the config or the URL's userinfo.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Credentials {
  user: string;
  password: string;
}

export interface Challenge {
  scheme: 'basic' | 'digest';
  params: Map<string, string>;
}

/** Parse one WWW-Authenticate value: scheme then comma-separated k=v or k="v" (bounded). */
export function parseChallenge(value: string): Challenge | undefined {
  const m = /^\s*(Basic|Digest)\s*(.*)$/i.exec(value.slice(0, 2048));
  if (!m) return undefined;
  const params = new Map<string, string>();
  const re = /([A-Za-z0-9_-]{1,32})\s*=\s*(?:"((?:[^"\\]|\\.){0,512})"|([^\s,]{0,512}))\s*,?/g;
  let p: RegExpExecArray | null;
  let n = 0;
  while ((p = re.exec(m[2])) !== null && n++ < 16) params.set(p[1].toLowerCase(), p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]);
  return { scheme: m[1].toLowerCase() as 'basic' | 'digest', params };
}

/** The challenge we answer: Digest before Basic. */
export function pickChallenge(values: string[]): Challenge | undefined {
  const all = values.flatMap((v) => splitChallenges(v)).map(parseChallenge).filter((c): c is Challenge => c !== undefined);
  return all.find((c) => c.scheme === 'digest' && c.params.has('nonce')) ?? all.find((c) => c.scheme === 'basic');
}

/** A header may carry "Digest ..., Basic realm=..." in one value. */
function splitChallenges(v: string): string[] {
  return v.split(/,\s*(?=(?:Basic|Digest)\s)/i);
}

export class Authenticator {
  #nc = 0;
  constructor(private readonly creds: Credentials, private readonly challenge: Challenge) {}

  get scheme(): string {
    return this.challenge.scheme;
  }

  /** The Authorization header value for one request. */
  header(method: string, uri: string): string {
    const { user, password } = this.creds;
    if (this.challenge.scheme === 'basic') return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const p = this.challenge.params;
    const realm = p.get('realm') ?? '';
    const nonce = p.get('nonce') ?? '';
    const algo = (p.get('algorithm') ?? 'MD5').toUpperCase();
    const hashName = algo.startsWith('SHA-256') ? 'sha256' : 'md5';
    const h = (s: string): string => createHash(hashName).update(s).digest('hex');
    const qops = (p.get('qop') ?? '').split(',').map((s) => s.trim());
    const qop = qops.includes('auth') ? 'auth' : undefined;
    let ha1 = h(`${user}:${realm}:${password}`);
    const cnonce = randomBytes(8).toString('hex');
    if (algo.endsWith('-SESS')) ha1 = h(`${ha1}:${nonce}:${cnonce}`);
    const ha2 = h(`${method}:${uri}`);
    const q = (s: string): string => s.replace(/["\\]/g, '\\$&');
    let header = `Digest username="${q(user)}", realm="${q(realm)}", nonce="${q(nonce)}", uri="${q(uri)}"`;
    if (qop) {
      const nc = (++this.#nc).toString(16).padStart(8, '0');
      header += `, response="${h(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`)}", qop=${qop}, nc=${nc}, cnonce="${cnonce}"`;
    } else {
      header += `, response="${h(`${ha1}:${nonce}:${ha2}`)}"`;
    }
    if (p.has('algorithm')) header += `, algorithm=${p.get('algorithm')}`;
    if (p.has('opaque')) header += `, opaque="${q(p.get('opaque')!)}"`;
    return header;
  }
}

/** Split credentials out of rtsp://user:pass@host/... (RFC 3986 s3.2.1), returning the clean URL. */
export function splitUrlCredentials(url: string): { url: string; creds?: Credentials } {
  const m = /^(rtsps?:\/\/)([^@/]*)@(.*)$/i.exec(url);
  if (!m) return { url };
  const [user, ...rest] = m[2].split(':');
  try {
    return { url: m[1] + m[3], creds: { user: decodeURIComponent(user), password: decodeURIComponent(rest.join(':')) } };
  } catch {
    return { url: m[1] + m[3], creds: { user, password: rest.join(':') } };
  }
}
