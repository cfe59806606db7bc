import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, inChromium, type OpenPage, openDemo } from './helpers/browser.js';

// The runtime's own fixture (runtime/test/fixtures/revoked_buffer.ts),
// bundled for the page: the same assertions as revoked_buffer_fails_everywhere.test.ts in Node.
describe.skipIf(chromiumMissing !== undefined)(inChromium('a revoked buffer in the browser'), () => {
  let demo: OpenPage;
  beforeAll(async () => {
    demo = await openDemo();
  }, 60_000);
  afterAll(async () => demo?.close());

  it.each([false, true])('fails the collective on every rank as in Node, touching no memory (registered before: %s)', async (registeredFirst) => {
    const results = await demo.page.evaluate((r) => (globalThis as any).collectiveWeb.revokedBuffer(r), registeredFirst);
    expect(results[1].error.code).toBe('EIO');
    expect(results[1].error.message).toMatch(/allReduce #\d+: recv \(1024 bytes .*device 1\) was revoked/);
    for (const r of results) {
      expect(r.error.message).toMatch(/revoked/);
      expect(r.untouched).toBe(true);
      expect(r.sendKept).toBe(true);
    }
    for (const r of [results[0], results[2]]) expect(r.error.message).toMatch(/aborted by rank 1/);
  }, 120_000);
});
