import { describe, it } from 'vitest';
import { checkGrid, GRID_TIMEOUT_MS } from './helpers/grid.js';

describe('every collective, algorithm, dtype and op over shm connectors on 3 devices', () => {
  it('matches the plain reference, bitwise the same on every rank and from run to run', async () => {
    await checkGrid({ devices: 3, kinds: ['allReduce', 'allGather', 'reduceScatter', 'broadcast', 'reduce', 'allToAll'], runs: 2, options: { connector: 'shm' } });
  }, GRID_TIMEOUT_MS);
});
