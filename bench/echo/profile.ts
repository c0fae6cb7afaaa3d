/**
 * Runs Portunus under `node --cpu-prof` with the bench/echo client (not part of the bench): warm-up
 * rounds, then `--rounds` measured client runs, then stops the server so V8 writes the profile.
 *   npx tsx bench/echo/profile.ts --dir /tmp/prof --peers 20 --seconds 10 --rounds 1 [--warmup 3]
 * PROFILE_GAP_MS (default 1500) is the pause after each measured round: the bench leaves Portunus
 * idle for about 8 s between its rounds (the other server's turn), which changes its set-up cost.
 */
import { fork, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../test/helpers/reference-janus.ts';
import { ROOT } from '../servers.ts';
import type { ClientJob, ClientMessage } from './common.ts';

const CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'client.ts');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : def; };
const dir = opt('dir', '/tmp/prof');
const peers = Number(opt('peers', '20'));
const seconds = Number(opt('seconds', '10'));
const rounds = Number(opt('rounds', '1'));
const warmup = Number(opt('warmup', '3'));
const idleMs = Number(opt('idle-ms', '2000'));
const nodeArgs = opt('node-args', `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-interval 200`).split(' ').filter(Boolean);

const [http, ws] = await freePorts(2);
const child = spawn(process.execPath, [...nodeArgs, 'bin/portunus.js', '--general.debug_level', '3', '--http.ip', '127.0.0.1', '--http.port', String(http),
  '--http.demos', 'false', '--http.admin_http', 'false', '--http.https', 'false', '--websockets.ws_ip', '127.0.0.1', '--websockets.ws_port', String(ws),
  '--websockets.wss', 'false', '--websockets.admin_ws', 'false', '--nat.ice_enforce_list', 'lo', ...opt('server-args', '').split(' ').filter(Boolean)], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
for (let i = 0; i < 100; i++) {
  try { if ((await fetch(`http://127.0.0.1:${http}/janus/info`)).ok) break; } catch { /* not yet */ }
  await new Promise((ok) => setTimeout(ok, 100));
}
function run(p: number, s: number): Promise<ClientMessage> {
  const job: ClientJob = { wsUrl: `ws://127.0.0.1:${ws}`, serverPid: child.pid!, peers: p, seconds: s, videoPackets: 2, drainMs: 500, idleMs };
  return new Promise((ok, fail) => {
    const c = fork(CLIENT, [JSON.stringify(job)], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let msg: ClientMessage | undefined;
    c.on('message', (m) => { msg = m as ClientMessage; });
    c.once('exit', () => (msg ? ok(msg) : fail(new Error('no result'))));
  });
}
for (let i = 0; i < warmup; i++) await run(peers, 3);
const perfOut = opt('perf', '');
const perf = perfOut ? spawn('perf', ['record', '-F', '1999', '-g', '-k', 'CLOCK_MONOTONIC', '-o', perfOut, '-p', String(child.pid)], { stdio: 'inherit' }) : undefined;
if (perf) await new Promise((ok) => setTimeout(ok, 1000));
// perf stat in 100 ms intervals: instructions are far less sensitive to other load than CPU time.
const statOut = opt('stat', '');
const statT0 = Number(process.hrtime.bigint() / 1000n);
const stat = statOut ? spawn('perf', ['stat', '-I', '100', '-x', ',', '-e', 'instructions,task-clock', '-o', statOut, '-p', String(child.pid)], { stdio: 'inherit' }) : undefined;
const windows: Array<{ setup: [number, number]; stream: [number, number]; peers: number; echoed: number }> = [];
const t0 = Date.now();
process.stdout.write(`measured from ${t0}\n`);
for (let i = 0; i < rounds; i++) {
  const r = await run(peers, seconds);
  if (r.type === 'result') {
    const echoed = r.stream.echoed.audio + r.stream.echoed.video;
    process.stdout.write(`window idle ${r.idle.startUs} ${r.idle.endUs}\n`);
    windows.push({ setup: [r.setup.startUs, r.setup.endUs], stream: [r.stream.startUs, r.stream.endUs], peers, echoed: r.stream.echoed.audio + r.stream.echoed.video });
    process.stdout.write(`window setup ${r.setup.startUs} ${r.setup.endUs} stream ${r.stream.startUs} ${r.stream.endUs}\n`);
    process.stdout.write(`setup ${(r.setup.serverCpuMs / peers).toFixed(1)} ms/peer, stream ${(r.stream.serverCpuMs / echoed * 100).toFixed(2)} s/100k, idle ${(r.idle.serverCpuMs / r.idle.wallMs * 1000).toFixed(1)} ms/s\n`);
  } else process.stdout.write(`error ${r.message}\n`);
  await new Promise((ok) => setTimeout(ok, Number(process.env.PROFILE_GAP_MS ?? 1500)));
}
if (stat) {
  stat.kill('SIGINT');
  await new Promise((ok) => stat.once('exit', ok));
  const { readFileSync } = await import('node:fs');
  const rows = readFileSync(statOut, 'utf8').split('\n').filter((l) => /^\s*\d/.test(l)).map((l) => l.split(','));
  const sum = (event: string, [a, b]: [number, number]) => rows
    .filter((r) => r[3]?.startsWith(event) && statT0 + Number(r[0]) * 1e6 > a + 50_000 && statT0 + Number(r[0]) * 1e6 <= b + 50_000)
    .reduce((t, r) => t + Number(r[1]), 0);
  for (const w of windows) {
    process.stdout.write(`perf-stat: setup ${(sum('instructions', w.setup) / w.peers / 1e6).toFixed(2)} M instr/peer, ${(sum('task-clock', w.setup) / w.peers).toFixed(1)} ms/peer; ` +
      `stream ${(sum('instructions', w.stream) / w.echoed / 1e3).toFixed(1)} k instr/echoed, ${(sum('task-clock', w.stream) / w.echoed * 100).toFixed(2)} s/100k\n`);
  }
}
if (perf) { perf.kill('SIGINT'); await new Promise((ok) => perf.once('exit', ok)); }
child.kill('SIGTERM');
await new Promise((ok) => child.once('exit', ok));
