/**
 * Headless Debian Chromium (/usr/bin/chromium) driven by playwright-core, set up for WebRTC on one
 * machine: fake camera and microphone, no permission prompt, 127.0.0.1 candidates (no mDNS hiding),
 * no background traffic, a fresh profile that close() removes. Never `npx playwright install`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.PORTUNUS_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Chromium keeps only the last --disable-features flag, and playwright-core passes its own list before
 * ours: so ours repeats the entries of playwright-core 1.65's list that matter on Linux Chromium (no
 * start-up traffic to Google, no HTTPS upgrades of our http:// pages) and adds the WebRTC one.
 */
const DISABLED_FEATURES = [
  'WebRtcHideLocalIpsWithMdns', // host candidates as 127.0.0.1, not <uuid>.local
  // from playwright-core's defaults:
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'MediaRouter', 'PaintHolding',
  'ThirdPartyStoragePartitioning', 'OptimizationHints', 'NetworkTimeServiceQuerying', 'AimEnabled',
  'PreconnectToSearch',
  // and a few more quiet ones:
  'Translate', 'InterestFeedContentSuggestions',
];

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  `--disable-features=${DISABLED_FEATURES.join(',')}`,
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-dev-shm-usage',
  // Keep timers and media running at full rate in a page nobody looks at.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Console lines and page errors seen so far, handy in assertion messages. */
  logs: string[];
  /** Close the browser and remove its profile; safe to call twice. */
  close(): Promise<void>;
}

export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'portunus-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      // playwright passes a bare --headless; ours (--headless=new) is in `args`.
      ignoreDefaultArgs: ['--headless'],
      args: CHROMIUM_ARGS,
      viewport: opts.viewport ?? { width: 1280, height: 900 },
      timeout: 30_000,
    });
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const logs: string[] = [];
  const watch = (p: Page) => {
    p.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    p.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  };
  watch(page);
  context.on('page', watch);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    })();
    return closing;
  };
  return { context, page, logs, close };
}
