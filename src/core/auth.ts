/**
 * API authentication (JANUS-REFERENCE 1.7): a shared api_secret, stored tokens managed through the
 * Admin API and scoped to plugins, and HMAC-SHA1 signed tokens (token_auth_secret).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time string compare; unequal lengths still take time proportional to the input. */
export function secretEquals(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Tokens added through the Admin API, each with the set of plugins it may attach to. */
export class TokenStore {
  readonly #tokens = new Map<string, Set<string>>();

  add(token: string, plugins: Iterable<string>): Set<string> {
    const set = this.#tokens.get(token) ?? new Set<string>();
    for (const p of plugins) set.add(p);
    this.#tokens.set(token, set);
    return set;
  }
  has(token: unknown): boolean {
    return typeof token === 'string' && this.#tokens.has(token);
  }
  plugins(token: string): Set<string> | undefined {
    return this.#tokens.get(token);
  }
  allow(token: string, plugins: Iterable<string>): Set<string> | undefined {
    const set = this.#tokens.get(token);
    if (!set) return undefined;
    for (const p of plugins) set.add(p);
    return set;
  }
  disallow(token: string, plugins: Iterable<string>): Set<string> | undefined {
    const set = this.#tokens.get(token);
    if (!set) return undefined;
    for (const p of plugins) set.delete(p);
    return set;
  }
  remove(token: string): boolean {
    return this.#tokens.delete(token);
  }
  list(): Array<{ token: string; allowed_plugins: string[] }> {
    return [...this.#tokens].map(([token, set]) => ({ token, allowed_plugins: [...set] }));
  }
}

/**
 * A signed token `<expiry>,janus,<plugin>[,<plugin>...]:<base64 HMAC-SHA1 of the part before ':'>`.
 * Returns the plugins it grants, or undefined when the signature, realm or expiry is wrong.
 */
export function verifySignedToken(token: unknown, secret: string, nowSeconds = Date.now() / 1000): string[] | undefined {
  if (typeof token !== 'string') return undefined;
  const colon = token.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const payload = token.slice(0, colon);
  const signature = token.slice(colon + 1);
  const parts = payload.split(',');
  if (parts.length < 2 || parts[1] !== 'janus') return undefined;
  const expiry = Number(parts[0]);
  if (!Number.isFinite(expiry) || expiry < nowSeconds) return undefined;
  const expected = createHmac('sha1', secret).update(payload).digest('base64');
  if (!secretEquals(signature, expected)) return undefined;
  return parts.slice(2);
}

export function signToken(secret: string, expirySeconds: number, plugins: string[]): string {
  const payload = [String(Math.floor(expirySeconds)), 'janus', ...plugins].join(',');
  return `${payload}:${createHmac('sha1', secret).update(payload).digest('base64')}`;
}
