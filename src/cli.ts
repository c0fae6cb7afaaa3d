/**
 * The `portunus` command: parse flags, load the configuration, start the server, stop on SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig } from './config/load.ts';
import { envName, listOptions } from './config/schema.ts';
import type { GeneralConfig, PortunusConfig } from './config/types.ts';
import { ConfigError } from './core/errors.ts';
import { createLogger, pinoLevelFor, type Logger } from './core/log.ts';

/** The folder of default .jcfg files shipped with Portunus. */
export const DEFAULT_CONFIG_DIR = fileURLToPath(new URL('../config/', import.meta.url));

export interface CliArgs {
  help: boolean;
  version: boolean;
  configDir: string;
  overrides: Record<string, string>;
}

/** Parse argv (without node and script). Throws ConfigError on a malformed flag. */
export function parseCliArgs(argv: string[]): CliArgs {
  const args: CliArgs = { help: false, version: false, configDir: DEFAULT_CONFIG_DIR, overrides: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--version' || arg === '-v' || arg === '-V') args.version = true;
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      let value = eq < 0 ? undefined : arg.slice(eq + 1);
      if (value === undefined) {
        // A flag with no value is a boolean switch (`--http.https`).
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('--')) value = argv[++i];
      }
      if (name === 'config-dir') {
        if (!value) throw new ConfigError('--config-dir needs a folder');
        args.configDir = value;
      } else if (name.includes('.')) {
        args.overrides[name] = value ?? 'true';
      } else {
        throw new ConfigError(`unknown flag --${name} (see --help)`);
      }
    } else {
      throw new ConfigError(`unexpected argument '${arg}' (see --help)`);
    }
  }
  return args;
}

/** Logger honouring debug_level, log_to_stdout and log_to_file. */
function makeLogger(general: GeneralConfig): Logger {
  const level = pinoLevelFor(general.debug_level);
  const streams: pino.StreamEntry[] = [];
  if (general.log_to_stdout) streams.push({ level: level as pino.Level, stream: pino.destination(1) });
  if (general.log_to_file) streams.push({ level: level as pino.Level, stream: pino.destination({ dest: general.log_to_file, mkdir: true }) });
  if (level === 'silent' || streams.length === 0) return createLogger(0);
  return createLogger(general.debug_level, pino.multistream(streams));
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function helpText(): string {
  const lines = [
    'Usage: portunus [--config-dir DIR] [--<group>.<key> VALUE ...]',
    '',
    'A WebRTC gateway speaking the Janus API.',
    '',
    '  --config-dir DIR   folder of Janus-style files (janus.jcfg, janus.transport.http.jcfg,',
    '                     janus.transport.websockets.jcfg, janus.plugin.*.jcfg); a stock',
    `                     /etc/janus works. Default: ${DEFAULT_CONFIG_DIR}`,
    '  --help, -h         show this help',
    '  --version, -v      print the version',
    '',
    'Every option below can also be set by the environment variable PORTUNUS_<GROUP>_<KEY>',
    '(e.g. PORTUNUS_HTTP_PORT=9000). Precedence, later wins: defaults, config files,',
    'environment, command line. Flags take --name=value or --name value; a boolean flag alone',
    'means true. Booleans accept true/false, yes/no, 1/0; lists are comma-separated.',
    '',
    'Options:',
  ];
  for (const { group, key, spec } of listOptions()) {
    const def = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
    lines.push(`  --${group}.${key} <${spec.values ? spec.values.join('|') : spec.kind}>  [${envName(group, key)}] default: ${typeof spec.default === 'string' ? JSON.stringify(def) : def}`);
    lines.push(`      ${spec.doc}`);
  }
  return lines.join('\n');
}

/**
 * Run the command. Resolves with an exit code when it has finished (help, version, bad
 * configuration), or with null once the server is running.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number | null> {
  let config: PortunusConfig;
  let warnings: string[];
  try {
    const args = parseCliArgs(argv);
    if (args.help) {
      process.stdout.write(`${helpText()}\n`);
      return 0;
    }
    if (args.version) {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    ({ config, warnings } = loadConfig({ configDir: args.configDir, env, cliOverrides: args.overrides }));
    // Plugins that write their configuration back (VideoRoom permanent rooms) need to know where it is.
    if (!config.general.configs_folder) config.general.configs_folder = args.configDir;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`portunus: configuration error: ${err.message}\n`);
    return 1;
  }

  const logger = makeLogger(config.general);
  // Loaded only now, so --help and --version do not pay for the whole server.
  const { startServer } = await import('./server.ts');
  const started = startServer(config, { logger, warnings }); // it logs the warnings

  // Installed before start-up completes, so an early signal still closes what was opened.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1); // a second signal: give up waiting
    stopping = true;
    logger.info(`${signal} received, shutting down`);
    started.then((server) => server.close()).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    await started;
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    process.exit(1); // listeners opened before the failure would keep the process alive
  }
  return null;
}
