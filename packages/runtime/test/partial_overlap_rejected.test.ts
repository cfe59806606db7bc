import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('send and recv that partially overlap', () => {
  it('are refused on the calling rank with a message saying what in place means, and the communicator stays usable', async () => {
    const results = await withWorld(2, (w) => w.launch<any>(fixture('partial_overlap')));
    for (const r of results) {
      expect(r.errors.allReduce.message).toMatch(/allReduce: send and recv overlap without being in place; in place means send and recv are the same view/);
      expect(r.errors.allGather.message).toMatch(/allGather: .* in place means send is this rank's block of recv/);
      expect(r.errors.reduceScatter.message).toMatch(/reduceScatter: .* in place means recv is this rank's block of send/);
      expect(r.errors.reduce.message).toMatch(/reduce: send and recv overlap/);
      expect(r.errors.allToAll.message).toMatch(/allToAll cannot run in place/);
      expect(r.value).toBe(2);
    }
    expect(results[0].errors.broadcast.message).toMatch(/broadcast: send and recv overlap/);
  });
});
