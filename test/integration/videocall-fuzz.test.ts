/**
 * Fuzz the request validators of VideoCall, TextRoom and Record&Play through the Janus API (seeded
 * random bodies built from each plugin's request names and attributes, with values of every JSON
 * type), and TextRoom's data-channel requests through a real werift data channel: every request
 * gets an answer, every error carries one of the plugin's own codes, and afterwards the gateway and
 * the plugins still work. FUZZ_SEED replays a run; FUZZ_CASES sets the count per plugin.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { fuzzSeed, prng, type Rng } from '../helpers/prng.ts';
import { loopbackPeer, noStun, waitConnected, waitGathered } from '../helpers/werift-peer.ts';
import { PluginHandleClient, until } from './videocall-common.ts';

const SEED = fuzzSeed();
const CASES = Number(process.env.FUZZ_CASES ?? 150);
const server = await startServer(transportConfig((c) => {
  // The secret (never among the fuzz values) keeps random destroy/edit/kick requests off room 1234,
  // which the final check joins; rooms the fuzz creates itself have none and may be destroyed.
  c.pluginConfigs['janus.plugin.textroom'] = { general: {}, 'room-1234': { description: 'Fuzz room', secret: 'not-a-fuzz-value' } };
}), { logger: silentLogger() });
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;
const handles: PluginHandleClient[] = [];
after(async () => {
  for (const h of handles) await h.close().catch(() => undefined);
  await server.close();
});

function value(r: Rng): unknown {
  const choices: Array<() => unknown> = [
    () => Math.floor(r() * 5000) - 100, () => r() * 10, () => -1, () => 0, () => 1234, () => Number.MAX_SAFE_INTEGER,
    () => 'x', () => '', () => 'alice', () => '../../etc/passwd', () => 'ü'.repeat(Math.floor(r() * 300)),
    () => true, () => false, () => null, () => [], () => ['a', 1], () => ({}), () => ({ nested: 'x' }),
  ];
  return choices[Math.floor(r() * choices.length)]();
}

function body(r: Rng, requests: string[], keys: string[], requestKey = 'request'): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  const roll = r();
  if (roll < 0.85) b[requestKey] = requests[Math.floor(r() * requests.length)];
  else if (roll < 0.95) b[requestKey] = value(r);
  for (let n = Math.floor(r() * 5); n > 0; n--) b[keys[Math.floor(r() * keys.length)]] = value(r);
  return b;
}

const PLUGINS = [
  {
    name: 'janus.plugin.videocall', field: 'videocall', codes: [470, 471, 472, 473, 474, 475, 476, 477, 478, 479, 480, 481, 482, 483, 499],
    requests: ['list', 'register', 'call', 'accept', 'set', 'hangup', 'dance'],
    keys: ['username', 'audio', 'video', 'bitrate', 'record', 'filename', 'substream', 'temporal', 'fallback', 'restart', 'reason'],
  },
  {
    name: 'janus.plugin.textroom', field: 'textroom', codes: [411, 412, 413, 414, 415, 416, 417, 418, 419, 420, 421, 422, 423, 499],
    requests: ['list', 'listparticipants', 'exists', 'create', 'edit', 'announcement', 'allowed', 'kick', 'destroy', 'join', 'restart', 'dance'],
    keys: ['room', 'secret', 'pin', 'description', 'is_private', 'history', 'allowed', 'permanent', 'new_description', 'new_secret', 'new_pin',
      'new_is_private', 'action', 'username', 'text', 'admin_key', 'post', 'textroom'],
  },
  {
    name: 'janus.plugin.recordplay', field: 'recordplay', codes: [411, 412, 413, 414, 415, 416, 417, 418, 419, 420, 499],
    requests: ['list', 'update', 'configure', 'record', 'play', 'start', 'stop', 'pause', 'resume', 'dance'],
    keys: ['id', 'name', 'filename', 'audiocodec', 'videocodec', 'videoprofile', 'opusred', 'textdata', 'update', 'restart', 'video-bitrate-max', 'video-keyframe-interval'],
  },
];

for (const p of PLUGINS) {
  test(`fuzz ${p.name} requests over the Janus API (seed ${SEED})`, async () => {
    const r = prng(SEED + p.name.length);
    const h = await PluginHandleClient.attach(wsUrl, p.name);
    handles.push(h);
    for (let i = 0; i < CASES; i++) {
      const b = body(r, p.requests, p.keys);
      const where = `seed ${SEED} case ${i} body ${JSON.stringify(b)}`;
      const reply = await h.send(b);
      let data = reply.plugindata?.data;
      if (reply.janus === 'ack') {
        const ev = await h.client.waitFor((m) => m.janus === 'event' && m.transaction === reply.transaction, 10000);
        data = ev.plugindata?.data;
      } else {
        assert.equal(reply.janus, 'success', where);
      }
      assert.ok(data && typeof data === 'object', where);
      if (data.error_code !== undefined) {
        assert.ok(p.codes.includes(data.error_code), `${where}: code ${data.error_code}`);
        assert.equal(typeof data.error, 'string', where);
      }
    }
    // Still working afterwards.
    const info = await h.client.request({ janus: 'info' });
    assert.equal(info.janus, 'server_info');
    assert.equal(typeof info.plugins[p.name].name, 'string');
  });
}

test(`fuzz TextRoom requests over a real data channel (seed ${SEED})`, async () => {
  const h = await PluginHandleClient.attach(wsUrl, 'janus.plugin.textroom');
  handles.push(h);
  const setup = await h.request({ request: 'setup' });
  const pc = loopbackPeer();
  try {
    await pc.setRemoteDescription(setup.jsep);
    const ch = pc.createDataChannel('JanusDataChannel');
    const answers: any[] = [];
    ch.onMessage.subscribe((m) => {
      try {
        answers.push(JSON.parse(m.toString()));
      } catch {
        answers.push({ unparsable: m.toString() });
      }
    });
    const answer = await pc.createAnswer();
    noStun(pc);
    await pc.setLocalDescription(answer);
    await waitGathered(pc);
    await h.request({ request: 'ack' }, { type: 'answer', sdp: pc.localDescription!.sdp });
    await waitConnected(pc, 15000);
    await until(() => ch.readyState === 'open', 10000, 'channel');
    const r = prng(SEED + 99);
    const verbs = ['join', 'leave', 'message', 'announcement', 'list', 'listparticipants', 'exists', 'create', 'edit', 'allowed', 'kick', 'destroy', 'dance'];
    const keys = ['room', 'username', 'display', 'pin', 'token', 'history', 'text', 'to', 'tos', 'ack', 'secret', 'action', 'allowed', 'permanent'];
    let expected = 0;
    for (let i = 0; i < CASES; i++) {
      const roll = r();
      if (roll < 0.05) {
        ch.send(Buffer.from([0xff, 0x00, Math.floor(r() * 256)]));
        continue;
      }
      if (roll < 0.1) {
        ch.send('{"textroom": "join", "transaction": ');
        continue;
      }
      const b = body(r, verbs, keys, 'textroom');
      b.transaction = `f${i}`;
      // ack:false on a message asks for no answer.
      if (!(b.textroom === 'message' && b.ack === false)) expected++;
      ch.send(JSON.stringify(b));
    }
    await until(() => answers.filter((a) => typeof a.transaction === 'string' && a.transaction.startsWith('f')).length >= expected - 5, 20000, 'answers');
    for (const a of answers) {
      assert.ok(!('unparsable' in a), `unparsable answer ${JSON.stringify(a)}`);
      if (a.textroom === 'error') assert.ok(PLUGINS[1].codes.includes(a.error_code), JSON.stringify(a));
    }
    // The room still works for a real join.
    ch.send(JSON.stringify({ textroom: 'join', transaction: 'final', room: 1234, username: `after-fuzz-${SEED}` }));
    await until(() => answers.some((a) => a.transaction === 'final'), 8000, 'final join');
    assert.equal(answers.find((a) => a.transaction === 'final').textroom, 'success');
  } finally {
    await pc.close();
  }
});
