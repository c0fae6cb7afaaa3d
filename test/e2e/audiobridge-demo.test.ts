/**
 * The AudioBridge demo page (demos/audiobridge.html, janus.js) in two headless Chromium contexts
 * (two browsers, each with its fake microphone) in one room: each lists the other, and each
 * receives audio energy only once the other is there (mix-minus: alone, you hear silence).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';

const ROOM = 4321;
let server: RunningServer;
let browsers: TestBrowser[] = [];
let base: string;

before(async () => {
  server = await startServer(
    transportConfig((c) => {
      c.http.demos = true;
      c.pluginConfigs = { ...(c.pluginConfigs ?? {}), 'janus.plugin.audiobridge': { general: {}, [`room-${ROOM}`]: { description: 'e2e', sampling_rate: 48000 } } };
    }),
    { logger: silentLogger() },
  );
  base = `http://127.0.0.1:${server.ports.http}`;
  browsers = [await launchBrowser(), await launchBrowser()];
});

after(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await server?.close();
});

function value(page: Page, id: string): Promise<number> {
  return page.$eval(`#${id}`, (td) => Number((td as HTMLElement).dataset.value));
}

async function open(b: TestBrowser, name: string): Promise<Page> {
  const page = b.page;
  await page.goto(`${base}/audiobridge.html?transport=ws&ws=${server.ports.ws}&room=${ROOM}&display=${name}&autostart=1`);
  await page.waitForSelector('#status[data-state="webrtcup"]', { timeout: 20_000 }).catch(async (err) => {
    throw new Error(`${name}: status ${await page.textContent('#status')}, error "${await page.textContent('#error')}": ${err}\n${b.logs.slice(-20).join('\n')}`);
  });
  return page;
}

test('two browsers in one room hear each other', async () => {
  const alice = await open(browsers[0], 'alice');
  // Alone in the room: packets arrive (the mix goes on), but no energy (her own voice is left out).
  await alice.waitForFunction(() => Number(document.getElementById('packets')?.dataset.value) > 50, undefined, { timeout: 10_000 });
  const aloneEnergy = await value(alice, 'energy');
  assert.ok(aloneEnergy < 0.001, `alone, alice hears silence: energy ${aloneEnergy}`);

  const bob = await open(browsers[1], 'bob');
  for (const [page, other] of [[alice, 'bob'], [bob, 'alice']] as const) {
    await page.waitForFunction((n) => [...document.querySelectorAll('#participants li')].some((li) => li.textContent?.startsWith(n)), other, { timeout: 10_000 });
  }
  // Each now receives the other's fake-microphone beeps.
  const since = { alice: await value(alice, 'energy'), bob: await value(bob, 'energy') };
  await alice.waitForFunction((e) => Number(document.getElementById('energy')?.dataset.value) > e + 0.01, since.alice, { timeout: 15_000 });
  await bob.waitForFunction((e) => Number(document.getElementById('energy')?.dataset.value) > e + 0.01, since.bob, { timeout: 15_000 });

  // Alice mutes: bob's list shows it.
  await alice.click('#mute');
  await bob.waitForFunction(() => [...document.querySelectorAll('#participants li')].some((li) => li.getAttribute('data-muted') === 'true'), undefined, { timeout: 10_000 });
  // Bob leaves: alice's list empties.
  await bob.click('#stop');
  await alice.waitForSelector('#participants[data-count="0"]', { state: 'attached', timeout: 10_000 });
});
