import { unrefTimer } from '@collective/transport/runtime';
import { CollectiveError } from './comm_errors.js';
import type { DeviceThreads } from './device_threads.js';

/**
 * After a rank of a launch() failed, how long the others may take to return
 * before the watchdog stops their threads (torch's NCCL watchdog tears the
 * process down the same way): a rank stuck in user code, or sleeping, would
 * otherwise keep launch() from settling long after its peers failed.
 */
const WATCHDOG_MS = 10_000;

/** The device workers' shared words: two for the rounds, then one per local rank, 1 while it runs a task. */
const BUSY_BYTE = 8;

/** The device workers' control words, and the view of their busy words the watchdog reads. */
export function deviceControl(n: number): { control: SharedArrayBuffer; busy: Int32Array } {
  const control = new SharedArrayBuffer(BUSY_BYTE + 4 * n);
  return { control, busy: new Int32Array(control, BUSY_BYTE, n) };
}

/** The device threads of one process: their busy words and the global rank of the first. */
export interface WatchedRanks {
  readonly workers: DeviceThreads;
  readonly busy: Int32Array;
  readonly localSize: number;
  readonly rankOffset: number;
}

/**
 * Once a rank's task failed, gives the others WATCHDOG_MS to return, then
 * terminates the device threads still running theirs (their tasks then
 * fail too) and names their ranks. The World is unusable after a failure
 * anyway; without this a rank stuck in user code would keep the caller
 * waiting for ever.
 */
export function watchdog(runs: Promise<unknown>[], w: WatchedRanks): Promise<{ stuck: number[]; first?: Error }> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first: Error | undefined;
    void Promise.allSettled(runs).then(() => {
      clearTimeout(timer);
      resolve({ stuck: [] });
    });
    for (const p of runs) {
      p.catch((e: Error) => {
        first ??= e;
        timer ??= setTimeout(() => {
          const stuck: number[] = [];
          for (let i = 0; i < w.localSize; i++) if (Atomics.load(w.busy, i) === 1) stuck.push(w.rankOffset + i);
          if (stuck.length === 0) return;
          for (const t of w.workers.threads) void t.terminate();
          resolve({ stuck, first });
        }, WATCHDOG_MS);
        unrefTimer(timer);
      });
    }
  });
}

/**
 * The error a failed round reports: the failing rank is the story; its
 * peers' cancellations and timeouts follow from it. (Errors cross threads
 * without their code property.) When the watchdog stopped threads, the
 * failure that started it is the story, not the stopped threads' exits.
 */
export function roundFailure(failed: Error[], stuck: number[], first: Error | undefined): Error {
  let cause = failed.find((e) => !/^(ECANCELED|ETIMEDOUT):|was aborted by rank|Terminating worker thread/.test(e.message)) ?? failed[0]!;
  if (stuck.length > 0) {
    cause = first ?? cause;
    cause = new CollectiveError('ETIMEDOUT', `${cause.message.replace(/^[A-Z]+: /, '')}; rank${stuck.length === 1 ? '' : 's'} ${stuck.join(', ')} did not return within ${WATCHDOG_MS} ms after that (stuck in its own code?), and the watchdog stopped ${stuck.length === 1 ? 'its thread' : 'their threads'}: close this World`);
  }
  return cause;
}
