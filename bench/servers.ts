/**
 * The two servers the benchmarks compare, each in its own process on 127.0.0.1 with free ports:
 * the reference Janus 1.1.2 (test/helpers/reference-janus.ts) and Portunus (`node bin/portunus.js`
 * with CLI overrides, output to a log file in a temp dir). See bench/README.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, startReferenceJanus, type StartReferenceOptions } from '../test/helpers/reference-janus.ts';

/** The project root, where `bin/portunus.js` is. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export type ServerName = 'portunus' | 'janus';

export interface Server {
  name: ServerName;
  pid: number;
  /** Janus API over HTTP, e.g. `http://127.0.0.1:8088/janus`. */
  httpUrl: string;
  wsUrl: string;
  /** Ends the server (SIGTERM, then SIGKILL after 5 s) and removes its files. */
  stop(): Promise<void>;
}

export interface PortunusServer extends Server {
  /** Plugin package names from the `/info` reply. */
  plugins: ReadonlySet<string>;
}

export interface PortunusOptions {
  /** CLI flags after the defaults, e.g. `['--nat.ice_enforce_list', 'lo']`. */
  extraArgs?: readonly string[];
  /** Plugins Portunus must have; start-up fails (and stops the server) without them. */
  requirePlugins?: readonly string[];
}

export async function startJanus(opts: StartReferenceOptions = {}): Promise<Server> {
  const ref = await startReferenceJanus(opts);
  return { name: 'janus', pid: ref.pid, httpUrl: ref.httpUrl, wsUrl: ref.wsUrl, stop: ref.stop };
}

/** Polls `/info` until Portunus answers (30 s at most); the reply. */
async function waitReady(httpUrl: string, child: ChildProcess, logFile: string): Promise<any> {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${httpUrl}/info`);
      if (res.ok) return await res.json();
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  let log = '';
  try {
    log = readFileSync(logFile, 'utf8').slice(-3000);
  } catch {
    // none
  }
  throw new Error(`Portunus did not come up (exit code ${child.exitCode})\n${log}`);
}

export async function startPortunus(opts: PortunusOptions = {}): Promise<PortunusServer> {
  const [http, ws] = await freePorts(2);
  const dir = mkdtempSync(join(tmpdir(), 'portunus-bench-'));
  const logFile = join(dir, 'portunus.log');
  const fd = openSync(logFile, 'w');
  const args = [
    'bin/portunus.js',
    '--general.debug_level', '3', // warnings only, like the reference Janus
    '--http.ip', '127.0.0.1', '--http.port', String(http), '--http.demos', 'false',
    '--http.admin_http', 'false', '--http.https', 'false',
    '--websockets.ws_ip', '127.0.0.1', '--websockets.ws_port', String(ws),
    '--websockets.wss', 'false', '--websockets.admin_ws', 'false',
    ...(opts.extraArgs ?? []),
  ];
  // PORTUNUS_NODE_ARGS: extra node/V8 flags for an A/B run, e.g. "--trace-gc".
  const nodeArgs = (process.env.PORTUNUS_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: ROOT, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const httpUrl = `http://127.0.0.1:${http}/janus`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const info = await waitReady(httpUrl, child, logFile);
    const plugins = new Set(Object.keys(info?.plugins ?? {}));
    for (const p of opts.requirePlugins ?? []) {
      if (!plugins.has(p)) throw new Error(`Portunus has no ${p}`);
    }
    if (child.pid === undefined) throw new Error('no pid');
    return { name: 'portunus', pid: child.pid, httpUrl, wsUrl: `ws://127.0.0.1:${ws}`, plugins, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
