/**
 * The SIP demo page (demos/sip.html, janus.js) in headless Chromium against Portunus, calling sipp
 * as the far phone on 127.0.0.1: guest registration, call, audio both ways (Chromium's fake
 * microphone goes out through the bridge, sipp echoes it, Chromium receives it back: counters of the
 * page's getStats), hang up (BYE seen by sipp). The DTMF keypad is not exercised here.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import sipPlugin from '../../src/plugins/sip/index.ts';
import { startSipp } from '../integration/sip-peers.ts';

let server: RunningServer;
let browser: TestBrowser;

before(async () => {
  server = await startServer(transportConfig((c) => {
    c.http.demos = true;
    c.pluginConfigs['janus.plugin.sip'] = { general: { local_ip: '127.0.0.1', rtp_port_range: '53000-53999' } };
  }), { logger: silentLogger(), plugins: [sipPlugin()] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const stat = (page: Page, name: string): Promise<number> => page.$eval(`[data-stat="${name}"]`, (td) => Number((td as HTMLElement).dataset.value));
const state = (page: Page, s: string, timeout = 15_000) => page.waitForSelector(`#status[data-state="${s}"]`, { timeout });

test('demo page calls sipp: audio both ways, hang up', async () => {
  const sipp = await startSipp('uas-echo.xml', { rtpEcho: true });
  try {
    const page = browser.page;
    await page.goto(`http://127.0.0.1:${server.ports.http}/sip.html?ws=${server.ports.ws}`);
    await state(page, 'connected');
    await page.fill('#username', 'sip:chromium@127.0.0.1');
    await page.click('#register');
    await state(page, 'registered');
    await page.fill('#uri', `sip:far@127.0.0.1:${sipp.port}`);
    await page.click('#call');
    await state(page, 'incall');
    await page.waitForFunction(() => Number((document.querySelector('[data-stat="audio-received"]') as HTMLElement).dataset.value) > 50, undefined, { timeout: 20_000 });
    assert.ok((await stat(page, 'audio-sent')) > 50);
    await page.click('#hangup');
    await state(page, 'hangup');
    assert.equal(await sipp.exited, 0, sipp.errors() + browser.logs.join('\n'));
    assert.match(sipp.messages(), /BYE sip:far@127\.0\.0\.1/);
  } finally {
    sipp.stop();
  }
});
