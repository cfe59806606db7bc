/** What a Work asks of the stream that runs it. */
export interface WorkSource {
  /** true once `seq` finished (either way) */
  finished(seq: number): boolean;
  /** waits for `seq` up to timeoutMs; throws ETIMEDOUT (the work goes on) or the work's own error */
  waitFor(seq: number, timeoutMs: number): void;
  /** resolves when `seq` finished, without blocking the thread */
  finishedAsync(seq: number): Promise<void>;
  /** the error `seq` failed with, once finished; undefined for success */
  errorOf(seq: number): Error | undefined;
}

/**
 * A collective issued on a device's communication stream (torch's Work,
 * an NCCL call plus its stream event): it runs in issue order with the
 * stream's other calls while the device thread goes on. Until it has
 * finished, the buffers it names belong to the stream: do not read or
 * write them.
 */
export class Work {
  constructor(
    private readonly source: WorkSource,
    /** position of the call in its stream's issue order */
    readonly seq: number,
  ) {}

  /** Whether the call has finished, successfully or not (never blocks). */
  test(): boolean {
    return this.source.finished(this.seq);
  }

  /**
   * Blocks until the call has finished; throws its error if it failed, or
   * ETIMEDOUT if it is still running after timeoutMs (it then goes on:
   * wait again or synchronize the stream). Without timeoutMs it waits as
   * cudaStreamSynchronize does, yet never for ever: the call itself ends
   * at its own deadline (its timeoutMs, or the communicator's, 30 s by
   * default), as does each call queued ahead of it, and a stream whose
   * thread dies ends every wait on it.
   */
  wait(timeoutMs = Infinity): void {
    this.source.waitFor(this.seq, timeoutMs);
  }

  /** For async code: resolves when the call has finished, rejects with its error (bounded as wait() is). */
  async promise(): Promise<void> {
    await this.source.finishedAsync(this.seq);
    const e = this.source.errorOf(this.seq);
    if (e) throw e;
  }

  /** The error the call failed with, once it has finished; undefined while running or after success. */
  get error(): Error | undefined {
    return this.source.finished(this.seq) ? this.source.errorOf(this.seq) : undefined;
  }
}
