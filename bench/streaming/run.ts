/**
 * Streaming fan-out benchmark: one RTP mountpoint (about 1.5 Mbit/s VP8 + Opus) watched by N werift
 * viewers, Portunus against the real Janus 1.1.2 in the same run. Reports server CPU-seconds per
 * 100k packets forwarded to viewers, the Portunus/Janus ratio and the viewers' loss. The viewers run
 * in a separate client process (client.ts). See bench/README.md.
 *
 *   npm run bench:streaming -- [--viewers 50,200] [--seconds 10] [--only janus|portunus] [--full-receive]
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, startJanus, startPortunus, type Server, type ServerName } from '../servers.ts';
import { positiveInt, table } from '../stats.ts';
import type { StreamJob, StreamResult } from './client.ts';

const CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'client.ts');

interface Options { viewers: number[]; seconds: number; only?: ServerName; fullReceive: boolean }

function parseArgs(argv: string[]): Options {
  const o: Options = { viewers: [50, 200], seconds: 10, fullReceive: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--viewers') o.viewers = (value() ?? '').split(',').map((s) => positiveInt(flag, s.trim()));
    else if (flag === '--seconds') o.seconds = positiveInt(flag, value());
    else if (flag === '--full-receive') o.fullReceive = true;
    else if (flag === '--only') {
      const v = value();
      if (v !== 'janus' && v !== 'portunus') throw new Error('--only takes janus or portunus');
      o.only = v;
    } else throw new Error(`unknown flag ${flag}`);
  }
  return o;
}

function runClient(server: Server, viewers: number, seconds: number, fullReceive: boolean): Promise<StreamResult> {
  const job: StreamJob = { wsUrl: server.wsUrl, serverPid: server.pid, viewers, seconds, fullReceive };
  return new Promise((ok, fail) => {
    const child = fork(CLIENT, [JSON.stringify(job)], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: StreamResult | { type: 'error'; message: string }) => (m.type === 'result' ? ok(m) : fail(new Error(m.message))));
    child.once('exit', (code) => { if (code !== 0) fail(new Error(`client exited ${code}`)); });
  });
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const names: ServerName[] = opts.only ? [opts.only] : ['portunus', 'janus'];
  const rows: string[][] = [];
  const perServer: Record<string, Record<number, number>> = {};
  for (const viewers of opts.viewers) {
    for (const name of names) {
      const server = name === 'janus' ? await startJanus() : await startPortunus({ extraArgs: ['--nat.ice_enforce_list', 'lo'], requirePlugins: ['janus.plugin.streaming'] });
      try {
        const r = await runClient(server, viewers, opts.seconds, opts.fullReceive);
        const forwarded = r.received.audio + r.received.video;
        const expected = (r.sent.audio + r.sent.video) * r.viewersUp;
        const perK = forwarded > 0 ? (r.serverCpuMs / 1000) / (forwarded / 100_000) : NaN;
        (perServer[name] ??= {})[viewers] = perK;
        const loss = expected > 0 ? 1 - forwarded / expected : NaN;
        rows.push([name, String(viewers), String(r.viewersUp), `${r.sent.audio + r.sent.video}/${typeof r.serverIn === 'number' && !Number.isNaN(r.serverIn) ? r.serverIn : '-'}`, String(forwarded), (r.serverCpuMs / 1000).toFixed(2), perK.toFixed(3), `${(loss * 100).toFixed(2)} %`, `${r.verified} (1/${r.verifyEvery})`, (r.clientCpuMs / 1000).toFixed(1), (r.wallMs / 1000).toFixed(1)]);
        process.stderr.write(`${name} N=${viewers}: ${JSON.stringify(r)}\n`);
      } finally {
        await server.stop();
      }
    }
  }
  process.stdout.write(`${table(['server', 'viewers', 'up', 'source sent/seen', 'forwarded pkts', 'server CPU-s', 'CPU-s / 100k pkts', 'viewer loss', 'decrypted by werift', 'client CPU-s', 'wall s'], rows)}\n\n`);
  if (!opts.only) {
    const ratios = opts.viewers.map((n) => [String(n), (perServer.portunus[n] / perServer.janus[n]).toFixed(2)]);
    process.stdout.write(`${table(['viewers', 'Portunus/Janus CPU per packet'], ratios)}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
