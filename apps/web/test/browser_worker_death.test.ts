import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, inChromium, type OpenPage, openDemo, waitForWorkers } from './helpers/browser.js';

// A Web Worker has no 'exit' event: the platform's browser side takes an
// uncaught error as the worker's death (a Node worker dies of one), ends
// it and reports it, so the World aborts the communicator as in Node.
describe.skipIf(chromiumMissing !== undefined)(inChromium('a device worker that dies in the browser'), () => {
  let demo: OpenPage;
  beforeAll(async () => {
    demo = await openDemo();
  }, 60_000);
  afterAll(async () => demo?.close());

  it("fails the launch, its peer's wait ends long before its 30 s deadline, and close() ends the workers", async () => {
    const out = await demo.page.evaluate(() => (globalThis as any).collectiveWeb.workerDeath());
    expect(out.error?.message).toMatch(/device worker \d+ ended while running a task: .*rank 1 dies of an uncaught error/);
    // Rank 0 was released by the abort, not by its deadline (30 s) nor the World's watchdog (10 s).
    expect(out.failedAfterMs).toBeLessThan(8_000);
    expect(await waitForWorkers(demo.page, 0)).toBe(0);
  }, 120_000);
});
