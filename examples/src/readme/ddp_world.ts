import { answerHelp } from '../run_as_main.js';

answerHelp(`usage: node examples/dist/readme/ddp_world.js\n  the README's DataParallel loop (ddp_step.js) on 2 devices, without and with the bf16 hook (no flags)`);

import { World } from '@collective/runtime';

const world = await World.start({ devices: 2, streams: true });
try {
  for (const bf16 of [false, true]) {
    const params = await world.launch<number[]>(new URL('./ddp_step.js', import.meta.url), { steps: 60, lr: 0.5, bf16 });
    for (const [rank, p] of params.entries()) console.log(`${bf16 ? 'bf16' : 'fp32'} rank ${rank}: ${JSON.stringify(p)}`);
  }
} finally {
  await world.close();
}
