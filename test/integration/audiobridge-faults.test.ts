/**
 * Faults do not spread: a plain-RTP participant that sends garbage, bursts, long silence and then
 * vanishes, and a WebRTC participant that vanishes without leaving, leave the others' mix intact
 * and on time. And a 40-participant room keeps 50 mixed frames per second for every listener.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { startAudioBridgeServer, ToneParticipant, AbClient, sleep, until } from './audiobridge-common.ts';
import { sineFrame } from '../helpers/audio-tones.ts';
import { g711Encode } from '../../src/audiobridge/g711.ts';
import { prng } from '../helpers/prng.ts';

const server = await startAudioBridgeServer();
after(() => server.close());
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

async function udp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

function framesPerSecond(p: ToneParticipant, from: number, to: number): number {
  return p.received.filter((f) => f.at >= from && f.at < to).length / ((to - from) / 1000);
}

test('garbage, bursts, silence and vanishing participants do not disturb the others', async () => {
  const admin = await AbClient.open(wsUrl);
  const room = 9100;
  await admin.sync({ request: 'create', room, sampling_rate: 16000, allow_rtp_participants: true });
  const a = await ToneParticipant.join(wsUrl, room, 440);
  const b = await ToneParticipant.join(wsUrl, room, 1000);
  const ghost = await ToneParticipant.join(wsUrl, room, 1700);
  const badClient = await AbClient.open(wsUrl);
  const bad = await udp();
  try {
    const joined = await badClient.async({ request: 'join', room, rtp: { ip: '127.0.0.1', port: bad.address().port } });
    const target = joined.plugindata.data.rtp;
    [a, b, ghost].forEach((p) => p.start());
    await Promise.all([a, b, ghost].map((p) => p.flowing()));
    await sleep(300);
    const since = performance.now();
    const rnd = prng(7);
    // 1 s of garbage: random bytes, RTP with random payloads, random sequence numbers.
    for (let i = 0; i < 50; i++) {
      const g = Buffer.alloc(20 + Math.floor(rnd() * 200));
      for (let j = 0; j < g.length; j++) g[j] = Math.floor(rnd() * 256);
      if (i % 2 === 0) g[0] = 0x80;
      bad.send(g, target.port, target.ip);
      await sleep(20);
    }
    // A burst: 200 packets at once.
    for (let i = 0; i < 200; i++) {
      const g = Buffer.alloc(60, i);
      g[0] = 0x80;
      g[1] = 100;
      g.writeUInt16BE(i, 2);
      bad.send(g, target.port, target.ip);
    }
    // The ghost vanishes without a word: its PeerConnection and its WebSocket just go.
    ghost.stop();
    await ghost.pc.close();
    await ghost.client.close();
    // Then silence from the bad leg for a second, and it disappears too.
    await sleep(1000);
    bad.close();
    await sleep(600);
    const until_ = performance.now();
    // The two good participants kept their rate and hear each other (and no longer the ghost).
    for (const p of [a, b]) {
      const fps = framesPerSecond(p, since + 200, until_);
      // 50 a second, with room for a loaded shared machine (timer and scheduling delays), not for a stall.
      assert.ok(fps > 40, `50 frames/s kept: ${fps.toFixed(1)}`);
    }
    const late = performance.now();
    await sleep(800);
    const amp = a.hears([440, 1000, 1700], late, 0);
    assert.ok(amp[1] > 1500 && amp[0] < 400 && amp[2] < 400, `a hears b only: ${amp.map((x) => x.toFixed(0))}`);
    await a.client.waitNotification((n) => n.leaving === ghost.id, 5000);
  } finally {
    await Promise.all([a.close(), b.close(), badClient.close()]);
    try { bad.close(); } catch { /* closed */ }
    await admin.sync({ request: 'destroy', room });
    await admin.close();
  }
});

test('a room of 40 participants keeps 50 mixed frames per second for every listener', async () => {
  const admin = await AbClient.open(wsUrl);
  const room = 9200;
  await admin.sync({ request: 'create', room, sampling_rate: 16000, allow_rtp_participants: true });
  const P = 40;
  const clients: AbClient[] = [];
  const socks: dgram.Socket[] = [];
  const counts = new Array<number>(P).fill(0);
  const targets: Array<{ ip: string; port: number }> = [];
  let counting = false;
  const seen = new Set<number>();
  try {
    for (let i = 0; i < P; i++) {
      const s = await udp();
      s.on('message', () => {
        seen.add(i);
        if (counting) counts[i]++;
      });
      const c = await AbClient.open(wsUrl);
      const j = await c.async({ request: 'join', room, codec: 'pcmu', rtp: { ip: '127.0.0.1', port: s.address().port, payload_type: 0 } });
      targets.push(j.plugindata.data.rtp);
      socks.push(s);
      clients.push(c);
    }
    // Three speak, the others send silence, every 20 ms.
    const pcm = new Int16Array(160);
    const payload = new Uint8Array(160);
    const t0 = performance.now();
    let sent = 0;
    const timer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) / 20) + 1;
      for (; sent < due; sent++) {
        for (let i = 0; i < P; i++) {
          sineFrame(pcm, 160, 300 + 200 * i, 8000, sent * 160, i < 3 ? 6000 : 0);
          g711Encode('pcmu', pcm, 160, payload);
          const b = Buffer.alloc(172);
          b[0] = 0x80;
          b.writeUInt16BE(sent & 0xffff, 2);
          b.writeUInt32BE((sent * 160) >>> 0, 4);
          b.writeUInt32BE(1000 + i, 8);
          b.set(payload, 12);
          socks[i].send(b, targets[i].port, targets[i].ip);
        }
      }
    }, 10);
    await until(() => seen.size === P, 20_000, 'audio to every leg');
    await sleep(500);
    counting = true;
    const start = performance.now();
    await sleep(3000);
    counting = false;
    const seconds = (performance.now() - start) / 1000;
    clearInterval(timer);
    const rates = counts.map((n) => n / seconds);
    const min = Math.min(...rates);
    assert.ok(min >= 45, `every listener ~50 frames/s: min ${min.toFixed(1)}, mean ${(rates.reduce((x, y) => x + y) / P).toFixed(1)}`);
    const list = await admin.sync({ request: 'listparticipants', room });
    assert.equal(list.participants.length, P);
  } finally {
    socks.forEach((s) => s.close());
    await Promise.all(clients.map((c) => c.close()));
    await admin.sync({ request: 'destroy', room });
    await admin.close();
  }
});
