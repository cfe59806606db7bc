import { describe, it } from 'vitest';
import { checkGrid, GRID_TIMEOUT_MS } from './helpers/grid.js';

describe('every collective, algorithm, dtype and op over net connectors on 5 devices', () => {
  it('matches the plain reference, bitwise the same on every rank', async () => {
    await checkGrid({ devices: 5, kinds: ['allReduce', 'allGather', 'reduceScatter', 'broadcast', 'reduce', 'allToAll'], options: { connector: 'net' } });
  }, GRID_TIMEOUT_MS);
});
