import { TransportError } from '@collective/transport';
import type { CollectiveKind } from './collective_kind.js';
import type { CollectiveOptions } from './collective_options.js';
import type { CallProtocol, CallRequest } from './comm/call_protocol.js';
import { type CommOptions, USER_RANKS } from './comm/comm_setup.js';
import type { CommState } from './comm/comm_state.js';
import { Group, HIER_ALGO } from './comm/flight_recorder.js';
import type { Dtype } from './dtypes.js';
import { type ChildComm, HierScratch, type Hierarchy, type ProcessLayout, processLayout } from './hierarchy.js';
import { wantsHier } from './tuner.js';

/** A child of a hierarchical call as its parent handles it. */
export interface HierChild extends ChildComm {
  readonly isDestroyed: boolean;
  quiesce(): void;
  destroy(): void;
}

/**
 * What the hierarchy needs of the communicator that composes it. Its call
 * protocol and split are private to the Communicator, which passes them here.
 */
export interface HierParent<C> {
  readonly s: CommState;
  readonly protocol: CallProtocol;
  /** COLLECTIVE_ALGO, read once by the parent */
  readonly envAlgo: string | undefined;
  /** a child's call protocol, which records into the parent's flight record */
  protocolOf(child: C): CallProtocol;
  split(color: number, key: number, options: CommOptions): C | undefined;
}

/**
 * A communicator's hierarchical calls: whether a call runs in steps over
 * two children (the ranks of this process, then one rank per process), the
 * children themselves, made by the first call that needs them, and that
 * call's steps run as one user's call of the parent.
 */
export class CommHierarchy<C extends HierChild> {
  readonly #parent: HierParent<C>;
  /** how the ranks sit in processes: undefined until first asked, null when there is no such layout */
  #layout: ProcessLayout | null | undefined;
  #made: Hierarchy<C> | undefined;
  /** the hierarchy the last call composed, undefined when it ran flat: lastAlgorithm reads it */
  last: Hierarchy<C> | undefined;
  /** the deadline of the user's hierarchical call under way: the rounds that make its step groups keep to it */
  #roundTimeoutMs: number | undefined;

  constructor(parent: HierParent<C>) {
    this.#parent = parent;
  }

  /** The children, once a call made them. */
  get made(): Hierarchy<C> | undefined {
    return this.#made;
  }

  get roundTimeoutMs(): number | undefined {
    return this.#roundTimeoutMs;
  }

  /**
   * Whether this call runs hierarchically (every rank decides alike: same
   * layout, same options); the children are made by the call itself.
   */
  wanted(kind: CollectiveKind, opts: CollectiveOptions, destroyed: boolean): boolean {
    const want = wantsHier(kind, opts?.algo, this.#parent.envAlgo);
    if (want === 'no') return false;
    if (this.#layout === undefined) {
      this.#parent.protocol.checkUsable(destroyed, kind);
      this.#layout = processLayout(this.#parent.s.directory) ?? null;
    }
    if (this.#layout === null) {
      if (want === 'forced') throw new TransportError('EINVAL', `${kind}: algorithm 'hier' needs a communicator over several processes with the same number (more than one) of consecutive ranks in each; this one is not, so choose another algorithm`);
      return false;
    }
    return true;
  }

  /**
   * Runs the steps of a hierarchical call as one user's call of the parent
   * (numbered and recorded there, its steps under it); a failed step fails
   * the parent and its children on every rank, as a flat call would. The
   * parent has checked the call's options into `req`.
   */
  compose(kind: CollectiveKind, req: CallRequest, count: number, dtype: Dtype, steps: (h: Hierarchy<C>) => void): void {
    const p = this.#parent.protocol;
    const mark = p.enterUserCall(kind, count, dtype, req.op, req.root, HIER_ALGO);
    try {
      const h = this.#children(req.timeoutMs);
      steps(h);
      this.last = h;
      p.finishUserCall(mark, true);
    } catch (e) {
      p.finishUserCall(mark, false);
      const why = `a step of a hierarchical call failed: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`;
      // Children first: ranks of this process may wait in the other child.
      const h = this.#made;
      if (h) for (const c of [h.local, h.cross]) if (!c.isDestroyed) this.#parent.protocolOf(c).abort(why);
      // A round of the parent's own (the children's split) has failed it already.
      if (!p.error) p.fail(e as Error);
      throw p.error ?? e;
    } finally {
      p.leaveUserCall();
    }
  }

  /**
   * The children, made on first use by two splits inside the user's call
   * that needs them: their errors name that call, and they record into the
   * parent's flight record.
   */
  #children(timeoutMs: number): Hierarchy<C> {
    if (this.#made) return this.#made;
    this.#roundTimeoutMs = timeoutMs;
    try {
      this.#made = this.#makeChildren();
    } finally {
      this.#roundTimeoutMs = undefined;
    }
    return this.#made;
  }

  #makeChildren(): Hierarchy<C> {
    const { s, protocol, split, protocolOf } = this.#parent;
    const layout = this.#layout!;
    const rank = s.rank;
    const per = layout.perProcess;
    const process = Math.floor(rank / per);
    // The children's errors name the ranks the user knows, the parent's.
    const dir = s.directory;
    const user = (ranks: number[]) => ({ [USER_RANKS]: ranks.map((q) => ({ rank: s.peerRank(q), host: dir?.[q]?.host, pid: dir?.[q]?.pid })) }) as CommOptions;
    const processes = s.size / per;
    const local = split(process, rank, user(Array.from({ length: per }, (_, i) => process * per + i)))!;
    const cross = split(rank % per, rank, user(Array.from({ length: processes }, (_, p) => p * per + (rank % per))))!;
    protocolOf(local).adoptParent(protocol, Group.INTRA_PROCESS);
    protocolOf(cross).adoptParent(protocol, Group.INTER_PROCESS);
    return { layout, local, cross, scratch: new HierScratch(s.device) };
  }

  /** Sends what the children's peers in other processes wait for from this rank. */
  quiesce(): void {
    if (this.#made) {
      this.#made.local.quiesce();
      this.#made.cross.quiesce();
    }
  }

  /** Destroys the children and gives their scratch back. */
  destroy(): void {
    if (!this.#made) return;
    for (const c of [this.#made.local, this.#made.cross]) if (!c.isDestroyed) c.destroy();
    this.#made.scratch.release();
  }
}
