/**
 * Reading the three first-boot sources into raw name/value pairs (names checked later, in settings.ts):
 * - the config drive's env file: KEY=VALUE lines, '#' comments, optional single or double quotes;
 * - systemd credentials: one file per setting, named "portunus.<setting>" (SMBIOS type 11
 *   "io.systemd.credential:portunus.admin_secret=...", qemu fw_cfg, systemd.set_credential=, nspawn
 *   --set-credential all land in the system credentials folder);
 * - the kernel command line: "portunus.<setting>=<value>" words.
 * SMBIOS type 11 strings are also read straight from /sys/firmware/dmi/entries: systemd 252 (bookworm)
 * does not always import them (measured in the boot test), and the format is systemd's documented one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RawSetting } from './settings.ts';

const PREFIX = 'portunus.';

/** KEY=VALUE lines of an env file. Malformed lines are reported through `problem`. */
export function parseEnvFile(text: string, problem: (msg: string) => void = () => {}): RawSetting[] {
  const out: RawSetting[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(t);
    if (!m) {
      problem(`env file line ${i + 1}: not KEY=VALUE (ignored)`);
      return;
    }
    out.push({ name: m[1], value: unquote(m[2]) });
  });
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v;
}

/**
 * "portunus.<setting>=<value>" words of a kernel command line. Values may be double-quoted to hold
 * spaces, as the kernel allows ("portunus.nat_1_1_mapping=\"1.2.3.4,5.6.7.8\"").
 */
export function parseKernelCmdline(cmdline: string): RawSetting[] {
  const out: RawSetting[] = [];
  const words = cmdline.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
  for (const word of words) {
    if (!word.startsWith(PREFIX)) continue;
    const eq = word.indexOf('=');
    if (eq < 0) continue;
    out.push({ name: word.slice(PREFIX.length, eq), value: word.slice(eq + 1).replace(/"/g, '') });
  }
  return out;
}

/**
 * Credentials named "portunus.<setting>" in a credentials folder (missing folder = none). One trailing
 * newline is dropped: `echo secret > file` is the usual way to write one.
 */
export function readCredentials(dir: string): RawSetting[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(PREFIX))
    .sort()
    .map((n) => ({ name: n.slice(PREFIX.length), value: readFileSync(join(dir, n), 'utf8').replace(/\r?\n$/, '') }));
}

const SMBIOS_TEXT = 'io.systemd.credential:';
const SMBIOS_BINARY = 'io.systemd.credential.binary:';

/**
 * Credentials in one SMBIOS type 11 (OEM strings) structure as the kernel exposes it (the formatted
 * area, then NUL-terminated strings ending with an empty one): "io.systemd.credential:NAME=VALUE" and
 * "io.systemd.credential.binary:NAME=BASE64", portunus.* names only. Never throws.
 */
export function parseSmbiosType11(raw: Buffer): RawSetting[] {
  if (raw.length < 5 || raw[0] !== 11) return [];
  const out: RawSetting[] = [];
  const strings = raw.subarray(Math.min(raw[1], raw.length)).toString('latin1').split('\0');
  for (const str of strings) {
    const binary = str.startsWith(SMBIOS_BINARY);
    if (!binary && !str.startsWith(SMBIOS_TEXT)) continue;
    const body = str.slice(binary ? SMBIOS_BINARY.length : SMBIOS_TEXT.length);
    const eq = body.indexOf('=');
    if (eq < 0 || !body.startsWith(PREFIX)) continue;
    const value = binary ? Buffer.from(body.slice(eq + 1), 'base64').toString('utf8') : Buffer.from(body.slice(eq + 1), 'latin1').toString('utf8');
    out.push({ name: body.slice(PREFIX.length, eq), value });
  }
  return out;
}

/**
 * Credentials passed with qemu's `-fw_cfg name=opt/io.systemd.credentials/portunus.<setting>,...`,
 * read from the qemu_fw_cfg sysfs folder (one folder per item, its bytes in `raw`). Like SMBIOS,
 * read directly because systemd 252 does not always import them.
 */
export function readFwCfgCredentials(dir = '/sys/firmware/qemu_fw_cfg/by_name/opt/io.systemd.credentials'): RawSetting[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(PREFIX) && n.length > PREFIX.length);
  } catch {
    return [];
  }
  return names.sort().flatMap((n) => {
    try {
      return [{ name: n.slice(PREFIX.length), value: readFileSync(join(dir, n, 'raw'), 'utf8').replace(/\r?\n$/, '') }];
    } catch {
      return [];
    }
  });
}

/** Every SMBIOS type 11 structure under `dir` (entries named 11-N, each with a raw file). */
export function readSmbiosCredentials(dir = '/sys/firmware/dmi/entries'): RawSetting[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^11-\d+$/.test(n));
  } catch {
    return [];
  }
  return names.sort().flatMap((n) => {
    try {
      return parseSmbiosType11(readFileSync(join(dir, n, 'raw')));
    } catch {
      return [];
    }
  });
}
