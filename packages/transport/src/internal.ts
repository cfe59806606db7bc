// What the runtime needs of the transport beyond its public API: raw pool
// offsets and record reads. Not for applications: everything here bypasses
// the handle checks the public classes make. Reached as
// '@collective/transport/internal'.
export { RESERVED_BYTES } from './constants.js';
export { allocateHost, freeHost } from './host_memory.js';
export { bufferSlotOfRange } from './device.js';
export { mayBlockAt, reservationAt } from './reservation.js';
export { ReusableFence } from './reusable_fence.js';
export { bufferProbe, exportProbe } from './record_probe.js';
export { waitWhileEqual, deadlineAfter } from './atomics_wait.js';
