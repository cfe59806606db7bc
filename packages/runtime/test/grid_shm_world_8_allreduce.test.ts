import { describe, it } from 'vitest';
import { checkGrid, GRID_TIMEOUT_MS } from './helpers/grid.js';

describe('all-reduce, every algorithm, dtype and op over shm connectors on 8 devices (more than cores)', () => {
  it('matches the plain reference, bitwise the same on every rank', async () => {
    await checkGrid({ devices: 8, kinds: ['allReduce'], options: { connector: 'shm' } });
  }, GRID_TIMEOUT_MS);
});
