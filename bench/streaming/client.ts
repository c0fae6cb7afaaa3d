/**
 * Client side of bench/streaming, in its own process (forked by run.ts): creates one RTP mountpoint
 * (Opus + VP8) on the server, attaches `viewers` werift viewers (watch, answer, start), then starts
 * sender.ts (about 1.5 Mbit/s of VP8 and 50 packets/s of Opus to the mountpoint's ports) and counts
 * what the viewers receive over `seconds`. The server's CPU is read here at the edges of the streaming
 * window. The result goes to the parent over IPC.
 *
 *   argv[2] = JSON StreamJob
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RTCPeerConnection } from 'werift';
import { JanusWsClient, newTransaction } from '../../test/helpers/janus-client.ts';
import { answerTo, loopbackPeer, waitConnected } from '../../test/helpers/werift-peer.ts';
import { cpuMs } from '../stats.ts';
import { countAtSocket, payloadKinds, type Counts } from './socket-counter.ts';

/** One packet in this many is authenticated and decrypted by werift in the lean mode. */
const VERIFY_EVERY = 16;
const VIEWER_RECV_BUFFER = 4 * 1024 * 1024;

export interface StreamJob {
  wsUrl: string;
  serverPid: number;
  viewers: number;
  seconds: number;
  /** Count in werift's track receivers (decrypt + route every packet) instead of at the socket. */
  fullReceive: boolean;
}

export interface StreamResult {
  type: 'result';
  viewersUp: number;
  sent: { audio: number; video: number };
  /** Source packets the server counted in the window (Portunus' info `packets`; NaN for Janus). */
  serverIn: number;
  /** Per viewer [min, median, max] packets received in the window. */
  spread: Record<string, number[]>;
  received: { audio: number; video: number };
  /** Lean mode: packets werift authenticated and decrypted (about received / verifyEvery). */
  verified: number;
  verifyEvery: number;
  serverCpuMs: number;
  clientCpuMs: number;
  wallMs: number;
}

const PLUGIN = 'janus.plugin.streaming';

const job = JSON.parse(process.argv[2]) as StreamJob;

async function request(c: JanusWsClient, body: Record<string, unknown>): Promise<any> {
  return c.request(body, 30000);
}

/** Min / median / max packets per viewer, audio and video: uniform loss or a few starved viewers. */
function spread(list: Array<{ audio: number; video: number }>): Record<string, number[]> {
  const mmm = (xs: number[]): number[] => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? [s[0], s[s.length >> 1], s[s.length - 1]] : [];
  };
  return { audio: mmm(list.map((p) => p.audio)), video: mmm(list.map((p) => p.video)) };
}

