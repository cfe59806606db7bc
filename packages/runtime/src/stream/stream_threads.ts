import { type Pool, TransportError } from '@collective/transport';
import { type PlatformThread, startThread } from '@collective/transport/runtime';
import { setAborted } from '../comm_base/abort_state.js';
import { blockOf } from '../comm/comm_id.js';
import type { PeerRecord } from '../comm_base/peer_record.js';
import { type CommId, Communicator, type CommOptions } from '../communicator.js';
import { S, StreamBlock } from './stream_block.js';
import type { StreamJoinMessage, StreamWorkerData } from './stream_worker.js';

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
    private readonly threads: PlatformThread[],
  ) {}

  /**
   * `joined`: the World spans processes; its streams' communicator has
   * `joined.id` over every device of the job, this process's at
   * `joined.offset`..; their records come from records(), and finish()
   * hands them the job's directory.
   */
  static start(pool: Pool, n: number, options: CommOptions, joined?: { id: CommId; offset: number }): StreamThreads {
    const id = joined?.id ?? Communicator.createId(pool, n);
    const blocks = Array.from({ length: n }, () => StreamBlock.create().sab);
    const threads = blocks.map((block, local) => {
      const data: StreamWorkerData = { pool: pool.describe(), block, id, rank: (joined?.offset ?? 0) + local, options, ...(joined && { joined: { device: local } }) };
      return startThread(new URL('./stream_worker.js', import.meta.url), data);
    });
    const streams = new StreamThreads(pool, id, blocks, threads);
    if (joined) streams.listen();
    for (const [rank, t] of threads.entries()) {
      pool.watch(t);
      t.once('exit', () => streams.onExit(rank));
      // An exception that escapes the stream ends the thread; 'exit' follows and reports it.
      t.on('error', () => {});
    }
    return streams;
  }

  /** A joined World's streams: each one's record, in local order, once its device is granted. */
  records(timeoutMs: number): Promise<PeerRecord[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TransportError('ETIMEDOUT', `the communication streams did not prepare within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([Promise.all(this.prepared ?? []), late]).finally(() => clearTimeout(timer));
  }

  /** Listens from the start: a record posted before anyone asks must not be lost. */
  private listen(): void {
    this.prepared = this.threads.map(
      (t, local) =>
        new Promise<PeerRecord>((resolve, reject) => {
          const exited = () => reject(new TransportError('EIO', `the communication stream of local device ${local} failed before it prepared: ${new StreamBlock(this.blocks[local]!).asyncError()?.message ?? 'it exited'}`));
          t.once('exit', exited);
          t.once('message', (m: StreamJoinMessage) => {
            t.off('exit', exited);
            if ('record' in m) resolve(m.record);
            else reject(new TransportError('EIO', `the communication stream of local device ${local} sent no record`));
          });
        }),
    );
    // Unasked for (a join that failed earlier), a rejection is not an error of its own.
    for (const p of this.prepared) p.catch(() => {});
  }

  private prepared: Promise<PeerRecord>[] | undefined;

  /** Hands every joined stream the job's directory (or tells it the join failed). */
  finish(directory: PeerRecord[] | { abandon: string }): void {
    for (const t of this.threads) t.postMessage((Array.isArray(directory) ? { directory } : directory) satisfies StreamJoinMessage);
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

  /**
   * Stops and joins the stream threads. No deadline needed: they run only
   * this library's code, which never blocks in a system call (sockets are
   * non-blocking), and terminate() interrupts JavaScript at once, a thread
   * asleep in Atomics.wait included.
   */
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
