// The transport's interface for runtimes ('@collective/transport/runtime'),
// documented in docs/runtime_interface.md: what a collective runtime needs
// beyond the application API, to keep its per-call checks to plain loads.
// Everything here trusts its caller with raw pool offsets and record slots,
// so it is kept apart from the application entry ('@collective/transport'):
// an application never needs it, and a runtime needs nothing else.
// The platform module's two sides (Node, browser) are picked by the
// package's "browser" map, so a runtime imports one name for both.
export { allocateHost, freeHost } from './host_memory.js';
export { bufferSlotOfRange } from './device.js';
export { ReusableFence } from './reusable_fence.js';
export { bufferProbe, exportProbe } from './record_probe.js';
export { platformName, type PlatformThread, currentThreadId, hostName, processId, cpuCount, envSetting, logLine, unrefTimer, randomFill, startThread, threadData, onParentMessage, nextParentMessage, postToParent, onThreadStart, readTextFile, writeTextFile, moduleHref, missingModuleFile } from './platform.js';
