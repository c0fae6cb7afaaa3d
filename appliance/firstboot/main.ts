/**
 * portunus-firstboot: gather the appliance settings (config drive < credentials < kernel command line),
 * settle the admin secret, TLS files and the public address, and write the EnvironmentFile that
 * portunus.service reads. Runs on every boot; secrets are never logged.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { DRIVE_ENV_FILE, mountDrive, type MountedDrive } from './drive.ts';
import { keptSecret } from './secret.ts';
import { mergeSources, renderEnvFile, type RawSetting, type Setting, type SourceName } from './settings.ts';
import { parseEnvFile, parseKernelCmdline, readCredentials, readFwCfgCredentials, readSmbiosCredentials } from './sources.ts';
import { discoverMappedAddress } from './stun.ts';

export interface FirstbootOptions {
  /** Folder of system credentials (default /run/credentials/@system). */
  credentialsDir: string;
  /** SMBIOS entries folder (default /sys/firmware/dmi/entries), read when systemd did not import them. */
  smbiosDir: string;
  /** qemu fw_cfg credentials folder, read when systemd did not import them. */
  fwCfgDir: string;
  /** Kernel command line file (default /proc/cmdline). */
  cmdlineFile: string;
  /** Kept state: the generated admin secret, TLS files (default /var/lib/portunus-appliance). */
  stateDir: string;
  /** Where portunus.env is written (default /run/portunus). */
  runDir: string;
  /** An already mounted config drive folder (tests); default: find and mount one. */
  driveDir?: string;
  /** Group that may read the TLS key (default portunus; skipped when unknown). */
  serviceGroup: string;
  log: (line: string) => void;
  stunTimeoutMs: number;
}

export const DEFAULTS: FirstbootOptions = {
  credentialsDir: '/run/credentials/@system',
  smbiosDir: '/sys/firmware/dmi/entries',
  fwCfgDir: '/sys/firmware/qemu_fw_cfg/by_name/opt/io.systemd.credentials',
  cmdlineFile: '/proc/cmdline',
  stateDir: '/var/lib/portunus-appliance',
  runDir: '/run/portunus',
  serviceGroup: 'portunus',
  log: (line) => process.stdout.write(`${line}\n`),
  stunTimeoutMs: 20_000, // DHCP may still be under way at boot
};

export interface FirstbootResult {
  settings: Map<string, Setting | Derived>;
  envFile: string;
}

/** A setting worked out here rather than given. */
interface Derived {
  value: string;
  source: SourceName | 'generated' | 'STUN' | 'first boot';
}

export async function runFirstboot(options: Partial<FirstbootOptions> = {}): Promise<FirstbootResult> {
  const o: FirstbootOptions = { ...DEFAULTS, ...options };
  let drive: MountedDrive | undefined;
  let driveDir = o.driveDir;
  if (driveDir === undefined) {
    try {
      drive = mountDrive();
      driveDir = drive?.dir;
      if (drive) o.log(`config drive: ${drive.device}`);
    } catch (err) {
      o.log(`config drive: ${(err as Error).message}`);
    }
  }
  try {
    const sources: Partial<Record<SourceName, RawSetting[]>> = {};
    if (driveDir !== undefined && existsSync(join(driveDir, DRIVE_ENV_FILE))) {
      sources['config drive'] = parseEnvFile(readFileSync(join(driveDir, DRIVE_ENV_FILE), 'utf8'), o.log);
    }
    const imported = readCredentials(o.credentialsDir);
    sources.credentials = withDirect(imported, [...readSmbiosCredentials(o.smbiosDir), ...readFwCfgCredentials(o.fwCfgDir)]);
    if (sources.credentials.length > 0) {
      const names = (list: RawSetting[]) => list.map((c) => `portunus.${c.name}`).join(', ');
      const direct = sources.credentials.slice(imported.length);
      o.log(`credentials: ${names(sources.credentials)}${direct.length ? ` (read from SMBIOS or fw_cfg directly, not imported by systemd: ${names(direct)})` : ''}`);
    }
    sources['kernel command line'] = existsSync(o.cmdlineFile) ? parseKernelCmdline(readFileSync(o.cmdlineFile, 'utf8')) : [];
    const { settings: given, problems } = mergeSources(sources);
    problems.forEach(o.log);
    const settings = new Map<string, Setting | Derived>(given);

    settleAdminSecret(settings, o);
    settleTls(settings, o, driveDir);
    await settlePublicAddress(settings, o);

    for (const [key, { source }] of settings) {
      if (!key.startsWith('appliance.')) o.log(`${key}: ${source === 'generated' || source === 'STUN' ? source : `from the ${source}`}`);
    }
    const envFile = renderEnvFile(settings as Map<string, Setting>);
    mkdirSync(o.runDir, { recursive: true, mode: 0o755 });
    const target = join(o.runDir, 'portunus.env');
    writeFileSync(`${target}.tmp`, envFile, { mode: 0o600 });
    renameSync(`${target}.tmp`, target);
    return { settings, envFile };
  } finally {
    drive?.unmount();
  }
}

