/**
 * VideoRoom fan-out benchmark: one werift publisher (about 150 VP8 packets/s of 1200 bytes and 50
 * Opus packets/s) and N werift subscribers, Portunus against the real Janus 1.1.2 in one run, same
 * machine. Prints, per server and N: server CPU-seconds per 100k forwarded packets over the
 * streaming window (utime+stime from /proc/<pid>/stat), the ratio Portunus/Janus, subscriber packet
 * loss, and server RSS growth per subscriber. Subscribers live in a child process
 * (bench/fanout/subscribers.ts); the publisher runs here. See bench/README.md.
 *
 *   npm run bench:fanout -- [--subscribers 10,50,100] [--seconds 10] [--only janus|portunus]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RtpHeader, RtpPacket, type MediaStreamTrack } from 'werift';
import { JanusWsClient, newTransaction, type JanusReply } from '../../test/helpers/janus-client.ts';
import { loopbackPeer, offerWith, waitConnected } from '../../test/helpers/werift-peer.ts';
import { ROOT, startJanus, startPortunus, type Server, type ServerName } from '../servers.ts';
import { cpuMs, positiveInt, table } from '../stats.ts';
import type { ParentMessage, SubscriberJob, SubscriberMessage } from './common.ts';

const SUBSCRIBERS = join(dirname(fileURLToPath(import.meta.url)), 'subscribers.ts');
const VR = 'janus.plugin.videoroom';
const TICK_MS = 20; // one Opus packet and three VP8 packets per tick: 50 + 150 packets/s
const VIDEO_PER_TICK = 3;
const VIDEO_PAYLOAD = 1200;
const AUDIO_PAYLOAD = 100;
const DRAIN_MS = Number(process.env.FANOUT_DRAIN_MS ?? 700);

interface Options {
  subscribers: number[];
  seconds: number;
  only?: ServerName;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { subscribers: [10, 50, 100], seconds: 10 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--subscribers') o.subscribers = (value() ?? '').split(',').map((s) => positiveInt(flag, s.trim()));
    else if (flag === '--seconds') o.seconds = positiveInt(flag, value());
    else if (flag === '--only') {
      const v = value();
      if (v !== 'janus' && v !== 'portunus') throw new Error('--only takes janus or portunus');
      o.only = v;
    } else throw new Error(`unknown flag ${flag}`);
  }
  return o;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function message(c: JanusWsClient, sid: number, hid: number, body: Record<string, unknown>, jsep?: Record<string, unknown>): Promise<JanusReply> {
  const transaction = newTransaction();
  const ev = c.waitFor((m) => m.janus === 'event' && m.transaction === transaction, 20_000);
  const r = await c.request({ janus: 'message', session_id: sid, handle_id: hid, transaction, body, ...(jsep ? { jsep } : {}) }, 20_000);
  if (r.janus === 'success') {
    ev.catch(() => {});
    return r;
  }
  return ev;
}

interface Publisher {
  /** Sequence numbers and tick count carry on across stream() calls (a repeat would be an SRTP replay). */
  seqA: number;
  seqV: number;
  tick: number;
  feed: number;
  room: number;
  tracks: MediaStreamTrack[];
  close(): Promise<void>;
}

async function publisher(server: Server): Promise<Publisher> {
  const client = await JanusWsClient.connect(server.wsUrl);
  const sid = await client.createSession();
  const hid = await client.attach(sid, VR);
  const created = await message(client, sid, hid, { request: 'create', publishers: 1, bitrate: 0 });
  const room = created.plugindata.data.room as number;
  const joined = await message(client, sid, hid, { request: 'join', room, ptype: 'publisher', display: 'bench' });
  const feed = joined.plugindata.data.id as number;
  const pc = loopbackPeer();
  const offer = await offerWith(pc, ['audio', 'video'], false);
  const conf = await message(client, sid, hid, { request: 'configure', audio: true, video: true }, { type: 'offer', sdp: offer.sdp });
  await pc.setRemoteDescription(conf.jsep);
  await waitConnected(pc, 30_000);
  const keepalive = setInterval(() => client.send({ janus: 'keepalive', session_id: sid, transaction: newTransaction() }), 20_000);
  return {
    seqA: 1, seqV: 1, tick: 0, feed, room, tracks: offer.tracks,
    async close() {
      clearInterval(keepalive);
      await pc.close();
      client.close();
    },
  };
}

/** Stream for `seconds`; returns the packets sent. VP8: 1-byte descriptor, a keyframe every 3 s. */
async function stream(p: Publisher, seconds: number): Promise<number> {
  const [audio, video] = p.tracks;
  const opus = Buffer.alloc(AUDIO_PAYLOAD, 0x5a);
  opus[0] = 0xfc;
  let sent = 0;
  const ticks = Math.round((seconds * 1000) / TICK_MS);
  const start = performance.now();
  for (let i = 0; i < ticks; i++) {
    const t = p.tick++;
    audio.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: p.seqA++ & 0xffff, timestamp: t * 960, ssrc: 1111 }), opus));
    for (let k = 0; k < VIDEO_PER_TICK; k++) {
      const b = Buffer.alloc(VIDEO_PAYLOAD, 0x33);
      const first = k === 0 && t % 2 === 0;
      b[0] = first ? 0x10 : 0;
      if (first) {
        b[1] = t % 150 === 0 ? 0x10 : 0x11;
        if (t % 150 === 0) b.set([0x9d, 0x01, 0x2a], 4);
      }
      video.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: p.seqV++ & 0xffff, timestamp: Math.floor(t / 2) * 6000, ssrc: 2222, marker: k === VIDEO_PER_TICK - 1 && t % 2 === 1 }), b));
    }
    sent += 1 + VIDEO_PER_TICK;
    const wait = start + (i + 1) * TICK_MS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return sent;
}

