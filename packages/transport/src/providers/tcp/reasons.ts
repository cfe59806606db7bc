import { type ErrorCode, TransportError } from '../../errors.js';
import { MrAccess } from '../../fabric/access.js';

/**
 * Why an operation failed, as a small number that fits a completion-ring
 * entry and a wire acknowledgement. The message is composed where the
 * completion is read, from the reason, its arguments and what the
 * endpoint remembers of the operation; the texts match shm's.
 */
export const enum Reason {
  OK = 0,
  NOT_REGISTERED = 1,
  /** arg0: the access bit that was missing */
  NO_ACCESS = 2,
  /** arg0: the region's length */
  RANGE = 3,
  CLOSED = 4,
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
  /** the peer's listener and this process do not share the job secret; detail: what the dialer saw */
  NOT_AUTHENTICATED = 16,
}

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

export function reasonError(reason: Reason, arg0: number, arg1: number, detail: string, op: OpRecord): TransportError {
  const e = (code: ErrorCode, message: string) => new TransportError(code, message);
  const { key, peer } = op;
  switch (reason) {
    case Reason.NOT_REGISTERED:
      return e('EACCES', `key ${key} is not registered at the remote endpoint (${peer})`);
    case Reason.NO_ACCESS:
      return e('EACCES', `remote memory region (key ${key}) lacks ${accessName(arg0)} access (${peer})`);
    case Reason.RANGE:
      return e('EACCES', `remote range [${op.remoteOffset}, ${op.remoteOffset + op.length}) is outside the ${arg0}-byte region (key ${key}) at ${peer}`);
    case Reason.CLOSED:
      return e('ECANCELED', `remote memory region (key ${key}) was closed (${peer})`);
    case Reason.REVOKED:
      return e('EIO', `the dma-buf behind the remote memory region (key ${key}) was revoked (${peer})`);
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
    default:
      return e('EIO', `the ${op.op} to ${peer} failed (reason ${reason as number})`);
  }
}
