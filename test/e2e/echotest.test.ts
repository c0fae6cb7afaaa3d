/**
 * EchoTest in headless Chromium against Portunus in this process, all on 127.0.0.1:
 * (a) the demo page over WebSocket, (b) the demo page over HTTP long-poll, (c) janus.js driven directly
 * in a page without the demo UI. The demo page learns the WebSocket port from ?ws=PORT and uses the
 * HTTP API of the origin it was served from.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';

const ECHO_PREFIX = 'Janus EchoTest here! You wrote: ';

let server: RunningServer;
let browser: TestBrowser;
let base: string;
let wsPort: number;

before(async () => {
  server = await startServer(
    transportConfig((c) => {
      c.http.demos = true;
      c.nat.ice_enforce_list = 'lo';
    }),
    { logger: silentLogger() },
  );
  base = `http://127.0.0.1:${server.ports.http}`;
  wsPort = server.ports.ws!;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Read the numeric data-value of a counter cell of the demo page. */
function stat(page: Page, name: string): Promise<number> {
  return page.$eval(`[data-stat="${name}"]`, (td) => Number((td as HTMLElement).dataset.value));
}

/** Resolves after the page's next getStats round (the counter cells are rewritten every second). */
async function waitForStats(page: Page): Promise<void> {
  const before = await page.$eval('#stats', (t) => (t as HTMLElement).dataset.round ?? '0');
  await page.waitForFunction((b) => (document.getElementById('stats')?.dataset.round ?? '0') !== b, before, { timeout: 5_000 });
}

function logsOf(): string {
  return browser.logs.slice(-30).join('\n');
}

async function runDemo(transport: 'ws' | 'http'): Promise<void> {
  const page = await browser.context.newPage();
  try {
    await page.goto(`${base}/echotest.html?transport=${transport}&ws=${wsPort}`);
    await page.click('#start');
    await page
      .waitForSelector('#status[data-state="webrtcup"]', { timeout: 15_000 })
      .catch(async (err) => {
        const status = await page.textContent('#status');
        const error = await page.textContent('#error');
        throw new Error(`status ${status}, error "${error}": ${err}\n${logsOf()}`);
      });
    assert.equal(await page.textContent('#status'), 'webrtcup');
    const serverUsed = await page.getAttribute('#server', 'data-server');
    assert.ok(serverUsed?.startsWith(transport === 'ws' ? 'ws://127.0.0.1:' : 'http://127.0.0.1:'), `server ${serverUsed}`);

    // Media comes back: inbound bytes for audio and video grow between two getStats rounds.
    await page.waitForFunction(
      () => ['audio', 'video'].every((k) => Number(document.querySelector<HTMLElement>(`[data-stat="${k}-bytesReceived"]`)?.dataset.value) > 0),
      undefined,
      { timeout: 10_000 },
    );
    const first = { audio: await stat(page, 'audio-bytesReceived'), video: await stat(page, 'video-bytesReceived') };
    await page.waitForFunction(
      (f) =>
        Number(document.querySelector<HTMLElement>('[data-stat="audio-bytesReceived"]')?.dataset.value) > f.audio &&
        Number(document.querySelector<HTMLElement>('[data-stat="video-bytesReceived"]')?.dataset.value) > f.video,
      first,
      { timeout: 5_000 },
    );
    assert.ok((await stat(page, 'audio-bytesSent')) > 0);
    assert.ok((await stat(page, 'video-packetsSent')) > 0);
    assert.ok((await stat(page, 'video-packetsReceived')) > 0);

    // The echoed video decodes.
    await page.waitForFunction(() => (document.getElementById('remotevideo') as HTMLVideoElement).videoWidth > 0, undefined, { timeout: 10_000 });
    const width = await page.$eval('#remotevideo', (v) => (v as HTMLVideoElement).videoWidth);
    assert.ok(width > 0);

    // Data channel: the reply carries the EchoTest prefix, and is shown as text, not markup.
    await page.waitForSelector('#datachannel[data-state="open"]', { timeout: 10_000 });
    const text = `hello ${transport} <img src=x onerror="window.__xss=1">`;
    await page.fill('#datasend', text);
    await page.press('#datasend', 'Enter');
    const reply = await page.waitForFunction(
      (prefix) => [...document.querySelectorAll('#datarecv li.recv')].map((li) => li.textContent ?? '').find((t) => t.startsWith(prefix)),
      ECHO_PREFIX,
      { timeout: 10_000 },
    );
    assert.equal(await reply.jsonValue(), `${ECHO_PREFIX}${text}`);
    assert.equal(await page.$$eval('#datarecv img', (imgs) => imgs.length), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);

    // The toggles reach the plugin: with audio off the audio echo stops while video keeps coming.
    if (transport === 'ws') {
      await page.uncheck('#toggle-audio');
      await waitForStats(page);
      await waitForStats(page);
      const off = { audio: await stat(page, 'audio-bytesReceived'), video: await stat(page, 'video-bytesReceived') };
      await waitForStats(page);
      assert.equal(await stat(page, 'audio-bytesReceived'), off.audio, 'audio still echoed with audio:false');
      assert.ok((await stat(page, 'video-bytesReceived')) > off.video, 'video stopped with audio:false');
      await page.check('#toggle-audio');
      await page.waitForFunction(
        (a) => Number(document.querySelector<HTMLElement>('[data-stat="audio-bytesReceived"]')?.dataset.value) > a,
        off.audio,
        { timeout: 5_000 },
      );
    }
    await page.selectOption('#bitrate', '256000');
    assert.equal(await page.getAttribute('#status', 'data-state'), 'webrtcup');
    assert.equal(await page.textContent('#error'), '');

    await page.click('#stop');
    await page.waitForSelector('#status[data-state="stopped"]', { timeout: 5_000 });
  } finally {
    await page.close();
  }
}

