/**
 * Building the configuration. Sources, later wins: schema defaults, the Janus-style files of the
 * configuration folder, PORTUNUS_<GROUP>_<KEY> environment variables, --<group>.<key> CLI overrides.
 */
import { ConfigError } from '../core/errors.ts';
import { coerceOption } from './coerce.ts';
import { readConfigFolder } from './files.ts';
import { createConvict, ENV_PREFIX, OPTION_GROUPS, optionSpec, type OptionGroup } from './schema.ts';
import type { PortunusConfig } from './types.ts';

export interface LoadOptions {
  /** Folder of Janus-style .jcfg files; none = schema defaults only. */
  configDir?: string;
  /** Environment to read PORTUNUS_* variables from (pass process.env explicitly; default none). */
  env?: NodeJS.ProcessEnv;
  /** Overrides keyed "group.key", e.g. { "http.port": "9000" }. */
  cliOverrides?: Record<string, string>;
}

export interface LoadResult {
  config: PortunusConfig;
  /** Unimplemented files and keys that were ignored, each once. */
  warnings: string[];
}

interface Where {
  file?: string;
  line?: number;
  key?: string;
}

/** Env variable -> [group, key] when it names a config group; other PORTUNUS_* names are not ours. */
function parseEnvName(name: string): [OptionGroup, string] | undefined {
  if (!name.startsWith(ENV_PREFIX)) return undefined;
  const rest = name.slice(ENV_PREFIX.length).toLowerCase();
  const cut = rest.indexOf('_');
  const group = (cut < 0 ? rest : rest.slice(0, cut)) as OptionGroup;
  if (!OPTION_GROUPS.includes(group)) return undefined;
  return [group, cut < 0 ? '' : rest.slice(cut + 1)];
}

export function loadConfig(opts: LoadOptions = {}): LoadResult {
  const conf = createConvict();
  const warnings = new Set<string>(); // each once

  const apply = (group: string, key: string, raw: unknown, where: Where, unknown: string) => {
    const spec = optionSpec(group, key);
    if (!spec) throw new ConfigError(unknown, where);
    try {
      conf.set(`${group}.${key}`, coerceOption(spec, raw));
    } catch (err) {
      const option = where.key === `${group}.${key}` ? '' : ` (option ${group}.${key})`;
      throw new ConfigError(`${(err as Error).message}${option}`, where);
    }
  };

  // Kept out of convict: its dotted-path walk breaks on keys like "janus.plugin.echotest".
  let pluginConfigs: PortunusConfig['pluginConfigs'] = {};
  if (opts.configDir !== undefined) {
    const folder = readConfigFolder(opts.configDir, (msg) => warnings.add(msg));
    for (const s of folder.settings) {
      apply(s.group, s.key, s.raw, { file: s.file, line: s.line, key: s.jcfgKey }, 'unknown option');
    }
    pluginConfigs = folder.pluginConfigs;
  }

  for (const [name, value] of Object.entries(opts.env ?? {})) {
    const target = parseEnvName(name);
    if (!target || value === undefined) continue;
    const where = { file: 'environment', key: name };
    apply(target[0], target[1], value, where, `unknown option (expected ${ENV_PREFIX}<GROUP>_<KEY>, see --help)`);
  }

  for (const [flag, value] of Object.entries(opts.cliOverrides ?? {})) {
    const dot = flag.indexOf('.');
    const [group, key] = dot < 0 ? ['', flag] : [flag.slice(0, dot), flag.slice(dot + 1)];
    const where = { file: 'command line', key: `--${flag}` };
    apply(group, key, value, where, 'unknown option (expected --<group>.<key>, see --help)');
  }

  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return { config: { ...conf.getProperties(), pluginConfigs }, warnings: [...warnings] };
}
