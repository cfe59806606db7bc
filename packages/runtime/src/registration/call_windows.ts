import type { MemoryRegion } from '@collective/transport';
import type { Registration } from './registrations.js';

/**
 * What net peers may reach of this rank's user buffers: the views of the
 * call it is in, from before the call is announced until it leaves (F12).
 * User buffers are registered windowed (the registrar's register), so outside a
 * call a key to one reaches nothing, and inside one only that call's bytes:
 * an algorithm's wrong offset, or a peer replaying an old key, is refused
 * instead of reading or writing the rest of the buffer. Views are read by
 * peers (remoteRead) and receive views also written (remoteWrite); an MR
 * has one window per access, so views of one buffer share the hull of what
 * they need.
 */
export class CallWindows {
  private readonly open: MemoryRegion[] = [];

  /** A collective: `send` for remoteRead, `recv` for remoteRead and remoteWrite (pool offsets and byte lengths of the views). */
  openCall(sendReg: Registration | undefined, sendAt: number, sendBytes: number, recvReg: Registration | undefined, recvAt: number, recvBytes: number): void {
    const s = sendReg?.mr;
    const r = recvReg?.mr;
    if (r) {
      const at = recvAt - recvReg!.base;
      r.setRemoteWindow('remoteWrite', at, recvBytes);
      // Same buffer for both: one read window over both views.
      const lo = s === r ? Math.min(at, sendAt - sendReg!.base) : at;
      const hi = s === r ? Math.max(at + recvBytes, sendAt - sendReg!.base + sendBytes) : at + recvBytes;
      r.setRemoteWindow('remoteRead', lo, hi - lo);
      this.open.push(r);
    }
    if (s && s !== r) {
      s.setRemoteWindow('remoteRead', sendAt - sendReg!.base, sendBytes);
      this.open.push(s);
    }
  }

  /**
   * Point to point: each send view for remoteRead (its receiver pulls it).
   * Receive views get no window: nothing but this rank writes them.
   */
  openSends(regs: readonly (Registration | undefined)[], at: readonly number[], bytes: readonly number[]): void {
    for (let i = 0; i < regs.length; i++) {
      const reg = regs[i];
      if (!reg?.mr || this.open.includes(reg.mr)) continue;
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = i; k < regs.length; k++) {
        if (regs[k]?.mr !== reg.mr) continue;
        lo = Math.min(lo, at[k]! - reg.base);
        hi = Math.max(hi, at[k]! - reg.base + bytes[k]!);
      }
      reg.mr.setRemoteWindow('remoteRead', lo, hi - lo);
      this.open.push(reg.mr);
    }
  }

  /** The call left (done or failed): peers reach none of its buffers any more. */
  closeAll(): void {
    for (const mr of this.open) if (mr.isOpen) mr.closeRemoteWindows();
    this.open.length = 0;
  }
}