test('demo page over WebSocket: webrtcup, echoed audio and video, data channel', async () => {
  await runDemo('ws');
});

test('demo page over HTTP long-poll: webrtcup, echoed audio and video, data channel', async () => {
  await runDemo('http');
});

/** Browser-side code for the janus.js test, as a string so that nothing the TS loader adds leaks in. */
const DRIVE_JANUS = `(async (server) => {
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  await new Promise((resolve) => Janus.init({ debug: ['error'], callback: resolve }));
  let janus;
  const handle = await new Promise((resolve, reject) => {
    janus = new Janus({
      server,
      iceServers: [],
      success: () => janus.attach({ plugin: 'janus.plugin.echotest', success: resolve, error: reject,
        onmessage: (msg, jsep) => { window.__echo.messages.push(msg); if (jsep) { window.__echo.answer = jsep; window.__echo.handle.handleRemoteJsep({ jsep }); } },
        webrtcState: (on) => { window.__echo.webrtcup = on; } }),
      error: reject,
    });
  });
  window.__echo.handle = handle;
  const offer = await new Promise((resolve, reject) => handle.createOffer({
    tracks: [{ type: 'audio', capture: true, recv: true }, { type: 'video', capture: true, recv: true }],
    success: resolve, error: reject,
  }));
  handle.send({ message: { audio: true, video: true }, jsep: offer });
  const deadline = Date.now() + 15000;
  let inbound = { audio: 0, video: 0 };
  while (Date.now() < deadline) {
    await wait(250);
    const pc = handle.webrtcStuff.pc;
    if (!pc || !window.__echo.answer) continue;
    const stats = await pc.getStats();
    inbound = { audio: 0, video: 0 };
    stats.forEach((s) => { if (s.type === 'inbound-rtp' && inbound[s.kind] !== undefined) inbound[s.kind] += s.bytesReceived || 0; });
    if (inbound.audio > 0 && inbound.video > 0) break;
  }
  const result = {
    offerSdp: offer.sdp, answer: window.__echo.answer || null, messages: window.__echo.messages,
    webrtcup: window.__echo.webrtcup, inbound, iceState: handle.webrtcStuff.pc ? handle.webrtcStuff.pc.iceConnectionState : null,
  };
  await new Promise((resolve) => janus.destroy({ cleanupHandles: true, success: resolve, error: resolve }));
  return result;
})`;

test('janus.js without the demo UI: attach, offer, answer, inbound RTP', async () => {
  const page = await browser.context.newPage();
  try {
    await page.goto(`${base}/`);
    await page.addScriptTag({ url: '/js/adapter/adapter.js' });
    await page.addScriptTag({ url: '/js/janus/janus.js' });
    await page.evaluate(() => {
      (window as unknown as { __echo: unknown }).__echo = { messages: [] };
    });
    const result = (await page.evaluate(`${DRIVE_JANUS}(${JSON.stringify([`ws://127.0.0.1:${wsPort}/`])})`)) as {
      answer: { type: string; sdp: string } | null;
      messages: Array<Record<string, unknown>>;
      webrtcup: boolean;
      inbound: { audio: number; video: number };
      iceState: string | null;
    };
    assert.ok(result.answer, `no answer; messages ${JSON.stringify(result.messages)}\n${logsOf()}`);
    assert.equal(result.answer.type, 'answer');
    assert.match(result.answer.sdp, /a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/);
    assert.deepEqual(result.messages[0], { echotest: 'event', result: 'ok' });
    assert.equal(result.webrtcup, true);
    assert.ok(result.inbound.audio > 0 && result.inbound.video > 0, `inbound ${JSON.stringify(result.inbound)}, ICE ${result.iceState}`);
  } finally {
    await page.close();
  }
});
