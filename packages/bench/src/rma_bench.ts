import type { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { Pool } from '@collective/transport';
import { checkFits, rmaPoolBytes, rmaSizeLimit } from './pool_limits.js';

export interface RmaBenchOptions {
  sizes: number[];
  pingPongs: number;
  minTimeMs: number;
}

export interface RmaFigures {
  writedataLatencyUs: number;
  taggedLatencyUs: number;
  bandwidth: { bytes: number; GBs: number }[];
}

/** RMA write bandwidth and small-message latency between two devices over shm. */
export async function runRmaBench(o: RmaBenchOptions, out: Writable): Promise<RmaFigures> {
  const bytes = Math.max(...o.sizes, 4096);
  checkFits('-e (the largest size)', bytes, rmaSizeLimit());
  const pool = Pool.create({ bytes: rmaPoolBytes(bytes) });
  const workers = ([0, 1] as const).map(
    (role) => new Worker(new URL('./rma_worker.js', import.meta.url), { workerData: { pool: pool.describe(), role, bytes, sizes: o.sizes, pingPongs: o.pingPongs, minTimeMs: o.minTimeMs } }),
  );
  try {
    const next = (w: Worker) =>
      new Promise<any>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    const hello = await Promise.all(workers.map(next));
    const done = workers.map(next);
    workers[0]!.postMessage(hello[1]);
    workers[1]!.postMessage(hello[0]);
    const settled = await Promise.allSettled(done);
    const failed = settled.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed.length) throw new Error(failed.map((f) => (f.reason as Error).message).join('; '));
    const r0 = (settled[0] as PromiseFulfilledResult<Record<string, number>>).value;
    const figures: RmaFigures = {
      writedataLatencyUs: r0!.writedataLatencyUs!,
      taggedLatencyUs: r0!.taggedLatencyUs!,
      bandwidth: o.sizes.map((s) => ({ bytes: s, GBs: r0![`bw:${s}`]! })),
    };
    out.write(`# RMA over shm between two devices (worker threads)\n`);
    out.write(`# 8-byte writedata latency (one way): ${figures.writedataLatencyUs.toFixed(2)} us\n`);
    out.write(`# tagged message latency (one way):  ${figures.taggedLatencyUs.toFixed(2)} us\n`);
    out.write(`#        size   write bandwidth (GB/s)\n`);
    for (const b of figures.bandwidth) out.write(`${String(b.bytes).padStart(13)} ${b.GBs.toFixed(2).padStart(24)}\n`);
    return figures;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
