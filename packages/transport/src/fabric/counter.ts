import { defaultWaitMs, LONGER_WAIT_HINT } from '../default_wait.js';
import { fail } from '../errors.js';

export type CounterEvent = 'write' | 'read' | 'send' | 'recv' | 'remoteWrite' | 'remoteRead';
export const COUNTER_EVENTS: readonly CounterEvent[] = ['write', 'read', 'send', 'recv', 'remoteWrite', 'remoteRead'];

interface RemoteSource {
  ctl: Int32Array;
  index: number;
  base: number;
}

/** fi_cntr: counts completions (and errors) of the events it is bound for. */
export class Counter {
  private local = 0;
  private errorCount = 0;
  /** @internal remote RMA events arrive as words bumped by other threads */
  readonly remote: RemoteSource[] = [];
  bindings = 0;
  /** @internal endpoints whose progress brings remote events in (manual progress: a waiting counter drives them) */
  readonly progressed = new Set<{ progress(): void }>();

  get value(): number {
    let v = this.local;
    for (const r of this.remote) v += Atomics.load(r.ctl, r.index) - r.base;
    return v;
  }

  get errors(): number {
    return this.errorCount;
  }

  /** @internal */
  add(n = 1): void {
    this.local += n;
  }

  /** @internal */
  addError(): void {
    this.errorCount++;
  }

  /**
   * Blocks until value >= threshold, sleeping on the remote words it
   * counts, for at most timeoutMs: by default COLLECTIVE_WAIT_TIMEOUT_MS
   * (60 s: the events come from peers, which nothing makes arrive),
   * Infinity for no deadline.
   */
  wait(threshold: number, timeoutMs: number = defaultWaitMs()): void {
    if (!Number.isSafeInteger(threshold) || threshold < 0) fail('EINVAL', `threshold must be a non-negative integer (got ${threshold})`);
    const end = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      if (this.value >= threshold) return;
      const left = end - performance.now();
      if (left <= 0) fail('ETIMEDOUT', `counter at ${this.value}, below ${threshold}, after ${timeoutMs} ms; the events it counts come from peers: check that the peers run, or ${LONGER_WAIT_HINT}`);
      const r = this.remote[0];
      if (!r) fail('ETIMEDOUT', `counter at ${this.value} counts only this thread's operations; it cannot reach ${threshold} while waiting`);
      const seen = Atomics.load(r.ctl, r.index);
      for (const ep of this.progressed) ep.progress();
      if (this.value >= threshold) return;
      // Short sleeps: an endpoint whose sockets only this thread reads makes progress only between them.
      Atomics.wait(r.ctl, r.index, seen, Math.min(left, this.progressed.size > 0 ? 1 : 5));
    }
  }

  close(): void {
    if (this.bindings > 0) fail('EBUSY', `counter is bound to ${this.bindings} open endpoint(s); close them first`);
  }
}
