/**
 * Janus API session-churn benchmark: Portunus against the real Janus 1.1.2, same machine, same run.
 * One cycle = create, attach, detach, destroy. Server CPU (utime+stime from /proc/<pid>/stat) is read
 * before and after each workload. See bench/README.md.
 *
 *   npm run bench:api -- [--cycles 2000] [--runs 3] [--only janus|portunus]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JanusHttpClient, JanusWsClient } from '../../test/helpers/janus-client.ts';
import { freePorts, startReferenceJanus } from '../../test/helpers/reference-janus.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ECHOTEST = 'janus.plugin.echotest';
const TEST_PLUGIN = 'janus.plugin.portunus.test';
const WARMUP_CYCLES = 200;
const IDLE_MS = 3000;

type ServerName = 'portunus' | 'janus';

interface Options {
  cycles: number;
  runs: number;
  only?: ServerName;
}

interface Server {
  name: ServerName;
  pid: number;
  httpUrl: string;
  wsUrl: string;
  plugin: string;
  stop(): Promise<void>;
}

interface Workload {
  name: string;
  run(server: Server, cycles: number): Promise<void>;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { cycles: 2000, runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--cycles') opts.cycles = positiveInt(flag, value());
    else if (flag === '--runs') opts.runs = positiveInt(flag, value());
    else if (flag === '--only') {
      const v = value();
      if (v !== 'janus' && v !== 'portunus') throw new Error('--only takes janus or portunus');
      opts.only = v;
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write('usage: tsx bench/api/run.ts [--cycles N] [--runs N] [--only janus|portunus]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

function positiveInt(flag: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer`);
  return n;
}

// ---------------------------------------------------------------------------------------------------
// CPU accounting

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of a process (all its threads), in milliseconds. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

// ---------------------------------------------------------------------------------------------------
// Workloads

async function wsCycles(url: string, plugin: string, cycles: number): Promise<void> {
  const c = await JanusWsClient.connect(url);
  try {
    for (let i = 0; i < cycles; i++) {
      const sid = await c.createSession();
      const hid = await c.attach(sid, plugin);
      await c.detach(sid, hid);
      await c.destroy(sid);
      c.clear(); // `detached` events and replies are not kept
    }
  } finally {
    await c.close();
  }
}

async function httpCycles(url: string, plugin: string, cycles: number): Promise<void> {
  const c = new JanusHttpClient(url);
  for (let i = 0; i < cycles; i++) {
    const sid = await c.createSession();
    const hid = await c.attach(sid, plugin);
    await c.detach(sid, hid);
    await c.destroy(sid);
  }
}

function share(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

const WORKLOADS: Workload[] = [
  { name: 'ws, 1 client', run: (s, n) => wsCycles(s.wsUrl, s.plugin, n) },
  {
    name: 'ws, 16 clients',
    run: async (s, n) => {
      await Promise.all(share(n, 16).map((k) => wsCycles(s.wsUrl, s.plugin, k)));
    },
  },
  { name: 'http, 1 client', run: (s, n) => httpCycles(s.httpUrl, s.plugin, n) },
];

// ---------------------------------------------------------------------------------------------------
// Servers

async function startJanus(): Promise<Server> {
  const ref = await startReferenceJanus();
  return { name: 'janus', pid: ref.pid, httpUrl: ref.httpUrl, wsUrl: ref.wsUrl, plugin: ECHOTEST, stop: ref.stop };
}

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

async function startPortunus(): Promise<Server> {
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
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', fd, fd] });
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
    const plugin = info?.plugins?.[ECHOTEST] ? ECHOTEST : TEST_PLUGIN;
    if (child.pid === undefined) throw new Error('no pid');
    return { name: 'portunus', pid: child.pid, httpUrl, wsUrl: `ws://127.0.0.1:${ws}`, plugin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------

interface Sample {
  cpuMs: number;
  wallMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function measure(server: Server, w: Workload, cycles: number): Promise<Sample> {
  const cpu0 = cpuMs(server.pid);
  const t0 = performance.now();
  await w.run(server, cycles);
  const wallMs = performance.now() - t0;
  // Let the server finish work queued behind the last reply (e.g. handle clean-up) before reading.
  await new Promise((ok) => setTimeout(ok, 100));
  return { cpuMs: cpuMs(server.pid) - cpu0, wallMs };
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const names: ServerName[] = opts.only ? [opts.only] : ['portunus', 'janus'];
  const servers: Server[] = [];
  try {
    for (const n of names) servers.push(n === 'janus' ? await startJanus() : await startPortunus());
    for (const s of servers) {
      process.stdout.write(`${s.name}: pid ${s.pid}, plugin ${s.plugin}, ${s.httpUrl}, ${s.wsUrl}\n`);
      await wsCycles(s.wsUrl, s.plugin, WARMUP_CYCLES);
    }
    // Idle cost, to read the wall-time-bound part of the numbers below (timers, event-loop polling).
    const idle0 = servers.map((s) => cpuMs(s.pid));
    await new Promise((ok) => setTimeout(ok, IDLE_MS));
    servers.forEach((s, i) => {
      const perSec = ((cpuMs(s.pid) - idle0[i]) * 1000) / IDLE_MS;
      process.stdout.write(`${s.name}: idle CPU ${perSec.toFixed(1)} ms per second\n`);
    });
    process.stdout.write(`cycles per workload: ${opts.cycles}, runs: ${opts.runs}, CLK_TCK ${CLK_TCK}\n`);

    const samples = new Map<string, Sample[]>();
    for (let run = 0; run < opts.runs; run++) {
      // Alternate which server goes first, so drift on a shared machine hits both alike.
      const order = run % 2 === 0 ? servers : [...servers].reverse();
      for (const w of WORKLOADS) {
        for (const s of order) {
          const sample = await measure(s, w, opts.cycles);
          const key = `${w.name}|${s.name}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
          process.stdout.write(
            `run ${run + 1} ${pad(w.name, 15)} ${pad(s.name, 8)} cpu ${sample.cpuMs.toFixed(0)} ms, wall ${sample.wallMs.toFixed(0)} ms\n`,
          );
        }
      }
    }

    const per1000 = (key: string, f: (x: Sample) => number) => {
      const xs = samples.get(key);
      return xs ? median(xs.map(f)) * (1000 / opts.cycles) : undefined;
    };
    const fmt = (x: number | undefined, digits = 0) => (x === undefined ? '-' : x.toFixed(digits));
    const header = ['workload', 'Portunus CPU-ms/1000', 'Janus CPU-ms/1000', 'ratio P/J', 'Portunus wall-ms/1000', 'Janus wall-ms/1000'];
    const rows = WORKLOADS.map((w) => {
      const p = per1000(`${w.name}|portunus`, (x) => x.cpuMs);
      const j = per1000(`${w.name}|janus`, (x) => x.cpuMs);
      return [
        w.name,
        fmt(p),
        fmt(j),
        p !== undefined && j !== undefined && j > 0 ? fmt(p / j, 2) : '-',
        fmt(per1000(`${w.name}|portunus`, (x) => x.wallMs)),
        fmt(per1000(`${w.name}|janus`, (x) => x.wallMs)),
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => pad(c, widths[i], i > 0)).join(' | ')} |`;
    process.stdout.write(`\nmedian of ${opts.runs} runs, per 1000 cycles (create, attach, detach, destroy)\n`);
    process.stdout.write(`${line(header)}\n|${widths.map((n) => '-'.repeat(n + 2)).join('|')}|\n`);
    for (const r of rows) process.stdout.write(`${line(r)}\n`);
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:api failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
