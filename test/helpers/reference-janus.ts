/**
 * Start and stop the real Janus Gateway 1.1.2 (Debian package `janus`) on 127.0.0.1 through
 * ../shared/tools/reference-janus/start, for differential tests and benchmarks. Its admin API is on
 * HTTP with admin_secret "refsecret". Throws when the script or Janus is unavailable: callers that need
 * the reference should fail, not skip (scripts/install-test-deps.sh installs `janus`).
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REFERENCE_START_SCRIPT = resolve(PROJECT_ROOT, '../shared/tools/reference-janus/start');
export const REFERENCE_ADMIN_SECRET = 'refsecret';

export interface ReferenceJanus {
  /** Janus API over HTTP, e.g. http://127.0.0.1:PORT/janus */
  httpUrl: string;
  /** Janus API over WebSocket (subprotocol janus-protocol), e.g. ws://127.0.0.1:PORT */
  wsUrl: string;
  /** Admin API over HTTP, e.g. http://127.0.0.1:PORT/admin */
  adminUrl: string;
  pid: number;
  /** Working folder: generated config and janus.log. */
  dir: string;
  /** Kill Janus (SIGTERM, then SIGKILL after a grace period), wait for it to exit, remove the folder. */
  stop(): Promise<void>;
}

export interface StartReferenceOptions {
  /** Keep the working folder after stop() (for reading janus.log). */
  keepDir?: boolean;
  /** Milliseconds to wait for the start script and the listeners (default 30 s). */
  timeoutMs?: number;
  /**
   * Settings to put in the `general` block of plugin files, e.g.
   * `{ 'janus.plugin.sip.jcfg': { local_ip: '127.0.0.1' } }` (values are written as strings). The
   * start script knows only the core files, so Janus is started by it, stopped, given these settings
   * and started again the way the script starts it. Plugins that bind plain RTP or SIP sockets guess
   * the host's external address by default; pinning them to 127.0.0.1 keeps benches on loopback.
   */
  pluginSettings?: Record<string, Record<string, string>>;
}

/** Sets `key = "value"` in the general block of a .jcfg file (replacing a line that sets the key). */
function setGeneral(file: string, settings: Record<string, string>): void {
  let text = readFileSync(file, 'utf8');
  for (const [key, value] of Object.entries(settings)) {
    const line = `\t${key} = ${JSON.stringify(value)}`;
    const existing = new RegExp(`^\\s*${key}\\s*=.*$`, 'm');
    if (existing.test(text)) text = text.replace(existing, line);
    else if (/^general\s*:\s*\{/m.test(text)) text = text.replace(/^general\s*:\s*\{/m, (m) => `${m}\n${line}`);
    else text = `general: {\n${line}\n}\n${text}`;
  }
  writeFileSync(file, text);
}

/** Starts Janus as the start script does (LD_PRELOAD shim, its conf folder, log to janus.log); the PID. */
function launchJanus(dir: string): number {
  const log = openSync(join(dir, 'janus.log'), 'a');
  const child = spawn('janus', ['-C', join(dir, 'conf/janus.jcfg'), '-F', join(dir, 'conf'), '-o'], {
    cwd: dir, detached: true, stdio: ['ignore', log, log], env: { ...process.env, LD_PRELOAD: join(dir, 'shim.so') },
  });
  child.unref();
  closeSync(log);
  if (!child.pid) throw new Error('could not spawn janus');
  writeFileSync(join(dir, 'janus.pid'), `${child.pid}\n`);
  return child.pid;
}

/** `count` distinct free TCP ports on 127.0.0.1, found by binding port 0 and releasing. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((ok, fail) => {
        s.once('error', fail);
        s.listen(0, '127.0.0.1', () => ok());
      });
    }
    return servers.map((s) => {
      const addr = s.address();
      if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
      return addr.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  }
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    execFile(cmd, args, { timeout: timeoutMs, cwd: PROJECT_ROOT }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${cmd} failed: ${err.message}\n${stderr}`));
      else ok({ stdout, stderr });
    });
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      ok(true);
    });
    sock.once('error', () => ok(false));
  });
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Alive unless gone or a zombie (Janus is reparented away from us, so we cannot wait() for it). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!processAlive(pid)) return true;
    await sleep(50);
  }
  return !processAlive(pid);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export async function startReferenceJanus(opts: StartReferenceOptions = {}): Promise<ReferenceJanus> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (!existsSync(REFERENCE_START_SCRIPT)) {
    throw new Error(`reference Janus start script not found at ${REFERENCE_START_SCRIPT}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'portunus-refjanus-'));
  const [http, ws, admin] = await freePorts(3);
  // RTP ports are only bound per PeerConnection; a random 200-port window keeps parallel runs apart.
  const rtpBase = 20000 + 200 * Math.floor(Math.random() * 150);
  const rtp = `${rtpBase}-${rtpBase + 199}`;
  let pid = 0;
  try {
    const { stdout } = await run(REFERENCE_START_SCRIPT, [dir, String(http), String(ws), String(admin), rtp], timeoutMs);
    pid = Number.parseInt(stdout.trim().split('\n').pop() ?? '', 10);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`start script printed no PID: ${JSON.stringify(stdout)}`);
    if (opts.pluginSettings) {
      const started = Date.now();
      signal(pid, 'SIGTERM');
      if (!(await waitExit(pid, 8000))) signal(pid, 'SIGKILL');
      await waitExit(pid, 5000);
      for (const [file, settings] of Object.entries(opts.pluginSettings)) setGeneral(join(dir, 'conf', file), settings);
      pid = launchJanus(dir);
      while (!(await tcpOpen(http))) {
        if (!processAlive(pid)) throw new Error('reference Janus exited on restart');
        if (Date.now() > started + timeoutMs) throw new Error('reference Janus did not answer after its restart');
        await sleep(50);
      }
    }
    // The script waits for HTTP only; the WebSocket and admin listeners may come up a moment later.
    const end = Date.now() + timeoutMs;
    for (const port of [ws, admin]) {
      while (!(await tcpOpen(port))) {
        if (!processAlive(pid)) throw new Error('reference Janus exited during start-up');
        if (Date.now() > end) throw new Error(`reference Janus: port ${port} did not open`);
        await sleep(50);
      }
    }
  } catch (err) {
    if (pid > 0) {
      signal(pid, 'SIGKILL');
      await waitExit(pid, 5000);
    }
    let log = '';
    try {
      log = readFileSync(join(dir, 'janus.log'), 'utf8').slice(-4000);
    } catch {
      // no log yet
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start the reference Janus: ${(err as Error).message}${log ? `\n--- janus.log (tail) ---\n${log}` : ''}`);
  }

  let stopped: Promise<void> | undefined;
  return {
    httpUrl: `http://127.0.0.1:${http}/janus`,
    wsUrl: `ws://127.0.0.1:${ws}`,
    adminUrl: `http://127.0.0.1:${admin}/admin`,
    pid,
    dir,
    stop() {
      stopped ??= (async () => {
        signal(pid, 'SIGTERM');
        if (!(await waitExit(pid, 8000))) {
          signal(pid, 'SIGKILL');
          await waitExit(pid, 5000);
        }
        if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
