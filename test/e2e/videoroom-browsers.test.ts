/**
 * VideoRoom in headless Chromium: two separate browsers (two profiles, two contexts) open our
 * videoroom demo page (janus.js from the janus-gateway package) in the same room against Portunus
 * in this process, on 127.0.0.1. Each one publishes its fake camera and microphone and subscribes
 * to the other with the multistream API: each sees the other's video decode and hears its audio
 * (decoded audio energy above zero). When one leaves, the other's tile goes away.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';

let server: RunningServer;
const browsers: TestBrowser[] = [];
let base: string;
let wsPort: number;

before(async () => {
  server = await startServer(transportConfig((c) => {
    c.http.demos = true;
    c.nat.ice_enforce_list = 'lo';
  }), { logger: silentLogger() });
  base = `http://127.0.0.1:${server.ports.http}`;
  wsPort = server.ports.ws!;
  browsers.push(await launchBrowser({ viewport: { width: 900, height: 700 } }), await launchBrowser({ viewport: { width: 900, height: 700 } }));
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
});

const logs = () => browsers.map((b, i) => `--- browser ${i}\n${b.logs.slice(-20).join('\n')}`).join('\n');

async function seesAndHears(page: Page, who: string): Promise<void> {
  const fail = (what: string) => async (err: unknown) => {
    const status = await page.textContent('#status');
    const error = await page.textContent('#error');
    throw new Error(`${who}: ${what}: status ${status}, error "${error}": ${err}\n${logs()}`);
  };
  await page.waitForSelector('section.remote video[data-mid]', { timeout: 30_000 }).catch(fail('no remote video'));
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLVideoElement>('section.remote video')].some((v) => v.videoWidth > 0), undefined, { timeout: 20_000 }).catch(fail('remote video does not decode'));
  await page.waitForSelector('section.remote audio[data-mid]', { state: 'attached', timeout: 10_000 }).catch(fail('no remote audio'));
  await page.waitForFunction(() => Number(document.getElementById('stats')!.dataset.audioEnergy) > 0, undefined, { timeout: 20_000 }).catch(fail('remote audio is silent'));
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-stat="video-framesDecoded"]')!.dataset.value) > 10, undefined, { timeout: 20_000 }).catch(fail('few frames decoded'));
}

test('two browsers in one room see and hear each other through the VideoRoom', { timeout: 120_000 }, async () => {
  const room = 4000 + Math.floor(Math.random() * 1000);
  const [a, b] = browsers.map((x) => x.page);
  await a.goto(`${base}/videoroom.html?room=${room}&display=alice&transport=ws&ws=${wsPort}&autostart=1`);
  await a.waitForSelector('#status[data-state="publishing"]', { timeout: 20_000 });
  await b.goto(`${base}/videoroom.html?room=${room}&display=bob&transport=http&ws=${wsPort}&autostart=1`);
  await seesAndHears(a, 'alice');
  await seesAndHears(b, 'bob');
  // Each tile names the other participant.
  assert.equal(await a.textContent('section.remote h2'), 'bob');
  assert.equal(await b.textContent('section.remote h2'), 'alice');
  assert.equal(await a.textContent('#error'), '');
  assert.equal(await b.textContent('#error'), '');
  // Bob leaves: Alice's tile for him goes.
  await b.click('#stop');
  await a.waitForFunction(() => document.querySelectorAll('section.remote').length === 0, undefined, { timeout: 15_000 });
});
