/**
 * Appliance settings: one name per setting ("group.key", as in --group.key), whichever source it comes
 * from, a few short aliases for the settings people set most, and the precedence of the sources.
 *
 * Precedence, later wins: /etc/portunus (the package defaults, read by Portunus itself) < config drive
 * < systemd credentials < kernel command line. The kernel command line wins because it is what an
 * operator edits at the boot prompt to repair a machine whose drive or credentials are wrong.
 */
import { coerceOption } from '../../src/config/coerce.ts';
import { envName, OPTION_GROUPS, optionSpec } from '../../src/config/schema.ts';
import { parseNatMapping, parsePortRange } from '../../src/core/webrtc/candidate-policy.ts';

/** Checks Portunus makes only at start-up (a bad value there stops it): made here, so it never starts broken. */
const DEEP_CHECKS: Record<string, (value: string) => unknown> = {
  'nat.nat_1_1_mapping': parseNatMapping,
  'media.rtp_port_range': parsePortRange,
};

export type SourceName = 'config drive' | 'credentials' | 'kernel command line';
/** Lowest to highest precedence. */
export const SOURCE_ORDER: readonly SourceName[] = ['config drive', 'credentials', 'kernel command line'];

/** Settings only the first-boot service understands (not Portunus options). */
export const APPLIANCE_KEYS = {
  'appliance.tls_cert': 'TLS certificate (PEM text, or a file name on the config drive) for HTTPS/WSS',
  'appliance.tls_key': 'TLS private key (PEM text, or a file name on the config drive)',
  'appliance.stun_server': 'host[:port] of a STUN server used to find the public address when no nat_1_1_mapping is given',
} as const;
export type ApplianceKey = keyof typeof APPLIANCE_KEYS;

/** Short names accepted everywhere for the settings of an appliance behind NAT. */
export const ALIASES: Record<string, string> = {
  nat_1_1_mapping: 'nat.nat_1_1_mapping',
  keep_private_host: 'nat.keep_private_host',
  rtp_port_range: 'media.rtp_port_range',
  admin_secret: 'general.admin_secret',
  api_secret: 'general.api_secret',
  http_port: 'http.port',
  https_port: 'http.secure_port',
  admin_port: 'http.admin_port',
  ws_port: 'websockets.ws_port',
  wss_port: 'websockets.wss_port',
  tls_cert: 'appliance.tls_cert',
  tls_key: 'appliance.tls_key',
  stun_server: 'appliance.stun_server',
};

/**
 * The canonical "group.key" for a setting name as written in any source: "nat.nat_1_1_mapping",
 * "PORTUNUS_NAT_NAT_1_1_MAPPING", or an alias ("nat_1_1_mapping", "NAT_1_1_MAPPING"). Undefined if it
 * names nothing.
 */
export function canonicalName(name: string): string | undefined {
  let n = name.trim().toLowerCase();
  if (n.startsWith('portunus_')) {
    n = n.slice('portunus_'.length);
    const cut = n.indexOf('_');
    if (cut > 0) {
      const dotted = `${n.slice(0, cut)}.${n.slice(cut + 1)}`;
      if (isKnown(dotted)) return dotted;
    }
  }
  if (Object.hasOwn(ALIASES, n)) return ALIASES[n];
  return isKnown(n) ? n : undefined;
}

function isKnown(dotted: string): boolean {
  if (Object.hasOwn(APPLIANCE_KEYS, dotted)) return true;
  const dot = dotted.indexOf('.');
  if (dot < 0) return false;
  const group = dotted.slice(0, dot);
  return (OPTION_GROUPS as string[]).includes(group) && optionSpec(group, dotted.slice(dot + 1)) !== undefined;
}

export interface RawSetting {
  /** As written in the source. */
  name: string;
  value: string;
}

export interface Setting {
  value: string;
  source: SourceName;
}

export interface MergeResult {
  settings: Map<string, Setting>;
  /** Problems worth a log line: unknown names, values of the wrong type. Never fatal. */
  problems: string[];
}

/** Merge the sources in precedence order; unknown names and bad values are reported and skipped. */
export function mergeSources(sources: Partial<Record<SourceName, RawSetting[]>>): MergeResult {
  const settings = new Map<string, Setting>();
  const problems: string[] = [];
  for (const source of SOURCE_ORDER) {
    for (const { name, value } of sources[source] ?? []) {
      const key = canonicalName(name);
      if (!key) {
        problems.push(`${source}: unknown setting ${name} (ignored)`);
        continue;
      }
      const problem = checkSetting(key, value);
      if (problem) {
        problems.push(`${source}: ${name}: ${problem} (ignored)`);
        continue;
      }
      settings.set(key, { value, source });
    }
  }
  return { settings, problems };
}

/** Why a value cannot be used for `key`, or undefined when it can. */
export function checkSetting(key: string, value: string): string | undefined {
  if (key.startsWith('appliance.')) return undefined;
  // systemd EnvironmentFile values are one line.
  if (/[\r\n\0]/.test(value)) return 'a value must be one line';
  const dot = key.indexOf('.');
  const spec = optionSpec(key.slice(0, dot), key.slice(dot + 1));
  if (!spec) return 'unknown option';
  try {
    coerceOption(spec, value);
    DEEP_CHECKS[key]?.(value);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** Quote for a systemd EnvironmentFile: double quotes, with \ " $ ` escaped. */
export function quoteEnvValue(value: string): string {
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** The EnvironmentFile lines for Portunus options (appliance.* keys are not Portunus options). */
export function renderEnvFile(settings: Map<string, Setting>): string {
  const lines = ['# Written by portunus-firstboot on every boot; edit the config drive, credentials or', '# kernel command line instead.'];
  for (const [key, { value, source }] of [...settings].sort(([a], [b]) => a.localeCompare(b))) {
    if (key.startsWith('appliance.')) continue;
    const dot = key.indexOf('.');
    lines.push(`# from the ${source}`, `${envName(key.slice(0, dot), key.slice(dot + 1))}=${quoteEnvValue(value)}`);
  }
  return `${lines.join('\n')}\n`;
}
