import { type Device, type DeviceBuffer, PAGE_SIZE, type Pool, TransportError } from '@collective/transport';
import type { Communicator } from './communicator.js';
import type { CommStream } from './stream/comm_stream.js';
import { type DeviceArray, viewOf } from './device_array.js';
import { checkDtype, DTYPE_BYTES, type Dtype } from './dtypes.js';

/** What an SPMD function gets in every device worker. */
export class DeviceContext {
  private readonly buffers: DeviceBuffer[] = [];

  constructor(
    readonly rank: number,
    readonly size: number,
    readonly comm: Communicator,
    readonly device: Device,
    readonly pool: Pool,
    readonly args: unknown,
    private readonly commStream?: CommStream,
    /** this device's index among the devices of its process (its rank in a one-process World) */
    readonly localRank: number = rank,
  ) {}

  /**
   * This device's communication stream: the collectives of comm, run in
   * issue order on a thread of their own, with Async forms that return a
   * Work. Needs World.start({ streams: true }).
   */
  get stream(): CommStream {
    if (!this.commStream) throw new TransportError('EINVAL', 'this World has no communication streams; start it with World.start({ devices, streams: true })');
    return this.commStream;
  }

  /** Whether this device has a communication stream. */
  get hasStream(): boolean {
    return this.commStream !== undefined;
  }

  /** Device memory for `count` elements, freed when the SPMD function returns. */
  alloc(dtype: 'float32', count: number): Float32Array;
  alloc(dtype: 'float64', count: number): Float64Array;
  alloc(dtype: 'float16' | 'bfloat16', count: number): Uint16Array;
  alloc(dtype: 'int8', count: number): Int8Array;
  alloc(dtype: 'uint8', count: number): Uint8Array;
  alloc(dtype: 'int32', count: number): Int32Array;
  alloc(dtype: 'uint32', count: number): Uint32Array;
  alloc(dtype: 'int64', count: number): BigInt64Array;
  alloc(dtype: Dtype, count: number): DeviceArray;
  alloc(dtype: Dtype, count: number): DeviceArray {
    checkDtype('dtype', dtype);
    if (!Number.isSafeInteger(count) || count < 0) throw new TransportError('EINVAL', `count must be a non-negative integer (got ${String(count)})`);
    const bytes = Math.max(PAGE_SIZE, Math.ceil((count * DTYPE_BYTES[dtype]) / PAGE_SIZE) * PAGE_SIZE);
    const buf = this.device.allocate(bytes);
    this.buffers.push(buf);
    return viewOf(this.pool, dtype, buf.offset, count);
  }

  /** Frees memory from alloc() before the function returns. */
  free(array: DeviceArray): void {
    const i = this.buffers.findIndex((b) => b.offset === array.byteOffset);
    if (i < 0) throw new TransportError('EINVAL', 'array was not allocated by this context (or was already freed)');
    this.device.free(this.buffers.splice(i, 1)[0]!);
  }

  /** @internal Waits for the stream's calls on this task's memory, then frees it. */
  release(): void {
    this.commStream?.quiesce();
    for (const b of this.buffers.splice(0)) this.device.free(b);
    // The stream's registrations of the freed buffers go now, so the pages return to the pool.
    this.commStream?.quiesce();
  }
}

export type SpmdFunction = (ctx: DeviceContext) => unknown;
