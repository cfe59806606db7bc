import { TransportError } from '@collective/transport';
import { CollectiveError } from './comm_errors.js';
import type { CallProtocol } from './comm/call_protocol.js';
import type { CommState } from './comm/comm_state.js';
import { D, putKey } from './comm/descriptor.js';
import { Buf } from './connectors/connector.js';
import { type DeviceArray, dtypeOf } from './device_array.js';
import { DTYPE_BYTES, DTYPE_CODE, DTYPES, type Dtype } from './dtypes.js';
import type { Registration } from './registration/registrations.js';

export interface P2pSide {
  data: DeviceArray;
  peer: number;
}

const SENDRECV_KIND = 9;

/**
 * ncclSend/ncclRecv as one group: the send is announced to its peer (a
 * descriptor naming the registered buffer), the receive pulls from the
 * sender's registration through the connector and reports back, and only
 * then does the send complete, so rings of sendRecv never deadlock.
 */
export class PointToPoint {
  private readonly sendSeq: number[];
  private readonly recvSeq: number[];
  private readonly desc = new Int32Array(D.WORDS);

  constructor(
    private readonly s: CommState,
    private readonly protocol: CallProtocol,
  ) {
    this.sendSeq = new Array(s.size).fill(0);
    this.recvSeq = new Array(s.size).fill(0);
  }

  private checkPeer(p: unknown, what: string): void {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= this.s.size) {
      throw new TransportError('EINVAL', `${what}.peer must be an integer in [0, ${this.s.size}) (got ${String(p)})`);
    }
  }

  run(send: P2pSide | undefined, recv: P2pSide | undefined, dtype: Dtype | undefined, timeoutMs: number): void {
    const s = this.s;
    // Everything is checked before anything is posted: a peer must never pull from a send this rank then abandons.
    if (send) this.checkPeer(send.peer, 'send');
    if (recv) this.checkPeer(recv.peer, 'recv');
    const sendType = send ? dtypeOf(send.data, dtype) : undefined;
    const recvType = recv ? dtypeOf(recv.data, dtype) : undefined;
    const toSelf = send?.peer === s.rank;
    const fromSelf = recv?.peer === s.rank;
    if (toSelf !== fromSelf) {
      throw new TransportError('EINVAL', 'a send to this rank itself needs the matching recv from itself in the same sendRecv call (and the other way round)');
    }
    if (toSelf && (send!.data.length !== recv!.data.length || sendType !== recvType)) {
      throw new CollectiveError('EINVAL', `sendRecv: rank ${s.rank} sent ${send!.data.length} ${sendType} to itself but expects ${recv!.data.length} ${recvType}`);
    }
    const sendReg = send && send.data.byteLength > 0 ? this.protocol.registration(send.data, 'send.data') : undefined;
    const recvReg = recv && recv.data.byteLength > 0 ? this.protocol.registration(recv.data, 'recv.data') : undefined;
    if (send && recv && sendReg && sendReg === recvReg && overlaps(send.data, recv.data)) {
      throw new TransportError('EINVAL', 'send.data and recv.data overlap; a point-to-point receive needs its own memory');
    }
    this.protocol.sweep();
    this.protocol.enter(timeoutMs, sendReg, recvReg, 'sendRecv');
    let failure: Error | undefined;
    try {
      s.ctx.checkAbort();
      if (toSelf) s.kernels.copy(recv!.data.byteOffset, send!.data.byteOffset, send!.data.byteLength);
      else this.exchange(send, sendType, sendReg, recv, recvType, recvReg);
    } catch (e) {
      failure = e as Error;
    }
    this.protocol.leave(sendReg, recvReg, failure);
  }

  private exchange(send: P2pSide | undefined, sendType: Dtype | undefined, sendReg: Registration | undefined, recv: P2pSide | undefined, recvType: Dtype | undefined, recvReg: Registration | undefined): void {
    const s = this.s;
    let sent = 0;
    this.protocol.recorder.begin(this.protocol.sequence, SENDRECV_KIND, send?.data.length ?? recv?.data.length ?? 0, DTYPE_CODE[sendType ?? recvType ?? 'uint8'], 0, send?.peer ?? recv!.peer, 0);
    if (send) {
      sent = ++this.sendSeq[send.peer]!;
      this.describe(send.data, sendType!, sendReg);
      s.connectors[send.peer]!.p2pPost(sent, this.desc, s.ctx);
    }
    if (recv) this.receive(recv, recvType!, recvReg);
    if (send) {
      const status = s.connectors[send.peer]!.p2pAwaitDone(sent, s.ctx);
      if (status !== 0) throw new CollectiveError('EINVAL', `sendRecv: rank ${send.peer} refused ${send.data.length} ${sendType} from rank ${s.rank}: count or dtype mismatch`);
    }
  }

  private describe(data: DeviceArray, dtype: Dtype, reg: Registration | undefined): void {
    const d = this.desc;
    d.fill(0);
    d[D.KIND] = SENDRECV_KIND;
    d[D.COUNT] = data.length;
    d[D.DTYPE] = DTYPE_CODE[dtype];
    if (!reg) return;
    const h = reg.dmabuf.handle;
    d[D.SEND_EXP] = h.slot;
    d[D.SEND_GEN] = h.gen;
    d[D.SEND_SIZE] = h.size;
    d[D.SEND_OFF] = data.byteOffset - reg.base;
    putKey(d, 0, D.SEND_KEY_LO, reg.mr?.key ?? 0);
  }

  private receive(recv: P2pSide, type: Dtype, reg: Registration | undefined): void {
    const s = this.s;
    const c = s.connectors[recv.peer]!;
    const seq = ++this.recvSeq[recv.peer]!;
    const [w, at] = c.p2pAwait(seq, s.ctx);
    const count = w[at + D.COUNT]!;
    const theirType = DTYPES[w[at + D.DTYPE]!];
    if (count !== recv.data.length || theirType !== type) {
      c.p2pDone(seq, 1, s.ctx);
      throw new CollectiveError('EINVAL', `sendRecv: rank ${recv.peer} sent ${count} ${theirType} but rank ${s.rank} expects ${recv.data.length} ${type}`);
    }
    const bytes = count * DTYPE_BYTES[type];
    if (bytes > 0) {
      c.bindCall(w, at);
      c.getInto(Buf.SEND, 0, { base: reg!.base, mr: reg!.mr }, recv.data.byteOffset - reg!.base, bytes, s.ctx);
    }
    c.p2pDone(seq, 0, s.ctx);
  }
}

function overlaps(a: DeviceArray, b: DeviceArray): boolean {
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
