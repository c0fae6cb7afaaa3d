/**
 * TextRoom over data channels, Portunus side by side with the real Janus 1.1.2: a werift peer on
 * each does setup/ack, then the same sequence of data-channel requests (join, messages, whispers,
 * errors, leave); the answers and the events the peer receives must be the same, dates aside.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { startReferenceJanus, type ReferenceJanus } from '../helpers/reference-janus.ts';
import { loopbackPeer, noStun, waitConnected, waitGathered } from '../helpers/werift-peer.ts';
import { PluginHandleClient, until, sleep } from './videocall-common.ts';

let reference: ReferenceJanus;
let portunus: RunningServer;
const closers: Array<() => Promise<unknown>> = [];

before(async () => {
  reference = await startReferenceJanus();
  // Room 1234 as in Debian's stock janus.plugin.textroom.jcfg, which the reference Janus runs with.
  portunus = await startServer(transportConfig((c) => {
    c.pluginConfigs['janus.plugin.textroom'] = { general: {}, 'room-1234': { description: 'Demo Room', secret: 'adminpwd' } };
  }), { logger: silentLogger() });
});

after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await portunus?.close();
  await reference?.stop();
});

interface Chat {
  h: PluginHandleClient;
  pc: RTCPeerConnection;
  channel: RTCDataChannel;
  received: any[];
}

async function chat(wsUrl: string): Promise<Chat> {
  const h = await PluginHandleClient.attach(wsUrl, 'janus.plugin.textroom');
  closers.push(() => h.close());
  const setup = await h.request({ request: 'setup' });
  const pc = loopbackPeer();
  closers.push(() => pc.close());
  await pc.setRemoteDescription(setup.jsep);
  const channel = pc.createDataChannel('JanusDataChannel');
  const received: any[] = [];
  channel.onMessage.subscribe((m) => received.push(JSON.parse(m.toString())));
  const answer = await pc.createAnswer();
  noStun(pc);
  await pc.setLocalDescription(answer);
  await waitGathered(pc);
  assert.deepEqual((await h.request({ request: 'ack' }, { type: 'answer', sdp: pc.localDescription!.sdp })).data, { textroom: 'event', result: 'ok' });
  await waitConnected(pc, 20000).catch((err) => { throw new Error(`${wsUrl}: ${String(err)}\n${setup.jsep.sdp}`); });
  await until(() => channel.readyState === 'open', 10000, 'channel open');
  return { h, pc, channel, received };
}

/** Dates differ between the runs: keep only their shape. */
function normal(v: any): any {
  return JSON.parse(JSON.stringify(v), (k, x) => {
    if (k === 'date' && typeof x === 'string') return x.replace(/\d/g, '9').replace(/[+-]\d{4}$/, '+9999');
    // Janus lists participants in hash-table order: compare them as sets.
    if (k === 'participants' && Array.isArray(x)) return [...x].sort((a, b) => String(a.username).localeCompare(String(b.username)));
    return x;
  });
}

