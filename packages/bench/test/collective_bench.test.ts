import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { COLLECTIVES, runCollectiveBench } from '@collective/bench';

function sink(): { out: Writable; text: () => string } {
  let text = '';
  return {
    out: new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    }),
    text: () => text,
  };
}

describe('runCollectiveBench', () => {
  it.each(COLLECTIVES)('%s reports a correct table with #wrong 0 on 3 devices', async (collective) => {
    const s = sink();
    const { rows, wrong } = await runCollectiveBench(
      { collective, sizes: [0, 8, 4096, 100_000], devices: 3, iters: 3, warmup: 1, check: true, ops: ['sum', 'avg'], dtypes: ['float32', 'int8', 'bfloat16'], root: 1, minTimeMs: 1, progress: false },
      s.out,
    );
    expect(wrong).toBe(0);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.outWrong).toBe(0);
      expect(Number.isFinite(r.outUs)).toBe(true);
    }
    expect(s.text()).toMatch(/# Out of bounds values : 0 OK/);
    expect(s.text()).toMatch(/# Avg bus bandwidth    : \d+\.\d{3}/);
  });

  it('refuses a root outside the world', async () => {
    const s = sink();
    await expect(
      runCollectiveBench({ collective: 'broadcast', sizes: [8], devices: 2, iters: 1, warmup: 0, check: true, ops: ['sum'], dtypes: ['float32'], root: 2, minTimeMs: 1, progress: false }, s.out),
    ).rejects.toThrow(/-r 2 is not a rank of 2 devices/);
  });
});
