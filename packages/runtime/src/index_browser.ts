// The package's entry in a web page (the "browser" export condition):
// index.ts without the bootstrap (stores, rendezvous, the launchers'
// environments), which needs sockets, files and processes. World.join
// is there but refuses: a page is one process.
export { DTYPES, DTYPE_BYTES, checkDtype, type Dtype } from './dtypes.js';
export { OPS, checkOp, type ReduceOp } from './ops.js';
export { Communicator, type CommId, type CommOptions, type CollectiveOptions } from './communicator.js';
export { CollectiveError } from './comm_errors.js';
export type { TraceDump, TraceEntry } from './comm/flight_recorder.js';
export { type DeviceArray, dtypeOf, viewOf } from './device_array.js';
export { DeviceContext, type SpmdFunction } from './device_context.js';
export { World, type WorldOptions, type JoinOptions } from './world.js';
export { CommStream } from './stream/comm_stream.js';
export { Work } from './stream/work.js';
export { DataParallel, allReduceHook, DEFAULT_BUCKET_BYTES, type CommHook, type DataParallelOptions, type GradBucket, type HookResult } from './adapters/data_parallel.js';
export { bf16CompressHook, toBfloat16, fromBfloat16 } from './adapters/comm_hooks.js';
export { ALGORITHMS, PROTOCOLS, type AlgorithmName, type Protocol } from './algorithm.js';
export { chooseAlgorithm, algorithmNames, envAlgorithm, wantsHier, HIER, tunerCandidates, tunedRules, LL_MAX_BYTES, ALGO_ENV, PROTO_ENV, type ChoiceContext } from './tuner.js';
export { checkTable, TUNER_FILE_ENV } from './tuner_rules.js';
export type { TunerRule, TuningTable } from './tuning_table.js';
export { DEFAULT_TUNING } from './tuner_default.js';
export { ReduceKernels, defaultFlavor, type KernelFlavor } from './kernels/reduce_kernels.js';
export { type CollectiveKind } from './collective_kind.js';
