// Runs inside a device worker: turns one rank's samples into the job's.
import type { DeviceContext } from '@collective/runtime';
import type { Sample } from './sample.js';

/**
 * The figures of the whole communicator, on every rank: a collective is as
 * slow as its slowest rank (max of the times, and of the spreads of their batches) and #wrong adds up over ranks
 * (sum). Done with collectives over the communicator rather than in the
 * main thread, so that in a job of several processes the process that
 * prints has every other process's figures too. Every rank must call it
 * with samples of the same sizes.
 */
export function jobFigures(ctx: DeviceContext, samples: readonly Sample[]): Sample[] {
  const k = samples.length;
  if (k === 0) return [];
  // Per sample: out-of-place and in-place time, then the spread of batches.
  const times = ctx.alloc('float64', 3 * k) as Float64Array;
  const wrong = ctx.alloc('float64', 2 * k) as Float64Array;
  // No in-place form gives NaN on every rank alike; a max must not see it.
  const time = (us: number) => (Number.isFinite(us) ? us : -1);
  for (const [i, s] of samples.entries()) {
    times[3 * i] = time(s.outUs);
    times[3 * i + 1] = time(s.inUs);
    times[3 * i + 2] = s.spread;
    wrong[2 * i] = s.outWrong;
    wrong[2 * i + 1] = s.inWrong;
  }
  ctx.comm.allReduce(times, times, { op: 'max' });
  ctx.comm.allReduce(wrong, wrong, { op: 'sum' });
  const back = (us: number) => (us < 0 ? NaN : us);
  const out = samples.map((s, i) => ({ ...s, outUs: back(times[3 * i]!), inUs: back(times[3 * i + 1]!), spread: times[3 * i + 2]!, outWrong: wrong[2 * i]!, inWrong: wrong[2 * i + 1]! }));
  ctx.free(times);
  ctx.free(wrong);
  return out;
}
