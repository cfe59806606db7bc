import { type Device, DmaBuf, type EndpointAddress, Pool, type ProviderName, TransportError } from '@collective/transport';
import { hostName, processId } from '@collective/transport/runtime';
import { CollectiveError } from '../comm_errors.js';
import type { Connector } from '../connectors/connector.js';
import type { ConnectorGroup } from '../connectors/connector_group.js';
import { NetConnector, type NetGroup } from '../connectors/net_connector.js';
import { NetConnectorGroup } from '../connectors/net_connector_group.js';
import { NetPort } from '../connectors/net_port.js';
import { type ShmGroup, ShmConnector } from '../connectors/shm_connector.js';
import { ShmConnectorGroup } from '../connectors/shm_connector_group.js';
import { defaultFlavor, type KernelFlavor, ReduceKernels } from '../kernels/reduce_kernels.js';
import { Prims } from '../primitives.js';
import { PeerImports } from '../registration/peer_imports.js';
import { Registrations } from '../registration/registrations.js';
import { PrivateLayout, ScratchLayout } from '../scratch_layout.js';
import { abortInfo, setAborted } from '../comm_base/abort_state.js';
import type { CallClock } from '../comm_base/call_clock.js';
import { Hdr, R, rankBase } from '../comm_base/comm_block.js';
import { blockOf, checkPositiveInt, type CommId, commLabel } from './comm_id.js';
import type { CommState } from './comm_state.js';
import type { PeerRecord } from '../comm_base/peer_record.js';
import { chooseConnector, connectorChoice, type ConnectorChoice, locality } from './connector_choice.js';
import { RankSync } from '../comm_base/rank_sync.js';
import { debugLevel, debugLine, debugSubsystems, Level, Subsys } from '../comm_base/debug_log.js';
import { CommWaitContext } from '../comm_base/wait_context.js';

