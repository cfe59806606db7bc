import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MPI_PEER } from '@collective/bench';

const peers = fileURLToPath(new URL('../peers/', import.meta.url));
const PROGRAMS = ['mpi_coll.c', 'gloo_coll.py', 'membw.c', 'probe_allreduce.mjs', 'probe_kern.mjs', 'node_tcp_probe.mjs'];

describe('the peer programs shipped with @collective/bench', () => {
  it('are all in peers/, each described in its README', () => {
    const readme = readFileSync(`${peers}README.md`, 'utf8');
    for (const p of PROGRAMS) {
      expect(existsSync(`${peers}${p}`), p).toBe(true);
      expect(readme, p).toContain(`\`${p}\``);
    }
  });

  it('include the Open MPI peer that --mpi runs by default', () => {
    expect(DEFAULT_MPI_PEER).toBe(`${peers}mpi_coll.c`);
    expect(readFileSync(DEFAULT_MPI_PEER, 'utf8')).toMatch(/MPI_Allreduce/);
  });
});
