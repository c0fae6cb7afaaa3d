/**
 * EchoTest media benchmark: M concurrent werift peers streaming Opus + VP8 through janus.plugin.echotest,
 * Portunus against the real Janus 1.1.2, same machine, same run. Measures server CPU (utime+stime from
 * /proc/<pid>/stat) per 100k echoed packets over the streaming window, and server CPU per peer set-up
 * (create, attach, offer/answer, ICE+DTLS connect). The peers run in a separate client process
 * (bench/echo/client.ts), one per measurement. See bench/README.md.
 *
 *   npm run bench:echo -- [--peers 5,20] [--seconds 10] [--runs 5] [--video-packets 2]
 *                         [--idle-seconds 2] [--only janus|portunus] [--warmup-rounds 10] [--no-warmup]
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, startJanus, startPortunus, type Server, type ServerName } from '../servers.ts';
import { CLK_TCK, cpuMs, median, positiveInt, table } from '../stats.ts';
import type { ClientJob, ClientMessage, ClientResult } from './common.ts';

const CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'client.ts');
const ECHOTEST = 'janus.plugin.echotest';
const IDLE_MS = 3000;
const SETTLE_MS = 1500; // after a client process exits, before the next measurement
const DRAIN_MS = 500;
/**
 * Warm-up rounds set up as many peers as the largest measured M (set-up code is JIT-compiled too);
 * 2 s of media each is plenty for the per-packet path (thousands of calls per second).
 */
const WARMUP_SECONDS = 2;
/** 127.0.0.1 candidates, like the reference Janus with its shim. */
const PORTUNUS_ARGS = ['--nat.ice_enforce_list', 'lo'];

