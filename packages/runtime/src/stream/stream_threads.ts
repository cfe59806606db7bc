import { Worker } from 'node:worker_threads';
import type { Pool } from '@collective/transport';
import { setAborted } from '../comm/abort_state.js';
import { blockOf } from '../comm/comm_id.js';
import { type CommId, Communicator, type CommOptions } from '../communicator.js';
import { S, StreamBlock } from './stream_block.js';
import type { StreamWorkerData } from './stream_worker.js';

/**
 * The communication streams of a World, one thread per device, started
 * and watched from the main thread: its event loop is free while device
 * threads block, so a stream that dies is noticed at once, its device
 * thread's waits end with an error, and the peers' stream calls fail
 * instead of waiting for it.
 */
export class StreamThreads {
  private stopping = false;

  private constructor(
    private readonly pool: Pool,
    readonly id: CommId,
    readonly blocks: SharedArrayBuffer[],
    private readonly threads: Worker[],
  ) {}

  static start(pool: Pool, n: number, options: CommOptions): StreamThreads {
    const id = Communicator.createId(pool, n);
    const blocks = Array.from({ length: n }, () => StreamBlock.create().sab);
    const threads = blocks.map((block, rank) => {
      const data: StreamWorkerData = { pool: pool.describe(), block, id, rank, options };
      return new Worker(new URL('./stream_worker.js', import.meta.url), { workerData: data });
    });
    const streams = new StreamThreads(pool, id, blocks, threads);
    for (const [rank, t] of threads.entries()) {
      pool.watch(t);
      t.once('exit', () => streams.onExit(rank));
      // An exception that escapes the stream ends the thread; 'exit' follows and reports it.
      t.on('error', () => {});
    }
    return streams;
  }

  private onExit(rank: number): void {
    const w = new StreamBlock(this.blocks[rank]!).words;
    if (Atomics.load(w, S.STOPPED) !== 0 || this.stopping) return;
    this.lost(rank, `the communication stream of rank ${rank} died`);
  }

  /** A rank's stream is gone or must go (its device thread died): nothing of it may be waited for. */
  lost(rank: number, reason: string): void {
    const block = new StreamBlock(this.blocks[rank]!);
    block.setAsyncError('EIO', reason);
    Atomics.store(block.words, S.STOP, 1);
    Atomics.store(block.words, S.DEAD, 1);
    Atomics.notify(block.words, S.DONE);
    Atomics.notify(block.words, S.HEAD);
    try {
      setAborted(blockOf(this.pool, this.id), rank, 'EIO', reason);
    } catch {
      // The streams' communicator is already gone.
    }
  }

  async terminate(): Promise<void> {
    this.stopping = true;
    for (const b of this.blocks) {
      const w = new Int32Array(b);
      Atomics.store(w, S.STOP, 1);
      Atomics.notify(w, S.HEAD);
      Atomics.notify(w, S.GRANT);
    }
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
