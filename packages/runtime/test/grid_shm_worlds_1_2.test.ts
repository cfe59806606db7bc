import { describe, it } from 'vitest';
import { checkGrid, GRID_TIMEOUT_MS, type Kind } from './helpers/grid.js';

const ALL: Kind[] = ['allReduce', 'allGather', 'reduceScatter', 'broadcast', 'reduce', 'allToAll'];

describe('every collective, algorithm, dtype and op over shm connectors', () => {
  it.each([1, 2])('matches the plain reference on %i device(s), bitwise the same on every rank and from run to run', async (devices) => {
    await checkGrid({ devices, kinds: ALL, runs: 2, options: { connector: 'shm' } });
  }, GRID_TIMEOUT_MS);
});
