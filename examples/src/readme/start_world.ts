import { answerHelp } from '../run_as_main.js';

answerHelp(`usage: node examples/dist/readme/start_world.js\n  the README's first World: 4 device workers, a launch and a single-controller allReduce (no flags)`);

// README:begin start-world
import { World } from '@collective/runtime';

const world = await World.start({ devices: 4 });
try {
  // SPMD: the default export of allreduce_step.js runs on every device; results come back in rank order.
  const perRank = await world.launch<number[]>(new URL('./allreduce_step.js', import.meta.url), { scale: 0.5 });
  console.log('launch', JSON.stringify(perRank)); // [[5,5,5,5],[5,5,5,5],[5,5,5,5],[5,5,5,5]]

  // Single controller: one host array per device in, the outputs in rank order out (copied in and out).
  const inputs = [Float32Array.of(1, 2), Float32Array.of(10, 20), Float32Array.of(100, 200), Float32Array.of(1000, 2000)];
  const outputs = await world.allReduce(inputs, { op: 'sum' });
  console.log('allReduce', JSON.stringify(outputs.map((a) => Array.from(a)))); // [[1111,2222], … 4 times]
} finally {
  await world.close();
}
// README:end start-world