test('the same data-channel answers and events from Janus and Portunus', async () => {
  const tag = `p${Date.now() % 100000}`;
  const runs: any[][] = [];
  for (const url of [reference.wsUrl, `ws://127.0.0.1:${portunus.ports.ws}`]) {
    const a = await chat(url);
    const b = await chat(url);
    const steps: Array<[Chat, Record<string, unknown>]> = [
      [a, { textroom: 'join', room: 1234, username: `${tag}-a`, display: 'A' }],
      [b, { textroom: 'join', room: 1234, username: `${tag}-b` }],
      [b, { textroom: 'join', room: 1234, username: `${tag}-b` }],
      [a, { textroom: 'join', room: 4242, username: 'x' }],
      [a, { textroom: 'join', room: 1234 }],
      [a, { textroom: 'message', room: 1234, text: 'hello' }],
      [b, { textroom: 'message', room: 1234, text: 'psst', to: `${tag}-a` }],
      [b, { textroom: 'message', room: 1234, text: 'psst', tos: [`${tag}-a`, 'nobody'] }],
      [b, { textroom: 'message', room: 1234, text: 'x', to: 'a', tos: ['b'] }],
      [b, { textroom: 'message', room: 1234, text: 5 }],
      [b, { textroom: 'message', room: 999, text: 'x' }],
      [a, { textroom: 'listparticipants', room: 1234 }],
      [a, { textroom: 'announcement', room: 1234, text: 'no secret' }],
      [a, { textroom: 'kick', room: 1234, secret: 'wrong', username: `${tag}-b` }],
      [a, { textroom: 'dance' }],
      [b, { textroom: 'leave', room: 1234 }],
      [b, { textroom: 'leave', room: 1234 }],
      [a, { textroom: 'leave', room: 1234 }],
    ];
    let i = 0;
    for (const [who, req] of steps) {
      const transaction = `t${i++}`;
      who.channel.send(JSON.stringify({ ...req, transaction }));
      await until(() => who.received.some((m) => m.transaction === transaction), 8000, `answer to ${JSON.stringify(req)}`);
      await sleep(100);
    }
    await sleep(300);
    // Usernames carry the run's tag: the same on both sides.
    runs.push([a.received.map(normal), b.received.map(normal)]);
  }
  const [janus, ours] = runs;
  assert.deepEqual(ours[0], janus[0], `first peer:\nportunus ${JSON.stringify(ours[0])}\njanus ${JSON.stringify(janus[0])}`);
  assert.deepEqual(ours[1], janus[1], `second peer:\nportunus ${JSON.stringify(ours[1])}\njanus ${JSON.stringify(janus[1])}`);
});

test('rooms made over the data channel: history, announcements, kick, edit, destroy, the same as Janus', async () => {
  const tag = `q${Date.now() % 100000}`;
  const runs: any[][] = [];
  for (const url of [reference.wsUrl, `ws://127.0.0.1:${portunus.ports.ws}`]) {
    const room = 610000 + Math.floor(Math.random() * 9999);
    const a = await chat(url);
    const b = await chat(url);
    const c = await chat(url);
    // `ack: false` asks for no answer: such steps are given a moment instead.
    const steps: Array<[Chat, Record<string, unknown>]> = [
      [a, { textroom: 'create', room, description: 'DC room', secret: 's', pin: 'p', history: 2, is_private: true }],
      [a, { textroom: 'create', room }],
      [a, { textroom: 'exists', room }],
      [a, { textroom: 'list' }],
      [a, { textroom: 'join', room, username: `${tag}-a` }],
      [a, { textroom: 'join', room, username: `${tag}-a`, pin: 'p' }],
      [b, { textroom: 'join', room, username: `${tag}-b`, pin: 'p', display: 'Bee' }],
      [a, { textroom: 'message', room, text: 'one' }],
      [b, { textroom: 'message', room, text: 'two', ack: false }],
      [a, { textroom: 'message', room, text: 'three' }],
      [c, { textroom: 'join', room, username: `${tag}-c`, pin: 'p' }],
      [c, { textroom: 'leave', room }],
      [c, { textroom: 'join', room, username: `${tag}-c`, pin: 'p', history: false }],
      [a, { textroom: 'announcement', room, secret: 's', text: 'hear ye' }],
      [a, { textroom: 'edit', room, secret: 's', new_description: 'Renamed', new_pin: 'q' }],
      [a, { textroom: 'listparticipants', room }],
      [a, { textroom: 'allowed', room, secret: 's', action: 'enable', allowed: ['tok'] }],
      [a, { textroom: 'allowed', room, secret: 's', action: 'remove', allowed: ['tok'] }],
      [a, { textroom: 'allowed', room, secret: 's', action: 'disable' }],
      [a, { textroom: 'kick', room, secret: 's', username: `${tag}-b` }],
      [b, { textroom: 'message', room, text: 'still here?' }],
      [a, { textroom: 'destroy', room, secret: 'x' }],
      [a, { textroom: 'destroy', room, secret: 's' }],
      [a, { textroom: 'exists', room }],
    ];
    let i = 0;
    for (const [who, req] of steps) {
      const transaction = `t${i++}`;
      who.channel.send(JSON.stringify({ ...req, transaction }));
      if (req.ack === false) await sleep(400);
      else await until(() => who.received.some((m) => m.transaction === transaction), 8000, `answer to ${JSON.stringify(req)}`);
      await sleep(100);
    }
    await sleep(300);
    const strip = (m: any) => JSON.parse(JSON.stringify(m).replaceAll(String(room), '424242'));
    // The room list holds the other rooms of each server: keep ours only.
    const mine = (m: any) => (Array.isArray(m.list) ? { ...m, list: m.list.filter((r: any) => r.room === room) } : m);
    runs.push([a, b, c].map((x) => x.received.map(mine).map(normal).map(strip)));
  }
  const [janus, ours] = runs;
  // Janus 1.1.2 answers a successful data-channel kick with "textbridge" (a typo fixed upstream
  // since): Portunus answers "textroom", the fixed behaviour.
  const kick: any = janus[0].find((m: any) => m.transaction === 't19');
  assert.deepEqual({ ...kick }, { textbridge: 'success', transaction: 't19' });
  kick.textroom = kick.textbridge;
  delete kick.textbridge;
  for (let k = 0; k < 3; k++) {
    assert.deepEqual(ours[k], janus[k], `peer ${k}:\nportunus ${JSON.stringify(ours[k])}\njanus ${JSON.stringify(janus[k])}`);
  }
});

