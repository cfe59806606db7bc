import type { TransportError } from '../errors.js';
import type { DmaBuf } from '../dmabuf.js';
import type { Pool } from '../pool.js';

export type ProviderName = 'shm' | 'tcp';
export type Capability = 'rma' | 'tagged' | 'remote-cq-data' | 'dmabuf-mr';

/** What getInfo reports for one provider (fi_info, trimmed to what we use). */
export interface FabricInfo {
  provider: ProviderName;
  caps: Capability[];
  /** largest tagged message, bytes */
  maxMessageSize: number;
  /** largest single RMA transfer, bytes */
  maxRmaSize: number;
  /** completion queue entries before posts get EAGAIN */
  defaultCqSize: number;
}

/**
 * An endpoint name; travels to peers (as an av entry) by postMessage or
 * msgpackr. `slot` and `gen` name the endpoint inside its process; a tcp
 * address also names the process: the addresses of its listener thread
 * and that listener's identity (so an address of a process that restarted
 * on the same port is refused, not served by the newcomer).
 */
export interface EndpointAddress {
  provider: ProviderName;
  pool: number;
  /** the pool's identity (Pool.identity): equal on endpoints of one process, and only there */
  identity: string;
  slot: number;
  gen: number;
  /** tcp: the listener's address (an IPv4 or IPv6 literal) */
  host?: string;
  /** tcp: the listener's port */
  port?: number;
  /** tcp: the listener's identity, `<pid>.<random hex>` */
  process?: string;
  /** tcp: the Unix socket of the peer's process ('@name': abstract), reached when hostId matches */
  unix?: string;
  /** tcp: equal on two endpoints of one host (boot and network namespace) */
  hostId?: string;
}

/** A registered region as the provider sees it. */
export interface MrImpl {
  readonly key: number;
  readonly length: number;
  /** MrAccess bits */
  readonly access: number;
  /** peers reach only the windows its owner opens */
  readonly windowed: boolean;
  /** `need`: MrAccess.remoteRead or remoteWrite; arguments checked by the caller */
  setRemoteWindow(need: number, offset: number, length: number): void;
  closeRemoteWindows(): void;
  close(): void;
}

/** A message taken off an endpoint's receive side. */
export interface Incoming {
  kind: 'tagged' | 'remote-write';
  /** the sender's endpoint slot */
  source: number;
  /** the sender's process (EndpointAddress.process) where a slot alone is ambiguous (tcp) */
  sourceProcess?: string;
  tag: number;
  /** tagged: payload bytes, valid until release() */
  payload: Uint8Array;
  /** remote-write: bytes written and the remote CQ data */
  length: number;
  data: number;
  release(): void;
}

export interface RmaRequest {
  local: MrImpl;
  localOffset: number;
  length: number;
  remote: EndpointAddress;
  remoteOffset: number;
  key: number;
  /** remote CQ data (fi_writedata) */
  data?: number;
  /** the caller will wait for this operation's completion soon (see RmaOp.awaited) */
  awaited?: boolean;
}

/** The outcome of one posted operation, matched to its post by `token`. */
export interface TxCompletion {
  token: number;
  /** set when the operation failed: the CQ's error entry carries it */
  error?: TransportError;
}

/**
 * Per-endpoint operations a provider implements; the generic Endpoint adds
 * CQs, counters and matching. The contract is asynchronous, like fi_write
 * and ncclNet's isend/test: a post only queues the operation, and its
 * outcome comes back later from pollCompletions(). A provider may finish
 * the work inside the post (shm copies at once) or much later (tcp, in a
 * later pollCompletions of the same thread); callers must not assume either. Buffers named by a post
 * stay in use until its completion is polled.
 */
export interface EndpointImpl {
  readonly address: EndpointAddress;
  /** Throws only for EAGAIN (no room to queue) or misuse; failures of the transfer itself complete with an error. */
  postWrite(req: RmaRequest, token: number): void;
  postRead(req: RmaRequest, token: number): void;
  postSend(remote: EndpointAddress, tag: number, payload: Uint8Array, token: number): void;
  /** Completions of posted operations, oldest first. */
  pollCompletions(): TxCompletion[];
  /** Incoming work in arrival order. */
  poll(): Incoming[];
  /** Sleeps up to timeoutMs until new incoming work or completions may be there; callers spin first if they want to. */
  waitIncoming(timeoutMs: number): void;
  /**
   * Providers whose progress happens in the calling thread: the caller is
   * about to stop calling in for a while, so what peers wait for goes now:
   * queued messages as far as the sockets take them, and (with `acks`)
   * owed acknowledgements. True when nothing is left queued in this
   * process (the kernel has every byte), false when the caller must keep
   * calling in until it is.
   */
  flush?(acks: boolean): boolean;
  /**
   * fi_cancel for everything: every operation still in flight completes
   * with ECANCELED at the next poll, and nothing of it moves any more.
   * Providers whose operations always finish inside the post need none.
   */
  cancel?(): void;
  /** Connections this process's listener refused for lacking the job secret (socket providers). */
  refusedConnections?(): number;
  /**
   * The shared word counting remote RMA writes or reads that targeted this
   * endpoint; a counter bound for remote events reads and sleeps on it.
   */
  remoteCounter(kind: 'writes' | 'reads'): { ctl: Int32Array; index: number };
  close(): void;
}

export interface DomainImpl {
  readonly pool: Pool;
  readonly token: number;
  openEndpoint(): EndpointImpl;
  registerDmaBuf(dmabuf: DmaBuf, offset: number, length: number, access: number, windowed: boolean): MrImpl;
}

/**
 * One transport: `shm` moves bytes inside the process's shared pool; a
 * `tcp` provider implements the same interface between processes. The
 * first provider whose canConnect accepts both ends carries the traffic.
 */
export interface Provider {
  readonly name: ProviderName;
  info(): FabricInfo;
  canConnect(local: EndpointAddress, remote: EndpointAddress): boolean;
  openDomain(pool: Pool): DomainImpl;
}
