/**
 * The streaming demo page in headless Chromium (janus.js unchanged) against Portunus on loopback:
 * an RTP mountpoint fed by ffmpeg (Opus + VP8) and an RTSP mountpoint pulled from a GStreamer RTSP
 * server (H.264 + Opus). For each: the page lists it, watches it, the video element gets a size and
 * the received audio has energy (getStats totalAudioEnergy > 0).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { startRtspServer, type TestRtspServer } from '../integration/rtsp-common.ts';
import type { StreamingPlugin } from '../../src/plugins/streaming/index.ts';

let server: RunningServer;
let browser: TestBrowser;
let camera: TestRtspServer;
let ffmpeg: ChildProcess;

before(async () => {
  camera = await startRtspServer();
  server = await startServer(transportConfig((c) => {
    c.http.demos = true;
    c.nat.ice_enforce_list = 'lo';
    c.pluginConfigs = {
      'janus.plugin.streaming': {
        general: { rtp_port_range: '46000-46999', iface: '127.0.0.1' },
        'rtp-demo': {
          type: 'rtp', id: 1, description: 'ffmpeg Opus/VP8', media: [
            { type: 'audio', mid: 'a', port: 0, pt: 111, codec: 'opus' },
            { type: 'video', mid: 'v', port: 0, pt: 100, codec: 'vp8', videobufferkf: true },
          ],
        },
        'rtsp-demo': { type: 'rtsp', id: 2, description: 'GStreamer camera', audio: true, video: true, videobufferkf: true, url: camera.url },
      },
    };
  }), { logger: silentLogger() });
  const plugin = server.gateway.plugins.get('janus.plugin.streaming') as StreamingPlugin;
  const ports = plugin.registry.get(1)?.source?.bound?.map((b) => b.port);
  assert.ok(ports && ports.length === 2, 'RTP mountpoint ports');
  ffmpeg = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15',
    '-map', '0:a', '-c:a', 'libopus', '-b:a', '48k', '-payload_type', '111', '-f', 'rtp', `rtp://127.0.0.1:${ports[0]}`,
    '-map', '1:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-g', '15', '-b:v', '300k', '-payload_type', '100', '-f', 'rtp', `rtp://127.0.0.1:${ports[1]}`,
  ], { stdio: 'ignore' });
  browser = await launchBrowser();
});

after(async () => {
  ffmpeg?.kill('SIGKILL');
  await browser?.close();
  await server?.close();
  await camera?.stop();
});

async function play(id: number, codec: RegExp): Promise<void> {
  const page = await browser.context.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.ports.http}/streaming.html?transport=ws&ws=${server.ports.ws}&id=${id}`);
    await page.waitForSelector('#mountpoints[data-loaded="1"]', { timeout: 15_000 });
    assert.equal(await page.$eval('#mountpoints', (s) => (s as HTMLSelectElement).value), String(id));
    await page.click('#watch');
    await page.waitForSelector('#status[data-state="started"]', { timeout: 20_000 }).catch(async (err) => {
      throw new Error(`status ${await page.textContent('#status')}, error "${await page.textContent('#error')}": ${err}\n${browser.logs.slice(-20).join('\n')}`);
    });
    await page.waitForFunction(() => (document.getElementById('remotevideo') as HTMLVideoElement).videoWidth > 0, undefined, { timeout: 20_000 });
    assert.equal(await page.$eval('#remotevideo', (v) => (v as HTMLVideoElement).videoWidth), 320);
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-stat="audio-totalAudioEnergy"]')?.dataset.value) > 0, undefined, { timeout: 20_000 });
    assert.match(await page.$eval('[data-stat="video-codec"]', (c) => (c as HTMLElement).dataset.value ?? ''), codec);
    assert.match(await page.$eval('[data-stat="audio-codec"]', (c) => (c as HTMLElement).dataset.value ?? ''), /opus/i);
    await page.click('#stop');
  } finally {
    await page.close();
  }
}

test('RTP mountpoint (ffmpeg Opus + VP8) plays in the demo page', async () => {
  await play(1, /VP8/i);
});

test('RTSP mountpoint (GStreamer H.264 + Opus) plays in the demo page', async () => {
  await play(2, /H264/i);
});
