import { describe, it } from 'vitest';
import { checkGrid, GRID_TIMEOUT_MS } from './helpers/grid.js';

// One rank has no peer to connect: the net grid starts at two.
describe('every collective, algorithm, dtype and op over net connectors on 2 devices', () => {
  it('matches the plain reference, bitwise the same on every rank', async () => {
    await checkGrid({ devices: 2, kinds: ['allReduce', 'allGather', 'reduceScatter', 'broadcast', 'reduce', 'allToAll'], options: { connector: 'net' } });
  }, GRID_TIMEOUT_MS);
});
