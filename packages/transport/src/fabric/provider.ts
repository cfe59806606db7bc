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

/** An endpoint name; travels to peers (as an av entry) by postMessage or msgpackr. */
export interface EndpointAddress {
  provider: ProviderName;
  pool: number;
  slot: number;
  gen: number;
}

/** A registered region as the provider sees it. */
export interface MrImpl {
  readonly key: number;
  readonly length: number;
  close(): void;
}

/** A message taken off an endpoint's receive side. */
export interface Incoming {
  kind: 'tagged' | 'remote-write';
  source: number;
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
}

/** Per-endpoint operations a provider implements; the generic Endpoint adds CQs, counters and matching. */
export interface EndpointImpl {
  readonly address: EndpointAddress;
  /** Returns an error for the CQ's error queue; throws only for EAGAIN or misuse. */
  write(req: RmaRequest): TransportError | undefined;
  read(req: RmaRequest): TransportError | undefined;
  send(remote: EndpointAddress, tag: number, payload: Uint8Array): TransportError | undefined;
  /** Incoming work in arrival order. */
  poll(): Incoming[];
  /** Blocks up to timeoutMs for new incoming work (spin, then sleep). */
  waitIncoming(timeoutMs: number): void;
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
  registerDmaBuf(dmabuf: DmaBuf, offset: number, length: number, access: number): MrImpl;
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
