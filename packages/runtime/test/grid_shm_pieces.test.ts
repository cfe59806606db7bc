import { describe, it } from 'vitest';
import { checkGrid, GRID_TIMEOUT_MS } from './helpers/grid.js';

// A 256-byte FIFO slot makes every pipelined call of more than a few dozen
// elements run many pieces, exercising the credits that guard slot reuse.
describe('pipelined all-reduce and all-gather cut into many 256-byte pieces over shm connectors', () => {
  it.each([2, 3, 5])('match the plain reference on %i devices', async (devices) => {
    await checkGrid({ devices, kinds: ['allReduce', 'allGather'], counts: [1, 7, 1023, 65537], options: { connector: 'shm', slotBytes: 256 } });
  }, GRID_TIMEOUT_MS);
});
