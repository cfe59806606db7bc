import type { PlatformThread } from '@collective/transport/runtime';
import { Piscina } from 'piscina';
import type { WorldTask } from './world_task.js';

/**
 * A World's device threads: one per device, each kept across tasks and
 * given one task of every round. In Node piscina keeps them
 * (device_threads_browser.ts is a page's side, Web Workers).
 */
export interface DeviceThreads {
  /** runs one task on a thread with none (every round gives each thread one) */
  run(task: WorldTask): Promise<{ rank: number; value: unknown }>;
  /** the threads now running */
  readonly threads: readonly PlatformThread[];
  /** calls `listener` whenever a thread is started, the first ones included */
  onThreadCreate(listener: () => void): void;
  /** ends every thread; resolves once they are gone */
  destroy(): Promise<void>;
}

export function startDeviceThreads(n: number, workerData: object): DeviceThreads {
  const pool = new Piscina({
    filename: new URL('./device_worker.js', import.meta.url).href,
    minThreads: n,
    maxThreads: n,
    concurrentTasksPerWorker: 1,
    idleTimeout: Infinity,
    maxQueue: 'auto',
    workerData,
  });
  return {
    run: (task) => pool.run(task) as Promise<{ rank: number; value: unknown }>,
    get threads() {
      return pool.threads;
    },
    onThreadCreate: (listener) => void pool.on('workerCreate', listener),
    destroy: () => pool.destroy(),
  };
}
