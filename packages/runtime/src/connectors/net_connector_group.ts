import type { WaitContext } from '../comm_base/wait_context.js';
import type { Line, LocalRegion } from './connector.js';
import type { ConnectorGroup } from './connector_group.js';
import type { NetConnector } from './net_connector.js';
import type { NetPort } from './net_port.js';

/**
 * This rank's peers in other processes, together: each needs its own
 * write of a staged input or a line, and they share one port, whose
 * completions say when user buffers are free again.
 */
export class NetConnectorGroup implements ConnectorGroup {
  readonly type = 'net';

  constructor(
    private readonly port: NetPort,
    private readonly peers: readonly NetConnector[],
  ) {}

  stage(parity: number, src: LocalRegion, at: number, bytes: number, ctx: WaitContext): void {
    for (const c of this.peers) c.pushStaged(parity, src, at - src.base, bytes, ctx);
  }

  llPost(parity: number, flag: number, seq: number, src: LocalRegion, at: number, bytes: number, ctx: WaitContext): void {
    for (const c of this.peers) c.llPush(parity, flag, seq, src, at - src.base, bytes, ctx);
  }

  post(line: Line, value: number, ctx: WaitContext): void {
    for (const c of this.peers) c.signal(line, value, ctx);
  }

  barrierAlone(): boolean {
    return false;
  }

  flushUser(ctx: WaitContext): void {
    this.port.flushUser(ctx);
  }

  leaveLl(ctx: WaitContext): void {
    this.port.leave(ctx, false);
  }
}
