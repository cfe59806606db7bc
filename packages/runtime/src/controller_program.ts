// The device half of World's single-controller calls: each device copies
// its input from the controller's message into device memory, runs one
// collective, and sends its output back.
import type { CollectiveOptions } from './communicator.js';
import type { DeviceArray } from './device_array.js';
import type { DeviceContext } from './device_context.js';
import type { Dtype } from './dtypes.js';

export type ControllerKind = 'allReduce' | 'allGather' | 'reduceScatter' | 'broadcast' | 'reduce' | 'allToAll';

export interface ControllerArgs {
  kind: ControllerKind;
  dtype: Dtype;
  inputs: ArrayBufferView[];
  options: CollectiveOptions;
}

export default function controllerProgram(ctx: DeviceContext): ArrayBufferView {
  const { kind, dtype, inputs, options } = ctx.args as ControllerArgs;
  const input = inputs[ctx.rank]! as DeviceArray;
  const count = input.length;
  const n = ctx.size;
  const outCount = kind === 'allGather' ? count * n : kind === 'reduceScatter' ? count / n : count;
  const send = ctx.alloc(dtype, count);
  const recv = ctx.alloc(dtype, outCount);
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
