/**
 * Subscriber side of bench/fanout, in its own process so the werift peers' CPU is not mixed with the
 * publisher's: `count` VideoRoom subscribers to one feed (multistream join, werift answer, start),
 * each counting the RTP packets and bytes its transport receives.
 *
 *   argv[2] = JSON SubscriberJob
 */
import type { RTCPeerConnection } from 'werift';
import { JanusWsClient, newTransaction, type JanusReply } from '../../test/helpers/janus-client.ts';
import { answerTo, loopbackPeer, waitConnected } from '../../test/helpers/werift-peer.ts';
import type { ParentMessage, SubscriberJob, SubscriberMessage } from './common.ts';

const VR = 'janus.plugin.videoroom';
const CONCURRENCY = 5;
const KEEPALIVE_MS = 20_000;

const job = JSON.parse(process.argv[2]) as SubscriberJob;
const send = (m: SubscriberMessage) => process.send?.(m);

interface Sub {
  client: JanusWsClient;
  pc: RTCPeerConnection;
  packets: number;
  bytes: number;
  timer: NodeJS.Timeout;
}

async function message(c: JanusWsClient, sid: number, hid: number, body: Record<string, unknown>, jsep?: Record<string, unknown>): Promise<JanusReply> {
  const transaction = newTransaction();
  const ev = c.waitFor((m) => m.janus === 'event' && m.transaction === transaction, 20_000);
  await c.request({ janus: 'message', session_id: sid, handle_id: hid, transaction, body, ...(jsep ? { jsep } : {}) }, 20_000);
  return ev;
}

async function subscriber(): Promise<Sub> {
  const client = await JanusWsClient.connect(job.wsUrl);
  const sid = await client.createSession();
  const hid = await client.attach(sid, VR);
  const ev = await message(client, sid, hid, { request: 'join', room: job.room, ptype: 'subscriber', streams: [{ feed: job.feed }] });
  if (!ev.jsep) throw new Error(`no offer: ${JSON.stringify(ev.plugindata?.data)}`);
  const pc = loopbackPeer();
  const answer = await answerTo(pc, ev.jsep);
  const started = await message(client, sid, hid, { request: 'start', room: job.room }, { type: 'answer', sdp: answer });
  if (started.plugindata?.data?.started !== 'ok') throw new Error(`start: ${JSON.stringify(started.plugindata?.data)}`);
  await waitConnected(pc, 30_000);
  const sub: Sub = {
    client, pc, packets: 0, bytes: 0,
    timer: setInterval(() => client.send({ janus: 'keepalive', session_id: sid, transaction: newTransaction() }), KEEPALIVE_MS),
  };
  pc.dtlsTransports[0].onRtp.subscribe((p) => {
    sub.packets++;
    sub.bytes += p.payload.length;
  });
  return sub;
}

const subs: Sub[] = [];
let failed = 0;
try {
  for (let i = 0; i < job.count; i += CONCURRENCY) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, job.count - i) }, () => subscriber()));
    for (const r of batch) {
      if (r.status === 'fulfilled') subs.push(r.value);
      else {
        failed++;
        process.stderr.write(`subscriber failed: ${r.reason}\n`);
      }
    }
  }
  send({ kind: 'ready', connected: subs.length, failed });
} catch (err) {
  send({ kind: 'error', message: String(err) });
}

process.on('message', async (m: ParentMessage) => {
  if (m.kind === 'reset') for (const s of subs) s.packets = s.bytes = 0;
  else if (m.kind === 'report') send({ kind: 'counts', perSubscriber: subs.map((s) => s.packets), bytes: subs.reduce((a, s) => a + s.bytes, 0) });
  else if (m.kind === 'stop') {
    for (const s of subs) {
      clearInterval(s.timer);
      await s.pc.close().catch(() => {});
      s.client.close();
    }
    process.exit(0);
  }
});
