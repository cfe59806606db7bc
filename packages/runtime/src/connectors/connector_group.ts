import type { WaitContext } from '../comm_base/wait_context.js';
import type { Line, LocalRegion } from './connector.js';

/**
 * What a rank does once for all its peers of one kind (NCCL's transport
 * "comm" beside its per-peer connectors): the shm peers read one copy of a
 * staged input and one barrier counter, while every net peer needs its own
 * write. The primitives iterate the groups a rank has and never ask which
 * transport is under one, so a third connector kind brings a third group
 * and touches no primitive.
 */
export interface ConnectorGroup {
  readonly type: 'shm' | 'net';
  /**
   * Makes `bytes` of this rank's input, at pool offset `at` inside `src`,
   * readable by every peer of the group in small slot `parity`.
   */
  stage(parity: number, src: LocalRegion, at: number, bytes: number, ctx: WaitContext): void;
  /** ll: the same with the call's flag, so that the data and its arrival are one write. */
  llPost(parity: number, flag: number, seq: number, src: LocalRegion, at: number, bytes: number, ctx: WaitContext): void;
  /** Raises this rank's `line` to `value` where every peer of the group sees it. */
  post(line: Line, value: number, ctx: WaitContext): void;
  /**
   * When this group reaches every peer of the communicator: a whole barrier
   * done in one counter (arrival `arrival`), and true. False when the group
   * has no such shortcut; the primitives then post and wait line by line.
   */
  barrierAlone(arrival: number, ctx: WaitContext): boolean;
  /** Waits until no transfer of this group reads or writes a user buffer (the end of a call). */
  flushUser(ctx: WaitContext): void;
  /** The end of an ll call: what it sent is on its way before the call returns. */
  leaveLl(ctx: WaitContext): void;
}
