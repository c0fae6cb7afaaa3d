/**
 * Janus API session-churn benchmark: Portunus against the real Janus 1.1.2, same machine, same run.
 * One cycle = create, attach, detach, destroy. Server CPU (utime+stime from /proc/<pid>/stat) is read
 * before and after each workload. See bench/README.md.
 *
 *   npm run bench:api -- [--cycles 2000] [--runs 3] [--only janus|portunus]
 */
import { JanusHttpClient, JanusWsClient } from '../../test/helpers/janus-client.ts';
import { startJanus, startPortunus, type Server as BaseServer, type ServerName } from '../servers.ts';
import { CLK_TCK, cpuMs, median, positiveInt, table } from '../stats.ts';

const ECHOTEST = 'janus.plugin.echotest';
const TEST_PLUGIN = 'janus.plugin.portunus.test';
const WARMUP_CYCLES = 200;
const IDLE_MS = 3000;

interface Options {
  cycles: number;
  runs: number;
  only?: ServerName;
}

interface Server extends BaseServer {
  /** The plugin each cycle attaches to. */
  plugin: string;
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

async function startServer(name: ServerName): Promise<Server> {
  if (name === 'janus') return { ...(await startJanus()), plugin: ECHOTEST };
  const s = await startPortunus();
  return { ...s, plugin: s.plugins.has(ECHOTEST) ? ECHOTEST : TEST_PLUGIN };
}

// ---------------------------------------------------------------------------------------------------

interface Sample {
  cpuMs: number;
  wallMs: number;
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

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const names: ServerName[] = opts.only ? [opts.only] : ['portunus', 'janus'];
  const servers: Server[] = [];
  try {
    for (const n of names) servers.push(await startServer(n));
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
            `run ${run + 1} ${w.name.padEnd(15)} ${s.name.padEnd(8)} cpu ${sample.cpuMs.toFixed(0)} ms, wall ${sample.wallMs.toFixed(0)} ms\n`,
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
    process.stdout.write(`\nmedian of ${opts.runs} runs, per 1000 cycles (create, attach, detach, destroy)\n`);
    process.stdout.write(`${table(header, rows)}\n`);
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:api failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
