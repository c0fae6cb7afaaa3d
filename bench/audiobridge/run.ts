/**
 * AudioBridge benchmark: one room of P participants sending Opus at 50 frames/s, Portunus against the
 * real Janus 1.1.2 in one run, at 16 and 48 kHz; "realistic" (3 speak, the rest send encoded silence)
 * and "all" (everyone speaks). Prints server CPU-% of a core per participant for both, the ratio, and
 * the slowest listener's received frames per second (50 = real time).
 *
 * Participants are plain RTP legs (`join` with `rtp`, allow_rtp_participants) from UDP sockets in
 * this process: both servers run the same mixer work (jitter buffer, decode, mix, encode per
 * listener) without the WebRTC transport (ICE/DTLS/SRTP) in the figure, and 80 legs stay cheap for
 * the client. See bench/README.md.
 *
 *   npx tsx bench/audiobridge/run.ts [--participants 10,20,40,80] [--rates 16000,48000]
 *                                    [--modes realistic,all] [--seconds 8] [--only janus|portunus]
 *                                    [--external ws://127.0.0.1:PORT,PID] [--no-audio-level] [--warmup 8]
 *
 * `--external` measures a Portunus started by hand instead (e.g. under `node --cpu-prof` to profile
 * it, mixer threads included): its WebSocket URL and process id.
 */
import dgram from 'node:dgram';
import { JanusWsClient } from '../../test/helpers/janus-client.ts';
import { sineFrame } from '../../test/helpers/audio-tones.ts';
import { opusscriptCodec } from '../../src/audiobridge/opus-codec.ts';
import { startJanus, startPortunus, type Server, type ServerName } from '../servers.ts';
import { CLK_TCK, cpuMs, positiveInt, table } from '../stats.ts';

const PLUGIN = 'janus.plugin.audiobridge';
const SPEAKERS = 3;
const WARMUP_MS = 2000;
const SETTLE_MS = 1000;

type Mode = 'realistic' | 'all';

