// Headless Chromium from the system (Debian's `chromium`, installed by
// .ci/run; no browser download) on the demo page, built into a temporary
// folder and served with the cross-origin-isolation headers.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { type Browser, chromium, type Page } from 'playwright-core';
// @ts-expect-error the build scripts are plain JavaScript
import { buildWeb } from '../../scripts/build.mjs';
// @ts-expect-error the build scripts are plain JavaScript
import { serve } from '../../scripts/serve.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The browser tests skip, naming what is missing, where there is no Chromium (.ci/run installs Debian's). */
export const chromiumMissing = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
export const inChromium = (what: string): string => (chromiumMissing ? `${what} (skipped: ${chromiumMissing})` : what);

export interface OpenPage {
  page: Page;
  url: string;
  errors: string[];
  close(): Promise<void>;
}

export async function openDemo(): Promise<OpenPage> {
  const dist = mkdtempSync(join(tmpdir(), 'collective-web-'));
  await buildWeb(dist);
  const { server, url } = (await serve({ dist })) as { server: Server; url: string };
  let browser: Browser | undefined;
  try {
    // Root in a container has no user namespace for Chromium's sandbox.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 });
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url, { timeout: 30_000 });
    await page.waitForFunction(() => (globalThis as { collectiveWeb?: { ready: boolean } }).collectiveWeb?.ready, null, { timeout: 30_000 });
    const b = browser;
    return {
      page,
      url,
      errors,
      async close() {
        await b.close();
        server.close();
        rmSync(dist, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await browser?.close();
    server.close();
    rmSync(dist, { recursive: true, force: true });
    throw e;
  }
}

/** Waits until the page has `n` Web Workers (every wait has a deadline). */
export async function waitForWorkers(page: Page, n: number, timeoutMs = 20_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (page.workers().length !== n) {
    if (Date.now() > end) return page.workers().length;
    await new Promise((r) => setTimeout(r, 50));
  }
  return n;
}
