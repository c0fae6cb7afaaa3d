/**
 * TextRoom in two headless Chromium instances running demos/textroom.html with janus.js against
 * Portunus in this process: setup/ack negotiate a data-channel-only PeerConnection in each, both
 * join room 1234 (from the plugin configuration), see each other join, exchange public messages and
 * a whisper, receive an announcement sent over the Janus API, and see the other leave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { demoPair } from './demo-pair.ts';
import { JanusWsClient, newTransaction } from '../helpers/janus-client.ts';

const pair = demoPair('textroom.html', (c) => {
  c.pluginConfigs['janus.plugin.textroom'] = { general: {}, 'room-1234': { description: 'Demo Room', secret: 'adminpwd' } };
});

async function joined(page: Page, name: string): Promise<void> {
  await page.goto(pair.url);
  await page.fill('#username', name);
  await page.press('#username', 'Enter');
  await page.waitForSelector('#status[data-state="joined"]', { timeout: 20_000 }).catch(pair.failWith(page));
}

function messageSeen(page: Page, kind: string, text: string): Promise<unknown> {
  return page.waitForFunction(
    ([k, t]) => [...document.querySelectorAll(`#messages li[data-kind="${k}"]`)].some((li) => (li.textContent ?? '').includes(t)),
    [kind, text] as const,
    { timeout: 10_000 },
  );
}

test('two browsers chat in a text room over data channels', async () => {
  const [alice, bob] = pair.pages;
  await joined(alice, 'alice');
  await joined(bob, 'bob');
  await alice.waitForSelector('#participants li[data-username="bob"]', { timeout: 10_000 });
  await bob.waitForSelector('#participants li[data-username="alice"]', { timeout: 10_000 });
  await messageSeen(alice, 'join', 'bob joined');

  await alice.fill('#text', 'Hello from alice <b>bold?</b>');
  await alice.press('#text', 'Enter');
  await messageSeen(bob, 'message', 'alice: Hello from alice <b>bold?</b>');
  assert.equal(await bob.$$eval('#messages b', (b) => b.length), 0, 'text is shown as text');
  await bob.fill('#text', 'Hi alice');
  await bob.press('#text', 'Enter');
  await messageSeen(alice, 'message', 'bob: Hi alice');

  // A whisper: bob clicks alice in the list.
  await bob.click('#participants li[data-username="alice"]');
  await bob.fill('#text', 'just for you');
  await bob.press('#text', 'Enter');
  await messageSeen(alice, 'whisper', 'bob: just for you');

  // An announcement over the Janus API reaches both pages.
  const admin = await JanusWsClient.connect(`ws://127.0.0.1:${pair.server.ports.ws}`);
  const sid = await admin.createSession();
  const hid = await admin.attach(sid, 'janus.plugin.textroom');
  const reply = await admin.request({ janus: 'message', session_id: sid, handle_id: hid, transaction: newTransaction(), body: { request: 'announcement', room: 1234, secret: 'adminpwd', text: 'Closing soon' } });
  assert.deepEqual(reply.plugindata?.data, { textroom: 'success' });
  await messageSeen(alice, 'announcement', 'Closing soon');
  await messageSeen(bob, 'announcement', 'Closing soon');
  await admin.close();

  await bob.click('#leave');
  await bob.waitForSelector('#status[data-state="left"]', { timeout: 10_000 });
  await messageSeen(alice, 'leave', 'bob left');
  await alice.waitForFunction(() => !document.querySelector('#participants li[data-username="bob"]'), undefined, { timeout: 10_000 });
  assert.equal(await alice.textContent('#error'), '');
});
