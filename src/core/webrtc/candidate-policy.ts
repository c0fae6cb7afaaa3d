/**
 * Our ICE candidate policy, applied around werift's gatherer (PITFALLS: werift silently falls back to
 * every address when an interface filter matches nothing, and never gathers loopback by itself):
 * - which local addresses to gather on: `ice_enforce_list` (interface names or address prefixes;
 *   when set, only these) wins over `ice_ignore_list` (names or prefixes to skip);
 * - `nat_1_1_mapping`: host candidates advertised with the public address(es) instead, or as well
 *   with `keep_private_host` (JANUS-REFERENCE 3);
 * - `rtp_port_range` parsing.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { isIP } from 'node:net';

export interface AddressChoice {
  address: string;
  family: 4 | 6;
  iface: string;
}

function splitList(list: string): string[] {
  return list.split(',').map((s) => s.trim()).filter(Boolean);
}

/** An entry matches an interface name or an address by prefix, as Janus does ("vmnet" ignores vmnet8; "192.168."). */
function matches(entry: string, iface: string, address: string): boolean {
  return iface.startsWith(entry) || address.startsWith(entry);
}

/**
 * The local addresses to gather candidates on. Loopback is used only when the enforce list names it
 * (e.g. "lo" or "127.0.0.1"), which is what single-machine tests and demos need.
 */
export function selectHostAddresses(
  enforceList: string,
  ignoreList: string,
  opts: { ipv6: boolean; ipv6LinkLocal?: boolean; interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]> } = { ipv6: false },
): AddressChoice[] {
  const enforce = splitList(enforceList);
  const ignore = splitList(ignoreList);
  const ifaces = opts.interfaces ?? networkInterfaces();
  const out: AddressChoice[] = [];
  for (const [name, infos] of Object.entries(ifaces)) {
    for (const info of infos ?? []) {
      const family = info.family === 'IPv6' || (info.family as unknown) === 6 ? 6 : 4;
      if (family === 6 && !opts.ipv6) continue;
      if (family === 6 && info.address.toLowerCase().startsWith('fe80') && !opts.ipv6LinkLocal) continue;
      if (enforce.length > 0) {
        if (!enforce.some((e) => matches(e, name, info.address))) continue;
      } else {
        if (info.internal) continue;
        if (ignore.some((e) => matches(e, name, info.address))) continue;
      }
      out.push({ address: info.address, family, iface: name });
    }
  }
  return out;
}

/** The public addresses of nat_1_1_mapping (comma list), validated. */
export function parseNatMapping(mapping: string): string[] {
  const out: string[] = [];
  for (const a of splitList(mapping)) {
    if (isIP(a) === 0) throw new Error(`nat_1_1_mapping: '${a}' is not an IP address`);
    out.push(a);
  }
  return out;
}

/** "20000-40000" -> [20000, 40000]; "" -> undefined (ephemeral ports). */
export function parsePortRange(range: string): [number, number] | undefined {
  const t = range.trim();
  if (t === '') return undefined;
  const m = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(t);
  if (!m) throw new Error(`rtp_port_range '${range}' is not MIN-MAX`);
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) throw new Error(`rtp_port_range '${range}' is out of bounds`);
  // werift wants min != max; a one-port range is still a range for us.
  return [lo, hi];
}

/**
 * Rewrite one candidate line (the part after "candidate:") for nat_1_1_mapping: a host candidate
 * becomes one per public address; with keepPrivate the original stays first. Other types pass.
 */
export function mapCandidate(candidate: string, publicIps: string[], keepPrivate: boolean): string[] {
  if (publicIps.length === 0) return [candidate];
  const parts = candidate.split(' ');
  // foundation component transport priority address port "typ" type ...
  if (parts.length < 8 || parts[6] !== 'typ' || parts[7] !== 'host') return [candidate];
  const out: string[] = keepPrivate ? [candidate] : [];
  publicIps.forEach((ip, i) => {
    const copy = parts.slice();
    copy[4] = ip;
    // A distinct foundation per address keeps the candidates apart for the remote agent.
    if (keepPrivate || i > 0) copy[0] = `${parts[0]}${i + 1}`;
    out.push(copy.join(' '));
  });
  return out;
}
