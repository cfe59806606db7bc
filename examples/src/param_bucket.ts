// One flat Float32Array for many tensors (parameters or their gradients),
// in a fixed order: what a collective moves in one call instead of one call
// per tensor (PyTorch DDP's gradient bucket).
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

/**
 * 64 bits of two seeded 32-bit word hashes (murmur3's mixing) of the
 * array's bits, as hex: equal hashes mean (all but surely) bitwise-equal
 * arrays. Plain arithmetic, so the example runs in a web page too (a page
 * has no synchronous SHA-256).
 */
export function hashOf(values: Float32Array): string {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let h1 = 0x9747b28c;
  let h2 = 0x85ebca6b;
  for (let i = 0; i < words.length; i++) {
    const k = Math.imul(rotl(Math.imul(words[i]!, 0xcc9e2d51), 15), 0x1b873593);
    h1 = Math.imul(rotl(h1 ^ k, 13), 5) + 0xe6546b64;
    h2 = Math.imul(rotl(h2 ^ Math.imul(k, 0x2c1b3c6d), 17), 9) + 0x561ccd1b;
  }
  return hex(finish(h1, words.length)) + hex(finish(h2, words.length));
}

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');

function finish(h: number, n: number): number {
  h ^= n;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
