/**
 * SIP benchmark: N concurrent browser-to-SIP calls (werift peers in this process, Opus at 50 packets/s
 * each way) through janus.plugin.sip to one sipp far phone that answers and echoes RTP (-rtp_echo),
 * all on 127.0.0.1. Measures, from /proc/<pid>/stat of the server process: server CPU per call-second
 * and per relayed packet over the streaming window, and call set-up time (call request -> accepted).
 *
 *   npx tsx bench/sip/run.ts [--calls 20,50] [--seconds 10] [--only portunus|janus]
 *
 * The real Janus (Debian package, started by bench/servers.ts with its stock SIP plugin) is measured
 * in the same run; a size that fails is reported as such. Numbers on this shared machine are noisy:
 * compare CPU per unit of work within one run.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RtpPacket, RtpHeader, type RTCPeerConnection } from 'werift';
import { startJanus, startPortunus, type Server } from '../servers.ts';
import { cpuMs, median, table } from '../stats.ts';
import { JanusWsClient } from '../../test/helpers/janus-client.ts';
import { loopbackPeer, offerWith, waitConnected } from '../../test/helpers/werift-peer.ts';
import { startSipp } from '../../test/integration/sip-peers.ts';

interface Options { calls: number[]; seconds: number; only?: string }

function parseArgs(argv: string[]): Options {
  const o: Options = { calls: [20, 50], seconds: 10 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--calls') o.calls = argv[++i].split(',').map(Number);
    else if (argv[i] === '--seconds') o.seconds = Number(argv[++i]);
    else if (argv[i] === '--only') o.only = argv[++i];
  }
  return o;
}

interface Call { client: JanusWsClient; pc: RTCPeerConnection; sent: number; received: number; setupMs: number; send(): void }

async function placeCall(server: Server, uri: string, n: number): Promise<Call> {
  const client = await JanusWsClient.connect(server.wsUrl);
  const sid = await client.createSession();
  const hid = await client.attach(sid, 'janus.plugin.sip');
  const msg = (tx: string, body: Record<string, unknown>, jsep?: Record<string, unknown>) => client.request({ janus: 'message', session_id: sid, handle_id: hid, transaction: tx, body, ...(jsep ? { jsep } : {}) });
  const result = (event: string) => client.waitFor((m) => m.janus === 'event' && (m.plugindata?.data?.result?.event === event || m.plugindata?.data?.error !== undefined), 30_000);
  await msg('r', { request: 'register', type: 'guest', username: `sip:bench${n}@127.0.0.1` });
  await result('registered');
  const pc = loopbackPeer();
  const call: Call = { client, pc, sent: 0, received: 0, setupMs: 0, send: () => {} };
  pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => { call.received++; }));
  const offer = await offerWith(pc, ['audio'], false);
  const t0 = performance.now();
  await msg('c', { request: 'call', uri }, { type: 'offer', sdp: offer.sdp });
  const acc = await result('accepted');
  if (!acc.jsep) throw new Error(`call ${n} failed: ${JSON.stringify(acc.plugindata)}`);
  call.setupMs = performance.now() - t0;
  await pc.setRemoteDescription(acc.jsep);
  await waitConnected(pc, 30_000);
  const payload = Buffer.alloc(80, 1);
  let seq = 0;
  call.send = () => {
    offer.tracks[0].writeRtp(new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: seq & 0xffff, timestamp: (seq * 960) >>> 0, ssrc: 1000 + n }), payload));
    seq++;
    call.sent++;
  };
  return call;
}

async function measure(server: Server, calls: number, seconds: number): Promise<string[]> {
  const sipp = await startSipp('uas-echo.xml', { rtpEcho: true, extra: ['-m', String(calls), '-l', String(calls + 5)] });
  const uri = `sip:far@127.0.0.1:${sipp.port}`;
  const list: Call[] = [];
  try {
    for (let i = 0; i < calls; i += 5) list.push(...(await Promise.all(Array.from({ length: Math.min(5, calls - i) }, (_, k) => placeCall(server, uri, i + k)))));
    const timer = setInterval(() => { for (const c of list) c.send(); }, 20);
    await new Promise((r) => setTimeout(r, 1000));
    const cpu0 = cpuMs(server.pid);
    const pk0 = list.reduce((a, c) => a + c.sent + c.received, 0);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu1 = cpuMs(server.pid);
    const pk1 = list.reduce((a, c) => a + c.sent + c.received, 0);
    clearInterval(timer);
    const cpu = cpu1 - cpu0;
    const packets = pk1 - pk0;
    return [server.name, String(calls), (cpu / (calls * seconds)).toFixed(2), ((cpu * 1000) / Math.max(packets, 1)).toFixed(1), String(packets), median(list.map((c) => c.setupMs)).toFixed(0)];
  } finally {
    for (const c of list) {
      await c.pc.close().catch(() => undefined);
      c.client.close();
    }
    sipp.stop();
  }
}

const opts = parseArgs(process.argv.slice(2));
const rows: string[][] = [];
const dir = mkdtempSync(join(tmpdir(), 'portunus-bench-sip-'));
writeFileSync(join(dir, 'janus.plugin.sip.jcfg'), 'general: {\n\tlocal_ip = "127.0.0.1"\n\trtp_port_range = "20000-29999"\n}\n');
for (const name of ['portunus', 'janus'] as const) {
  if (opts.only && opts.only !== name) continue;
  const server = name === 'portunus'
    ? await startPortunus({ extraArgs: ['--nat.ice_enforce_list', 'lo', '--config-dir', dir], requirePlugins: ['janus.plugin.sip'] })
    : await startJanus({ pluginSettings: { 'janus.plugin.sip.jcfg': { local_ip: '127.0.0.1' } } });
  try {
    for (const n of opts.calls) {
      try {
        rows.push(await measure(server, n, opts.seconds));
      } catch (err) {
        rows.push([name, String(n), 'failed', (err as Error).message.slice(0, 60), '', '']);
      }
    }
  } finally {
    await server.stop();
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(table(['server', 'calls', 'CPU ms per call-second', 'CPU us per relayed packet', 'packets', 'set-up ms (median)'], rows));
process.exit(0);
