/**
 * Reading a Janus-style configuration folder: janus.jcfg, the HTTP and WebSocket transport files and
 * the plugin files. Files and keys Portunus does not implement become warnings, so a stock Janus
 * folder loads unchanged; values are returned raw, with the file and line they came from.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { parseJcfgWithLines, type JcfgGroup, type JcfgParseResult } from './jcfg.ts';
import { optionSpec, type OptionGroup } from './schema.ts';

/** One option value found in a file. */
export interface FileSetting {
  group: OptionGroup;
  key: string;
  raw: unknown;
  file: string;
  line: number | undefined;
  /** The key as written in the file, e.g. "admin.admin_port". */
  jcfgKey: string;
}

export interface ConfigFolder {
  settings: FileSetting[];
  pluginConfigs: Record<string, Record<string, unknown>>;
}

const CORE_GROUPS = ['general', 'certificates', 'media', 'nat', 'plugins', 'transports', 'loggers', 'events'];
const TRANSPORT_FILES: Record<string, OptionGroup> = {
  'janus.transport.http.jcfg': 'http',
  'janus.transport.websockets.jcfg': 'websockets',
};
const TRANSPORT_SECTIONS = ['general', 'admin', 'cors', 'certificates'];

function isGroup(v: unknown): v is JcfgGroup {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseFile(file: string): JcfgParseResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read: ${(err as Error).message}`, { file });
  }
  return parseJcfgWithLines(text, file);
}

/**
 * Walk `parsed` group by group. `target(section, key)` names the option a key sets, or returns a
 * reason to ignore it (a warning).
 */
function collect(
  file: string,
  parsed: JcfgParseResult,
  sections: string[],
  target: (section: string, key: string) => { group: OptionGroup; key: string } | string,
  out: FileSetting[],
  warn: (msg: string) => void,
): void {
  for (const [section, body] of Object.entries(parsed.value)) {
    const line = parsed.lines.get(section);
    if (!sections.includes(section)) {
      warn(`${file} line ${line}: unknown group '${section}' ignored`);
      continue;
    }
    if (!isGroup(body)) throw new ConfigError('expected a group { ... }', { file, line, key: section });
    for (const [key, raw] of Object.entries(body)) {
      const jcfgKey = `${section}.${key}`;
      const keyLine = parsed.lines.get(jcfgKey);
      const t = target(section, key);
      if (typeof t === 'string') warn(`${file} line ${keyLine}: '${jcfgKey}' ${t}`);
      else out.push({ ...t, raw, file, line: keyLine, jcfgKey });
    }
  }
}

function coreTarget(section: string, key: string) {
  const group = section as OptionGroup;
  return optionSpec(group, key) ? { group, key } : 'is not implemented by Portunus, ignored';
}

function transportTarget(group: OptionGroup) {
  return (section: string, key: string) => {
    const spec = optionSpec(group, key);
    if (!spec) return 'is not implemented by Portunus, ignored';
    // Janus reads each key from one group only.
    if (spec.section !== section) return `belongs in group '${spec.section}', ignored here`;
    return { group, key };
  };
}

/** Read every Janus configuration file in `dir`. */
export function readConfigFolder(dir: string, warn: (msg: string) => void): ConfigFolder {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    throw new ConfigError(`cannot read the configuration folder: ${(err as Error).message}`, { file: dir });
  }
  const out: ConfigFolder = { settings: [], pluginConfigs: {} };
  for (const name of names) {
    const file = join(dir, name);
    const plugin = /^(janus\.plugin\.[^/]+)\.jcfg$/.exec(name);
    const other = /^janus\.(transport|eventhandler|logger)\.([^/]+)\.jcfg$/.exec(name);
    if (name === 'janus.jcfg') {
      collect(file, parseFile(file), CORE_GROUPS, coreTarget, out.settings, warn);
    } else if (Object.hasOwn(TRANSPORT_FILES, name)) {
      collect(file, parseFile(file), TRANSPORT_SECTIONS, transportTarget(TRANSPORT_FILES[name]), out.settings, warn);
    } else if (plugin) {
      out.pluginConfigs[plugin[1]] = parseFile(file).value;
    } else if (other) {
      warn(`${file}: Portunus has no ${other[1]} '${other[2]}', file ignored`);
    } else if (name.endsWith('.jcfg')) {
      warn(`${file}: unknown configuration file ignored`);
    } else if (/^janus\..*\.cfg$|^janus\.cfg$/.test(name)) {
      warn(`${file}: legacy INI .cfg files are not read (use .jcfg), file ignored`);
    }
  }
  return out;
}
