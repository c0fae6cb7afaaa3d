/**
 * TextRoom with real werift peers: setup/ack negotiation of a data-channel-only PeerConnection,
 * join/leave/message/whispers/announcement/history/kick/destroy over the data channel, the room
 * management requests over the Janus API and the Admin-style path, rooms from the configuration,
 * permanent rooms written back to janus.plugin.textroom.jcfg, and the TextRoom error codes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RTCDataChannel } from 'werift';
import { startServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { parseJcfg } from '../../src/config/jcfg.ts';
import { transportConfig } from '../helpers/transport.ts';
import { loopbackPeer, noStun, waitGathered, waitConnected } from '../helpers/werift-peer.ts';
import { PluginHandleClient, until, sleep } from './videocall-common.ts';

const TR = 'janus.plugin.textroom';
const dir = mkdtempSync(join(tmpdir(), 'portunus-textroom-'));
const configFile = join(dir, 'janus.plugin.textroom.jcfg');
writeFileSync(configFile, 'general: {\n\tjson = "compact"\n}\nroom-1234: {\n\tdescription = "Demo Room"\n\tsecret = "adminpwd"\n\thistory = 3\n}\nroom-bad: {\n\tdescription = "not numeric"\n}\n');
// A local HTTP backend for the `post` option.
const posted: string[] = [];
const backend = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    posted.push(body);
    res.end('{}');
  });
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const backendUrl = `http://127.0.0.1:${(backend.address() as { port: number }).port}/hook`;

const server = await startServer(transportConfig((c) => {
  c.general.configs_folder = dir;
  c.pluginConfigs[TR] = parseJcfg(readFileSync(configFile, 'utf8'));
}), { logger: silentLogger() });
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;
const users: ChatUser[] = [];
after(async () => {
  for (const u of users) await u.close().catch(() => undefined);
  await server.close();
  backend.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A TextRoom user: a handle, a werift PeerConnection with one data channel, what it received. */
class ChatUser {
  received: any[] = [];
  channel!: RTCDataChannel;
  pc = loopbackPeer();
  #tx = 0;
  constructor(readonly h: PluginHandleClient) {}

  static async connect(): Promise<ChatUser> {
    const u = new ChatUser(await PluginHandleClient.attach(wsUrl, TR));
    users.push(u);
    const setup = await u.h.request({ request: 'setup' });
    assert.deepEqual(setup.data, { textroom: 'event', result: 'ok' });
    assert.equal(setup.jsep.type, 'offer');
    assert.match(setup.jsep.sdp, /m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/);
    assert.doesNotMatch(setup.jsep.sdp, /m=audio|m=video/);
    await u.pc.setRemoteDescription(setup.jsep);
    u.channel = u.pc.createDataChannel('JanusDataChannel');
    u.channel.onMessage.subscribe((m) => u.received.push(JSON.parse(m.toString())));
    const answer = await u.pc.createAnswer();
    noStun(u.pc);
    await u.pc.setLocalDescription(answer);
    await waitGathered(u.pc);
    const ack = await u.h.request({ request: 'ack' }, { type: 'answer', sdp: u.pc.localDescription!.sdp });
    assert.deepEqual(ack.data, { textroom: 'event', result: 'ok' });
    await waitConnected(u.pc, 15000);
    await until(() => u.channel.readyState === 'open', 10000, 'data channel open');
    return u;
  }

  /** Send a request on the data channel; resolves with the answer carrying its transaction. */
  async ask(req: Record<string, unknown>): Promise<any> {
    const transaction = `t${++this.#tx}-${Math.random().toString(36).slice(2, 8)}`;
    this.channel.send(JSON.stringify({ ...req, transaction }));
    await until(() => this.received.some((m) => m.transaction === transaction), 8000, `answer to ${String(req.textroom)}`);
    return this.received.find((m) => m.transaction === transaction);
  }

  events(kind: string): any[] {
    return this.received.filter((m) => m.textroom === kind);
  }

  async close(): Promise<void> {
    await this.pc.close().catch(() => undefined);
    await this.h.close();
  }
}

