import { describe, expect, it } from 'vitest';
import { joinResults, startJob } from './helpers/job_processes.js';

const PROCS = 2;
const DEVICES = 2;
const N = PROCS * DEVICES;
const SIZES = [3, 1000, 7, 5000, 2];
/** The mean over ranks of the data_parallel fixture's gradient for parameter i, element k, times `scale`. */
const mean = (i: number, k: number, scale: number) => (scale * Array.from({ length: N }, (_, r) => (r + 1) * (i + 1) + (k % 17) * 0.25).reduce((a, b) => a + b, 0)) / N;
const streams = () => ({ JOIN_JOB_STREAMS: '1' });

describe('communication streams in a World joined across processes', () => {
  it(`run every collective in issue order across ${PROCS} processes × ${DEVICES} devices, blocking or Async`, async () => {
    const results = joinResults(await startJob({ procs: PROCS, devices: DEVICES, module: 'stream_calls', env: streams }));
    for (const r of results) {
      expect(r.size).toBe(N);
      for (const s of r.spmd as any[]) {
        expect(s.ordered).toBe(true);
        expect(s.allDone).toBe(true);
        expect([s.okGather, s.okBcast, s.okReduce, s.okScatter, s.okA2a, s.okRing]).toEqual([true, true, true, true, true, true]);
        expect(s.badError.code).toBe('EINVAL');
        expect(s.asyncError).toBeNull();
        expect(s.pending).toBe(0);
      }
    }
  });

  it('carry DataParallel: gradients averaged over every device of the job, the same bits everywhere', async () => {
    const results = joinResults(await startJob({ procs: PROCS, devices: DEVICES, module: 'data_parallel', env: streams }));
    const all = results.flatMap((r) => r.spmd as any[]);
    expect(all).toHaveLength(N);
    for (const r of all) {
      expect(r.paramsFromRoot).toBe(true);
      expect(r.hash).toBe(all[0].hash);
      for (let i = 0; i < SIZES.length; i++) {
        for (const k of [0, 1, SIZES[i]! - 1]) {
          expect(r.step1[i][k]).toBeCloseTo(mean(i, k, 1), 4);
          expect(r.step2[i][k]).toBeCloseTo(mean(i, k, 3), 4);
        }
      }
    }
    all.forEach((r, rank) => expect(r.localAfterNoSync).toBe((rank + 1) * 2));
  });
});
