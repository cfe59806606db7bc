import { describe, expect, it } from 'vitest';
import type { CollectiveOptions } from '@collective/runtime';
import { BAD_OPTIONS } from './fixtures/bad_options_cases.js';
import { fixture, withWorld } from './helpers/world.js';

// Review F15: the communicator, the stream and the World's single
// controller each had a validator; the stream let a fractional or
// out-of-range value through with only a typeof check. One check now.
describe('a collective\'s options', () => {
  it('are refused with the same message by the communicator, the stream and the World', async () => {
    await withWorld(2, async (w) => {
      const [r0] = await w.launch<{ comm: Record<string, string>; stream: Record<string, string> }>(fixture('bad_options'));
      const world: Record<string, string> = {};
      for (const [name, opts] of Object.entries(BAD_OPTIONS)) {
        world[name] = await w.allReduce([new Float32Array(8), new Float32Array(8)], opts as CollectiveOptions).then(
          () => 'accepted',
          (e: Error) => e.message,
        );
      }
      for (const name of Object.keys(BAD_OPTIONS)) {
        expect(r0!.comm[name], name).not.toBe('accepted');
        expect(r0!.stream[name], name).toBe(r0!.comm[name]);
        expect(world[name], name).toBe(r0!.comm[name]);
      }
      expect(r0!.comm.timeoutFraction).toMatch(/options.timeoutMs must be a positive integer \(got 1.5\)/);
      expect(r0!.comm.rootType).toMatch(/options.root must be an integer in \[0, 2\) \(got 0\)/);
      expect(r0!.comm.proto).toMatch(/options.proto must be one of ll, simple \(got fast\)/);
      expect(r0!.comm.notObject).toMatch(/options must be an object \(got 7\)/);
    }, { streams: true });
  });
});
