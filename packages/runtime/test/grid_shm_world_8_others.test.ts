import { describe, it } from 'vitest';
import { checkGrid, GRID_TIMEOUT_MS } from './helpers/grid.js';

describe('the collectives other than all-reduce over shm connectors on 8 devices (more than cores)', () => {
  it('match the plain reference, bitwise the same on every rank', async () => {
    await checkGrid({ devices: 8, kinds: ['allGather', 'reduceScatter', 'broadcast', 'reduce', 'allToAll'], options: { connector: 'shm' } });
  }, GRID_TIMEOUT_MS);
});
