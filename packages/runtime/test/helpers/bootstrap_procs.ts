import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { type ProcResult, run } from '../../../rendezvous/test/helpers/processes.js';

export const jobScript = fileURLToPath(new URL('../../dist-test/fixtures/bootstrap_job.js', import.meta.url));
export const fixturePath = (name: string): string => fileURLToPath(new URL(`../../dist-test/fixtures/${name}.js`, import.meta.url));

// Processes, ports and torch's Python: one copy, the store tests' (packages/rendezvous).
export { freePort, hasCommand, type ProcResult, PYTHON, run, torchVersion } from '../../../rendezvous/test/helpers/processes.js';

export interface JobResult {
  rank: number;
  worldSize: number;
  launcher: string;
  store: { serve?: boolean; prefix?: string; source?: string; kind?: string };
  localRank: number;
  localWorldSize: number;
  hosts: { hostId: string; ranks: number[] }[];
  deviceOffsets: number[];
  listenAddresses: string[];
  reached: number[];
}

/** Every BOOTSTRAP_RESULT line in some output, whatever prefixes the launcher adds. */
export function jobResults(output: string): JobResult[] {
  return output
    .split('\n')
    .map((l) => /BOOTSTRAP_RESULT (\{.*\})\s*$/.exec(l)?.[1])
    .filter((j): j is string => j !== undefined)
    .map((j) => JSON.parse(j) as JobResult)
    .sort((a, b) => a.rank - b.rank);
}

/** The assertions every launcher test makes: N ranks, one each, all agreeing on world and topology, every peer reached. */
export function expectOneWorld(results: readonly JobResult[], n: number): void {
  expect(results.map((r) => r.rank)).toEqual(Array.from({ length: n }, (_, i) => i));
  const first = results[0] as JobResult;
  for (const r of results) {
    expect(r.worldSize).toBe(n);
    expect(r.hosts, `rank ${r.rank} sees the same hosts as rank 0`).toEqual(first.hosts);
    expect(r.listenAddresses).toEqual(first.listenAddresses);
    expect(r.deviceOffsets).toEqual(Array.from({ length: n }, (_, i) => 2 * i));
    expect(r.reached, `rank ${r.rank} reached every peer at its published address`).toEqual(Array.from({ length: n }, (_, i) => i));
  }
}

/** Starts one process of the job script per environment, as a launcher would, and waits for all. */
export async function runJobProcesses(envs: readonly NodeJS.ProcessEnv[], timeoutMs = 30_000): Promise<ProcResult[]> {
  const base = { ...process.env };
  // This process may itself run under a launcher; the job must see only what the test gives it.
  for (const k of Object.keys(base)) if (/^(RANK|WORLD_SIZE|LOCAL_RANK|MASTER_|OMPI_|PMI_|PMIX_|SLURM_|TORCHELASTIC_|COLLECTIVE_)/.test(k)) delete base[k];
  return Promise.all(envs.map((env) => run(process.execPath, [jobScript], { env: { ...base, ...env }, timeoutMs })));
}