async function main(): Promise<void> {
  const admin = await JanusWsClient.connect(job.wsUrl);
  const sid = (await request(admin, { janus: 'create' })).data.id;
  const hid = (await request(admin, { janus: 'attach', session_id: sid, plugin: PLUGIN })).data.id;
  const id = 4000 + Math.floor(Math.random() * 1000);
  const created = await request(admin, {
    janus: 'message', session_id: sid, handle_id: hid, body: {
      request: 'create', type: 'rtp', id, media: [
        { type: 'audio', mid: 'a', port: 0, pt: 111, codec: 'opus', iface: '127.0.0.1' },
        { type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', iface: '127.0.0.1' },
      ],
    },
  });
  const ports = created.plugindata?.data?.stream?.ports as Array<{ port: number }> | undefined;
  if (!ports) throw new Error(`create failed: ${JSON.stringify(created.plugindata?.data)}`);

  const received: Counts = { audio: 0, video: 0, verified: 0 };
  const perViewer: Counts[] = [];
  const pcs: RTCPeerConnection[] = [];
  const clients: JanusWsClient[] = [admin];
  let up = 0;
  const attachOne = async (): Promise<void> => {
    const c = await JanusWsClient.connect(job.wsUrl);
    clients.push(c);
    const s = (await request(c, { janus: 'create' })).data.id;
    const h = (await request(c, { janus: 'attach', session_id: s, plugin: PLUGIN })).data.id;
    const tx = newTransaction();
    const ev = c.waitFor((m) => m.janus === 'event' && m.transaction === tx && m.jsep !== undefined, 30000);
    c.send({ janus: 'message', session_id: s, handle_id: h, transaction: tx, body: { request: 'watch', id } });
    const offer = await ev;
    const pc = loopbackPeer();
    pcs.push(pc);
    const mine: Counts = { audio: 0, video: 0, verified: 0 };
    perViewer.push(mine);
    if (job.fullReceive) pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => { received[t.kind as 'audio' | 'video']++; mine[t.kind as 'audio' | 'video']++; }));
    const answer = await answerTo(pc, offer.jsep);
    await request(c, { janus: 'message', session_id: s, handle_id: h, body: { request: 'start' }, jsep: { type: 'answer', sdp: answer } });
    await waitConnected(pc, 30000);
    if (!job.fullReceive && !countAtSocket(pc, payloadKinds(offer.jsep.sdp), mine, received, VERIFY_EVERY, VIEWER_RECV_BUFFER)) throw new Error('viewer socket not found');
    setInterval(() => c.send({ janus: 'keepalive', session_id: s, transaction: newTransaction() }), 20000).unref();
    up++;
  };
  // A few at a time: the set-up is not what this benchmark measures.
  const queue = Array.from({ length: job.viewers }, (_, i) => i);
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (queue.shift() !== undefined) {
      try { await attachOne(); } catch { /* counted as not up */ }
    }
  }));

  // The source runs in its own process (sender.ts) so the viewers' load cannot starve its timers.
  const sender = fork(join(dirname(fileURLToPath(import.meta.url)), 'sender.ts'), [String(ports[0].port), String(ports[1].port)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const report = (): Promise<{ audio: number; video: number }> => new Promise((ok) => { sender.once('message', (m) => ok(m as { audio: number; video: number })); sender.send('report'); });
  // Warm-up: viewers get their first keyframe.
  await new Promise((r) => setTimeout(r, 2000));
  // Measurement window.
  const ingress = async (): Promise<number> => {
    const r = await request(admin, { janus: 'message', session_id: sid, handle_id: hid, body: { request: 'info', id } });
    const media = (r.plugindata?.data?.info?.media ?? []) as Array<{ packets?: number }>;
    return media.reduce((a, m) => a + (m.packets ?? NaN), 0);
  };
  const in0 = await ingress();
  sender.send('reset');
  received.audio = received.video = received.verified = 0;
  for (const p of perViewer) p.audio = p.video = p.verified = 0;
  const s0 = cpuMs(job.serverPid);
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, job.seconds * 1000));
  const sent = await report();
  const serverIn = (await ingress()) - in0;
  sender.send('stop');
  await new Promise((r) => setTimeout(r, 500)); // in flight
  const serverCpuMs = cpuMs(job.serverPid) - s0;
  const cu = process.cpuUsage(c0);
  const result: StreamResult = {
    type: 'result', viewersUp: up, sent, serverIn, spread: spread(perViewer), received: { audio: received.audio, video: received.video }, verified: received.verified, verifyEvery: job.fullReceive ? 1 : VERIFY_EVERY, serverCpuMs, clientCpuMs: (cu.user + cu.system) / 1000, wallMs: Date.now() - t0,
  };
  process.send!(result);
  await request(admin, { janus: 'message', session_id: sid, handle_id: hid, body: { request: 'destroy', id } }).catch(() => undefined);
  for (const pc of pcs) await pc.close().catch(() => undefined);
  for (const c of clients) await c.close().catch(() => undefined);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.send!({ type: 'error', message: (err as Error)?.stack ?? String(err) });
  process.exit(1);
});
