/**
 * VideoCall in two headless Chromium instances (two browser contexts with their own fake camera and
 * microphone) running demos/videocall.html with janus.js against Portunus in this process: both
 * register, one calls, the other is called and answers, each receives the other's audio and video
 * (getStats inbound bytes grow, the remote video decodes), chat over the data channel both ways,
 * and a hangup from the callee ends the call on both pages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { demoPair } from './demo-pair.ts';

const pair = demoPair('videocall.html');

async function state(page: Page, want: string, timeout = 15_000): Promise<void> {
  await page.waitForSelector(`#status[data-state="${want}"]`, { timeout }).catch(pair.failWith(page));
}

function stat(page: Page, name: string): Promise<number> {
  return page.$eval(`[data-stat="${name}"]`, (td) => Number((td as HTMLElement).dataset.value));
}

async function growing(page: Page, name: string): Promise<void> {
  await page.waitForFunction((n) => Number(document.querySelector<HTMLElement>(`[data-stat="${n}"]`)?.dataset.value) > 0, name, { timeout: 15_000 });
  const first = await stat(page, name);
  await page.waitForFunction(([n, f]) => Number(document.querySelector<HTMLElement>(`[data-stat="${n}"]`)?.dataset.value) > Number(f), [name, first] as const, { timeout: 10_000 });
}

test('two browsers call each other: media both ways, chat, hangup', async () => {
  const [alice, bob] = pair.pages;
  await alice.goto(pair.url);
  await bob.goto(pair.url);
  await alice.fill('#username', 'alice');
  await alice.press('#username', 'Enter');
  await bob.fill('#username', 'bob');
  await bob.press('#username', 'Enter');
  await state(alice, 'registered');
  await state(bob, 'registered');

  await alice.fill('#peer', 'bob');
  await alice.press('#peer', 'Enter');
  await state(alice, 'incall', 30_000);
  await state(bob, 'incall', 30_000);
  assert.equal(await bob.getAttribute('#peername', 'data-peer'), 'alice');
  assert.equal(await alice.getAttribute('#peername', 'data-peer'), 'bob');

  // Each side receives the other's audio and video, and the video decodes.
  for (const page of [alice, bob]) {
    await growing(page, 'audio-bytesReceived');
    await growing(page, 'video-bytesReceived');
    await page.waitForFunction(() => (document.getElementById('remotevideo') as HTMLVideoElement).videoWidth > 0, undefined, { timeout: 15_000 });
  }

  // Chat both ways over the data channels (relayed by the plugin).
  await alice.waitForSelector('#datachannel[data-state="open"]', { timeout: 15_000 });
  await alice.fill('#datasend', 'hi bob');
  await alice.press('#datasend', 'Enter');
  await bob.waitForFunction(() => [...document.querySelectorAll('#datarecv li.recv')].some((li) => li.textContent === 'hi bob'), undefined, { timeout: 15_000 });
  await bob.waitForSelector('#datachannel[data-state="open"]', { timeout: 15_000 });
  await bob.fill('#datasend', 'hello alice');
  await bob.press('#datasend', 'Enter');
  await alice.waitForFunction(() => [...document.querySelectorAll('#datarecv li.recv')].some((li) => li.textContent === 'hello alice'), undefined, { timeout: 15_000 });

  await bob.click('#hangup');
  await state(bob, 'hangup');
  await state(alice, 'hangup');
  assert.match((await alice.getAttribute('#status', 'title')) ?? '', /We did the hangup/);
  assert.equal(await alice.getAttribute('#peername', 'data-peer'), '');
});
