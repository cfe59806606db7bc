import { describe, expect, it } from 'vitest';
import { withWorld } from './helpers/world.js';

describe("the World's single-controller calls", () => {
  it('refuse bad arguments with a message naming them and the allowed values, and the World stays usable', async () => {
    await withWorld(2, async (world) => {
      const two = [new Float32Array([1, 2]), new Float32Array([3, 4])];
      await expect(world.allReduce(two, { op: 'mean' as never })).rejects.toThrow(/options.op must be one of sum, prod, min, max, avg \(got mean\)/);
      await expect(world.broadcast(two, { root: 2 })).rejects.toThrow(/options.root must be an integer in \[0, 2\) \(got 2\)/);
      await expect(world.allReduce(two, { algo: 'butterfly' })).rejects.toThrow(/options.algo 'butterfly' is not an algorithm of allReduce; choose from oneshot, twoshot, ring, tree/);
      await expect(world.allReduce([two[0]!, new Float32Array(3)])).rejects.toThrow(/inputs\[1\] has 3 elements but inputs\[0\] has 2/);
      await expect(world.allReduce([two[0]!])).rejects.toThrow(/needs one input array per device \(2\), got 1/);
      await expect(world.collective('gather', two)).rejects.toThrow(/kind must be one of allReduce, allGather, reduceScatter, broadcast, reduce, allToAll .*\(got gather\)/);
      await expect(world.reduceScatter([new Float32Array(3), new Float32Array(3)])).rejects.toThrow(/reduceScatter needs input lengths that are a multiple of the 2 devices \(got 3\); pad the inputs/);
      await expect(world.launch('/nonexistent/step.js')).rejects.toThrow(/launch module \/nonexistent\/step.js does not exist/);
      // The CLI's names work too, and after all that the World still runs collectives.
      const gathered = await world.collective('all_gather', two);
      expect(Array.from(gathered[1]!)).toEqual([1, 2, 3, 4]);
      const [sum] = await world.collective('alltoall', two);
      expect(Array.from(sum!)).toEqual([1, 3]);
    });
  });
});
