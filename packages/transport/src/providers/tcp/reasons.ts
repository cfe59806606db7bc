import { type ErrorCode, TransportError } from '../../errors.js';
import { MrAccess } from '../../fabric/access.js';
import { MrRefusal } from '../../mr_target.js';

/**
 * Why an operation failed, as a small number that fits a completion-ring
 * entry and a wire acknowledgement. The message is composed where the
 * completion is read, from the reason, its arguments and what the
 * endpoint remembers of the operation.
 *
 * A target never tells a peer why it refused an operation: the wire says
 * REFUSED and nothing else, so a peer guessing keys learns neither which
 * keys exist nor how long their regions are. The target-side reasons
 * (NOT_REGISTERED to REVOKED, WINDOW) stay in the target, for its log.
 */
export const enum Reason {
  OK = 0,
  /** target side only (MrRefusal's, as checkTarget gives them): the key names no region of the target endpoint's domain */
  NOT_REGISTERED = MrRefusal.NOT_REGISTERED,
  /** target side only; arg: the access bit that was missing */
  NO_ACCESS = MrRefusal.NO_ACCESS,
  /** target side only; arg: the region's length */
  RANGE = MrRefusal.RANGE,
  /** target side only */
  CLOSED = MrRefusal.CLOSED,
  /** target side only */
  REVOKED = 5,
  ENDPOINT_GONE = 6,
  LOCAL_CLOSED = 7,
  LOCAL_REVOKED = 8,
  /** arg0: milliseconds tried, arg1: attempts, detail: the last socket error */
  CONNECT_FAILED = 9,
  /** detail: the socket error or how it closed */
  CONNECTION_LOST = 10,
  /** detail: the process that answered at the address */
  WRONG_PROCESS = 11,
  PROXY_STOPPED = 12,
  /** detail: what was malformed */
  PROTOCOL = 13,
  /** the initiator's endpoint cancelled its operations (closing) */
  CANCELED = 14,
  /** the only refusal on the wire: the target would not apply the operation, and does not say why */
  REFUSED = 15,
  /** target side only; arg: the access bit whose window the range is outside */
  WINDOW = MrRefusal.WINDOW,
  /** this endpoint closed the connection: the peer had REFUSALS_MAX operations refused */
  TOO_MANY_REFUSED = 17,
  /** the peer's listener and this process do not share the job secret; detail: what the dialer saw */
  NOT_AUTHENTICATED = 18,
}

/**
 * Refused operations a target takes from one connection before it closes
 * it. Counted per connection (a peer that reconnects is a new endpoint
 * pair, and connections are never reopened), so a peer guessing keys gets
 * this many tries against the 2^41 tags of a region (mr_key.ts). The
 * runtime's own traffic is never refused while its calls succeed.
 */
export const REFUSALS_MAX = 64;

/** What the endpoint remembers of an operation to name it in an error. */
export interface OpRecord {
  op: 'write' | 'read' | 'send';
  key: number;
  remoteOffset: number;
  length: number;
  /** "tcp peer 10.0.0.2:41234 (process 4711.9f0c…)" */
  peer: string;
  remoteSlot: number;
  remoteGen: number;
}

export function describePeer(host: string, port: number, process: string): string {
  return `tcp peer ${host.includes(':') ? `[${host}]` : host}:${port} (process ${process})`;
}

const accessName = (bit: number): string => (bit === MrAccess.remoteWrite ? 'remoteWrite' : 'remoteRead');

/** The target's own account of a refusal, for its log (never sent). */
export function refusalText(reason: Reason, arg: number): string {
  switch (reason) {
    case Reason.NOT_REGISTERED:
      return "the key is not registered in this endpoint's domain";
    case Reason.NO_ACCESS:
      return `the region lacks ${accessName(arg)} access`;
    case Reason.RANGE:
      return `the range is outside the ${arg}-byte region`;
    case Reason.CLOSED:
      return 'the region was closed';
    case Reason.REVOKED:
      return 'the dma-buf behind the region was revoked';
    case Reason.WINDOW:
      return `the range is outside the region's open ${accessName(arg)} window`;
    default:
      return `reason ${reason as number}`;
  }
}

export function reasonError(reason: Reason, arg0: number, arg1: number, detail: string, op: OpRecord): TransportError {
  const e = (code: ErrorCode, message: string) => new TransportError(code, message);
  const { key, peer } = op;
  switch (reason) {
    case Reason.REFUSED:
      return e(
        'EACCES',
        `the ${op.op} of ${op.length} bytes at offset ${op.remoteOffset} of remote key ${key} was refused by ${peer}: ` +
          'the key may be unknown there or stale (its region closed, revoked or registered again), the region may lack that access, ' +
          'or the bytes may lie outside the region or outside what its owner currently opens to peers. ' +
          `The target logs which (COLLECTIVE_DEBUG=INFO), and closes a connection after ${REFUSALS_MAX} refusals`,
      );
    case Reason.ENDPOINT_GONE:
      return e('ENOTCONN', `remote endpoint ${op.remoteSlot}/${op.remoteGen} at ${peer} is closed or unknown`);
    case Reason.LOCAL_CLOSED:
      return e('ECANCELED', 'local memory region was closed during the operation');
    case Reason.LOCAL_REVOKED:
      return e('EIO', 'the dma-buf behind the local memory region was revoked');
    case Reason.CONNECT_FAILED:
      return e('ENOTCONN', `could not connect to ${peer} within ${arg0} ms (${arg1} attempt(s), last: ${detail}); check that the peer runs and that its address is reachable from here (COLLECTIVE_SOCKET_IFNAME)`);
    case Reason.CONNECTION_LOST:
      return e('ENOTCONN', `connection to ${peer} was lost (${detail}); the peer process may have exited`);
    case Reason.WRONG_PROCESS:
      return e('ENOTCONN', `${peer} is gone: its address is now served by process ${detail} (the peer restarted?)`);
    case Reason.PROXY_STOPPED:
      return e('EIO', `the socket listener thread of this process stopped before the ${op.op} to ${peer} completed (it ends with the thread that started it)`);
    case Reason.CANCELED:
      return e('ECANCELED', `the ${op.op} to ${peer} was cancelled: this endpoint gave up its operations (closing)`);
    case Reason.NOT_AUTHENTICATED:
      return e('EACCES', `${peer} refused this process, or could not prove it belongs to this job (${detail}): the two processes do not hold the same job secret; give every process of the job the same COLLECTIVE_JOB_SECRET (or COLLECTIVE_JOB_SECRET_FILE), or start them with collective-run or World.join`);
    case Reason.PROTOCOL:
      return e('EIO', `${peer} sent a malformed message (${detail}); the connection was closed`);
    case Reason.TOO_MANY_REFUSED:
      return e('ENOTCONN', `this endpoint closed its connection to ${peer}: ${REFUSALS_MAX} of the peer's operations were refused here (a peer guessing keys is cut off)`);
    default:
      return e('EIO', `the ${op.op} to ${peer} failed (reason ${reason as number})`);
  }
}
