// One flat Float32Array for many tensors (parameters or their gradients),
// in a fixed order: what a collective moves in one call instead of one call
// per tensor (PyTorch DDP's gradient bucket).
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { TransportError } from '@collective/transport';

export interface BucketSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** Where each named tensor sits in the bucket, in the given order. */
export interface BucketLayout {
  slots: BucketSlot[];
  /** elements in the bucket */
  size: number;
}

export function layoutOf(tensors: readonly { name: string; shape: number[] }[]): BucketLayout {
  let offset = 0;
  const slots = tensors.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const slot = { name, shape: [...shape], offset, size };
    offset += size;
    return slot;
  });
  return { slots, size: offset };
}

/** Copies `tensors` (by name) into `bucket`, which must hold layout.size elements. */
export function flattenInto(layout: BucketLayout, tensors: tf.NamedTensorMap, bucket: Float32Array): void {
  if (bucket.length !== layout.size) throw new TransportError('EINVAL', `bucket has ${bucket.length} elements; the layout needs ${layout.size}`);
  for (const slot of layout.slots) {
    const t = tensors[slot.name];
    if (t === undefined) throw new TransportError('ENOENT', `no tensor named '${slot.name}' to put into the bucket (have ${Object.keys(tensors).join(', ')})`);
    if (t.size !== slot.size) throw new TransportError('EINVAL', `tensor '${slot.name}' has ${t.size} elements; its slot has ${slot.size}`);
    bucket.set(t.dataSync() as Float32Array, slot.offset);
  }
}

/** New tensors, one per slot, holding copies of the bucket's values (the bucket is reused afterwards). */
export function unflatten(layout: BucketLayout, bucket: Float32Array): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const slot of layout.slots) out[slot.name] = tf.tensor(bucket.slice(slot.offset, slot.offset + slot.size), slot.shape, 'float32');
  return out;
}

/** Current values of `variables`, flattened in their order into a new host array. */
export function snapshot(variables: readonly tf.Variable[]): Float32Array {
  const layout = layoutOf(variables);
  const out = new Float32Array(layout.size);
  flattenInto(layout, Object.fromEntries(variables.map((v) => [v.name, v])), out);
  return out;
}

/** 64 bits of SHA-256 of the array's bytes, as hex: equal hashes mean (all but surely) bitwise-equal arrays. */
export function hashOf(values: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex').slice(0, 16);
}
