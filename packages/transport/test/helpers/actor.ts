import { Worker } from 'node:worker_threads';
import type { Pool } from '../../src/index.js';

export interface Ref {
  $ref: string;
}

export class ActorError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const fixture = new URL('../../dist-test/fixtures/device_actor.js', import.meta.url);

/** A worker thread that runs transport calls on the test's behalf. */
export class Actor {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: { id: number; result?: unknown; error?: { code?: string; message: string } }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new ActorError(msg.error.code, msg.error.message));
      else p.resolve(msg.result);
    });
    worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  /**
   * A worker the pool watches: if it dies, whatever it held in the pool is
   * recovered. With `{ watch: false }` nobody calls pool.watch(): the pool
   * must learn of the death on its own.
   */
  static start(pool: Pool, options: { watch?: boolean } = {}): Actor {
    const worker = new Worker(fixture, { workerData: { pool: pool.describe() } });
    if (options.watch !== false) pool.watch(worker);
    return new Actor(worker);
  }

  /** The worker's thread id (as errors that name a thread give it). */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** Ends the worker abruptly, as a crash would: no code of its own runs. */
  kill(): Promise<number> {
    return this.worker.terminate();
  }

  call(target: Ref | string, method: string, ...args: unknown[]): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, target, method, args });
    });
  }

  helper(method: string, ...args: unknown[]): Promise<any> {
    return this.call('$helper', method, ...args);
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
