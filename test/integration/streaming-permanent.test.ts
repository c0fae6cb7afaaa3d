/**
 * Streaming plugin, mountpoint flags that outlive a request: `permanent` create/edit/destroy write
 * janus.plugin.streaming.jcfg back (the written file loads again into a new server with the same
 * mountpoint), `e2ee` reaches the viewer's offer as janus.js expects it and opaque video flows
 * without waiting for a keyframe, `threads` is accepted as Janus takes it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJcfg } from '../../src/config/jcfg.ts';
import { silentLogger } from '../../src/core/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { transportConfig } from '../helpers/transport.ts';
import { client, watch, until, RtpSender, PLUGIN } from './streaming-common.ts';

const dir = mkdtempSync(join(tmpdir(), 'streaming-'));
const FILE = join(dir, `${PLUGIN}.jcfg`);
writeFileSync(FILE, 'general: {\n\trtp_port_range = "44000-44999"\n\tiface = "127.0.0.1"\n}\nfrom-file: {\n\ttype = "rtp"\n\tid = 90\n\tdescription = "kept"\n\taudio = true\n\taudioport = 0\n\taudiopt = 111\n\taudiocodec = "opus"\n}\n');

const servers: RunningServer[] = [];
async function serverFromFile(folder: string | undefined): Promise<RunningServer> {
  const s = await startServer(transportConfig((c) => {
    if (folder !== undefined) c.general.configs_folder = folder;
    c.pluginConfigs = { ...c.pluginConfigs, [PLUGIN]: parseJcfg(readFileSync(FILE, 'utf8')) };
  }), { logger: silentLogger() });
  servers.push(s);
  return s;
}
after(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

function section(id: number): Record<string, any> | undefined {
  const cfg = parseJcfg(readFileSync(FILE, 'utf8')) as Record<string, Record<string, any>>;
  return Object.values(cfg).find((g) => Number(g.id) === id);
}

test('permanent create, edit, destroy rewrite the jcfg; the file loads again with the same mountpoint; e2ee and threads kept', async () => {
  const server = await serverFromFile(dir);
  const admin = await client(server);
  const created = await admin.sync({
    request: 'create', type: 'rtp', id: 91, name: 'perm', description: 'first', secret: 'sec', e2ee: true, threads: 4, permanent: true,
    media: [{ type: 'audio', mid: 'a', port: 0, pt: 111, codec: 'opus' }, { type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8' }],
  });
  assert.equal(created.streaming, 'created', JSON.stringify(created));
  assert.equal(created.permanent, true);
  const written = section(91);
  assert.ok(written, readFileSync(FILE, 'utf8'));
  assert.equal(written.description, 'first');
  assert.equal(written.e2ee, true);
  assert.equal(written.threads, 4);
  assert.deepEqual(written.media.map((m: any) => [m.type, m.mid, m.codec]), [['audio', 'a', 'opus'], ['video', 'v', 'vp8']]);
  assert.equal(section(90)?.description, 'kept', 'the other sections stay');
  assert.equal(written.request, undefined);
  assert.equal(written.permanent, undefined);

  const edited = await admin.sync({ request: 'edit', id: 91, secret: 'sec', new_description: 'renamed', permanent: true });
  assert.deepEqual(edited, { streaming: 'edited', id: 91, permanent: true });
  assert.equal(section(91)?.description, 'renamed');
  // A non-permanent edit leaves the file alone.
  await admin.sync({ request: 'edit', id: 91, secret: 'sec', new_description: 'only in memory' });
  assert.equal(section(91)?.description, 'renamed');
  // The config-file mountpoint made permanent by edit keeps its own section.
  await admin.sync({ request: 'edit', id: 90, new_description: 'kept, edited', permanent: true });
  assert.equal(section(90)?.description, 'kept, edited');

  // A second server reads the file we wrote: same mountpoint, same media, e2ee.
  const again = await serverFromFile(undefined);
  const other = await client(again);
  const info = await other.sync({ request: 'info', id: 91, secret: 'sec' });
  assert.equal(info.info.description, 'renamed');
  assert.equal(info.info.e2ee, true);
  assert.deepEqual(info.info.media.map((m: any) => [m.mid, m.codec]), [['a', 'opus'], ['v', 'vp8']]);
  // Without a configuration folder nothing can be permanent.
  const refused = await other.sync({ request: 'create', type: 'rtp', id: 95, permanent: true, media: [{ type: 'audio', mid: 'a', port: 0, pt: 0, codec: 'pcmu' }] });
  assert.equal(refused.error_code, 470, JSON.stringify(refused));

  assert.deepEqual(await admin.sync({ request: 'destroy', id: 91, secret: 'sec', permanent: true }), { streaming: 'destroyed', destroyed: 91 });
  assert.equal(section(91), undefined, readFileSync(FILE, 'utf8'));
  assert.equal(section(90)?.description, 'kept, edited');
  await admin.ws.close();
  await other.ws.close();
});

test('e2ee mountpoint: the offer says e2ee, opaque video reaches the viewer without a keyframe', async () => {
  const server = servers[0];
  const admin = await client(server);
  const created = await admin.sync({ request: 'create', type: 'rtp', id: 92, e2ee: true, media: [{ type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8' }] });
  assert.equal(created.streaming, 'created', JSON.stringify(created));
  const port = created.stream.ports[0].port as number;
  const offer = await admin.async({ request: 'watch', id: 92 });
  assert.equal(offer.jsep.e2ee, true, JSON.stringify(offer.jsep));
  await admin.async({ request: 'stop' });
  const w = await watch(server, 92);
  const sender = new RtpSender(port, 100, 0x7777);
  // Encrypted frames: nothing a VP8 parser would call a keyframe.
  const opaque = Buffer.alloc(200, 0xe5);
  const timer = setInterval(() => sender.send(opaque, true), 20);
  try {
    await until(() => w.received.video.length >= 5, 10000, 'opaque video');
    assert.ok(w.received.video.every((p) => p.payload.equals(opaque)));
  } finally {
    clearInterval(timer);
    sender.close();
  }
  const bad = await admin.sync({ request: 'create', type: 'rtp', id: 93, threads: 'four', media: [{ type: 'audio', mid: 'a', port: 0, pt: 0, codec: 'pcmu' }] });
  assert.equal(bad.error_code, 454, JSON.stringify(bad));
  await w.pc.close();
  await w.c.ws.close();
  await admin.ws.close();
});