test('rooms from the configuration; the Janus API management requests', async () => {
  const h = await PluginHandleClient.attach(wsUrl, TR);
  const list = await h.sync({ request: 'list' });
  assert.equal(list.textroom, 'success');
  assert.deepEqual(list.list.find((r: any) => r.room === 1234), { room: 1234, description: 'Demo Room', pin_required: false, num_participants: 0, history: 3 });
  assert.equal(list.list.length, 1, 'the non-numeric room id is skipped');
  assert.deepEqual(await h.sync({ request: 'exists', room: 1234 }), { textroom: 'success', room: 1234, exists: true });
  assert.deepEqual(await h.sync({ request: 'exists', room: 99 }), { textroom: 'success', room: 99, exists: false });
  const created = await h.sync({ request: 'create', room: 77, description: 'API room', pin: 'p', is_private: true });
  assert.deepEqual(created, { textroom: 'created', room: 77, permanent: false });
  assert.deepEqual(await h.sync({ request: 'create', room: 77 }), { textroom: 'error', error_code: 418, error: 'Room 77 already exists' });
  const visible = await h.sync({ request: 'list' });
  assert.ok(!visible.list.some((r: any) => r.room === 77), 'private rooms are not listed');
  assert.deepEqual(await h.sync({ request: 'edit', room: 77, new_description: 'Edited' }), { textroom: 'edited', room: 77, permanent: false });
  assert.deepEqual(await h.sync({ request: 'listparticipants', room: 77 }), { room: 77, participants: [] });
  assert.deepEqual(await h.sync({ request: 'destroy', room: 1234 }), { textroom: 'error', error_code: 413, error: 'Missing mandatory element (secret)' });
  assert.deepEqual(await h.sync({ request: 'destroy', room: 1234, secret: 'nope' }), { textroom: 'error', error_code: 419, error: 'Unauthorized (wrong secret)' });
  assert.deepEqual(await h.sync({ request: 'destroy', room: 77 }), { textroom: 'destroyed', room: 77, permanent: false });
  assert.deepEqual(await h.sync({ request: 'destroy', room: 77 }), { textroom: 'error', error_code: 417, error: 'No such room (77)' });
  assert.deepEqual(await h.sync({ request: 'join', room: 1234, username: 'x' }), { textroom: 'event', error_code: 415, error: "Unknown request 'join'" });
  assert.deepEqual(await h.sync({ request: 'create', room: 'abc' }), { textroom: 'error', error_code: 414, error: 'Invalid element type (room should be a positive integer)' });
  assert.deepEqual(await h.sync({ request: 'create', allowed: [1] }), { textroom: 'error', error_code: 414, error: 'Invalid element in the allowed array (not a string)' });
  assert.deepEqual(await h.sync({}), { textroom: 'event', error_code: 413, error: 'Missing mandatory element (request)' });
  assert.deepEqual(await h.sync({ request: 'allowed', room: 1234, secret: 'adminpwd', action: 'shout' }), { textroom: 'error', error_code: 414, error: "Unsupported action 'shout' (allowed)" });
  const setup2 = await h.request({ request: 'restart' });
  assert.deepEqual(setup2.data, { textroom: 'error', error_code: 416, error: 'PeerConnection not setup' });
  await h.close();
});

test('permanent rooms are written back to the configuration file', async () => {
  const h = await PluginHandleClient.attach(wsUrl, TR);
  assert.deepEqual(await h.sync({ request: 'create', room: 4321, description: 'Kept', secret: 's', history: 5, permanent: true }), { textroom: 'created', room: 4321, permanent: true });
  let file = parseJcfg(readFileSync(configFile, 'utf8')) as any;
  assert.deepEqual(file['room-4321'], { description: 'Kept', secret: 's', history: '5' });
  assert.equal(file['room-1234'].description, 'Demo Room', 'other rooms stay');
  assert.equal(file.general.json, 'compact');
  await h.sync({ request: 'edit', room: 4321, secret: 's', new_description: 'Kept too', permanent: true });
  file = parseJcfg(readFileSync(configFile, 'utf8')) as any;
  assert.equal(file['room-4321'].description, 'Kept too');
  assert.deepEqual(await h.sync({ request: 'destroy', room: 4321, secret: 's', permanent: true }), { textroom: 'destroyed', room: 4321, permanent: true });
  file = parseJcfg(readFileSync(configFile, 'utf8')) as any;
  assert.equal(file['room-4321'], undefined);
  await h.close();
});

