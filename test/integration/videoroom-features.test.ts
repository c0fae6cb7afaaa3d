/**
 * VideoRoom features with real werift peers: rtp_forward to a UDP socket, MJR recording converted
 * by Janus' janus-pp-rec, talking events from the audio-level extension, moderation, notify_joining,
 * require_pvtid, `update` batching into one offer, per-stream `send`, REMB from the room bitrate, and
 * permanent rooms written back to janus.plugin.videoroom.jcfg.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJcfg } from '../../src/config/jcfg.ts';
import { closeAll, count, Participant, publish, rawPublisher, sleep, startVideoRoomServer, subscribe, until, VR, vp8Frame } from './videoroom-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'videoroom-'));
writeFileSync(join(dir, 'janus.plugin.videoroom.jcfg'), 'general: {\n\tadmin_key = "adm"\n}\nroom-4321: {\n\tdescription = "From file"\n\tpublishers = 2\n}\n');
const server = await startVideoRoomServer((c) => {
  c.general.configs_folder = dir;
  c.pluginConfigs = { ...(c.pluginConfigs ?? {}), [VR]: parseJcfg(readFileSync(join(dir, 'janus.plugin.videoroom.jcfg'), 'utf8')) };
});
after(async () => {
  await closeAll();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
const wsUrl = `ws://127.0.0.1:${server.ports.ws}`;

async function newRoom(admin: Participant, extra: Record<string, unknown> = {}): Promise<number> {
  const created = await admin.sync({ request: 'create', admin_key: 'adm', ...extra });
  assert.equal(created.videoroom, 'created', JSON.stringify(created));
  return created.room;
}

test('rooms from the config file; admin_key; permanent create/edit/destroy written back', async () => {
  const admin = await Participant.attach(wsUrl);
  const list = await admin.sync({ request: 'list' });
  assert.deepEqual(list.list.map((r: any) => [r.room, r.description, r.max_publishers]), [[4321, 'From file', 2]]);
  assert.equal((await admin.sync({ request: 'create' })).error_code, 429);
  assert.deepEqual(await admin.sync({ request: 'create', admin_key: 'x' }), { videoroom: 'event', error_code: 433, error: 'Unauthorized (wrong admin_key)' });
  const room = await newRoom(admin, { permanent: true, description: 'kept', secret: 's', allowed: ['t1'] });
  assert.ok(Number.isSafeInteger(room) && room > 0);
  let file = parseJcfg(readFileSync(join(dir, 'janus.plugin.videoroom.jcfg'), 'utf8')) as any;
  assert.equal(file[`room-${room}`].description, 'kept');
  assert.deepEqual(file[`room-${room}`].allowed, ['t1']);
  assert.equal(file['room-4321'].description, 'From file');
  assert.equal(file.general.admin_key, 'adm');
  const edited = await admin.sync({ request: 'edit', room, secret: 's', new_description: 'renamed', permanent: true });
  assert.deepEqual(edited, { videoroom: 'edited', room, permanent: true });
  file = parseJcfg(readFileSync(join(dir, 'janus.plugin.videoroom.jcfg'), 'utf8'));
  assert.equal(file[`room-${room}`].description, 'renamed');
  assert.deepEqual(await admin.sync({ request: 'destroy', room, secret: 's', permanent: true }), { videoroom: 'destroyed', room, permanent: true });
  file = parseJcfg(readFileSync(join(dir, 'janus.plugin.videoroom.jcfg'), 'utf8'));
  assert.equal(file[`room-${room}`], undefined);
  assert.equal(file['room-4321'].description, 'From file');
  // Private rooms are listed only with the admin key.
  const hidden = await newRoom(admin, { is_private: true });
  assert.ok(!(await admin.sync({ request: 'list' })).list.some((r: any) => r.room === hidden));
  assert.ok((await admin.sync({ request: 'list', admin_key: 'adm' })).list.some((r: any) => r.room === hidden));
  admin.close();
});

test('rtp_forward sends the publisher stream as plain RTP to a UDP socket; stop_rtp_forward stops it', async () => {
  const admin = await Participant.attach(wsUrl);
  const room = await newRoom(admin, { secret: 's' });
  const pub = await publish(wsUrl, room, 'fw');
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  const port = sock.address().port;
  const res = await admin.sync({ request: 'rtp_forward', room, secret: 's', publisher_id: pub.id, host: '127.0.0.1', streams: [{ mid: '1', port, ssrc: 4242, pt: 100 }] });
  assert.equal(res.videoroom, 'rtp_forward', JSON.stringify(res));
  assert.equal(res.forwarders.length, 1);
  const streamId = res.forwarders[0].stream_id;
  assert.deepEqual({ ...res.forwarders[0], stream_id: 0 }, { stream_id: 0, type: 'video', mid: '1', host: '127.0.0.1', port, ssrc: 4242, pt: 100 });
  await pub.send(30, 'fw');
  await until(() => got.length >= 25, 8000, 'forwarded packets');
  for (const m of got) {
    assert.equal(m[1] & 0x7f, 100);
    assert.equal(m.readUInt32BE(8), 4242);
  }
  const last = got[got.length - 1];
  assert.equal(last.subarray(12, 15).toString(), 'fwv');
  assert.deepEqual(last.subarray(17), Buffer.alloc(40, 7));
  const lf = await admin.sync({ request: 'listforwarders', room, secret: 's' });
  assert.equal(lf.publishers[0].publisher_id, pub.id);
  assert.equal(lf.publishers[0].forwarders[0].stream_id, streamId);
  assert.deepEqual(await admin.sync({ request: 'stop_rtp_forward', room, secret: 's', publisher_id: pub.id, stream_id: streamId }), { videoroom: 'stop_rtp_forward', room, publisher_id: pub.id, stream_id: streamId });
  await sleep(100);
  const n = got.length;
  await pub.send(10, 'after');
  await sleep(300);
  assert.equal(got.length, n);
  assert.equal((await admin.sync({ request: 'stop_rtp_forward', room, secret: 's', publisher_id: pub.id, stream_id: streamId })).error_code, 428);
  sock.close();
  await pub.pc.close();
  pub.p.close();
  admin.close();
});

test('recording: MJR files per stream that janus-pp-rec converts', async () => {
  const admin = await Participant.attach(wsUrl);
  const room = await newRoom(admin, {});
  const pub = await rawPublisher(wsUrl, room);
  const base = join(dir, 'rec', 'pub1');
  const conf = await pub.p.async({ request: 'configure', record: true, filename: base });
  assert.equal(conf.plugindata.data.configured, 'ok');
  for (let i = 0; i < 60; i++) {
    const opus = Buffer.alloc(60, i);
    opus[0] = 0xfc;
    await pub.send(111, 100 + i, 960 * i, 0x1234, opus, [{ id: pub.ext.mid, payload: Buffer.from('0') }]);
    await pub.send(96, 500 + i, 3000 * i, 0x5678, vp8Frame(i % 10 === 0, i, `rec${i}`), [{ id: pub.ext.mid, payload: Buffer.from('1') }]);
    await sleep(3);
  }
  await sleep(200);
  await pub.p.async({ request: 'configure', record: false });
  const files = readdirSync(join(dir, 'rec')).sort();
  assert.deepEqual(files, ['pub1-audio-0.mjr', 'pub1-video-1.mjr']);
  execFileSync('janus-pp-rec', [join(dir, 'rec', 'pub1-audio-0.mjr'), join(dir, 'rec', 'a.opus')], { stdio: 'pipe' });
  execFileSync('janus-pp-rec', [join(dir, 'rec', 'pub1-video-1.mjr'), join(dir, 'rec', 'v.webm')], { stdio: 'pipe' });
  assert.ok(statSync(join(dir, 'rec', 'a.opus')).size > 1000);
  assert.ok(statSync(join(dir, 'rec', 'v.webm')).size > 500);
  const info = execFileSync('janus-pp-rec', ['-j', join(dir, 'rec', 'pub1-video-1.mjr')], { encoding: 'utf8', stdio: 'pipe' });
  assert.match(info, /vp8/i);
  await pub.pc.close();
  pub.p.close();
  admin.close();
});

test('talking events from the audio-level extension; moderation mutes a stream', async () => {
  const admin = await Participant.attach(wsUrl);
  const room = await newRoom(admin, { audiolevel_event: true, audio_active_packets: 10, audio_level_average: 40, secret: 's' });
  const pub = await rawPublisher(wsUrl, room);
  assert.ok(pub.ext.level > 0, 'audio level negotiated');
  const other = await Participant.attach(wsUrl);
  await other.async({ request: 'join', room, ptype: 'publisher' });
  const level = (v: number) => [{ id: pub.ext.mid, payload: Buffer.from('0') }, { id: pub.ext.level, payload: Buffer.from([0x80 | v]) }];
  let seq = 0;
  for (let i = 0; i < 12; i++) await pub.send(111, seq++, 960 * seq, 0x1234, Buffer.alloc(50, 1), level(10));
  const talking = await other.waitNotification((d) => d.videoroom === 'talking');
  assert.equal(talking.plugindata.data.id, pub.id);
  assert.equal(talking.plugindata.data['audio-level-dBov-avg'], 10);
  for (let i = 0; i < 12; i++) await pub.send(111, seq++, 960 * seq, 0x1234, Buffer.alloc(50, 1), level(90));
  await other.waitNotification((d) => d.videoroom === 'stopped-talking' && d.id === pub.id);
  await pub.p.waitNotification((d) => d.videoroom === 'stopped-talking');

  // moderate: mute the audio mid; a subscriber stops receiving it, the room is told.
  const sub = await subscribe(wsUrl, room, [{ feed: pub.id, mid: '0' }]);
  for (let i = 0; i < 10; i++) await pub.send(111, seq++, 960 * seq, 0x1234, Buffer.alloc(50, 2), level(90));
  await until(() => count(sub, '0') >= 8, 8000, 'audio before mute');
  assert.deepEqual(await admin.sync({ request: 'moderate', room, secret: 's', id: pub.id, mid: '0', mute: true }), { videoroom: 'success' });
  await other.waitNotification((d) => d.moderation === 'muted' && d.id === pub.id && d.mid === '0');
  await sleep(100);
  const muted = count(sub, '0');
  for (let i = 0; i < 10; i++) await pub.send(111, seq++, 960 * seq, 0x1234, Buffer.alloc(50, 3), level(90));
  await sleep(300);
  assert.equal(count(sub, '0'), muted);
  await admin.sync({ request: 'moderate', room, secret: 's', id: pub.id, mid: '0', mute: false });
  for (let i = 0; i < 10; i++) await pub.send(111, seq++, 960 * seq, 0x1234, Buffer.alloc(50, 4), level(90));
  await until(() => count(sub, '0') >= muted + 8, 8000, 'audio after unmute');
  for (const x of [pub.pc, sub.pc]) await x.close();
  for (const x of [admin, other, pub.p, sub.p]) x.close();
});

test('notify_joining, require_pvtid, REMB from the room bitrate', async () => {
  const admin = await Participant.attach(wsUrl);
  const room = await newRoom(admin, { notify_joining: true, require_pvtid: true, bitrate: 256000 });
  const first = await Participant.attach(wsUrl);
  const j1 = await first.async({ request: 'join', room, ptype: 'publisher', display: 'one' });
  const second = await Participant.attach(wsUrl);
  const j2 = await second.async({ request: 'join', room, ptype: 'publisher', display: 'two' });
  assert.deepEqual(j2.plugindata.data.attendees, [{ id: j1.plugindata.data.id, display: 'one' }]);
  await first.waitNotification((d) => d.joining?.id === j2.plugindata.data.id && d.joining.display === 'two');
  const pub = await rawPublisher(wsUrl, room);
  // REMB with the room bitrate reaches the publisher.
  await until(() => pub.rtcp.some((r: any) => r.type === 206 && r.feedback?.bitrate !== undefined), 8000, 'REMB');
  const remb = pub.rtcp.find((r: any) => r.type === 206 && r.feedback?.bitrate !== undefined) as any;
  assert.equal(Number(remb.feedback.bitrate), 256000);
  const nopvt = await Participant.attach(wsUrl);
  const refused = await nopvt.async({ request: 'join', room, ptype: 'subscriber', streams: [{ feed: pub.id }] });
  assert.deepEqual(refused.plugindata.data, { videoroom: 'event', error_code: 433, error: 'Unauthorized (this room requires a valid private_id)' });
  const ok = await nopvt.async({ request: 'join', room, ptype: 'subscriber', streams: [{ feed: pub.id }], private_id: j1.plugindata.data.private_id });
  assert.equal(ok.plugindata.data.videoroom, 'attached');
  await pub.pc.close();
  for (const x of [admin, first, second, nopvt, pub.p]) x.close();
});

test('update batches subscribe and unsubscribe into one offer; send:false stops one stream', async () => {
  const admin = await Participant.attach(wsUrl);
  const room = await newRoom(admin, {});
  const a = await publish(wsUrl, room, 'a');
  const b = await publish(wsUrl, room, 'b');
  const s = await subscribe(wsUrl, room, [{ feed: a.id }]);
  const before = s.p.client.messages.filter((m) => m.jsep).length;
  const upd = await s.p.async({ request: 'update', subscribe: [{ feed: b.id, mid: '1' }], unsubscribe: [{ feed: a.id, mid: '0' }] });
  assert.equal(upd.plugindata.data.videoroom, 'updated');
  assert.equal(upd.jsep.type, 'offer');
  assert.equal(s.p.client.messages.filter((m) => m.jsep).length, before + 1, 'one renegotiation');
  const streams = upd.plugindata.data.streams;
  assert.deepEqual(streams.map((x: any) => [x.mid, x.type, x.active, x.feed_id ?? null]), [['0', 'audio', false, null], ['1', 'video', true, a.id], ['2', 'video', true, b.id]]);
  const { answerTo } = await import('../helpers/werift-peer.ts');
  const answer = await answerTo(s.pc, upd.jsep);
  const started = await s.p.async({ request: 'start' }, { type: 'answer', sdp: answer });
  assert.equal(started.plugindata.data.started, 'ok');
  await Promise.all([a.send(30, 'ua'), b.send(30, 'ub')]);
  await until(() => count(s, '1', 'uav') >= 25 && count(s, '2', 'ubv') >= 25, 10000, 'both feeds on their mids');
  // send:false on mid 2 only.
  assert.equal((await s.p.async({ request: 'configure', streams: [{ mid: '2', send: false }] })).plugindata.data.configured, 'ok');
  await sleep(100);
  const n1 = count(s, '1');
  const n2 = count(s, '2');
  await Promise.all([a.send(20, 'x'), b.send(20, 'y')]);
  await until(() => count(s, '1') >= n1 + 15, 8000, 'mid 1 still flows');
  assert.equal(count(s, '2'), n2);
  // Errors on the subscriber API.
  assert.equal((await s.p.async({ request: 'subscribe', streams: [{ feed: 12345 }] })).plugindata.data.error_code, 428);
  assert.equal((await s.p.async({ request: 'subscribe' })).plugindata.data.error_code, 429);
  assert.equal((await s.p.async({ request: 'configure', substream: 5 })).plugindata.data.error_code, 430);
  assert.equal((await s.p.async({ request: 'switch', streams: [{ feed: a.id, mid: '0', sub_mid: '1' }] })).plugindata.data.error_code, 430);
  for (const x of [a.pc, b.pc, s.pc]) await x.close();
  for (const x of [admin, a.p, b.p, s.p]) x.close();
});

test('fir_freq asks the publisher for keyframes; a subscriber PLI is relayed to the publisher', async () => {
  const admin = await Participant.attach(wsUrl);
  const firRoom = await newRoom(admin, { fir_freq: 1 });
  const pub = await publish(wsUrl, firRoom, 'fir');
  const s = await subscribe(wsUrl, firRoom, [{ feed: pub.id, mid: '1' }]);
  await pub.send(5, 'w', 20);
  const base = pub.pli;
  await pub.send(130, 'f', 20); // about 2.6 s of video
  await until(() => pub.pli >= base + 2, 8000, 'periodic PLIs from fir_freq');

  const room = await newRoom(admin, {});
  const pub2 = await publish(wsUrl, room, 'pli');
  const s2 = await subscribe(wsUrl, room, [{ feed: pub2.id, mid: '1' }]);
  await pub2.send(20, 'v', 10);
  await until(() => count(s2, '0') >= 10, 8000, 'video before the PLI');
  await sleep(700); // past the relay's rate limit
  const before = pub2.pli;
  const ssrc = s2.received.get('0')![0].header.ssrc;
  const receiver = s2.pc.getTransceivers().find((t) => t.mid === '0')!.receiver;
  await receiver.sendRtcpPLI(ssrc);
  await until(() => pub2.pli > before, 8000, 'the subscriber PLI relayed to the publisher');
  for (const x of [pub.pc, s.pc, pub2.pc, s2.pc]) await x.close();
  for (const x of [admin, pub.p, s.p, pub2.p, s2.p]) x.close();
});

test('republish after unpublish on the same handle; enable_recording on a live room; subscriber leave', async () => {
  const admin = await Participant.attach(wsUrl);
  const room = await newRoom(admin, { secret: 's' });
  const pub = await publish(wsUrl, room, 'again');
  assert.equal((await pub.p.async({ request: 'unpublish' })).plugindata.data.unpublished, 'ok');
  await pub.pc.close();
  // publish again with a new PeerConnection: the room hears the publisher again.
  const { loopbackPeer, offerWith, waitConnected } = await import('../helpers/werift-peer.ts');
  const pc2 = loopbackPeer();
  const offer = await offerWith(pc2, ['audio', 'video'], false);
  const again = await pub.p.async({ request: 'publish' }, { type: 'offer', sdp: offer.sdp });
  assert.equal(again.plugindata.data.configured, 'ok', JSON.stringify(again.plugindata.data));
  await pc2.setRemoteDescription(again.jsep);
  await waitConnected(pc2);
  const watcher = await Participant.attach(wsUrl);
  const w = await watcher.async({ request: 'join', room, ptype: 'publisher' });
  assert.deepEqual(w.plugindata.data.publishers.map((p: any) => p.id), [pub.id]);

  // enable_recording starts recorders for the publishers already there.
  const recDir = join(dir, 'rec-live');
  assert.deepEqual((await admin.sync({ request: 'edit', room, secret: 's', new_rec_dir: recDir })).videoroom, 'edited');
  assert.deepEqual(await admin.sync({ request: 'enable_recording', room, secret: 's', record: true }), { videoroom: 'success', record: true });
  await until(() => { try { return readdirSync(recDir).length === 2; } catch { return false; } }, 8000, 'two recordings');
  assert.deepEqual(readdirSync(recDir).map((f) => f.replace(/-\d+-(audio|video)/, '-T-$1')).sort(), [`videoroom-${room}-user-${pub.id}-T-audio-0.mjr`, `videoroom-${room}-user-${pub.id}-T-video-1.mjr`].sort());
  await admin.sync({ request: 'enable_recording', room, secret: 's', record: false });

  // A subscriber leaves: it is gone from the room, the publisher's stream has no sink left.
  const s = await subscribe(wsUrl, room, [{ feed: pub.id }]);
  const plugin = server.gateway.plugins.get(VR) as any;
  const r = plugin.rooms.get(room);
  assert.equal(r.subscribers.size, 1);
  assert.equal((await s.p.async({ request: 'leave' })).plugindata.data.left, 'ok');
  assert.equal(r.subscribers.size, 0);
  assert.ok(r.participants.get(pub.id).streams.every((st: any) => st.sinks.length === 0));
  await pc2.close();
});