function ask(child: ChildProcess, m: ParentMessage): void {
  child.send(m);
}

function next(child: ChildProcess, kind: SubscriberMessage['kind'], ms = 300_000): Promise<SubscriberMessage> {
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`subscribers: no ${kind} in ${ms} ms`)), ms);
    const on = (m: SubscriberMessage) => {
      if (m.kind === kind || m.kind === 'error') {
        clearTimeout(t);
        child.off('message', on);
        if (m.kind === 'error') fail(new Error(m.message));
        else ok(m);
      }
    };
    child.on('message', on);
  });
}

interface Row {
  server: ServerName;
  n: number;
  cpuPer100k: number;
  loss: number;
  rssPerSubKb: number;
  forwarded: number;
  connected: number;
  /** Packets per subscriber: min, median, max. */
  spread: [number, number, number];
}

async function measure(server: Server, n: number, seconds: number): Promise<Row> {
  const pub = await publisher(server);
  await stream(pub, 1); // the feed is live before anyone subscribes
  const rss0 = rssKb(server.pid);
  const job: SubscriberJob = { wsUrl: server.wsUrl, room: pub.room, feed: pub.feed, count: n };
  const child = fork(SUBSCRIBERS, [JSON.stringify(job)], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = (await next(child, 'ready')) as Extract<SubscriberMessage, { kind: 'ready' }>;
    await stream(pub, 1);
    const rss1 = rssKb(server.pid);
    ask(child, { kind: 'reset' });
    await new Promise((r) => setTimeout(r, 200));
    const cpu0 = cpuMs(server.pid);
    const sent = await stream(pub, seconds);
    await new Promise((r) => setTimeout(r, DRAIN_MS));
    const cpu1 = cpuMs(server.pid);
    ask(child, { kind: 'report' });
    const counts = (await next(child, 'counts')) as Extract<SubscriberMessage, { kind: 'counts' }>;
    const forwarded = counts.perSubscriber.reduce((a, b) => a + b, 0);
    const sorted = [...counts.perSubscriber].sort((a, b) => a - b);
    const spread: [number, number, number] = [sorted[0] ?? 0, sorted[sorted.length >> 1] ?? 0, sorted[sorted.length - 1] ?? 0];
    const expected = sent * ready.connected;
    return {
      server: server.name, n, connected: ready.connected, forwarded, spread,
      cpuPer100k: forwarded > 0 ? ((cpu1 - cpu0) / 1000) / (forwarded / 100_000) : NaN,
      loss: expected > 0 ? Math.max(0, 1 - forwarded / expected) : 1,
      rssPerSubKb: ready.connected > 0 ? (rss1 - rss0) / ready.connected : NaN,
    };
  } finally {
    ask(child, { kind: 'stop' });
    await new Promise((r) => child.once('exit', r));
    await pub.close();
    await new Promise((r) => setTimeout(r, 1500));
  }
}

const opts = parseArgs(process.argv.slice(2));
const rows: Row[] = [];
for (const name of (['janus', 'portunus'] as const).filter((s) => !opts.only || s === opts.only)) {
  const server = name === 'janus' ? await startJanus() : await startPortunus({ extraArgs: ['--nat.ice_enforce_list', 'lo'], requirePlugins: [VR] });
  try {
    for (const n of opts.subscribers) {
      const row = await measure(server, n, opts.seconds);
      rows.push(row);
      process.stderr.write(`${name} N=${n}: ${JSON.stringify(row)} (sent ${opts.seconds * 200} per subscriber)\n`);
    }
  } finally {
    await server.stop();
  }
}
const out: string[][] = [];
for (const n of opts.subscribers) {
  const j = rows.find((r) => r.server === 'janus' && r.n === n);
  const p = rows.find((r) => r.server === 'portunus' && r.n === n);
  const f = (x: number | undefined, d = 2) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
  out.push([
    String(n), f(j?.cpuPer100k), f(p?.cpuPer100k), j && p ? f(p.cpuPer100k / j.cpuPer100k) : '-',
    `${f(j && j.loss * 100, 2)} / ${f(p && p.loss * 100, 2)}`, `${f(j?.rssPerSubKb, 0)} / ${f(p?.rssPerSubKb, 0)}`,
    `${j?.connected ?? '-'} / ${p?.connected ?? '-'}`,
  ]);
}
process.stdout.write(`\nVideoRoom fan-out, ${opts.seconds} s of streaming (200 packets/s from one publisher); noisy shared machine\n\n`);
process.stdout.write(table(['N', 'Janus CPU-s/100k', 'Portunus CPU-s/100k', 'ratio P/J', 'loss % J / P', 'RSS KB/sub J / P', 'connected J / P'], out) + '\n');
