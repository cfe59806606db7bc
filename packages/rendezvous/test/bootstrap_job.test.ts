import { describe, expect, it } from 'vitest';
import { type BootstrapOptions, HashStore, type JobTopology, StoreError, bootstrapJob } from '@collective/rendezvous';

type Outcome = { ok: JobTopology } | { err: StoreError };

async function job(n: number, tweak: (rank: number) => Partial<BootstrapOptions> = () => ({}), ranks = Array.from({ length: n }, (_, r) => r)): Promise<{ outcomes: Outcome[]; ms: number }> {
  const store = new HashStore();
  const t0 = performance.now();
  const outcomes = await Promise.all(
    ranks.map((rank) =>
      bootstrapJob(store, {
        rank,
        worldSize: n,
        listenAddress: `tcp://10.0.0.${rank}:7000`,
        devices: 2,
        poolBytes: 1 << 20,
        host: { hostname: 'h', hostId: 'h' },
        timeoutMs: 10_000,
        ...tweak(rank),
      }).then(
        (ok): Outcome => ({ ok }),
        (err: StoreError): Outcome => ({ err }),
      ),
    ),
  );
  return { outcomes, ms: performance.now() - t0 };
}

const errors = (o: Outcome[]) => o.map((x) => ('err' in x ? x.err : undefined));

describe('bootstrapJob', () => {
  it('gives every rank the same records and the same derived topology', async () => {
    const host = (r: number) => (r % 2 === 0 ? { hostname: 'a', hostId: 'A' } : { hostname: 'b', hostId: 'B' });
    const { outcomes } = await job(5, (r) => ({ host: host(r), devices: r + 1, options: { algo: 'ring', dtypes: ['float32'] } }));
    const tops = outcomes.map((o) => ('ok' in o ? o.ok : expect.fail(String((o as { err: Error }).err))));
    for (const t of tops) {
      expect(t.hosts).toEqual([
        { index: 0, hostId: 'A', hostname: 'a', ranks: [0, 2, 4] },
        { index: 1, hostId: 'B', hostname: 'b', ranks: [1, 3] },
      ]);
      expect(t.hostOf).toEqual([0, 1, 0, 1, 0]);
      expect(t.localRankOf).toEqual([0, 0, 1, 1, 2]);
      expect(t.deviceOffsets).toEqual([0, 1, 3, 6, 10]);
      expect(t.totalDevices).toBe(15);
      expect(t.ranks.map((r) => r.listenAddress)).toEqual([0, 1, 2, 3, 4].map((r) => `tcp://10.0.0.${r}:7000`));
      expect(t.ranks.map((r) => r.pid)).toEqual(Array(5).fill(process.pid));
    }
    expect(tops.map((t) => [t.rank, t.localRank, t.localWorldSize, t.peersOnHost])).toEqual([
      [0, 0, 3, [0, 2, 4]],
      [1, 0, 2, [1, 3]],
      [2, 1, 3, [0, 2, 4]],
      [3, 1, 2, [1, 3]],
      [4, 2, 3, [0, 2, 4]],
    ]);
  });

  it('fails fast on every rank when one runs another version, naming both', async () => {
    const { outcomes, ms } = await job(4, (r) => (r === 3 ? { version: 'v-new' } : { version: 'v-old' }));
    for (const e of errors(outcomes)) {
      expect(e).toBeInstanceOf(StoreError);
      expect(e?.message).toMatch(/rank 3 \(host h, pid \d+\) runs "v-new" but rank 0 \(host h, pid \d+\) runs "v-old"/);
    }
    expect(ms).toBeLessThan(5_000);
  });

  it('fails fast when world sizes disagree, including the rank that expects more peers', async () => {
    const { outcomes, ms } = await job(4, (r) => (r === 2 ? { worldSize: 6 } : {}));
    for (const e of errors(outcomes)) expect(e?.message).toMatch(/rank 2 .* was started with a world size of 6 but rank 0 .* with 4/);
    expect(ms).toBeLessThan(5_000);
  });

  it('fails fast when an option differs, naming the option and both values', async () => {
    const { outcomes } = await job(3, (r) => ({ options: { algo: r === 1 ? 'tree' : 'ring', chunk: 4 } }));
    for (const e of errors(outcomes)) expect(e?.message).toMatch(/option 'algo' differs: rank 0 .* has "ring", rank 1 .* has "tree"/);
  });

  it('times out naming the ranks that never published', async () => {
    const { outcomes, ms } = await job(4, () => ({ timeoutMs: 300 }), [0, 2]);
    for (const e of errors(outcomes)) {
      expect(e?.code).toBe('ETIMEDOUT');
      expect(e?.message).toMatch(/2 of 4 ranks did not publish their records within 300 ms: ranks 1, 3/);
      expect(e?.keys).toEqual(['collective/bootstrap/rank/1', 'collective/bootstrap/rank/3']);
    }
    expect(ms).toBeLessThan(5_000);
    // Without rank 0, the wait for its record is what times out, and says so.
    const { outcomes: noRoot } = await job(3, () => ({ timeoutMs: 300 }), [1, 2]);
    for (const e of errors(noRoot)) expect(e?.message).toMatch(/rank 0 did not publish its record within 300 ms \(key 'collective\/bootstrap\/rank\/0'\)/);
  });

  it('catches a rank started twice, and the others stop instead of waiting for the rank nobody started', async () => {
    const { outcomes, ms } = await job(3, () => ({}), [0, 1, 1]);
    expect(errors(outcomes).every((e) => e !== undefined)).toBe(true);
    expect(errors(outcomes).map((e) => e?.message).join('\n')).toMatch(/rank 1 was started twice/);
    expect(ms).toBeLessThan(5_000);
  });

  it('validates its options with messages that name them', async () => {
    const store = new HashStore();
    await expect(bootstrapJob(store, { rank: 2, worldSize: 2 })).rejects.toThrow(/options.rank \(2\) must be less than options.worldSize \(2\)/);
    await expect(bootstrapJob(store, { rank: 0, worldSize: 1, devices: 0 })).rejects.toThrow(/options.devices must be a positive integer \(got 0\)/);
    await expect(bootstrapJob(store, { rank: 0, worldSize: 0 })).rejects.toThrow(/options.worldSize must be a positive integer \(got 0\)/);
  });
});
