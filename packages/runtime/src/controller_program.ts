// The device half of World's single-controller calls: each device copies
// its input from the controller's message into device memory, runs one
// collective, and sends its output back.
import { TransportError } from '@collective/transport';
import { checkCollectiveOptions, type CollectiveOptions } from './collective_options.js';
import { type DeviceArray, dtypeOf } from './device_array.js';
import type { DeviceContext } from './device_context.js';
import type { Dtype } from './dtypes.js';

export const CONTROLLER_KINDS = ['allReduce', 'allGather', 'reduceScatter', 'broadcast', 'reduce', 'allToAll'] as const;
export type ControllerKind = (typeof CONTROLLER_KINDS)[number];

/** The CLI's names (nccl-tests') for the same collectives. */
const ALIASES: Record<string, ControllerKind> = {
  all_reduce: 'allReduce',
  all_gather: 'allGather',
  reduce_scatter: 'reduceScatter',
  alltoall: 'allToAll',
  all_to_all: 'allToAll',
};

export function controllerKind(kind: unknown): ControllerKind {
  if (typeof kind === 'string') {
    if ((CONTROLLER_KINDS as readonly string[]).includes(kind)) return kind as ControllerKind;
    const alias = ALIASES[kind];
    if (alias) return alias;
  }
  throw new TransportError('EINVAL', `kind must be one of ${CONTROLLER_KINDS.join(', ')} (or ${Object.keys(ALIASES).join(', ')}) (got ${String(kind)})`);
}

/** Elements of each device's output; refuses input lengths the collective cannot split. */
export function outputLength(kind: ControllerKind, count: number, n: number): number {
  if ((kind === 'reduceScatter' || kind === 'allToAll') && count % n !== 0) {
    throw new TransportError('EINVAL', `${kind} needs input lengths that are a multiple of the ${n} devices (got ${count}); pad the inputs`);
  }
  return kind === 'allGather' ? count * n : kind === 'reduceScatter' ? count / n : count;
}

export interface ControllerArgs {
  kind: ControllerKind;
  dtype: Dtype;
  inputs: ArrayBufferView[];
  options: CollectiveOptions;
}

/**
 * A single-controller call's arguments, checked on the main thread before
 * any device starts, so bad ones leave the World usable: one input per
 * device of this process (`localSize`), all of one dtype and length.
 */
export function controllerArgs(kind: ControllerKind | string, inputs: unknown, options: CollectiveOptions, localSize: number, size: number, joined: boolean): ControllerArgs {
  const k = controllerKind(kind);
  if (!Array.isArray(inputs) || inputs.length !== localSize) {
    throw new TransportError('EINVAL', `${k} needs one input array per device${joined ? ' of this process' : ''} (${localSize}), got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`);
  }
  const arrays = inputs as DeviceArray[];
  checkCollectiveOptions(k, options, size);
  const dtype = dtypeOf(arrays[0]!, options.dtype);
  for (const [r, a] of arrays.entries()) {
    if (dtypeOf(a, options.dtype) !== dtype) throw new TransportError('EINVAL', `inputs[${r}] is not ${dtype}; every input must have the dtype of inputs[0]`);
    if (a.length !== arrays[0]!.length) throw new TransportError('EINVAL', `inputs[${r}] has ${a.length} elements but inputs[0] has ${arrays[0]!.length}; every input must have the same length`);
  }
  outputLength(k, arrays[0]!.length, size);
  return { kind: k, dtype, inputs: arrays, options };
}

export default function controllerProgram(ctx: DeviceContext): ArrayBufferView {
  const { kind, dtype, inputs, options } = ctx.args as ControllerArgs;
  // One input per device of this process, in local order.
  const input = inputs[ctx.localRank]! as DeviceArray;
  const send = ctx.alloc(dtype, input.length);
  const recv = ctx.alloc(dtype, outputLength(kind, input.length, ctx.size));
  new Uint8Array(send.buffer, send.byteOffset, send.byteLength).set(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  const c = ctx.comm;
  const call: Record<ControllerKind, (s: DeviceArray, r: DeviceArray) => void> = {
    allReduce: (s, r) => c.allReduce(s, r, options),
    allGather: (s, r) => c.allGather(s, r, options),
    reduceScatter: (s, r) => c.reduceScatter(s, r, options),
    broadcast: (s, r) => c.broadcast(s, r, options),
    reduce: (s, r) => c.reduce(s, r, options),
    allToAll: (s, r) => c.allToAll(s, r, options),
  };
  call[kind](send, recv);
  // A copy out of device memory: the message must not alias the pool.
  return recv.slice();
}
