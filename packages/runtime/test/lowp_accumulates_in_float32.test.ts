import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('float16 and bfloat16 accumulate in float32', () => {
  it('rounds once, at the end, in every algorithm', async () => {
    const results = await withWorld(3, (w) => w.launch<Record<string, number[]>>(fixture('lowp_accumulate')));
    for (const r of results) {
      for (const algo of ['oneshot', 'twoshot', 'ring', 'tree']) {
        expect(r[`float16/${algo}`]).toEqual(Array(5).fill(0x6801)); // 2050
        expect(r[`bfloat16/${algo}`]).toEqual(Array(5).fill(0x4381)); // 258
      }
    }
  });
});
