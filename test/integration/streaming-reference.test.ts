/**
 * Differential test against the real Janus 1.1.2 Streaming plugin: the same requests (bad ones and
 * good ones) to both; error codes and reasons must be equal, and successful replies must have the
 * same shape (keys), ports and timings aside.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startReferenceJanus } from '../helpers/reference-janus.ts';
import { JanusWsClient } from '../helpers/janus-client.ts';
import { streamingServer, PLUGIN } from './streaming-common.ts';

const ref = await startReferenceJanus();
const ours = await streamingServer({ general: { iface: '127.0.0.1' } });
after(async () => {
  await ref.stop();
  await ours.close();
});

const CASES: Array<Record<string, unknown>> = [
  {}, { request: 5 }, { request: 'nope' }, { request: 'info' }, { request: 'info', id: 'x' }, { request: 'info', id: 4242 },
  { request: 'create' }, { request: 'create', type: 'bogus' }, { request: 'create', type: 'rtp', id: 77, audio: true },
  { request: 'create', type: 'rtp', id: 78, audio: true, audioport: 0, audiopt: 111, audiocodec: 'opus' },
  { request: 'create', type: 'rtp', id: 79, audio: true, audioport: 0, audiopt: 111, audiortpmap: 'opus/48000/2', secret: 'x' },
  { request: 'create', type: 'rtp', id: 80, media: [{ type: 'audio', mid: 'a', port: 0, pt: 111, codec: 'opus' }, { type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8' }] },
  { request: 'create', type: 'rtp', id: 81, media: [{ type: 'audio', port: 0 }] },
  { request: 'create', type: 'rtp', id: 80, media: [{ type: 'audio', mid: 'a', port: 0, pt: 111, codec: 'opus' }] },
  { request: 'destroy', id: 79 }, { request: 'destroy', id: 79, secret: 'y' }, { request: 'list' }, { request: 'info', id: 80 },
  { request: 'watch' }, { request: 'watch', id: 4242 }, { request: 'watch', id: 'x' }, { request: 'start' }, { request: 'pause' }, { request: 'switch', id: 80 }, { request: 'configure' },
  { request: 'recording', id: 80 }, { request: 'recording', id: 80, action: 'start' }, { request: 'enable', id: 80 }, { request: 'disable', id: 80 },
  { request: 'kick_all', id: 80 }, { request: 'edit', id: 80 }, { request: 'destroy', id: 79, secret: 'x' }, { request: 'destroy', id: 4242 },
  // Simulcast (legacy and multistream), e2ee, threads.
  { request: 'create', type: 'rtp', id: 82, video: true, videoport: 0, videopt: 100, videocodec: 'vp8', videosimulcast: true, videoport2: 0, videoport3: 0 },
  { request: 'create', type: 'rtp', id: 83, media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', simulcast: true, port2: 0, port3: 0 }] },
  { request: 'info', id: 83 },
  { request: 'create', type: 'rtp', id: 84, e2ee: true, threads: 2, media: [{ type: 'audio', mid: 'a', port: 0, pt: 111, codec: 'opus' }] },
  { request: 'info', id: 84 }, { request: 'list' },
  { request: 'destroy', id: 82 }, { request: 'destroy', id: 83 }, { request: 'destroy', id: 84 },
];

async function run(url: string): Promise<Array<Record<string, any>>> {
  const c = await JanusWsClient.connect(url);
  const sid = await c.createSession();
  const hid = await c.attach(sid, PLUGIN);
  const out: Array<Record<string, any>> = [];
  for (const body of CASES) {
    const r = await c.request({ janus: 'message', session_id: sid, handle_id: hid, body });
    if (r.janus === 'ack') out.push((await c.waitFor((m) => m.janus === 'event' && m.transaction === r.transaction)).plugindata.data);
    else out.push(r.plugindata?.data ?? r);
  }
  await c.close();
  return out;
}

function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape((v as Record<string, unknown>)[k])]));
  return typeof v;
}

test('error codes, reasons and reply shapes match Janus 1.1.2', async () => {
  const [theirs, mine] = [await run(ref.wsUrl), await run(`ws://127.0.0.1:${ours.ports.ws}`)];
  const diffs: string[] = [];
  CASES.forEach((body, i) => {
    const a = theirs[i];
    const b = mine[i];
    const what = JSON.stringify(body).slice(0, 80);
    if (a.error_code !== undefined || b.error_code !== undefined) {
      if (a.error_code !== b.error_code || a.error !== b.error) diffs.push(`${what}: janus ${a.error_code} ${a.error} / ours ${b.error_code} ${b.error}`);
      return;
    }
    if (body.request === 'list' || body.request === 'info') {
      // Compare the common core of each entry (we add a few extra keys, e.g. packets).
      return;
    }
    if (JSON.stringify(shape(a)) !== JSON.stringify(shape(b))) diffs.push(`${what}: janus ${JSON.stringify(a)} / ours ${JSON.stringify(b)}`);
  });
  assert.deepEqual(diffs, []);
  // info: every key Janus gives (for a mountpoint and each media entry), we give too, with the same
  // value for the flags (e2ee, videosimulcast).
  for (const id of [80, 83, 84]) {
    const ri = theirs[CASES.findIndex((c) => c.request === 'info' && c.id === id)].info;
    const oi = mine[CASES.findIndex((c) => c.request === 'info' && c.id === id)].info;
    for (const k of Object.keys(ri)) assert.ok(k in oi, `info ${id}: ${k} (janus ${JSON.stringify(ri)})`);
    if ('e2ee' in ri) assert.equal(oi.e2ee, ri.e2ee);
    ri.media.forEach((m: Record<string, unknown>, i: number) => {
      for (const k of Object.keys(m)) assert.ok(k in oi.media[i], `info ${id}: media.${k} (janus ${JSON.stringify(m)})`);
      if ('videosimulcast' in m) assert.equal(oi.media[i].videosimulcast, m.videosimulcast);
    });
  }
  const rl = theirs[CASES.findIndex((c) => c.request === 'list')].list[0];
  const ol = mine[CASES.findIndex((c) => c.request === 'list')].list[0];
  for (const k of Object.keys(rl)) assert.ok(k in ol, `list.${k}`);
  for (const k of Object.keys(rl.media[0])) assert.ok(k in ol.media[0], `list.media.${k}`);
});
