import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '@collective/runtime';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

const lateRank = new URL('../../../packages/runtime/dist-test/fixtures/late_rank.js', import.meta.url);

describe('collective-bench trace', () => {
  it('reads the flight records of a timed-out job and names the rank that held the others up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trace-'));
    // Device workers copy the environment when they start.
    process.env.COLLECTIVE_DUMP_DIR = dir;
    const world = await World.start({ devices: 3, poolBytes: 32 << 20 });
    try {
      // Rank 2 calls only once the others gave up on it (after 200 ms) and aborted.
      await world.launch(lateRank, { late: 2, timeoutMs: 200, algo: 'ring' });
    } finally {
      delete process.env.COLLECTIVE_DUMP_DIR;
      await world.close();
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(2);
    const r = runCli('trace', dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rank [01] \(host [^,]+, pid \d+\): last call allReduce #1 \(262144 × float32, ring\) failed: .*rank 2 did not arrive within 200 ms/);
    // The late rank records where it was when it finds the communicator aborted.
    expect(r.stdout).toMatch(/rank 2 \(host [^,]+, pid \d+\) is behind: it never started allReduce #1 \(it made no call on this communicator before\)/);
    expect(r.stdout).toMatch(/=> stuck: rank 2 \(host [^,]+, pid \d+\); rank\(s\) 0, 1 wait for it in allReduce #1\n/);
  });

  it('says where to look when the directory has no flight records', () => {
    const r = runCli('trace', mkdtempSync(join(tmpdir(), 'trace-empty-')));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no flight records .* set COLLECTIVE_DUMP_DIR/);
  });
});