test('two peers chat over data channels: join, messages, whispers, announcement, history, leave', async () => {
  const admin = await PluginHandleClient.attach(wsUrl, TR);
  await admin.sync({ request: 'create', room: 555, description: 'Chat', secret: 'sec', history: 2, post: backendUrl });
  const alice = await ChatUser.connect();
  const bob = await ChatUser.connect();
  const ja = await alice.ask({ textroom: 'join', room: 555, username: 'alice', display: 'Alice' });
  assert.deepEqual(ja.textroom, 'success');
  assert.deepEqual(ja.participants, []);
  const jb = await bob.ask({ textroom: 'join', room: 555, username: 'bob' });
  assert.deepEqual(jb.participants, [{ username: 'alice', display: 'Alice' }]);
  await until(() => alice.events('join').some((e) => e.username === 'bob'), 5000, 'join event at alice');
  assert.deepEqual(alice.events('join').find((e) => e.username === 'bob'), { textroom: 'join', room: 555, username: 'bob' });
  // Errors over the data channel carry the transaction.
  const dup = await bob.ask({ textroom: 'join', room: 555, username: 'bob2' });
  assert.equal(dup.textroom, 'error');
  assert.equal(dup.error_code, 421);
  assert.equal(dup.error, 'Already in room 555');
  const taken = await (await ChatUser.connect()).ask({ textroom: 'join', room: 555, username: 'alice' });
  assert.deepEqual([taken.error_code, taken.error], [420, 'Username already taken']);

  const sent = await alice.ask({ textroom: 'message', room: 555, text: 'hello all' });
  assert.deepEqual(sent, { textroom: 'success', transaction: sent.transaction });
  await until(() => bob.events('message').length === 1);
  const m = bob.events('message')[0];
  assert.equal(m.from, 'alice');
  assert.equal(m.text, 'hello all');
  assert.equal(m.room, 555);
  assert.match(m.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$/);
  assert.equal(m.whisper, undefined);
  assert.ok(alice.events('message').some((x) => x.text === 'hello all'), 'the sender gets its public message too');

  const w = await bob.ask({ textroom: 'message', room: 555, text: 'psst', to: 'alice' });
  assert.deepEqual(w.sent, { alice: true });
  const ws = await bob.ask({ textroom: 'message', room: 555, text: 'psst2', tos: ['alice', 'nobody'] });
  assert.deepEqual(ws.sent, { alice: true, nobody: false });
  await until(() => alice.events('message').filter((x) => x.whisper === true).length === 2);
  assert.ok(!bob.events('message').some((x) => x.text === 'psst'), 'a whisper reaches only its target');
  const both = await bob.ask({ textroom: 'message', room: 555, text: 'x', to: 'alice', tos: ['alice'] });
  assert.deepEqual([both.error_code, both.error], [414, 'Both to and tos array provided']);
  // ack: false asks for no answer; the message is delivered anyway.
  bob.channel.send(JSON.stringify({ textroom: 'message', transaction: 'noack', room: 555, text: 'silent', ack: false }));
  await until(() => alice.events('message').some((x) => x.text === 'silent'));
  await sleep(100);
  assert.ok(!bob.received.some((x) => x.transaction === 'noack'));

  const ann = await admin.sync({ request: 'announcement', room: 555, secret: 'sec', text: 'Server news' });
  assert.deepEqual(ann, { textroom: 'success' });
  await until(() => alice.events('announcement').length === 1 && bob.events('announcement').length === 1);
  assert.equal(alice.events('announcement')[0].text, 'Server news');
  await until(() => posted.length >= 3, 5000, 'posts to the backend');
  assert.ok(posted.some((p) => JSON.parse(p).text === 'hello all'));
  assert.ok(posted.some((p) => JSON.parse(p).textroom === 'announcement'));

  // History: a newcomer gets the last two public messages/announcements.
  const carol = await ChatUser.connect();
  await carol.ask({ textroom: 'join', room: 555, username: 'carol' });
  const hist = carol.received.filter((x) => x.textroom === 'message' || x.textroom === 'announcement');
  assert.deepEqual(hist.map((x) => x.text), ['silent', 'Server news']);
  assert.equal(hist[0].display, undefined);
  const participants = await admin.sync({ request: 'listparticipants', room: 555 });
  assert.deepEqual(participants.participants.map((p: any) => p.username).sort(), ['alice', 'bob', 'carol']);

  const left = await carol.ask({ textroom: 'leave', room: 555 });
  assert.equal(left.textroom, 'success');
  await until(() => alice.events('leave').some((e) => e.username === 'carol'));
  const notIn = await carol.ask({ textroom: 'message', room: 555, text: 'hi' });
  assert.deepEqual([notIn.error_code, notIn.error], [422, 'Not in room 555']);

  // Kick, then destroy: everyone is told, and the room is gone.
  const kicked = await admin.sync({ request: 'kick', room: 555, secret: 'sec', username: 'bob' });
  assert.deepEqual(kicked, { textroom: 'success' });
  await until(() => bob.events('kicked').length === 1 && alice.events('kicked').length === 1);
  assert.deepEqual(bob.events('kicked')[0], { textroom: 'kicked', room: 555, username: 'bob' });
  const noUser = await admin.sync({ request: 'kick', room: 555, secret: 'sec', username: 'bob' });
  assert.deepEqual(noUser, { textroom: 'error', error_code: 423, error: 'No such user bob in room 555' });
  const again = await bob.ask({ textroom: 'message', room: 555, text: 'still here?' });
  assert.equal(again.error_code, 422);
  const destroyed = await alice.ask({ textroom: 'destroy', room: 555, secret: 'sec' });
  assert.deepEqual({ ...destroyed, transaction: undefined }, { textroom: 'success', room: 555, permanent: false, transaction: undefined });
  // As Janus: the requester is told first, then every participant (alice is both).
  await until(() => alice.events('destroyed').length === 2);
  assert.deepEqual(await admin.sync({ request: 'exists', room: 555 }), { textroom: 'success', room: 555, exists: false });
  await admin.close();
});

