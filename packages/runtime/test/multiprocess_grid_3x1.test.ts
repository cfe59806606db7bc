import { describe, it } from 'vitest';
import { checkJobGrid, MULTIPROCESS_GRID_TIMEOUT_MS } from './helpers/multiprocess_grid.js';

describe('the collective grid across processes', () => {
  it('3 processes × 1 device: every algorithm, dtype and op matches the plain reference, bitwise the same on every rank', () => checkJobGrid(3, 1), MULTIPROCESS_GRID_TIMEOUT_MS);
});
