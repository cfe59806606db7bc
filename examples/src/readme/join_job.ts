import { answerHelp } from '../run_as_main.js';

answerHelp(`usage: collective-run --nproc-per-node 2 node examples/dist/readme/join_job.js   (or torchrun --no_python, mpirun -np 2, srun)\n  the README's job example: one process of a job, 2 devices each, joined into one World (no flags)`);

// README:begin join-job
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
// README:end join-job
