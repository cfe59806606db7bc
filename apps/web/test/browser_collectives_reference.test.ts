import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, inChromium, type OpenPage, openDemo } from './helpers/browser.js';

// Every collective of collective-bench, checked value by value against the
// reference (bench's exact inputs), on a World of Web Workers in Chromium.
describe.skipIf(chromiumMissing !== undefined)(inChromium('a World of Web Workers in a real browser'), () => {
  let demo: OpenPage;
  beforeAll(async () => {
    demo = await openDemo();
  }, 60_000);
  afterAll(async () => demo?.close());

  it('is cross-origin isolated (SharedArrayBuffer available)', async () => {
    expect(await demo.page.evaluate(() => crossOriginIsolated && typeof SharedArrayBuffer === 'function')).toBe(true);
  });

  it.each([2, 4])('runs every collective with %i workers with #wrong 0', async (devices) => {
    const out = await demo.page.evaluate((n) => (globalThis as any).collectiveWeb.checkAll(n), devices);
    expect(out.sizes).toEqual(Array.from({ length: devices }, (_, rank) => ({ rank, size: devices })));
    expect(Object.keys(out.wrong).sort()).toEqual(['all_gather', 'all_reduce', 'alltoall', 'broadcast', 'reduce', 'reduce_scatter', 'sendrecv']);
    for (const [collective, r] of Object.entries(out.wrong as Record<string, { wrong: number; sizes: number }>)) {
      expect({ collective, ...r }).toEqual({ collective, wrong: 0, sizes: 6 });
    }
    expect(demo.errors).toEqual([]);
  }, 240_000);
});