interface Options {
  peers: number[];
  seconds: number;
  runs: number;
  videoPackets: number;
  idleSeconds: number;
  warmupRounds: number;
  only?: ServerName;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { peers: [5, 20], seconds: 10, runs: 5, videoPackets: 2, idleSeconds: 2, warmupRounds: 10 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--peers') opts.peers = (value() ?? '').split(',').map((s) => positiveInt(flag, s.trim()));
    else if (flag === '--seconds') opts.seconds = positiveInt(flag, value());
    else if (flag === '--runs') opts.runs = positiveInt(flag, value());
    else if (flag === '--video-packets') opts.videoPackets = positiveInt(flag, value());
    else if (flag === '--idle-seconds') {
      opts.idleSeconds = Number(value());
      if (!(opts.idleSeconds >= 0)) throw new Error('--idle-seconds needs a number >= 0');
    }
    else if (flag === '--no-warmup') opts.warmupRounds = 0;
    else if (flag === '--warmup-rounds') {
      opts.warmupRounds = Number(value());
      if (!Number.isInteger(opts.warmupRounds) || opts.warmupRounds < 0) throw new Error('--warmup-rounds needs an integer >= 0');
    }
    else if (flag === '--only') {
      const v = value();
      if (v !== 'janus' && v !== 'portunus') throw new Error('--only takes janus or portunus');
      opts.only = v;
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(
        'usage: tsx bench/echo/run.ts [--peers 5,20] [--seconds 10] [--runs 5] [--video-packets 2] [--idle-seconds 2] [--only janus|portunus] [--warmup-rounds 10] [--no-warmup]\n',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------------
// One measurement = one client process: set up M peers, stream, report, tear down.

function runClient(server: Server, peers: number, seconds: number, opts: Options): Promise<ClientResult> {
  const job: ClientJob = {
    wsUrl: server.wsUrl, serverPid: server.pid, peers, seconds,
    videoPackets: opts.videoPackets, drainMs: DRAIN_MS, idleMs: opts.idleSeconds * 1000,
  };
  return new Promise((ok, fail) => {
    const child = fork(CLIENT, [JSON.stringify(job)], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let msg: ClientMessage | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + opts.idleSeconds + 120) * 1000);
    child.on('message', (m) => {
      msg = m as ClientMessage;
    });
    child.once('error', fail);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (msg?.type === 'result') ok(msg);
      else if (msg?.type === 'error') fail(new Error(`${server.name}, ${peers} peers: ${msg.message}`));
      else fail(new Error(`${server.name}, ${peers} peers: client exited (${code ?? sig}) without a result`));
    });
  });
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

interface Sample {
  /** Server CPU-seconds per 100k echoed packets. */
  cpuPer100k: number;
  setupMsPerPeer: number;
  sent: number;
  echoed: number;
  lossPct: number;
  serverPct: number;
  clientPct: number;
  machinePct: number;
  setupWallMs: number;
  /** Server CPU with the peers connected and no media, ms per second. */
  idleMsPerS: number;
  /** Set-up attempts that failed and were retried (their CPU is in the set-up figure). */
  setupRetries: number;
}

function toSample(r: ClientResult, peers: number): Sample {
  const s = r.stream;
  const sent = s.sent.audio + s.sent.video;
  const echoed = s.echoed.audio + s.echoed.video;
  return {
    cpuPer100k: echoed > 0 ? (s.serverCpuMs / 1000 / echoed) * 100_000 : Number.NaN,
    setupMsPerPeer: r.setup.serverCpuMs / peers,
    sent,
    echoed,
    lossPct: sent > 0 ? ((sent - echoed) / sent) * 100 : Number.NaN,
    serverPct: (s.serverCpuMs / s.wallMs) * 100,
    clientPct: (s.clientCpuMs / s.wallMs) * 100,
    machinePct: s.machineBusy * 100,
    setupWallMs: r.setup.wallMs,
    setupRetries: r.setupFailures.length,
    idleMsPerS: r.idle.wallMs > 0 ? (r.idle.serverCpuMs / r.idle.wallMs) * 1000 : Number.NaN,
  };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const names: ServerName[] = opts.only ? [opts.only] : ['portunus', 'janus'];
  const servers: Server[] = [];
  const stopAll = () => Promise.allSettled(servers.map((s) => s.stop()));
  const onSignal = () => {
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const n of names) {
      servers.push(n === 'janus' ? await startJanus() : await startPortunus({ extraArgs: PORTUNUS_ARGS, requirePlugins: [ECHOTEST] }));
    }
    for (const s of servers) process.stdout.write(`${s.name}: pid ${s.pid}, ${s.wsUrl}\n`);
    // JIT and first-use costs stay out of the measurements: Portunus compiles its media path and its
    // set-up path (signalling, ICE, DTLS) as they run, so each server first sets up as many peers as
    // the largest M, `--warmup-rounds` times. The cold figures are printed, not recorded.
    const warmupPeers = Math.max(...opts.peers);
    for (let round = 0; round < opts.warmupRounds; round++) {
      for (const s of servers) {
        const r = await runClient(s, warmupPeers, WARMUP_SECONDS, opts);
        const x = toSample(r, warmupPeers);
        process.stdout.write(
          `${s.name}: warm-up ${round + 1}/${opts.warmupRounds} (${warmupPeers} peers, ${WARMUP_SECONDS} s, not recorded): ` +
            `set-up ${x.setupMsPerPeer.toFixed(1)} CPU-ms/peer, ${x.cpuPer100k.toFixed(2)} CPU-s/100k, echoed ${x.echoed} of ${x.sent}\n`,
        );
        await sleep(SETTLE_MS);
      }
    }
    const idle0 = servers.map((s) => cpuMs(s.pid));
    await sleep(IDLE_MS);
    servers.forEach((s, i) => {
      process.stdout.write(`${s.name}: idle CPU ${(((cpuMs(s.pid) - idle0[i]) * 1000) / IDLE_MS).toFixed(1)} ms per second\n`);
    });
    const perPeerRate = 1000 / 20 + 30 * opts.videoPackets;
    process.stdout.write(
      `peers ${opts.peers.join(',')}, ${opts.seconds} s streaming, ${opts.runs} runs, per peer ${perPeerRate} pkt/s ` +
        `(Opus 50/s x 100 B, VP8 30 frames/s x ${opts.videoPackets} x 1000 B), CLK_TCK ${CLK_TCK}\n`,
    );

    const samples = new Map<string, Sample[]>();
    for (let run = 0; run < opts.runs; run++) {
      // Alternate which server goes first, so drift on a shared machine hits both alike.
      const order = run % 2 === 0 ? servers : [...servers].reverse();
      for (const m of opts.peers) {
        for (const s of order) {
          const r = await runClient(s, m, opts.seconds, opts);
          const x = toSample(r, m);
          const key = `${m}|${s.name}`;
          samples.set(key, [...(samples.get(key) ?? []), x]);
          process.stdout.write(
            `run ${run + 1} peers ${String(m).padStart(3)} ${s.name.padEnd(8)} ` +
              `stream cpu ${r.stream.serverCpuMs.toFixed(0)} ms (${x.serverPct.toFixed(0)}%) for ${x.echoed} echoed of ${x.sent} sent ` +
              `[audio ${r.stream.echoed.audio}/${r.stream.sent.audio}, video ${r.stream.echoed.video}/${r.stream.sent.video}] ` +
              `-> ${x.cpuPer100k.toFixed(2)} s/100k; set-up cpu ${r.setup.serverCpuMs.toFixed(0)} ms in ${r.setup.wallMs.toFixed(0)} ms wall; ` +
              `connected idle ${x.idleMsPerS.toFixed(0)} ms/s; client ${x.clientPct.toFixed(0)}%, machine ${x.machinePct.toFixed(0)}%\n`,
          );
          for (const f of r.setupFailures) process.stdout.write(`  set-up retried: ${f}\n`);
          await sleep(SETTLE_MS);
        }
      }
    }

    const med = (key: string, f: (x: Sample) => number) => {
      const xs = samples.get(key);
      return xs ? median(xs.map(f)) : undefined;
    };
    const fmt = (x: number | undefined, digits = 0) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));
    const ratio = (p: number | undefined, j: number | undefined) => (p !== undefined && j !== undefined && j > 0 ? fmt(p / j, 2) : '-');
    const traffic = (key: string) => {
      const sent = med(key, (x) => x.sent);
      return sent === undefined ? '-' : `${fmt(sent)}/${fmt(med(key, (x) => x.echoed))} (${fmt(med(key, (x) => x.lossPct), 2)}%)`;
    };