test('Janus API list, exists and listparticipants of the configured room: the same as Janus', async () => {
  const answers: unknown[][] = [];
  for (const url of [reference.wsUrl, `ws://127.0.0.1:${portunus.ports.ws}`]) {
    const h = await PluginHandleClient.attach(url, 'janus.plugin.textroom');
    closers.push(() => h.close());
    const out: unknown[] = [];
    for (const body of [{ request: 'list' }, { request: 'exists', room: 1234 }, { request: 'listparticipants', room: 1234 }, { request: 'LIST' }]) {
      const reply = await h.send(body);
      const data = reply.plugindata?.data;
      // Other tests' rooms come and go: the stock room 1234 is the one both servers have.
      out.push(Array.isArray(data?.list) ? { ...data, list: data.list.filter((r: any) => r.room === 1234) } : data);
    }
    answers.push(out);
  }
  assert.deepEqual(answers[1], answers[0]);
  assert.deepEqual((answers[0][0] as any).list, [{ room: 1234, description: 'Demo Room', pin_required: false, history: 0, num_participants: 0 }]);
});

test('participants that go (PeerConnection hung up, session destroyed): the others hear the same as from Janus', async () => {
  const tag = `v${Date.now() % 100000}`;
  const runs: unknown[] = [];
  for (const url of [reference.wsUrl, `ws://127.0.0.1:${portunus.ports.ws}`]) {
    const a = await chat(url);
    const b = await chat(url);
    const c = await chat(url);
    let i = 0;
    for (const [who, name] of [[a, 'a'], [b, 'b'], [c, 'c']] as const) {
      const transaction = `j${i++}`;
      who.channel.send(JSON.stringify({ textroom: 'join', room: 1234, username: `${tag}-${name}`, transaction }));
      await until(() => who.received.some((m) => m.transaction === transaction), 8000, 'joined');
    }
    await sleep(200);
    // A closed werift PeerConnection says nothing Janus notices quickly: b hangs up through the API.
    const hangup = await b.h.client.request({ janus: 'hangup', session_id: b.h.sessionId, handle_id: b.h.handleId, transaction: `hb${tag}` });
    assert.equal(hangup.janus, 'success');
    await until(() => a.received.some((m) => m.textroom === 'leave' && m.username === `${tag}-b`), 15000, 'leave of b (hung up)');
    await c.h.client.destroy(c.h.sessionId);
    await until(() => a.received.some((m) => m.textroom === 'leave' && m.username === `${tag}-c`), 15000, 'leave of c (session destroyed)');
    await sleep(300);
    runs.push(a.received.filter((m) => m.transaction === undefined).map(normal));
  }
  assert.deepEqual(runs[1], runs[0], `portunus ${JSON.stringify(runs[1])}\njanus ${JSON.stringify(runs[0])}`);
});
