import { describe, it } from 'vitest';
import { checkJobGrid, MULTIPROCESS_GRID_TIMEOUT_MS } from './helpers/multiprocess_grid.js';

describe('the collective grid across processes', () => {
  it('2 processes × 2 devices: every algorithm, dtype and op matches the plain reference, bitwise the same on every rank', () => checkJobGrid(2, 2), MULTIPROCESS_GRID_TIMEOUT_MS);
});
