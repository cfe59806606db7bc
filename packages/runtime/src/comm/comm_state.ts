import type { Device, DeviceBuffer, DmaBuf, Pool } from '@collective/transport';
import type { Connector } from '../connectors/connector.js';
import type { NetPort } from '../connectors/net_port.js';
import type { ReduceKernels } from '../kernels/reduce_kernels.js';
import type { Prims } from '../primitives.js';
import type { PeerImports } from '../registration/peer_imports.js';
import type { Registrations } from '../registration/registrations.js';
import type { PrivateLayout, ScratchLayout } from '../scratch_layout.js';
import type { CallClock } from '../comm_base/call_clock.js';
import type { CommId } from './comm_id.js';
import type { RankSync } from '../comm_base/rank_sync.js';
import type { PeerRecord } from '../comm_base/peer_record.js';
import type { CommWaitContext } from '../comm_base/wait_context.js';

/** Everything a rank holds for one communicator; made by setupComm, used by the call protocol. */
export interface CommState {
  readonly pool: Pool;
  readonly device: Device;
  readonly id: CommId;
  /** the communicator's name in flight records and logs (commLabel): agreed across processes when the id carries one */
  readonly label: string;
  readonly rank: number;
  readonly size: number;
  readonly timeoutMs: number;
  readonly slotBytes: number;
  /** ranks of the job on this machine (CommOptions.hostRanks) */
  readonly hostRanks: number;
  /** the shared block */
  readonly words: Int32Array;
  readonly sync: RankSync;
  readonly mem: Uint8Array;
  readonly layout: ScratchLayout;
  readonly priv: PrivateLayout;
  readonly scratchBuf: DeviceBuffer;
  readonly scratchExport: DmaBuf;
  readonly privBuf: DeviceBuffer;
  readonly privExport: DmaBuf | undefined;
  /** a page of device memory for the communicator's own small exchanges (split) */
  readonly internalBuf: DeviceBuffer;
  readonly port: NetPort | undefined;
  readonly connectors: (Connector | undefined)[];
  /** this rank's imports of peers' scratch (shm), released at teardown */
  readonly scratchImports: DmaBuf[];
  readonly imports: PeerImports;
  readonly regs: Registrations;
  readonly kernels: ReduceKernels;
  readonly prims: Prims;
  readonly clock: CallClock;
  readonly ctx: CommWaitContext;
  /** every rank's record when the communicator spans processes; undefined when all ranks share this pool */
  readonly directory: readonly PeerRecord[] | undefined;
  /** how errors name a rank: with host and pid when it lives in another process */
  readonly peerName: (rank: number) => string;
  /** a peer's rank on the communicator the user called (differs in a hierarchy's internal children) */
  readonly peerRank: (rank: number) => number;
}
