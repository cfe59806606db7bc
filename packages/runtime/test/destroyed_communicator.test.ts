import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a communicator used after destroy()', () => {
  it('refuses split() before writing, and asyncError() does not read, the memory destroy() gave back (another owner holds it by then)', async () => {
    const results = await withWorld(2, (w) => w.launch<any>(fixture('destroyed_split')));
    for (const r of results) {
      expect(r.error).toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/communicator is destroyed/) });
      expect(r.written).toEqual([]);
      expect(r.asyncError).toBeNull();
    }
  });
});