test('pins, tokens, a peer that vanishes, setup twice, and junk on the data channel', async () => {
  const admin = await PluginHandleClient.attach(wsUrl, TR);
  await admin.sync({ request: 'create', room: 600, pin: 'letmein', secret: 's', allowed: ['tok1'] });
  const a = await ChatUser.connect();
  const noPin = await a.ask({ textroom: 'join', room: 600, username: 'a' });
  assert.deepEqual([noPin.error_code, noPin.error], [413, 'Missing mandatory element (pin)']);
  const badPin = await a.ask({ textroom: 'join', room: 600, username: 'a', pin: 'x' });
  assert.deepEqual([badPin.error_code, badPin.error], [419, 'Unauthorized (wrong pin)']);
  const noToken = await a.ask({ textroom: 'join', room: 600, username: 'a', pin: 'letmein' });
  assert.deepEqual([noToken.error_code, noToken.error], [419, 'Unauthorized (not in the allowed list)']);
  const allowed = await admin.sync({ request: 'allowed', room: 600, secret: 's', action: 'add', allowed: ['tok2'] });
  assert.deepEqual(allowed.allowed.sort(), ['tok1', 'tok2']);
  assert.equal((await a.ask({ textroom: 'join', room: 600, username: 'a', pin: 'letmein', token: 'tok2' })).textroom, 'success');
  const b = await ChatUser.connect();
  await admin.sync({ request: 'allowed', room: 600, secret: 's', action: 'disable' });
  assert.equal((await b.ask({ textroom: 'join', room: 600, username: 'b', pin: 'letmein' })).textroom, 'success');
  // Junk is ignored (no answer, nothing breaks); a request without transaction gets a 413.
  a.channel.send('not json');
  a.channel.send('[1,2]');
  a.channel.send(JSON.stringify({ textroom: 'message' }));
  a.channel.send(JSON.stringify({ textroom: 'dance', transaction: 'd1' }));
  await until(() => a.received.some((x) => x.transaction === 'd1'));
  assert.deepEqual(a.received.find((x) => x.transaction === 'd1'), { textroom: 'error', error_code: 415, error: 'Unsupported request dance', transaction: 'd1' });
  assert.ok(a.received.some((x) => x.error_code === 413 && x.error === 'Missing mandatory element (transaction)'));
  const twice = await a.h.request({ request: 'setup' });
  assert.deepEqual(twice.data, { textroom: 'error', error_code: 416, error: 'PeerConnection already setup' });
  // a vanishes: b hears a leave.
  await a.h.client.destroy(a.h.sessionId);
  await a.pc.close();
  await until(() => b.events('leave').some((e) => e.username === 'a'), 8000, 'leave of a vanished peer');
  const list = await admin.sync({ request: 'listparticipants', room: 600 });
  assert.deepEqual(list.participants, [{ username: 'b' }]);
  await admin.close();
});
