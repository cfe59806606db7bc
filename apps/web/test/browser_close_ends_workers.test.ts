import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, inChromium, type OpenPage, openDemo, waitForWorkers } from './helpers/browser.js';

describe.skipIf(chromiumMissing !== undefined)(inChromium("closing the page's World"), () => {
  let demo: OpenPage;
  beforeAll(async () => {
    demo = await openDemo();
  }, 60_000);
  afterAll(async () => demo?.close());

  it('ends its Web Workers', async () => {
    expect(demo.page.workers()).toHaveLength(0);
    expect(await demo.page.evaluate(() => (globalThis as any).collectiveWeb.startWorld(3))).toBe(3);
    expect(await waitForWorkers(demo.page, 3)).toBe(3);
    await demo.page.evaluate(() => (globalThis as any).collectiveWeb.closeWorld());
    expect(await waitForWorkers(demo.page, 0)).toBe(0);
  }, 120_000);
});
