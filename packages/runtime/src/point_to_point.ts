import { TransportError } from '@collective/transport';
import { CollectiveError } from './comm_errors.js';
import { P, p2pBase } from './comm_layout.js';
import type { DeviceArray } from './device_array.js';
import { DTYPE_BYTES, DTYPE_CODE, DTYPES, type Dtype } from './dtypes.js';
import type { RankSync } from './rank_sync.js';

/** What the send/recv protocol needs of its communicator. */
export interface P2pHost {
  readonly rank: number;
  readonly size: number;
  readonly words: Int32Array;
  readonly sync: RankSync;
  resolve(what: string, a: DeviceArray, dtype: Dtype | undefined): [number, Dtype];
  wait(index: number, target: number, peer: number, what: string): void;
  copy(dst: number, src: number, bytes: number): void;
}

export interface P2pSide {
  data: DeviceArray;
  peer: number;
}

/**
 * ncclSend/ncclRecv through one cell per ordered pair of ranks: the sender
 * publishes its buffer, the receiver copies straight out of it and marks
 * the cell done, and only then may the sender's call return.
 */
export class PointToPoint {
  private readonly sendSeq: number[];
  private readonly recvSeq: number[];

  constructor(private readonly host: P2pHost) {
    this.sendSeq = new Array(host.size).fill(0);
    this.recvSeq = new Array(host.size).fill(0);
  }

  private checkPeer(p: number, what: string): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.host.size) {
      throw new TransportError('EINVAL', `${what}.peer must be an integer in [0, ${this.host.size}) (got ${p})`);
    }
  }

  /** Posts the send, completes the receive, then waits for the send: rings of these never deadlock. */
  run(send: P2pSide | undefined, recv: P2pSide | undefined, dtype: Dtype | undefined): void {
    const h = this.host;
    const w = h.words;
    // Everything is checked before anything is posted: a peer must never copy from a send this rank then abandons.
    if (send) this.checkPeer(send.peer, 'send');
    if (recv) this.checkPeer(recv.peer, 'recv');
    const out = send ? h.resolve('send.data', send.data, dtype) : undefined;
    const into = recv ? h.resolve('recv.data', recv.data, dtype) : undefined;
    let sendCell = -1;
    let sendSeq = 0;
    if (send && out) {
      sendCell = p2pBase(h.size, h.rank, send.peer);
      w[sendCell + P.OFFSET] = out[0];
      w[sendCell + P.COUNT] = send.data.length;
      w[sendCell + P.DTYPE] = DTYPE_CODE[out[1]];
      sendSeq = ++this.sendSeq[send.peer]!;
      h.sync.post(sendCell + P.POSTED, sendSeq);
    }
    if (recv && into) {
      const [off, type] = into;
      const cell = p2pBase(h.size, recv.peer, h.rank);
      const seq = ++this.recvSeq[recv.peer]!;
      h.wait(cell + P.POSTED, seq, recv.peer, 'did not send');
      const count = w[cell + P.COUNT]!;
      const theirType = DTYPES[w[cell + P.DTYPE]!];
      if (count !== recv.data.length || theirType !== type) {
        w[cell + P.STATUS] = 1;
        h.sync.post(cell + P.DONE, seq);
        throw new CollectiveError('EINVAL', `sendRecv: rank ${recv.peer} sent ${count} ${theirType} but rank ${h.rank} expects ${recv.data.length} ${type}`);
      }
      w[cell + P.STATUS] = 0;
      h.copy(off, w[cell + P.OFFSET]!, count * DTYPE_BYTES[type]);
      h.sync.post(cell + P.DONE, seq);
    }
    if (send) {
      h.wait(sendCell + P.DONE, sendSeq, send.peer, 'did not receive');
      if (w[sendCell + P.STATUS] !== 0) {
        throw new CollectiveError('EINVAL', `sendRecv: rank ${send.peer} refused ${send.data.length} elements from rank ${h.rank}: count or dtype mismatch`);
      }
    }
  }
}
