import { TransportError } from '@collective/transport';
import { checkTimeoutOption, type P2pOptions } from './collective_options.js';
import { checkDtype, type Dtype } from './dtypes.js';
import type { P2pSide } from './point_to_point.js';

/** The transfers of one group, collected between groupStart() and the outermost groupEnd(). */
export interface P2pGroup {
  readonly sends: P2pSide[];
  readonly recvs: P2pSide[];
  /** the one dtype the group's calls named for Uint16Array data, if any */
  dtype: Dtype | undefined;
  /** the longest timeoutMs any of the group's calls gave */
  timeoutMs: number | undefined;
}

/**
 * ncclGroupStart/ncclGroupEnd's bookkeeping: groups nest, and only the
 * outermost end hands the collected transfers over to be run together.
 */
export class P2pGroupCollector {
  #depth = 0;
  #group: P2pGroup | undefined;

  /** Whether a group is open: send, recv and sendRecv then only collect. */
  get open(): boolean {
    return this.#group !== undefined;
  }

  start(): void {
    this.#group ??= { sends: [], recvs: [], dtype: undefined, timeoutMs: undefined };
    this.#depth++;
  }

  /** The group to run when this was the outermost end, undefined for an inner one. */
  end(): P2pGroup | undefined {
    const g = this.#group;
    if (!g) throw new TransportError('EINVAL', 'groupEnd() without groupStart()');
    if (--this.#depth > 0) return undefined;
    this.#group = undefined;
    return g;
  }

  /** Collects one call's transfers and merges its options into the group's. */
  add(send: P2pSide | undefined, recv: P2pSide | undefined, opts: P2pOptions): void {
    const g = this.#group!;
    checkTimeoutOption(opts);
    if (opts.timeoutMs !== undefined) {
      g.timeoutMs = Math.max(g.timeoutMs ?? 0, opts.timeoutMs);
    }
    if (opts.dtype !== undefined) {
      checkDtype('options.dtype', opts.dtype);
      if (g.dtype !== undefined && g.dtype !== opts.dtype) throw new TransportError('EINVAL', `options.dtype ${opts.dtype} differs from ${g.dtype} given earlier in this group; one group names one dtype for Uint16Array data`);
      g.dtype = opts.dtype;
    }
    if (send) g.sends.push(send);
    if (recv) g.recvs.push(recv);
  }
}
