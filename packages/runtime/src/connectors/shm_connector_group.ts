import { Hdr, R, rankBase } from '../comm_base/comm_block.js';
import type { WaitContext } from '../comm_base/wait_context.js';
import { SMALL_DATA } from '../scratch_layout.js';
import { Line, type LocalRegion } from './connector.js';
import type { ConnectorGroup } from './connector_group.js';
import type { ShmGroup } from './shm_connector.js';

const LINE_WORD: Partial<Record<Line, R>> = { [Line.ARRIVE]: R.ARRIVE, [Line.STEP]: R.STEP };

/**
 * This rank's peers in the same pool, together: they read this rank's
 * staged input and ll slot where it lies in its own scratch, and see its
 * lines as words of the shared block, so one store serves all of them.
 */
export class ShmConnectorGroup implements ConnectorGroup {
  readonly type = 'shm';
  private readonly mine: number;
  /** pool byte offset of the shared block's sleeper count, which the ll kernel reads to skip a needless notify */
  private readonly sleepersAt: number;
  private centralRounds = 0;

  constructor(private readonly g: ShmGroup) {
    this.mine = rankBase(g.rank);
    this.sleepersAt = g.words.byteOffset + Hdr.SLEEPERS * 4;
  }

  private ownSlot(parity: number): number {
    return this.g.scratchBase + this.g.layout.smallSlot(this.g.rank, parity);
  }

  stage(parity: number, _src: LocalRegion, at: number, bytes: number): void {
    this.g.kernels.copy(this.ownSlot(parity) + SMALL_DATA, at, bytes);
  }

  llPost(parity: number, flag: number, _seq: number, _src: LocalRegion, at: number, bytes: number): void {
    const slot = this.ownSlot(parity);
    if (this.g.kernels.llPost(slot, slot + SMALL_DATA, at, bytes, flag, this.sleepersAt) > 0) Atomics.notify(this.g.poolWords, slot >> 2);
  }

  post(line: Line, value: number): void {
    this.g.sync.post(this.mine + LINE_WORD[line]!, value);
  }

  // With more ranks than cores one shared counter beats a word per rank:
  // the last to arrive wakes everybody instead of each waiter polling all.
  barrierAlone(arrival: number, ctx: WaitContext): boolean {
    const sync = this.g.sync;
    if (!sync.central) return false;
    const target = (++this.centralRounds * this.g.size) | 0;
    sync.post(this.mine + R.ARRIVE, arrival);
    sync.arrive(Hdr.ARRIVALS, target);
    sync.waitFor(Hdr.ARRIVALS, target, ctx, () => this.lateArrival(arrival), 'did not reach the barrier');
    return true;
  }

  /** The first rank whose arrival count is behind, for the error. */
  private lateArrival(arrival: number): number {
    const w = this.g.words;
    for (let q = 0; q < this.g.size; q++) if (((w[rankBase(q) + R.ARRIVE]! - arrival) | 0) < 0) return q;
    return -1;
  }

  flushUser(): void {}

  leaveLl(): void {}
}
