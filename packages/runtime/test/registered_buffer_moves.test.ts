import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a registered buffer', () => {
  it('cannot move until deregistered; a view of its old place is then refused on the calling rank only', async () => {
    const results = await withWorld(2, (w) => w.launch<any>(fixture('registered_buffer_moves')));
    for (const r of results) {
      expect(r.pinned.message).toMatch(/EBUSY: buffer is pinned .*communicators deregister it/);
      expect(r.twice.message).toMatch(/registration is not live on this communicator/);
      expect(r.stale.code).toBe('EINVAL');
      expect(r.stale.message).toMatch(/send is not inside one live buffer of device \d/);
      expect(r.value).toBe(4);
    }
  });
});
