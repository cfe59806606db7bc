// The package's entry in a web page (the "browser" export condition): the
// same API as index.ts but for what needs a process, files or sockets: the
// reader of the user's cookie file (the tcp provider's business) is left
// out, and the provider table holds shm alone.
export { PAGE_SIZE, WASM_PAGE_SIZE } from './constants.js';
export { TransportError, type ErrorCode } from './errors.js';
export { DEFAULT_WAIT_MS, WAIT_TIMEOUT_ENV } from './default_wait.js';
export { Pool, type PoolDescriptor, type PoolOptions } from './pool.js';
export { DEBUG_SUBSYS_ENV, debugSubsystems, Subsys } from './debug_subsys.js';
export { jobSecretOf, setJobSecret } from './job_secret_slot.js';
export type { Capacities } from './control_layout.js';
export { Device, DeviceBuffer, type ExportOptions, type WaitOptions } from './device.js';
export { DmaBuf } from './dmabuf.js';
export type { DmaBufHandle } from './dmabuf_handle.js';
export { Attachment, CpuView, Mapping, type AttachOptions, type MapRange, type Segment } from './attachment.js';
export { Fence, type FenceId } from './fence.js';
export { Reservation, Usage, usageFor, type Access } from './reservation.js';
export { SyncFile, type SyncFileDescriptor } from './sync_file.js';
export { getInfo, selectProvider, type InfoHints } from './fabric/info.js';
export { Fabric, Domain, type RegisterOptions } from './fabric/fabric.js';
export { AddressVector } from './fabric/address_vector.js';
export { CompletionQueue, type Completion, type CompletionError, type CompletionOp } from './fabric/completion_queue.js';
export { Counter, type CounterEvent } from './fabric/counter.js';
export { Endpoint, type RmaOp, type CqBindFlags } from './fabric/endpoint.js';
export { MemoryRegion, type RemoteAccessName } from './fabric/memory_region.js';
export { MrAccess, type MrAccessName } from './fabric/access.js';
export type { Capability, EndpointAddress, FabricInfo, ProviderName, Provider } from './fabric/provider.js';
