/**
 * Streaming plugin, simulcast RTP mountpoints (Janus: `simulcast` + `port2`/`port3` in `media`, or
 * legacy `videosimulcast` + `videoport2`/`videoport3`): three UDP senders play three VP8 qualities,
 * each on its own port with its own SSRC and payload size; a werift viewer gets the highest by
 * default, switches with configure `substream` (on the next keyframe of the new one, with a
 * `substream` event), and its stream stays one continuous sequence across the switches, also
 * when it `switch`es to another simulcast mountpoint.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { streamingServer, client, watch, until, RtpSender, vp8Payload } from './streaming-common.ts';

const server = await streamingServer({
  general: { rtp_port_range: '43000-43999', iface: '127.0.0.1' },
  'legacy-sim': {
    type: 'rtp', id: '71', description: 'legacy simulcast', video: 'yes', videoport: '0', videopt: '100', videocodec: 'vp8',
    videosimulcast: 'yes', videoport2: '0', videoport3: '0',
  },
});
const admin = await client(server);
const senders: RtpSender[] = [];
let timer: NodeJS.Timeout | undefined;
after(async () => {
  if (timer) clearInterval(timer);
  for (const s of senders) s.close();
  await server.close();
});

/** Payload size per substream: how the viewer tells which quality it gets. */
const SIZES = [80, 300, 700];

test('legacy videosimulcast from the config: three ports, simulcast in info', async () => {
  const info = await admin.sync({ request: 'info', id: 71 });
  const v = info.info.media[0];
  assert.equal(v.videosimulcast, true, JSON.stringify(v));
  const ports = [v.port, v.port2, v.port3];
  assert.ok(ports.every((p) => p >= 43000 && p <= 43999) && new Set(ports).size === 3, JSON.stringify(v));
});

test('simulcast mountpoint by API: viewer gets substream 2, switches to 0 and 1 on keyframes, one continuous sequence', async () => {
  const created = await admin.sync({
    request: 'create', type: 'rtp', id: 72, name: 'sim', media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', simulcast: true, port2: 0, port3: 0 }],
  });
  assert.equal(created.streaming, 'created', JSON.stringify(created));
  const entry = created.stream.ports[0];
  const ports = [entry.port, entry.port_2, entry.port_3] as number[];
  assert.ok(ports.every((p) => typeof p === 'number' && p > 0), JSON.stringify(entry));

  // Three qualities, 25 frames/s, a keyframe every 10 frames (phases differ per substream).
  for (let i = 0; i < 3; i++) senders.push(new RtpSender(ports[i], 100, 0x5000 + i));
  let frame = 0;
  timer = setInterval(() => {
    frame++;
    for (let i = 0; i < 3; i++) senders[i].send(vp8Payload((frame + i * 3) % 10 === 0, 0xa0 + i, SIZES[i]), true);
  }, 40);

  const w = await watch(server, 72);
  const substreamOf = (len: number): number => SIZES.findIndex((s) => s === len);
  const got = w.received.video;
  // The viewer starts on the first keyframe of any substream and climbs, one keyframe at a time, to
  // its target: by default the highest.
  await until(() => got.filter((p) => substreamOf(p.payload.length) === 2).length >= 10, 15000, 'substream 2 packets');
  const first = got.map((p) => substreamOf(p.payload.length));
  const reached = first.indexOf(2);
  assert.ok(first.slice(reached).every((s) => s === 2), `default target is the highest: ${first.join(',')}`);
  assert.ok(first.every((s, i) => i === 0 || s >= first[i - 1]), `only upwards: ${first.join(',')}`);
  assert.ok(got.slice(reached).every((p) => p.payload[10] === 0xa2), 'payload bytes of substream 2');

  for (const target of [0, 1]) {
    const event = w.c.ws.waitFor((m) => m.janus === 'event' && m.plugindata?.data?.result?.substream === target, 15000);
    const mark = got.length;
    const ack = await w.c.async({ request: 'configure', substream: target });
    assert.deepEqual(ack.plugindata.data, { streaming: 'event', result: { event: 'configured' } });
    const ev = await event;
    assert.equal(ev.plugindata.data.result.mid, 'v');
    await until(() => got.slice(mark).filter((p) => substreamOf(p.payload.length) === target).length >= 8, 15000, `substream ${target} packets`);
    const after = got.slice(mark).map((p) => substreamOf(p.payload.length));
    const switchAt = after.indexOf(target);
    assert.ok(after.slice(switchAt).every((s) => s === target), `only substream ${target} after the switch: ${after.join(',')}`);
    // The first packet of the new substream is a keyframe (VP8 P bit clear).
    const firstNew = got[mark + switchAt];
    assert.equal(firstNew.payload[1] & 0x01, 0, 'switched on a keyframe');
  }
  // `switch` to another simulcast mountpoint: its substream 1 (the viewer's target) arrives in the
  // same outgoing stream.
  const other = await admin.sync({
    request: 'create', type: 'rtp', id: 74, name: 'sim2', media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', simulcast: true, port2: 0, port3: 0 }],
  });
  const e2 = other.stream.ports[0];
  const ports2 = [e2.port, e2.port_2, e2.port_3] as number[];
  for (let i = 0; i < 3; i++) senders.push(new RtpSender(ports2[i], 100, 0x6000 + i));
  clearInterval(timer);
  timer = setInterval(() => {
    frame++;
    for (let i = 0; i < 6; i++) senders[i].send(vp8Payload((frame + (i % 3) * 3) % 10 === 0, (i < 3 ? 0xa0 : 0xb0) + (i % 3), SIZES[i % 3]), true);
  }, 40);
  const before = got.length;
  const switched = await w.c.async({ request: 'switch', id: 74 });
  assert.deepEqual(switched.plugindata.data, { streaming: 'event', result: { switched: 'ok', id: 74 } });
  await until(() => got.slice(before).filter((p) => p.payload[10] === 0xb1).length >= 8, 15000, 'the other mountpoint\'s substream 1');
  const afterSwitch = got.slice(before).map((p) => p.payload[10]);
  const fromOther = afterSwitch.indexOf(0xb1);
  assert.ok(afterSwitch.slice(fromOther).every((b) => b === 0xb1), `only the new mountpoint's substream 1: ${afterSwitch.map((b) => b.toString(16)).join(',')}`);

  // One stream for the viewer: consecutive sequence numbers and one SSRC across all the switches.
  for (let i = 1; i < got.length; i++) {
    assert.equal((got[i].header.sequenceNumber - got[i - 1].header.sequenceNumber) & 0xffff, 1, `sequence continuous at ${i}`);
    assert.ok(((got[i].header.timestamp - got[i - 1].header.timestamp) >>> 0) < 90000, `timestamp continuous at ${i}`);
  }
  assert.equal(new Set(got.map((p) => p.header.ssrc)).size, 1);

  const bad = await w.c.async({ request: 'configure', substream: 'x' });
  assert.equal(bad.plugindata.data.error_code, 454);
  clearInterval(timer);
  timer = undefined;
  await w.pc.close();
  await w.c.ws.close();
});

test('simulcast needs VP8 or H.264', async () => {
  const r = await admin.sync({ request: 'create', type: 'rtp', id: 73, media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp9', simulcast: true }] });
  assert.equal(r.error_code, 456, JSON.stringify(r));
});
