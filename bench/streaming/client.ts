/**
 * Client side of bench/streaming, in its own process (forked by run.ts): creates one RTP mountpoint
 * (Opus + VP8) on the server, attaches `viewers` werift viewers (watch, answer, start), then sends
 * about 1.5 Mbit/s of VP8 and 50 packets/s of Opus to the mountpoint's ports over UDP for `seconds`
 * and counts what each viewer receives. The server's CPU is read here at the edges of the streaming
 * window. The result goes to the parent over IPC.
 *
 *   argv[2] = JSON StreamJob
 */
import dgram from 'node:dgram';
import type { RTCPeerConnection } from 'werift';
import { JanusWsClient, newTransaction } from '../../test/helpers/janus-client.ts';
import { answerTo, loopbackPeer, waitConnected } from '../../test/helpers/werift-peer.ts';
import { cpuMs } from '../stats.ts';

export interface StreamJob {
  wsUrl: string;
  serverPid: number;
  viewers: number;
  seconds: number;
}

export interface StreamResult {
  type: 'result';
  viewersUp: number;
  sent: { audio: number; video: number };
  received: { audio: number; video: number };
  serverCpuMs: number;
  clientCpuMs: number;
  wallMs: number;
}

const PLUGIN = 'janus.plugin.streaming';
const VIDEO_PACKETS_PER_FRAME = 6;
const VIDEO_PAYLOAD = 1050; // 30 fps x 6 x ~1.06 KB ~ 1.5 Mbit/s
const KEYFRAME_EVERY = 30;

const job = JSON.parse(process.argv[2]) as StreamJob;

async function request(c: JanusWsClient, body: Record<string, unknown>): Promise<any> {
  return c.request(body, 30000);
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

  const received = { audio: 0, video: 0 };
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
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => { received[t.kind as 'audio' | 'video']++; }));
    const answer = await answerTo(pc, offer.jsep);
    await request(c, { janus: 'message', session_id: s, handle_id: h, body: { request: 'start' }, jsep: { type: 'answer', sdp: answer } });
    await waitConnected(pc, 30000);
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

  const sock = dgram.createSocket('udp4');
  const sent = { audio: 0, video: 0 };
  let aseq = 1;
  let vseq = 1;
  let frame = 0;
  const opus = Buffer.alloc(120, 0x5a);
  opus[0] = 0xfc;
  const header = (pt: number, seq: number, ts: number, ssrc: number, marker: boolean): Buffer => {
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = (marker ? 0x80 : 0) | pt;
    h.writeUInt16BE(seq & 0xffff, 2);
    h.writeUInt32BE(ts >>> 0, 4);
    h.writeUInt32BE(ssrc, 8);
    return h;
  };
  const vp8 = (first: boolean, key: boolean): Buffer => {
    const b = Buffer.alloc(VIDEO_PAYLOAD, 0x33);
    b[0] = first ? 0x10 : 0x00;
    if (first) {
      b[1] = key ? 0x10 : 0x11;
      if (key) b.set([0x9d, 0x01, 0x2a], 4);
    }
    return b;
  };
  // Warm-up second: viewers get their first keyframe.
  const sendVideoFrame = (): void => {
    const key = frame % KEYFRAME_EVERY === 0;
    for (let i = 0; i < VIDEO_PACKETS_PER_FRAME; i++) {
      sock.send(Buffer.concat([header(100, vseq++, frame * 3000, 0x2222, i === VIDEO_PACKETS_PER_FRAME - 1), vp8(i === 0, key)]), ports[1].port, '127.0.0.1');
      sent.video++;
    }
    frame++;
  };
  const sendAudio = (): void => {
    sock.send(Buffer.concat([header(111, aseq, aseq * 960, 0x1111, false), opus]), ports[0].port, '127.0.0.1');
    aseq++;
    sent.audio++;
  };
  let vt = setInterval(sendVideoFrame, 1000 / 30);
  let at = setInterval(sendAudio, 20);
  await new Promise((r) => setTimeout(r, 1500));
  // Measurement window.
  sent.audio = sent.video = 0;
  received.audio = received.video = 0;
  const s0 = cpuMs(job.serverPid);
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, job.seconds * 1000));
  clearInterval(vt);
  clearInterval(at);
  await new Promise((r) => setTimeout(r, 500)); // in flight
  const serverCpuMs = cpuMs(job.serverPid) - s0;
  const cu = process.cpuUsage(c0);
  const result: StreamResult = {
    type: 'result', viewersUp: up, sent, received: { ...received }, serverCpuMs, clientCpuMs: (cu.user + cu.system) / 1000, wallMs: Date.now() - t0,
  };
  vt = at = undefined as unknown as NodeJS.Timeout;
  sock.close();
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
