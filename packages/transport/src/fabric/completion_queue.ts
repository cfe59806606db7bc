import { defaultWaitMs, LONGER_WAIT_HINT } from '../default_wait.js';
import { type ErrorCode, fail } from '../errors.js';

/**
 * What a completion queue needs of the endpoints bound to it: reading a
 * queue makes progress on them, and a waiter sleeps on one's doorbell.
 * Kept here so the queue sits below the endpoint that binds to it.
 */
export interface ProgressSource {
  progress(): void;
  waitIncoming(ms: number): void;
}

export type CompletionOp = 'write' | 'read' | 'send' | 'recv' | 'remote-write';

/** A successful completion (fi_cq_tagged_entry plus the decoded control message). */
export interface Completion {
  op: CompletionOp;
  context: unknown;
  length: number;
  /** fi_addr of the sender for recv and remote-write, when it is in the address vector */
  source?: number;
  tag?: number;
  /** remote CQ data of fi_writedata */
  data?: number;
  /** the msgpackr-decoded payload of a tagged receive */
  message?: unknown;
}

/** fi_cq_err_entry: the failed operation's context, an errno and a message. */
export interface CompletionError {
  op: CompletionOp;
  context: unknown;
  code: ErrorCode;
  message: string;
}

type Entry = { ok: Completion } | { err: CompletionError };

const WAIT_SLICE_MS = 5;

export class CompletionQueue {
  private readonly queue: Entry[] = [];
  /** endpoints bound to this CQ, progressed when it is read */
  readonly endpoints = new Set<ProgressSource>();
  private closed = false;

  constructor(readonly size: number) {}

  hasRoom(): boolean {
    return this.queue.length < this.size;
  }

  /** Entries that can still be pushed. */
  room(): number {
    return this.size - this.queue.length;
  }

  /** @internal */
  push(entry: Entry): void {
    this.queue.push(entry);
  }

  private progress(): void {
    if (this.closed) fail('EINVAL', 'completion queue is closed');
    for (const ep of this.endpoints) ep.progress();
  }

  /** Up to `max` completions; throws EAVAIL when the next entry is an error. */
  read(max = 64): Completion[] {
    this.progress();
    const out: Completion[] = [];
    while (out.length < max && this.queue.length > 0) {
      const head = this.queue[0]!;
      if ('err' in head) {
        if (out.length > 0) break;
        fail('EAVAIL', `an error completion is waiting (${head.err.code}); read it with readErr()`);
      }
      this.queue.shift();
      out.push(head.ok);
    }
    return out;
  }

  /** Pops the error entry at the head of the queue, if that is what is there. */
  readErr(): CompletionError | undefined {
    this.progress();
    const head = this.queue[0];
    if (!head || !('err' in head)) return undefined;
    this.queue.shift();
    return head.err;
  }

  /**
   * Blocks (spin, then sleep on the endpoints' doorbells) until something
   * completes, for at most timeoutMs: by default COLLECTIVE_WAIT_TIMEOUT_MS
   * (60 s; fi_cq_sread's -1 would wait for ever for a peer that never
   * sends), Infinity for no deadline.
   */
  wait(timeoutMs: number = defaultWaitMs(), max = 64): Completion[] {
    const end = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      const got = this.read(max);
      if (got.length > 0) return got;
      const left = end - performance.now();
      if (left <= 0) fail('ETIMEDOUT', `no completion within ${timeoutMs} ms; an operation completes when its peer takes it, a receive when a peer sends: check that the peers run, or ${LONGER_WAIT_HINT}`);
      const first = this.endpoints.values().next().value as ProgressSource | undefined;
      if (!first) fail('EINVAL', 'completion queue has no endpoint bound; nothing can complete');
      first.waitIncoming(Math.min(left, WAIT_SLICE_MS));
    }
  }

  close(): void {
    if (this.endpoints.size > 0) fail('EBUSY', `completion queue is bound to ${this.endpoints.size} open endpoint(s); close them first`);
    this.closed = true;
  }
}
