/**
 * The streaming demo page in headless Chromium (janus.js unchanged) against Portunus on loopback:
 * an RTP mountpoint fed by ffmpeg (Opus + VP8) and an RTSP mountpoint pulled from a GStreamer RTSP
 * server (H.264 + Opus). For each: the page lists it, watches it, the video element gets a size and
 * the received audio has energy (getStats totalAudioEnergy > 0). A simulcast mountpoint fed by
 * three ffmpeg VP8 encodings of different sizes: the page starts on the largest, and its quality
 * buttons (configure substream) make Chromium decode the smaller ones.
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
let simulcastFeed: ChildProcess;
/** Simulcast substreams 0-2: width x height of each ffmpeg encoding. */
const SIM_SIZES = [[160, 120], [320, 240], [480, 360]];

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
        'simulcast-demo': {
          type: 'rtp', id: 3, description: 'ffmpeg VP8 simulcast', media: [
            { type: 'video', mid: 'v', port: 0, port2: 0, port3: 0, pt: 100, codec: 'vp8', simulcast: true },
          ],
        },
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
  const sim = plugin.registry.get(3)?.source?.bound?.[0];
  assert.ok(sim?.simulcastPorts?.length === 2, 'simulcast ports');
  const simPorts = [sim.port, ...sim.simulcastPorts];
  // One test picture, three sizes, each its own RTP stream (own SSRC), keyframe every second.
  simulcastFeed = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=480x360:rate=15',
    '-filter_complex', `[0:v]split=3[a][b][c];[a]scale=${SIM_SIZES[0].join(':')}[s0];[b]scale=${SIM_SIZES[1].join(':')}[s1];[c]scale=${SIM_SIZES[2].join(':')}[s2]`,
    ...SIM_SIZES.flatMap((_size, i) => ['-map', `[s${i}]`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '15', '-b:v', `${100 * (i + 1)}k`, '-payload_type', '100', '-f', 'rtp', `rtp://127.0.0.1:${simPorts[i]}`]),
  ], { stdio: 'ignore' });
  browser = await launchBrowser();
});

after(async () => {
  ffmpeg?.kill('SIGKILL');
  simulcastFeed?.kill('SIGKILL');
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

test('simulcast mountpoint: the demo starts on the largest substream; Low and Medium switch what Chromium decodes', async () => {
  const page = await browser.context.newPage();
  const size = (): Promise<number> => page.$eval('#remotevideo', (v) => (v as HTMLVideoElement).videoWidth);
  try {
    await page.goto(`http://127.0.0.1:${server.ports.http}/streaming.html?transport=ws&ws=${server.ports.ws}&id=3`);
    await page.waitForSelector('#mountpoints[data-loaded="1"]', { timeout: 15_000 });
    await page.click('#watch');
    await page.waitForSelector('#status[data-state="started"]', { timeout: 20_000 });
    await page.waitForSelector('#simulcast', { state: 'visible', timeout: 10_000 });
    await page.waitForFunction((w) => (document.getElementById('remotevideo') as HTMLVideoElement).videoWidth === w, SIM_SIZES[2][0], { timeout: 20_000 });
    for (const target of [0, 1]) {
      await page.click(`#simulcast button[data-substream="${target}"]`);
      await page.waitForSelector(`#substream[data-substream="${target}"]`, { timeout: 15_000 });
      await page.waitForFunction((w) => (document.getElementById('remotevideo') as HTMLVideoElement).videoWidth === w, SIM_SIZES[target][0], { timeout: 15_000 }).catch(async (err) => {
        throw new Error(`substream ${target}: video is ${await size()} wide: ${err}`);
      });
    }
    // Frames keep being decoded after the switches (the rewritten stream is one valid VP8 stream).
    const frames = (): Promise<number> => page.$eval('#remotevideo', (v) => (v as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames);
    const before = await frames();
    await page.waitForFunction((n) => (document.getElementById('remotevideo') as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames > n + 10, before, { timeout: 15_000 });
    await page.click('#stop');
  } finally {
    await page.close();
  }
});
