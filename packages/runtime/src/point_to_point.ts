import { TransportError } from '@collective/transport';
import { CollectiveError } from './comm_errors.js';
import type { CallProtocol } from './comm/call_protocol.js';
import type { CommState } from './comm/comm_state.js';
import { D, putKey } from './comm_base/descriptor.js';
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

  /** ncclSend/ncclRecv of one call: a group of at most one send and one receive. */
  run(send: P2pSide | undefined, recv: P2pSide | undefined, dtype: Dtype | undefined, timeoutMs: number): void {
    this.runGroup(send ? [send] : [], recv ? [recv] : [], dtype, timeoutMs, 'send', 'recv');
  }

  /**
   * ncclGroupStart/End over sends and receives. Transfers between two
   * ranks match in the order each side lists them, and run in rounds: the
   * k-th send to every peer is posted, then the k-th receive from every
   * peer completes, then the k-th sends are awaited. Every rank posts
   * before it waits in a round, so no rank waits for a post that a waiting
   * peer has not made, whatever the pattern (rings, all-to-all, pairs).
   */
  runGroup(sends: readonly P2pSide[], recvs: readonly P2pSide[], dtype: Dtype | undefined, timeoutMs: number, sendName = 'sends[i]', recvName = 'recvs[i]'): void {
    const s = this.s;
    const name = (base: string, i: number) => base.replace('[i]', `[${i}]`);
    // Everything is checked before anything is posted: a peer must never pull from a send this rank then abandons.
    for (const [i, x] of sends.entries()) this.checkPeer(x?.peer, name(sendName, i));
    for (const [i, x] of recvs.entries()) this.checkPeer(x?.peer, name(recvName, i));
    const sendTypes = sends.map((x) => dtypeOf(x.data, dtype));
    const recvTypes = recvs.map((x) => dtypeOf(x.data, dtype));
    const selfSends = sends.flatMap((x, i) => (x.peer === s.rank ? [i] : []));
    const selfRecvs = recvs.flatMap((x, i) => (x.peer === s.rank ? [i] : []));
    if (selfSends.length !== selfRecvs.length) {
      throw new TransportError('EINVAL', 'a send to this rank itself needs the matching recv from itself in the same call or group (and the other way round)');
    }
    for (let k = 0; k < selfSends.length; k++) {
      const a = sends[selfSends[k]!]!;
      const b = recvs[selfRecvs[k]!]!;
      if (a.data.length !== b.data.length || sendTypes[selfSends[k]!] !== recvTypes[selfRecvs[k]!]) {
        throw new CollectiveError('EINVAL', `sendRecv: rank ${s.rank} sent ${a.data.length} ${sendTypes[selfSends[k]!]} to itself but expects ${b.data.length} ${recvTypes[selfRecvs[k]!]}`);
      }
    }
    // A receive writes its memory while sends of the same group read theirs: none may overlap.
    for (const [i, r] of recvs.entries()) {
      for (const [k, x] of sends.entries()) if (overlaps(r.data, x.data)) throw new TransportError('EINVAL', `${name(sendName, k)}.data and ${name(recvName, i)}.data overlap; a point-to-point receive needs its own memory`);
      for (let k = 0; k < i; k++) if (overlaps(r.data, recvs[k]!.data)) throw new TransportError('EINVAL', `${name(recvName, k)}.data and ${name(recvName, i)}.data overlap; each receive needs its own memory`);
    }
    const sendRegs = sends.map((x, i) => (x.data.byteLength > 0 ? this.protocol.registration(x.data, `${name(sendName, i)}.data`) : undefined));
    const recvRegs = recvs.map((x, i) => (x.data.byteLength > 0 ? this.protocol.registration(x.data, `${name(recvName, i)}.data`) : undefined));
    if (sends.length + recvs.length === 0) return;
    // One fence per buffer: a write where any receive lands in it.
    const regs: Registration[] = [];
    const writes: boolean[] = [];
    const note = (reg: Registration | undefined, write: boolean) => {
      if (!reg) return;
      const i = regs.indexOf(reg);
      if (i < 0) {
        regs.push(reg);
        writes.push(write);
      } else if (write) writes[i] = true;
    };
    for (const r of sendRegs) note(r, false);
    for (const r of recvRegs) note(r, true);
    this.protocol.sweep();
    this.protocol.enterGroup(timeoutMs, regs, writes);
    let failure: Error | undefined;
    try {
      s.ctx.checkAbort();
      // Receivers pull: each send view is open to peers' reads until the group leaves.
      this.protocol.windows.openSends(sendRegs, sends.map((x) => x.data.byteOffset), sends.map((x) => x.data.byteLength));
      const first = sends[0] ?? recvs[0]!;
      this.protocol.recordGroup(SENDRECV_KIND, first.data.length, DTYPE_CODE[sendTypes[0] ?? recvTypes[0] ?? 'uint8'], first.peer);
      this.rounds(sends, sendTypes, sendRegs, recvs, recvTypes, recvRegs, selfSends, selfRecvs);
      // As a collective: the group ends when its last tcp write has left the buffers.
      s.prims.flushUser();
    } catch (e) {
      failure = e as Error;
    }
    this.protocol.leaveGroup(regs, writes, failure);
  }

  private rounds(
    sends: readonly P2pSide[],
    sendTypes: readonly Dtype[],
    sendRegs: readonly (Registration | undefined)[],
    recvs: readonly P2pSide[],
    recvTypes: readonly Dtype[],
    recvRegs: readonly (Registration | undefined)[],
    selfSends: readonly number[],
    selfRecvs: readonly number[],
  ): void {
    const s = this.s;
    const toPeer = new Map<number, number[]>();
    const fromPeer = new Map<number, number[]>();
    for (const [i, x] of sends.entries()) if (x.peer !== s.rank) (toPeer.get(x.peer) ?? toPeer.set(x.peer, []).get(x.peer)!).push(i);
    for (const [i, x] of recvs.entries()) if (x.peer !== s.rank) (fromPeer.get(x.peer) ?? fromPeer.set(x.peer, []).get(x.peer)!).push(i);
    let rounds = selfSends.length;
    for (const l of toPeer.values()) rounds = Math.max(rounds, l.length);
    for (const l of fromPeer.values()) rounds = Math.max(rounds, l.length);
    const posted: [number, number, number][] = [];
    for (let k = 0; k < rounds; k++) {
      posted.length = 0;
      for (const [peer, list] of toPeer) {
        const i = list[k];
        if (i === undefined) continue;
        const seq = ++this.sendSeq[peer]!;
        this.describe(sends[i]!.data, sendTypes[i]!, sendRegs[i]);
        s.connectors[peer]!.p2pPost(seq, this.desc, s.ctx);
        posted.push([peer, seq, i]);
      }
      if (k < selfSends.length) {
        const a = sends[selfSends[k]!]!.data;
        s.kernels.copy(recvs[selfRecvs[k]!]!.data.byteOffset, a.byteOffset, a.byteLength);
      }
      for (const list of fromPeer.values()) {
        const i = list[k];
        if (i !== undefined) this.receive(recvs[i]!, recvTypes[i]!, recvRegs[i]);
      }
      for (const [peer, seq, i] of posted) {
        const status = s.connectors[peer]!.p2pAwaitDone(seq, s.ctx);
        if (status !== 0) throw new CollectiveError('EINVAL', `sendRecv: ${s.peerName(peer)} refused ${sends[i]!.data.length} ${sendTypes[i]} from ${s.peerName(s.rank)}: count or dtype mismatch`);
      }
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
      throw new CollectiveError('EINVAL', `sendRecv: ${s.peerName(recv.peer)} sent ${count} ${theirType} but ${s.peerName(s.rank)} expects ${recv.data.length} ${type}`);
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