    process.stdout.write(`\nmedian of ${opts.runs} runs; server CPU = utime+stime of the server process\n`);
    const rows = opts.peers.map((m) => {
      const p = `${m}|portunus`;
      const j = `${m}|janus`;
      const pc = med(p, (x) => x.cpuPer100k);
      const jc = med(j, (x) => x.cpuPer100k);
      const ps = med(p, (x) => x.setupMsPerPeer);
      const js = med(j, (x) => x.setupMsPerPeer);
      return [String(m), fmt(pc, 2), fmt(jc, 2), ratio(pc, jc), fmt(ps, 1), fmt(js, 1), ratio(ps, js), traffic(p), traffic(j)];
    });
    process.stdout.write(
      `${table(
        ['peers', 'Portunus CPU-s/100k echoed', 'Janus CPU-s/100k echoed', 'ratio P/J', 'Portunus set-up CPU-ms/peer', 'Janus set-up CPU-ms/peer', 'ratio P/J', 'Portunus sent/echoed (loss)', 'Janus sent/echoed (loss)'],
        rows,
      )}\n`,
    );
    process.stdout.write('\nload during the streaming window (medians): server, client process and whole machine CPU, % of one core / of all cores\n');
    const load = opts.peers.flatMap((m) =>
      servers.map((s) => {
        const k = `${m}|${s.name}`;
        const wallS = opts.seconds + DRAIN_MS / 1000;
        return [
          String(m),
          s.name,
          fmt((med(k, (x) => x.echoed) ?? Number.NaN) / wallS),
          `${fmt(med(k, (x) => x.serverPct))}%`,
          `${fmt(med(k, (x) => x.clientPct))}%`,
          `${fmt(med(k, (x) => x.machinePct))}%`,
          fmt(med(k, (x) => x.setupWallMs)),
          fmt(med(k, (x) => x.idleMsPerS)),
          String((samples.get(k) ?? []).reduce((n, x) => n + x.setupRetries, 0)),
        ];
      }),
    );
    process.stdout.write(`${table(['peers', 'server', 'echoed pkt/s', 'server CPU', 'client CPU', 'machine busy', 'set-up wall ms', 'connected idle CPU-ms/s', 'set-up retries (all runs)'], load)}\n`);
  } finally {
    await stopAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:echo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