export interface CommOptions {
  /** default deadline of every call, ms */
  timeoutMs?: number;
  /** bytes of each FIFO slot of the pipelined algorithms */
  slotBytes?: number;
  kernels?: KernelFlavor;
  /** 'net' forces every peer through the fabric endpoint API, even in one process; also COLLECTIVE_CONNECTOR */
  connector?: ConnectorChoice;
  /**
   * Ranks of the job whose threads run on this machine (default: this
   * communicator's size). Waits spin only while they fit the cores; set by
   * World.join and passed on to split's children, which alone cannot see
   * the threads of their parent's other children.
   */
  hostRanks?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * Across processes larger slots keep a socket busier (2 processes over a
 * Unix socket, 32 MiB all-reduce: 1.8–2.4 GB/s busbw with options.slotBytes
 * of 1 MiB against 1.5 with this default), but every rank of every
 * communicator holds 4 channels × 2 slots of them, exported and private.
 */
export const DEFAULT_SLOT_BYTES = 256 * 1024;
const PROVIDERS: readonly ProviderName[] = ['shm', 'tcp'];

/**
 * An internal split's option, not public: the rank each child rank has on
 * the communicator the user called (a hierarchy's steps run on children
 * whose ranks mean nothing to the user). Errors name those ranks.
 */
export const USER_RANKS = Symbol('collective.userRanks');
/** A child rank as the user knows it: its rank on the communicator the user called, and its host and pid when that one spans processes. */
export interface UserRank {
  rank: number;
  host?: string;
  pid?: number;
}
export type InternalCommOptions = CommOptions & { [USER_RANKS]?: readonly UserRank[] };

/** A rank as init's errors name it: a step group's rank as the user knows it, with its host and pid when known. */
function initName(options: CommOptions, q: number): string {
  const user = (options as InternalCommOptions)[USER_RANKS]?.[q];
  if (!user) return `rank ${q}`;
  return `rank ${user.rank} (${user.host !== undefined ? `host ${user.host}, pid ${user.pid}; ` : ''}rank ${q} of the step's group)`;
}

export function checkCommOptions(options: CommOptions): void {
  if (options.timeoutMs !== undefined) checkPositiveInt('options.timeoutMs', options.timeoutMs);
  if (options.slotBytes !== undefined) {
    checkPositiveInt('options.slotBytes', options.slotBytes);
    if (options.slotBytes % 64 !== 0) throw new TransportError('EINVAL', `options.slotBytes must be a multiple of 64 (got ${options.slotBytes})`);
  }
  if (options.hostRanks !== undefined) checkPositiveInt('options.hostRanks', options.hostRanks);
  if (options.kernels !== undefined && options.kernels !== 'simd' && options.kernels !== 'scalar') {
    throw new TransportError('EINVAL', `options.kernels must be 'simd' or 'scalar' (got ${String(options.kernels)})`);
  }
  connectorChoice(options.connector);
}

/** What another process needs to know of a rank to reach it: published through the job's store. */
/** A rank half way through ncclCommInitRank: its memory and endpoint are up and its record can be published. */
export interface PreparedComm {
  readonly record: PeerRecord;
  /**
   * Completes the join with every rank's record (index = rank); without
   * records every rank is in this pool. Ranks of other processes must have
   * prepared before this is called: their endpoints take our first messages.
   */
  finish(directory?: readonly PeerRecord[]): CommState;
  /** Gives everything back when the join cannot complete (another rank failed); peers in this pool see the reason. */
  abandon(reason: string): void;
}

/**
 * ncclCommInitRank: joins the shared block, exports this rank's scratch,
 * opens the net endpoint when some peer needs it, waits for every rank,
 * then picks each peer's connector and imports what it needs. Any failure
 * marks the communicator aborted so the other ranks fail at once.
 */
export function setupComm(device: Device, id: CommId, rank: number, options: CommOptions): CommState {
  return prepareComm(device, id, rank, options).finish();
}

/**
 * The first half of setupComm: everything that does not need the other
 * ranks. `provider` 'tcp' opens an endpoint for ranks in other processes
 * (their records come to finish()); otherwise net peers, if forced, use shm.
 */
export function prepareComm(device: Device, id: CommId, rank: number, options: CommOptions, provider?: ProviderName): PreparedComm {
  const pool = device.pool;
  const words = blockOf(pool, id);
  if (!Number.isInteger(rank) || rank < 0 || rank >= id.nranks) {
    throw new TransportError('EINVAL', `rank must be an integer in [0, ${id.nranks}) (got ${rank})`);
  }
  checkCommOptions(options);
  const choice = connectorChoice(options.connector);
  const size = id.nranks;
  const me = rankBase(rank);
  if (Atomics.compareExchange(words, me + R.DEVICE, 0, device.index + 1) !== 0) {
    throw new CollectiveError('EBUSY', `rank ${rank} has already joined this communicator`);
  }
  words[me + R.THREAD] = Pool.self;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const slotBytes = options.slotBytes ?? DEFAULT_SLOT_BYTES;
  const clock: CallClock = { timeoutMs, start: 0 };
  const ctx = new CommWaitContext(clock, {
    checkAbort() {
      const info = abortInfo(words);
      if (info && info.rank !== rank) throw new CollectiveError(info.code, `init: the communicator was aborted by rank ${info.rank}: ${info.reason}`);
    },
    late: (peer, what, ms) => `init: ${initName(options, peer)} ${what} within ${ms} ms`,
  });
  const cleanup: (() => void)[] = [];
  try {
    const hostRanks = options.hostRanks ?? size;
    const sync = new RankSync(words, size, hostRanks);
    const layout = new ScratchLayout(size, slotBytes);
    const scratchBuf = device.allocate(layout.bytes);
    cleanup.push(() => device.isOpen && device.free(scratchBuf));
    const scratchExport = device.export(scratchBuf);
    cleanup.push(() => scratchExport.release());
    const netProvider: ProviderName | undefined = provider ?? (choice === 'net' ? 'shm' : undefined);
    const net = netProvider !== undefined;
    const priv = new PrivateLayout(size, slotBytes, net);
    const privBuf = device.allocate(priv.bytes);
    cleanup.push(() => device.isOpen && device.free(privBuf));
    const internalBuf = device.allocate(4096);
    cleanup.push(() => device.isOpen && device.free(internalBuf));
    const privExport = net ? device.export(privBuf) : undefined;
    if (privExport) cleanup.push(() => privExport.release());
    const port = net ? new NetPort(pool, netProvider, size, scratchExport, privExport!, hostRanks) : undefined;
    if (port) cleanup.push(() => port.close());

    const h = scratchExport.handle;
    words[me + R.SCRATCH_SLOT] = h.slot;
    words[me + R.SCRATCH_GEN] = h.gen;
    words[me + R.SCRATCH_SIZE] = h.size;
    words[me + R.POOL] = pool.id;
    if (port) {
      const a = port.address;
      words[me + R.EP_SLOT] = a.slot;
      words[me + R.EP_GEN] = a.gen;
      words[me + R.EP_PROVIDER] = PROVIDERS.indexOf(a.provider);
      words[me + R.SCRATCH_KEY_LO] = port.scratchMr.key >>> 0;
      words[me + R.SCRATCH_KEY_HI] = Math.floor(port.scratchMr.key / 2 ** 32);
    }
    sync.post(me + R.READY, 1);
    const address = port ? port.address : null;
    const record: PeerRecord = {
      rank,
      process: pool.identity,
      host: address?.host ?? hostName(),
      pid: processId(),
      address: address && address.provider === 'tcp' ? { ...address } : null,
      scratchKey: port ? port.scratchMr.key : 0,
    };
    const undo = (): void => {
      for (const u of cleanup.reverse()) {
        try {
          u();
        } catch {
          // Best effort: the first error is the one to report.
        }
      }
      cleanup.length = 0;
    };
    return {
      record,
      abandon(reason: string) {
        setAborted(words, rank, 'ECANCELED', reason);
        undo();
      },
      finish(directory?: readonly PeerRecord[]): CommState {
        try {
          return finishComm(directory);
        } catch (e) {
          setAborted(words, rank, (e as TransportError).code ?? 'EIO', `rank ${rank} failed to join: ${(e as Error).message}`);
          undo();
          throw e;
        }
      },
    };

    function finishComm(directory: readonly PeerRecord[] | undefined): CommState {
    if (directory !== undefined && directory.length !== size) throw new CollectiveError('EINVAL', `${directory.length} peer records for a communicator of ${size} ranks`);
    // Ranks of another pool (process) are remote: reached over tcp, never through this block.
    const remote = (q: number): boolean => directory !== undefined && directory[q]!.process !== pool.identity;
    for (let q = 0; q < size; q++) if (q !== rank && !remote(q)) sync.waitFor(rankBase(q) + R.READY, 1, ctx, q, 'did not join');

    const mem = new Uint8Array(pool.memory.buffer);
    const kernels = new ReduceKernels(pool, options.kernels ?? defaultFlavor(), privBuf.offset + priv.kernelTable);
    const poolWords = new Int32Array(pool.memory.buffer);
    sync.spinHi16 = kernels.spinHi16;
    const peerRank = (q: number): number => (options as InternalCommOptions)[USER_RANKS]?.[q]?.rank ?? q;
    const peerName = (q: number): string => {
      const user = (options as InternalCommOptions)[USER_RANKS]?.[q];
      // Across processes every rank is named with its host and pid, also this process's (logs of many
      // processes are read together), and so is a step's rank when the communicator the user called spans processes.
      const where = directory ? `host ${directory[q]!.host}, pid ${directory[q]!.pid}` : user?.host !== undefined ? `host ${user.host}, pid ${user.pid}` : '';
      if (user === undefined) return where ? `rank ${q} (${where})` : `rank ${q}`;
      return `rank ${user.rank} (${where ? `${where}; ` : ''}rank ${q} of the step's group)`;
    };
    const imports = new PeerImports(pool, peerName);
    cleanup.push(() => imports.close());
    const shm: ShmGroup = { rank, size, words, sync, kernels, layout, scratchBase: scratchBuf.offset, imports, poolWords, peerName };
    const netGroup: NetGroup | undefined = port && {
      rank,
      port,
      layout,
      priv,
      scratchBase: scratchBuf.offset,
      privateBase: privBuf.offset,
      poolWords,
    };
    const connectors: (Connector | undefined)[] = [];
    const scratchImports: DmaBuf[] = [];
    cleanup.push(() => scratchImports.forEach((d) => d.release()));
    const addresses: (EndpointAddress | undefined)[] = [];
    for (let q = 0; q < size; q++) {
      const b = rankBase(q);
      if (remote(q)) {
        const r = directory![q]!;
        if (!netGroup || !r.address) throw new CollectiveError('EINVAL', `rank ${q} is in another process (host ${r.host}, pid ${r.pid}) but ${netGroup ? 'published no tcp endpoint' : 'this rank opened no tcp endpoint'}`);
        addresses.push(r.address);
        connectors.push(new NetConnector(q, netGroup, r.scratchKey));
        port!.setPeerKey(q, r.scratchKey);
        continue;
      }
      // Peers in this pool use shm; over the shm provider when net is forced in one process.
      addresses.push(port?.provider === 'shm' ? { provider: PROVIDERS[words[b + R.EP_PROVIDER]!] ?? 'shm', pool: words[b + R.POOL]!, identity: pool.identity, slot: words[b + R.EP_SLOT]!, gen: words[b + R.EP_GEN]! } : undefined);
      if (q === rank) {
        connectors.push(undefined);
        continue;
      }
      // A rank that joined through this pool's block is in this pool: its identity is ours.
      const kind = directory !== undefined ? 'shm' : chooseConnector(choice, locality(pool.id, pool.identity), locality(words[b + R.POOL]!, pool.identity), q);
      if (kind === 'net') {
        if (!netGroup) throw new CollectiveError('EINVAL', `rank ${q} needs a net connector but this rank opened no endpoint`);
        connectors.push(new NetConnector(q, netGroup, (words[b + R.SCRATCH_KEY_LO]! >>> 0) + (words[b + R.SCRATCH_KEY_HI]! >>> 0) * 2 ** 32));
        continue;
      }
      // The peer's scratch through an exporter-issued mapping: imported, attached, pinned, mapped.
      const dmabuf = DmaBuf.import(pool, { kind: 'dmabuf', pool: pool.id, slot: words[b + R.SCRATCH_SLOT]!, gen: words[b + R.SCRATCH_GEN]!, size: words[b + R.SCRATCH_SIZE]! });
      scratchImports.push(dmabuf);
      const att = dmabuf.attach({ dynamic: true, invalidateMappings: () => {} });
      att.pin();
      connectors.push(new ShmConnector(q, shm, att.map().segments[0]!.offset));
    }
    port?.connect(addresses);
    const groups: ConnectorGroup[] = [];
    if (connectors.some((c) => c?.type === 'shm')) groups.push(new ShmConnectorGroup(shm));
    const netPeers = connectors.filter((c): c is NetConnector => c?.type === 'net');
    if (netPeers.length > 0) groups.push(new NetConnectorGroup(port!, netPeers));
    const prims = new Prims(rank, size, connectors, groups, kernels, ctx, slotBytes);
    const state: CommState = {
      pool,
      device,
      id,
      label: commLabel(pool, id),
      rank,
      size,
      timeoutMs,
      slotBytes,
      hostRanks,
      words,
      sync,
      mem,
      layout,
      priv,
      scratchBuf,
      scratchExport,
      privBuf,
      privExport,
      internalBuf,
      port,
      connectors,
      scratchImports,
      imports,
      regs: new Registrations(pool, device, () => port, () => Atomics.add(words, Hdr.REG_GEN, 1)),
      kernels,
      prims,
      clock,
      ctx,
      directory,
      peerRank,
      peerName,
    };
    if (port) port.peerName = state.peerName;
    if (port && directory) port.onAbort = (q) => setAborted(words, q, 'ECANCELED', `${state.peerName(q)} aborted the communicator; its own error says why`);
    sync.post(me + R.JOINED, 1);
    for (let q = 0; q < size; q++) if (q !== rank && !remote(q)) sync.waitFor(rankBase(q) + R.JOINED, 1, ctx, q, 'did not finish joining');
    if (debugLevel() >= Level.INFO && (debugSubsystems() & Subsys.INIT) !== 0) {
      const by = (t: string) => connectors.flatMap((c, q) => (c?.type === t ? [q] : []));
      const user = (options as InternalCommOptions)[USER_RANKS]?.[rank];
      debugLine(state.peerRank(rank), Level.INFO, `joined communicator ${state.label} as rank ${rank} of ${size}${user ? ` (a step group of rank ${user.rank})` : ''} on device ${device.index}: shm peers [${by('shm').join(',')}], net peers [${by('net').join(',')}]${port ? ` over provider ${port.provider}` : ''}, FIFO slots ${slotBytes} B, kernels ${kernels.flavor}`);
    }
    return state;
    }
  } catch (e) {
    // Peers waiting for this rank fail now, not at their deadline.
    setAborted(words, rank, (e as TransportError).code ?? 'EIO', `rank ${rank} failed to join: ${(e as Error).message}`);
    for (const undo of cleanup.reverse()) {
      try {
        undo();
      } catch {
        // Best effort: the first error is the one to report.
      }
    }
    throw e;
  }
}
