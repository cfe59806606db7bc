import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('communicator split', () => {
  it('groups ranks by color, orders them by key, and leaves the parent usable', async () => {
    const results = await withWorld(5, (w) => w.launch<any>(fixture('split'), { withNoColor: false }));
    // Even ranks 0,2,4 and odd 1,3; keys are -rank, so the highest old rank comes first.
    expect(results.map((r) => r.child.rank)).toEqual([2, 1, 1, 0, 0]);
    expect(results.map((r) => r.child.size)).toEqual([3, 2, 3, 2, 3]);
    expect(results.map((r) => r.child.sum)).toEqual([6, 4, 6, 4, 6]);
    expect(results[0].child.members).toEqual([4, 2, 0]);
    expect(results[1].child.members).toEqual([3, 1]);
    expect(results.every((r) => r.parentSum === 5)).toBe(true);
  });

  it('leaves color -1 out', async () => {
    const results = await withWorld(4, (w) => w.launch<any>(fixture('split'), { withNoColor: true }));
    expect(results[3]).toEqual({ color: -1, child: null, parentSum: 4 });
    expect(results[0].child).toMatchObject({ size: 2, sum: 2, members: [2, 0] });
    expect(results[1].child).toMatchObject({ size: 1, sum: 1, members: [1] });
  });
});
