import { expect } from 'vitest';
import type { WorldOptions } from '@collective/runtime';
import { fixture, withWorld } from './world.js';

interface GridResult {
  failures: string[];
  hashes: Record<string, number>;
  /** how the rank reached each peer, by rank ('self' for itself) */
  connectors: string[];
}

export type Kind = 'allReduce' | 'allGather' | 'reduceScatter' | 'broadcast' | 'reduce' | 'allToAll';
export const COUNTS = [0, 1, 7, 1023, 65537];
/** A grid takes up to ~20 s on two quiet cores; three times what a busy machine may need. */
export const GRID_TIMEOUT_MS = 120_000;
// Outputs that must be the same bytes on every rank.
const SHARED_OUTPUT = /^(allReduce|allGather|broadcast)\//;

export interface GridRun {
  devices: number;
  kinds: Kind[];
  counts?: number[];
  /** runs of the same grid whose hashes must agree */
  runs?: number;
  options?: Partial<WorldOptions>;
}

/**
 * Runs the collective grid fixture (every algorithm, dtype and op of the
 * given collectives) and checks it matches the plain reference, bitwise the
 * same on every rank for shared outputs, and the same from run to run.
 */
export async function checkGrid(g: GridRun): Promise<void> {
  await withWorld(
    g.devices,
    async (world) => {
      const runs: GridResult[][] = [];
      for (let run = 0; run < (g.runs ?? 1); run++) {
        runs.push(await world.launch<GridResult>(fixture('collective_grid'), { counts: g.counts ?? COUNTS, kinds: g.kinds }));
      }
      const [first] = runs;
      // A forced connector must be the one every call went through: a grid
      // that silently fell back to the other one would pass without it.
      const forced = g.options?.connector;
      if (forced === 'net' || forced === 'shm') {
        for (const [r, res] of first!.entries()) {
          expect(res.connectors, `connectors of rank ${r}`).toEqual(Array.from({ length: g.devices }, (_, q) => (q === r ? 'self' : forced)));
        }
      }
      expect(first!.flatMap((r) => r.failures)).toEqual([]);
      const cases = Object.keys(first![0]!.hashes);
      expect(cases.length).toBeGreaterThan(0);
      for (const name of cases.filter((c) => SHARED_OUTPUT.test(c))) {
        const hashes = first!.map((r) => r.hashes[name]);
        if (new Set(hashes).size !== 1) throw new Error(`${name}: ranks differ: ${hashes.join(', ')}`);
      }
      for (const again of runs.slice(1)) {
        for (let r = 0; r < g.devices; r++) expect(again[r]!.hashes).toEqual(first![r]!.hashes);
      }
    },
    // Eight ranks of 2 × 8 × 65537 int64 buffers, scratch and net staging need more than the default 128 MiB.
    { poolBytes: (g.devices >= 8 ? 256 : 128) << 20, ...g.options },
  );
}
