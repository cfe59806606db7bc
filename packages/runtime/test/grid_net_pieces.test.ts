import { describe, it } from 'vitest';
import { checkGrid, GRID_TIMEOUT_MS } from './helpers/grid.js';

// A 1 KiB FIFO slot makes every pipelined call of more than a few hundred
// elements run many pieces, exercising the credits that guard slot reuse
// (every piece costs a net round trip, so slots are not as tiny as over shm).
describe('pipelined all-reduce and all-gather cut into many 1 KiB pieces over net connectors', () => {
  it.each([2, 3, 5])('match the plain reference on %i devices', async (devices) => {
    await checkGrid({ devices, kinds: ['allReduce', 'allGather'], counts: [1, 7, 1023, 65537], options: { connector: 'net', slotBytes: 1024 } });
  }, GRID_TIMEOUT_MS);
});
