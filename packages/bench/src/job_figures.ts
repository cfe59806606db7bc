// Runs inside a device worker: turns one rank's samples into the job's.
import type { DeviceContext } from '@collective/runtime';
import type { Sample } from './collective_worker.js';

/**
 * The figures of the whole communicator, on every rank: a collective is as
 * slow as its slowest rank (max of the times) and #wrong adds up over ranks
 * (sum). Done with collectives over the communicator rather than in the
 * main thread, so that in a job of several processes the process that
 * prints has every other process's figures too. Every rank must call it
 * with samples of the same sizes.
 */
export function jobFigures(ctx: DeviceContext, samples: readonly Sample[]): Sample[] {
  const k = samples.length;
  if (k === 0) return [];
  const times = ctx.alloc('float64', 2 * k) as Float64Array;
  const wrong = ctx.alloc('float64', 2 * k) as Float64Array;
  // No in-place form gives NaN on every rank alike; a max must not see it.
  const time = (us: number) => (Number.isFinite(us) ? us : -1);
  for (const [i, s] of samples.entries()) {
    times[2 * i] = time(s.outUs);
    times[2 * i + 1] = time(s.inUs);
    wrong[2 * i] = s.outWrong;
    wrong[2 * i + 1] = s.inWrong;
  }
  ctx.comm.allReduce(times, times, { op: 'max' });
  ctx.comm.allReduce(wrong, wrong, { op: 'sum' });
  const back = (us: number) => (us < 0 ? NaN : us);
  const out = samples.map((s, i) => ({ ...s, outUs: back(times[2 * i]!), inUs: back(times[2 * i + 1]!), outWrong: wrong[2 * i]!, inWrong: wrong[2 * i + 1]! }));
  ctx.free(times);
  ctx.free(wrong);
  return out;
}
