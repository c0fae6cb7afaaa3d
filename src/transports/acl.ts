/**
 * Address allow-lists for the transports (`acl`, `admin_acl`, `ws_acl`, `admin_ws_acl`).
 *
 * Janus writes them as a comma list of address prefixes ("127.,192.168.0."). Janus 1.1.2 matched them
 * with a substring test, so "1.2.3." also admitted 11.2.3.4; 1.4.1 (security fix 18b93e6b) made it a
 * prefix test. We go one step further and read every entry as a network:
 *  - IPv4 dotted prefixes are octet-aligned: "127." and "127" are 127.0.0.0/8, "192.168.0." is /24,
 *    a full address is /32 (so "10.0.0.1" never admits 10.0.0.10);
 *  - IPv6 entries ending in a single ':' are group-aligned prefixes ("fd00:" is fd00::/16), any other
 *    IPv6 address is /128;
 *  - CIDR notation ("10.0.0.0/8", "::1/128", "fd00::/8") is taken as written.
 * A client on an IPv4-mapped IPv6 address (::ffff:1.2.3.4, what a dual-stack socket reports) is matched
 * against the IPv4 rules as 1.2.3.4. An empty list allows everybody.
 */
import { ConfigError } from '../core/errors.ts';

interface Rule {
  /** 4 or 16 bytes. */
  readonly bytes: Uint8Array;
  readonly prefixBits: number;
  /** The entry as configured, for messages. */
  readonly source: string;
}

export class Acl {
  readonly #v4: Rule[];
  readonly #v6: Rule[];

  private constructor(v4: Rule[], v6: Rule[]) {
    this.#v4 = v4;
    this.#v6 = v6;
  }

  /** Parse a comma-separated list. Throws ConfigError naming `key` on an entry that is not an address or network. */
  static parse(list: string | undefined, key = 'acl'): Acl {
    const v4: Rule[] = [];
    const v6: Rule[] = [];
    for (const raw of (list ?? '').split(',')) {
      const entry = raw.trim();
      if (entry === '') continue;
      const rule = parseRule(entry);
      if (!rule) throw new ConfigError(`invalid ACL entry '${entry}' (expected an address prefix such as "192.168.0." or a CIDR such as "10.0.0.0/8")`, { key });
      (rule.bytes.length === 4 ? v4 : v6).push(rule);
    }
    return new Acl(v4, v6);
  }

  /** True when no rule is configured (everybody is allowed). */
  get empty(): boolean {
    return this.#v4.length === 0 && this.#v6.length === 0;
  }

  /** Whether a client address (as a socket reports it) is allowed. Unparseable addresses are refused. */
  allows(address: string | undefined): boolean {
    if (this.empty) return true;
    if (!address) return false;
    const bytes = parseAddress(address);
    if (!bytes) return false;
    if (bytes.length === 4) return this.#v4.some((r) => matches(r, bytes));
    if (this.#v6.some((r) => matches(r, bytes))) return true;
    const mapped = v4Mapped(bytes);
    return mapped !== undefined && this.#v4.some((r) => matches(r, mapped));
  }

  toString(): string {
    return [...this.#v4, ...this.#v6].map((r) => r.source).join(',');
  }
}

function matches(rule: Rule, addr: Uint8Array): boolean {
  if (rule.bytes.length !== addr.length) return false;
  let bits = rule.prefixBits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((rule.bytes[i] & mask) !== (addr[i] & mask)) return false;
  }
  return true;
}

/** ::ffff:a.b.c.d -> a.b.c.d */
function v4Mapped(b: Uint8Array): Uint8Array | undefined {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return undefined;
  if (b[10] !== 0xff || b[11] !== 0xff) return undefined;
  return b.subarray(12, 16);
}

function parseRule(entry: string): Rule | undefined {
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const bytes = parseAddress(entry.slice(0, slash));
    const lenText = entry.slice(slash + 1);
    if (!bytes || !/^\d{1,3}$/.test(lenText)) return undefined;
    const prefixBits = Number(lenText);
    if (prefixBits > bytes.length * 8) return undefined;
    return { bytes, prefixBits, source: entry };
  }
  if (entry.includes(':')) {
    // "fd00:" / "2001:db8:" (Janus-style prefix): complete the groups and match only those.
    if (entry.endsWith(':') && !entry.endsWith('::')) {
      const groups = entry.slice(0, -1).split(':');
      if (groups.length > 7) return undefined;
      const bytes = parseAddress(`${entry}:`);
      if (!bytes) return undefined;
      return { bytes, prefixBits: groups.length * 16, source: entry };
    }
    const bytes = parseAddress(entry);
    return bytes ? { bytes, prefixBits: 128, source: entry } : undefined;
  }
  // IPv4 prefix, octet-aligned.
  const parts = entry.endsWith('.') ? entry.slice(0, -1).split('.') : entry.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < parts.length; i++) {
    const o = parseOctet(parts[i]);
    if (o === undefined) return undefined;
    bytes[i] = o;
  }
  return { bytes, prefixBits: parts.length * 8, source: entry };
}

function parseOctet(s: string): number | undefined {
  if (!/^\d{1,3}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 255 ? n : undefined;
}

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const o = parseOctet(parts[i]);
    if (o === undefined) return undefined;
    out[i] = o;
  }
  return out;
}

/** Parse an IPv4 or IPv6 address (zone id ignored) into 4 or 16 bytes. */
export function parseAddress(input: string): Uint8Array | undefined {
  let s = input.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(':')) return parseV4(s);

  // IPv6, possibly with an embedded IPv4 tail (::ffff:1.2.3.4).
  let tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    tail = parseV4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...head, ...new Array<string>(8 - total).fill('0'), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i];
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}
