import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from '@collective/runtime';
import { trainDataParallel } from '../../../examples/dist/tfjs_data_parallel.js';
import { DEFAULT_CONFIG } from '../../../examples/dist/data_parallel_config.js';
import { chromiumMissing, inChromium, type OpenPage, openDemo } from './helpers/browser.js';

interface RankTraining {
  losses: number[];
  hashes: string[];
}

// examples/src/tfjs_data_parallel_step.ts, bundled for the page, trains on
// Web Workers as it does on Node worker threads (tfjs's pure-JavaScript
// cpu backend in both).
describe.skipIf(chromiumMissing !== undefined)(inChromium('the tfjs data-parallel example in the browser'), () => {
  let demo: OpenPage;
  beforeAll(async () => {
    demo = await openDemo();
  }, 60_000);
  afterAll(async () => demo?.close());

  // ddp runs on the communication streams: a stream thread per device, a Web Worker here.
  it.each(['blocking', 'ddp'])('%s: keeps the parameters bitwise identical on every worker and follows the loss curve of the same run in Node', async (mode) => {
    const steps = 15;
    const web = await demo.page.evaluate(([s, m]) => (globalThis as any).collectiveWeb.trainInPage({ devices: 2, steps: s, mode: m }), [steps, mode] as const);
    const ranks = web.ranks as RankTraining[];
    expect(ranks).toHaveLength(2);
    expect(ranks[1]!.hashes).toEqual(ranks[0]!.hashes);
    expect(ranks[0]!.losses).toHaveLength(steps);
    expect(ranks[0]!.losses.at(-1)!).toBeLessThan(ranks[0]!.losses[0]!);

    const world = await World.start({ devices: 2, poolBytes: 64 << 20, streams: mode === 'ddp' });
    let node: RankTraining[];
    try {
      node = await trainDataParallel(world, { ...DEFAULT_CONFIG, steps, mode });
    } finally {
      await world.close();
    }
    for (const [i, loss] of ranks[0]!.losses.entries()) expect(loss, `step ${i + 1}`).toBeCloseTo(node[0]!.losses[i]!, 4);
  }, 180_000);
});