/** Imported credentials, plus SMBIOS and fw_cfg ones systemd left out (the first of a name wins). */
function withDirect(imported: RawSetting[], direct: RawSetting[]): RawSetting[] {
  const have = new Set(imported.map((c) => c.name));
  return [...imported, ...direct.filter((c) => !have.has(c.name) && have.add(c.name))];
}

function settleAdminSecret(settings: Map<string, Setting | Derived>, o: FirstbootOptions): void {
  if (settings.has('general.admin_secret')) return;
  const file = join(o.stateDir, 'admin_secret');
  const { secret, created } = keptSecret(file);
  settings.set('general.admin_secret', { value: secret, source: 'generated' });
  o.log(`admin secret: none given; ${created ? 'generated a new one' : 'using the one generated on first boot'}, readable by root in ${file}`);
}

/** PEM text as given, or the contents of a file (on the config drive when relative). */
function pemFrom(value: string, driveDir: string | undefined): string {
  if (value.includes('-----BEGIN')) return value.endsWith('\n') ? value : `${value}\n`;
  const rel = normalize(value);
  if (!isAbsolute(rel) && (driveDir === undefined || rel.startsWith('..'))) throw new Error(`no config drive holds ${value}`);
  return readFileSync(isAbsolute(rel) ? rel : join(driveDir as string, rel), 'utf8');
}

function groupId(name: string): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}

/** TLS certificate and key -> files readable by the service, HTTPS and WSS switched on. */
function settleTls(settings: Map<string, Setting | Derived>, o: FirstbootOptions, driveDir: string | undefined): void {
  const cert = settings.get('appliance.tls_cert');
  const key = settings.get('appliance.tls_key');
  if (!cert && !key) return;
  if (!cert || !key) {
    o.log('tls: both tls_cert and tls_key are needed (TLS left off)');
    return;
  }
  let certPem: string;
  let keyPem: string;
  try {
    certPem = pemFrom(cert.value, driveDir);
    keyPem = pemFrom(key.value, driveDir);
  } catch (err) {
    o.log(`tls: ${(err as Error).message} (TLS left off)`);
    return;
  }
  const dir = join(o.stateDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const gid = groupId(o.serviceGroup);
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, certPem, { mode: 0o644 });
  writeFileSync(keyFile, keyPem, { mode: 0o640 });
  if (gid !== undefined && process.getuid?.() === 0) {
    chownSync(dir, 0, gid);
    chownSync(keyFile, 0, gid);
  }
  const derived = (value: string): Derived => ({ value, source: key.source });
  const defaults: Record<string, string> = {
    'http.https': 'true',
    'http.cert_pem': certFile,
    'http.cert_key': keyFile,
    'websockets.wss': 'true',
    'websockets.cert_pem': certFile,
    'websockets.cert_key': keyFile,
  };
  for (const [k, v] of Object.entries(defaults)) if (!settings.has(k)) settings.set(k, derived(v));
  o.log(`tls: certificate and key from the ${key.source}, HTTPS and WSS on`);
}

/**
 * The NAT helper: say what is advertised and why, in the log and (as nat.nat_1_1_origin) in
 * /janus/info; ask STUN only when no address was given.
 */
async function settlePublicAddress(settings: Map<string, Setting | Derived>, o: FirstbootOptions): Promise<void> {
  const say = (why: string, source: Derived['source']): void => {
    o.log(`nat: ${why}`);
    settings.set('nat.nat_1_1_origin', { value: why, source });
  };
  const given = settings.get('nat.nat_1_1_mapping');
  if (given) {
    say(`advertising ${given.value} (nat_1_1_mapping from the ${given.source})`, given.source);
    return;
  }
  const stun = settings.get('appliance.stun_server');
  if (!stun) {
    say('no nat_1_1_mapping and no stun_server given: advertising the interface addresses', 'first boot');
    return;
  }
  try {
    const mapped = await discoverMappedAddress(stun.value, o.stunTimeoutMs);
    settings.set('nat.nat_1_1_mapping', { value: mapped.address, source: 'STUN' });
    say(`advertising ${mapped.address} (no nat_1_1_mapping given; STUN server ${stun.value} saw us as ${mapped.address}:${mapped.port})`, 'STUN');
  } catch (err) {
    say(`${(err as Error).message}; advertising the interface addresses`, 'first boot');
  }
}
