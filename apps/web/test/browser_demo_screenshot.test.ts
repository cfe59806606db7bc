import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, inChromium, type OpenPage, openDemo } from './helpers/browser.js';

/** Kept after the run for a person to look at (apps/web/test-output/, ignored by git). */
const SHOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-output', 'demo.png');

describe.skipIf(chromiumMissing !== undefined)(inChromium('the demo page'), () => {
  let demo: OpenPage;
  beforeAll(async () => {
    demo = await openDemo();
  }, 60_000);
  afterAll(async () => demo?.close());

  it('runs collective-bench from its form (the nccl-tests table, the chart, #wrong 0) and the tfjs example (its loss curve)', async () => {
    const { page } = demo;
    await page.selectOption('#collective', 'all_reduce');
    await page.fill('#devices', '2');
    await page.fill('#min', '8');
    await page.fill('#max', '1048576');
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('status')?.textContent !== 'running', null, { timeout: 120_000 });
    expect(await page.textContent('#status')).toBe('done');
    expect(await page.textContent('#wrong')).toBe('0');
    const table = (await page.textContent('#table')) ?? '';
    expect(table).toMatch(/#\s+size\s+count\s+type\s+redop/);
    // 8 B to 1 MiB by doubling: 18 rows of figures
    expect(table.split('\n').filter((l) => /^\s+\d+\s+\d+\s+float\s+sum/.test(l))).toHaveLength(18);
    expect(table).toMatch(/# Out of bounds values : 0 OK/);
    // The tfjs example below it, with its loss curve.
    await page.fill('#train-devices', '2');
    await page.fill('#train-steps', '30');
    await page.click('#train');
    await page.waitForFunction(() => document.getElementById('train-status')?.textContent !== 'training', null, { timeout: 120_000 });
    expect(await page.textContent('#train-status')).toMatch(/^done: 2 ranks, 30 steps .* parameters bitwise identical on every rank$/);
    mkdirSync(dirname(SHOT), { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true });
    expect(statSync(SHOT).size).toBeGreaterThan(10_000);
    expect(demo.errors).toEqual([]);
  }, 240_000);
});
