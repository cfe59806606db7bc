import { startThread } from '@collective/transport/runtime';
import { TransportError } from '@collective/transport';
import type { DeviceThreads } from './device_threads.js';
import type { DeviceReply } from './device_worker_browser.js';

/**
 * A page's side of device_threads.ts: one module Web Worker per device
 * running device_worker_browser.js. A round's n tasks go one to each
 * worker; a worker that ends fails the task it was running, as a Node
 * worker's exit fails its piscina task.
 */

export function startDeviceThreads(n: number, workerData: object): DeviceThreads {
  const threads = Array.from({ length: n }, () => startThread(new URL('./device_worker_browser.js', import.meta.url), workerData));
  const pending = new Map<number, { thread: number; resolve: (v: { rank: number; value: unknown }) => void; reject: (e: Error) => void }>();
  let next = 0;
  let ids = 0;
  const gone: boolean[] = threads.map(() => false);
  for (const [i, t] of threads.entries()) {
    t.on('message', (reply: DeviceReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.result);
      else {
        const e = new Error(reply.message);
        e.name = reply.name;
        p.reject(e);
      }
    });
    let cause = '';
    t.on('error', (e: Error) => {
      cause = `: ${e.message}`;
    });
    t.once('exit', () => {
      gone[i] = true;
      for (const [id, p] of pending) {
        if (p.thread !== i) continue;
        pending.delete(id);
        p.reject(new TransportError('EIO', `the device worker ${t.threadId} ended while running a task${cause}`));
      }
    });
  }
  return {
    run(task) {
      const i = next++ % n;
      if (gone[i]) return Promise.reject(new TransportError('EIO', `the device worker ${threads[i]!.threadId} has ended`));
      const id = ++ids;
      return new Promise((resolve, reject) => {
        pending.set(id, { thread: i, resolve, reject });
        threads[i]!.postMessage({ id, task });
      });
    },
    threads,
    onThreadCreate: (listener) => listener(),
    async destroy() {
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}
