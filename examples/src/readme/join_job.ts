import { World } from '@collective/runtime';

// One process of a job: start it with collective-run, torchrun --no_python, mpirun or srun.
const world = await World.join({ devices: 2 });
try {
  // world.size counts every device of every process; this process's devices are ranks rankOffset … rankOffset + localSize − 1.
  const perRank = await world.launch<number[]>(new URL('./allreduce_step.js', import.meta.url), { scale: 1 });
  const inputs = Array.from({ length: world.localSize }, (_, i) => Float64Array.of(world.rankOffset + i + 1));
  const sums = await world.allReduce(inputs, { op: 'sum' });
  console.log(`process ${world.job?.rank} of ${world.job?.worldSize}: ranks ${world.rankOffset}..${world.rankOffset + world.localSize - 1} of ${world.size}; launch ${perRank[0]?.[0]}, allReduce ${sums[0]?.[0]}`);
} finally {
  await world.close(); // every process leaves together
}
