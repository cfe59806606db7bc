import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a buffer whose reservation is full', () => {
  it('fails the call on its rank before it is announced, leaves no fence pending, and works once there is room', async () => {
    const results = await withWorld(2, (w) => w.launch<any>(fixture('full_reservation')));
    expect(results[0].error.code).toBe('EAGAIN');
    expect(results[0].error.message).toMatch(/reservation holds 16 fences/);
    for (const r of results) expect(r.value).toBe(2);
    expect(results[0].freedQuickly).toBe(true);
  });
});
