/**
 * Record&Play in headless Chromium running demos/recordplay.html with janus.js against Portunus in
 * this process: the fake camera and microphone are recorded for a few seconds, the recording shows
 * up in the list (its .nfo and MJR files in the configured folder), and playing it back delivers
 * audio and video that the page receives and decodes, until the end of the recording ("done").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';

let server: RunningServer;
let browser: TestBrowser;
const folder = mkdtempSync(join(tmpdir(), 'portunus-recordplay-e2e-'));

before(async () => {
  server = await startServer(transportConfig((c) => {
    c.http.demos = true;
    c.nat.ice_enforce_list = 'lo';
    c.pluginConfigs['janus.plugin.recordplay'] = { general: { path: folder } };
  }), { logger: silentLogger() });
  browser = await launchBrowser({ viewport: { width: 1000, height: 800 } });
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(folder, { recursive: true, force: true });
});

test('record the camera, then play the recording back', async () => {
  const page = browser.page;
  const fail = async (err: unknown) => {
    throw new Error(`status ${await page.textContent('#status')}, error "${await page.textContent('#error')}": ${String(err)}\n${browser.logs.slice(-20).join('\n')}`);
  };
  await page.goto(`http://127.0.0.1:${server.ports.http}/recordplay.html?transport=ws&ws=${server.ports.ws}`);
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 15_000 }).catch(fail);
  await page.fill('#name', 'Browser take');
  await page.press('#name', 'Enter');
  await page.waitForSelector('#status[data-state="recording"]', { timeout: 15_000 }).catch(fail);
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-stat="video-bytesSent"]')?.dataset.value) > 20000, undefined, { timeout: 15_000 }).catch(fail);
  await page.waitForTimeout(2000);
  const id = await page.getAttribute('#recid', 'data-id');
  await page.click('#stop');
  await page.waitForSelector('#status[data-state="done"]', { timeout: 15_000 }).catch(fail);
  await page.waitForSelector(`#recordings li[data-id="${id}"]`, { timeout: 10_000 }).catch(fail);
  const files = readdirSync(folder).sort();
  assert.ok(files.includes(`${id}.nfo`) && files.includes(`rec-${id}-audio.mjr`) && files.includes(`rec-${id}-video.mjr`), files.join(','));

  await page.click(`#recordings li[data-id="${id}"] button`);
  await page.waitForSelector('#status[data-state="playing"]', { timeout: 15_000 }).catch(fail);
  await page.waitForFunction(
    () => ['audio', 'video'].every((k) => Number(document.querySelector<HTMLElement>(`[data-stat="${k}-bytesReceived"]`)?.dataset.value) > 1000),
    undefined, { timeout: 15_000 },
  ).catch(fail);
  await page.waitForFunction(() => (document.getElementById('remotevideo') as HTMLVideoElement).videoWidth > 0, undefined, { timeout: 15_000 }).catch(fail);
  await page.waitForSelector('#status[data-state="done"]', { timeout: 30_000 }).catch(fail);
  assert.equal(await page.textContent('#error'), '');
});
