import { answerHelp } from '../run_as_main.js';

answerHelp(`usage: node examples/dist/readme/streams_world.js\n  the README's streams example: 2 devices whose calls run on their communication streams (no flags)`);

// README:begin streams-world
import { World } from '@collective/runtime';

// streams: true gives every device a communication stream (ctx.stream), a thread of its own.
const world = await World.start({ devices: 2, streams: true });
try {
  for (const line of await world.launch<string>(new URL('./stream_step.js', import.meta.url))) console.log(line);
  // rank 0: a[0]=1 b[0]=2 done=true busy=true
  // rank 1: a[0]=1 b[0]=2 done=true busy=true
} finally {
  await world.close();
}
// README:end streams-world