interface Options {
  participants: number[];
  rates: number[];
  modes: Mode[];
  seconds: number;
  only?: ServerName;
  external?: { wsUrl: string; pid: number };
  /** Send the RFC 6464 audio level in every packet, as browsers do (default on). */
  audioLevel: boolean;
  /** Seconds of an unmeasured all-speaking room per server and rate first (JIT and WASM tier-up). */
  warmup: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { participants: [10, 20, 40, 80], rates: [16000, 48000], modes: ['realistic', 'all'], seconds: 8, audioLevel: true, warmup: 8 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--participants') opts.participants = (value() ?? '').split(',').map((s) => positiveInt(flag, s.trim()));
    else if (flag === '--rates') opts.rates = (value() ?? '').split(',').map((s) => positiveInt(flag, s.trim()));
    else if (flag === '--modes') {
      opts.modes = (value() ?? '').split(',').map((s) => s.trim()) as Mode[];
      if (opts.modes.some((m) => m !== 'realistic' && m !== 'all')) throw new Error('--modes takes realistic,all');
    } else if (flag === '--seconds') opts.seconds = positiveInt(flag, value());
    else if (flag === '--only') {
      const v = value();
      if (v !== 'janus' && v !== 'portunus') throw new Error('--only takes janus or portunus');
      opts.only = v;
    } else if (flag === '--no-audio-level') opts.audioLevel = false;
    else if (flag === '--warmup') opts.warmup = Number(value());
    else if (flag === '--external') {
      const [url, pid] = (value() ?? '').split(',');
      if (!url?.startsWith('ws://') || !pid) throw new Error('--external takes ws://HOST:PORT,PID');
      opts.external = { wsUrl: url, pid: positiveInt(flag, pid) };
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write('usage: tsx bench/audiobridge/run.ts [--participants 10,20,40,80] [--rates 16000,48000] [--modes realistic,all] [--seconds 8] [--only janus|portunus] [--external ws://HOST:PORT,PID] [--no-audio-level] [--warmup 8]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

/** 10 s of 20 ms Opus frames (48 kHz mono, like a browser) of a tone, or of silence when freq = 0. */
function opusFrames(freq: number, count = 500): Buffer[] {
  const enc = opusscriptCodec.createEncoder(48000, 1);
  const pcm = new Int16Array(960);
  const out = new Uint8Array(1500);
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    sineFrame(pcm, 960, freq, 48000, i * 960, freq > 0 ? 6000 : 0);
    const n = enc.encode(pcm, 960, out);
    frames.push(Buffer.from(out.subarray(0, n)));
  }
  enc.destroy();
  return frames;
}

interface Leg {
  sock: dgram.Socket;
  target: { ip: string; port: number };
  frames: Buffer[];
  received: number;
  ssrc: number;
  /** RFC 6464 level (-dBov) of its frames: 127 for silence. */
  level: number;
}

interface Result {
  cpuMs: number;
  wallMs: number;
  /** Frames per second received by the slowest and the average listener. */
  minFps: number;
  meanFps: number;
}

/** Level of the tones below (amplitude 6000): RMS 4243, -17.8 dBov. */
const TONE_LEVEL = 18;
/** RTP header extension id of the audio level (RFC 8285 one-byte form). */
const LEVEL_EXT_ID = 1;

async function runOne(server: Server, P: number, rate: number, mode: Mode, seconds: number, tones: Buffer[][], silence: Buffer[], audioLevel: boolean): Promise<Result> {
  const ws = await JanusWsClient.connect(server.wsUrl);
  const sid = await ws.createSession();
  const admin = await ws.attach(sid, PLUGIN);
  const room = 900000 + Math.floor(Math.random() * 90000);
  const created = await ws.request({ janus: 'message', session_id: sid, handle_id: admin, body: { request: 'create', room, sampling_rate: rate, allow_rtp_participants: true } });
  if (created.plugindata?.data?.audiobridge !== 'created') throw new Error(`${server.name}: create failed: ${JSON.stringify(created.plugindata?.data)}`);
  const legs: Leg[] = [];
  let counting = false;
  try {
    for (let i = 0; i < P; i++) {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((ok) => sock.bind(0, '127.0.0.1', () => ok()));
      const speaks = mode === 'all' || i < SPEAKERS;
      const leg: Leg = { sock, target: { ip: '127.0.0.1', port: 0 }, frames: speaks ? tones[i % tones.length] : silence, received: 0, ssrc: 0x100 + i, level: speaks ? TONE_LEVEL : 127 };
      sock.on('message', () => { if (counting) leg.received++; });
      const hid = await ws.attach(sid, PLUGIN);
      const tx = `j${i}-${Date.now()}`;
      ws.send({ janus: 'message', session_id: sid, handle_id: hid, transaction: tx, body: { request: 'join', room, codec: 'opus', rtp: { ip: '127.0.0.1', port: sock.address().port, payload_type: 111, ...(audioLevel ? { audiolevel_ext: LEVEL_EXT_ID } : {}) } } });
      const ev = await ws.waitFor((m) => m.janus === 'event' && m.transaction === tx, 10_000);
      const rtp = ev.plugindata?.data?.rtp;
      if (!rtp?.port) throw new Error(`${server.name}: join failed: ${JSON.stringify(ev.plugindata?.data)}`);
      // Both servers are pinned to loopback (Janus by local_ip below): refuse anything else.
      if (rtp.ip !== '127.0.0.1') throw new Error(`${server.name}: RTP address ${rtp.ip} is not loopback`);
      leg.target = { ip: rtp.ip, port: rtp.port };
      legs.push(leg);
    }
    // Every leg sends one frame per 20 ms of wall time (catching up after late timers), with the
    // audio level in an RFC 8285 one-byte header extension when asked (browsers always send it).
    const header = Buffer.alloc(audioLevel ? 20 : 12);
    if (audioLevel) header.set([0xbe, 0xde, 0, 1, (LEVEL_EXT_ID << 4) | 0, 0, 0, 0], 12);
    const t0 = performance.now();
    let sent = 0;
    const timer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) / 20) + 1;
      for (; sent < due; sent++) {
        for (const leg of legs) {
          const f = leg.frames[sent % leg.frames.length];
          header[0] = audioLevel ? 0x90 : 0x80;
          header[1] = 111;
          if (audioLevel) header[17] = leg.level;
          header.writeUInt16BE(sent & 0xffff, 2);
          header.writeUInt32BE((sent * 960) >>> 0, 4);
          header.writeUInt32BE(leg.ssrc, 8);
          leg.sock.send([header, f], leg.target.port, leg.target.ip);
        }
      }
    }, 5);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    counting = true;
    const cpu0 = cpuMs(server.pid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu1 = cpuMs(server.pid);
    const wallMs = performance.now() - w0;
    counting = false;
    clearInterval(timer);
    const fps = legs.map((l) => (l.received * 1000) / wallMs);
    return { cpuMs: cpu1 - cpu0, wallMs, minFps: Math.min(...fps), meanFps: fps.reduce((a, b) => a + b, 0) / fps.length };
  } finally {
    await ws.request({ janus: 'message', session_id: sid, handle_id: admin, body: { request: 'destroy', room } }).catch(() => undefined);
    await ws.destroy(sid).catch(() => undefined);
    await ws.close();
    for (const l of legs) l.sock.close();
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const names: ServerName[] = opts.only ? [opts.only] : ['portunus', 'janus'];
  const servers: Server[] = [];
  try {
    if (opts.external) {
      const ext = opts.external;
      servers.push({ name: 'portunus', pid: ext.pid, httpUrl: '', wsUrl: ext.wsUrl, stop: async () => undefined });
    } else for (const n of names) servers.push(n === 'janus' ? await startJanus({ pluginSettings: { 'janus.plugin.audiobridge.jcfg': { local_ip: '127.0.0.1' } } }) : await startPortunus({ requirePlugins: [PLUGIN] }));
    for (const s of servers) process.stdout.write(`${s.name}: pid ${s.pid}, ${s.wsUrl}\n`);
    const maxP = Math.max(...opts.participants);
    const tones = Array.from({ length: Math.min(maxP, 16) }, (_, i) => opusFrames(300 + 150 * i));
    const silence = opusFrames(0);
    process.stdout.write(`P ${opts.participants.join(',')}, rates ${opts.rates.join(',')}, modes ${opts.modes.join(',')}, ${opts.seconds} s each, CLK_TCK ${CLK_TCK}; plain RTP Opus legs, 50 frames/s each, audio level ${opts.audioLevel ? 'sent' : 'not sent'}\n`);
    // Portunus' hot paths (JS and the WASM codec) are compiled by tiers while they run, and its mixer
    // threads start with the first room: so each server first mixes an unmeasured all-speaking room
    // per rate, as a server in service is warm.
    if (opts.warmup > 0) {
      for (const rate of opts.rates) for (const s of servers) await runOne(s, 10, rate, 'all', opts.warmup, tones, silence, opts.audioLevel);
      process.stdout.write(`warmed up: ${opts.warmup} s of an all-speaking room of 10 per server and rate, not measured\n`);
    }
    const rows: string[][] = [];
    for (const rate of opts.rates) {
      for (const mode of opts.modes) {
        for (const P of opts.participants) {
          const res = new Map<ServerName, Result>();
          for (const s of servers) {
            const r = await runOne(s, P, rate, mode, opts.seconds, tones, silence, opts.audioLevel);
            res.set(s.name, r);
            const pct = (r.cpuMs / r.wallMs) * 100;
            process.stdout.write(`${rate} Hz ${mode.padEnd(9)} P ${String(P).padStart(2)} ${s.name.padEnd(8)} cpu ${pct.toFixed(1)}% (${(pct / P).toFixed(2)}%/participant), listener fps min ${r.minFps.toFixed(1)} mean ${r.meanFps.toFixed(1)}\n`);
            await new Promise((r2) => setTimeout(r2, SETTLE_MS));
          }
          const per = (n: ServerName) => {
            const r = res.get(n);
            return r ? (r.cpuMs / r.wallMs) * 100 / P : undefined;
          };
          const p = per('portunus');
          const j = per('janus');
          const fpsOk = (n: ServerName) => {
            const r = res.get(n);
            return r ? `${r.minFps.toFixed(1)}${r.minFps >= 48 ? ' ok' : ' LOW'}` : '-';
          };
          rows.push([`${rate / 1000} kHz ${mode} P=${P}`, p?.toFixed(2) ?? '-', j?.toFixed(2) ?? '-', p !== undefined && j !== undefined && j > 0 ? (p / j).toFixed(2) : '-', fpsOk('portunus'), fpsOk('janus')]);
        }
      }
    }
    process.stdout.write(`\n${table(['room', 'Portunus %/participant', 'Janus %/participant', 'ratio P/J', 'Portunus min fps', 'Janus min fps'], rows)}\n`);
    process.stdout.write('CPU-% of one core per participant over the measuring window (server process, all threads); noisy on a shared machine.\n');
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}

await main();
