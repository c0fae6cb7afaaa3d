/**
 * Two headless Chromium instances (each its own browser context, fake camera and microphone) on a
 * demo page of Portunus started in this process, for the e2e tests of the conferencing demos.
 */
import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import type { PortunusConfig } from '../../src/config/types.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { transportConfig } from '../helpers/transport.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';

export interface DemoPair {
  server: RunningServer;
  pages: [Page, Page];
  /** The demo page URL, over WebSocket. */
  url: string;
  /** The last console lines of both browsers, for failure messages. */
  logs(): string;
  /** Throw with the page's status, error and the browser logs. */
  failWith(page: Page): (err: unknown) => Promise<never>;
}

/** Register before/after hooks; the pair is filled in before the tests run. */
export function demoPair(page: string, mutate?: (c: PortunusConfig) => void): DemoPair {
  const browsers: TestBrowser[] = [];
  const pair = { logs: () => browsers.map((b, i) => `--- browser ${i} ---\n${b.logs.slice(-20).join('\n')}`).join('\n') } as DemoPair;
  pair.failWith = (p) => async (err) => {
    throw new Error(`status ${await p.textContent('#status')}, error "${await p.textContent('#error')}": ${String(err)}\n${pair.logs()}`);
  };
  before(async () => {
    pair.server = await startServer(transportConfig((c) => {
      c.http.demos = true;
      c.nat.ice_enforce_list = 'lo';
      mutate?.(c);
    }), { logger: silentLogger() });
    pair.url = `http://127.0.0.1:${pair.server.ports.http}/${page}?transport=ws&ws=${pair.server.ports.ws}`;
    for (let i = 0; i < 2; i++) browsers.push(await launchBrowser({ viewport: { width: 1000, height: 800 } }));
    pair.pages = [browsers[0].page, browsers[1].page];
  });
  after(async () => {
    for (const b of browsers) await b.close();
    await pair.server?.close();
  });
  return pair;
}
