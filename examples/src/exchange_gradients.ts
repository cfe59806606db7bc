import type * as tf from '@tensorflow/tfjs-core';
import type { Communicator } from '@collective/runtime';
import { type BucketLayout, flattenInto, unflatten } from './param_bucket.js';

/**
 * The data-parallel gradient exchange: this rank's gradients go into one
 * bucket of device memory, one all-reduce averages them over the ranks, and
 * the averages come back as new tensors (the caller disposes both maps).
 * Kept alone so it can be swapped for a bucketed, overlapped version.
 */
export function exchangeGradients(comm: Communicator, grads: tf.NamedTensorMap, layout: BucketLayout, bucket: Float32Array): tf.NamedTensorMap {
  flattenInto(layout, grads, bucket);
  comm.allReduce(bucket, bucket, { op: 'avg' });
  return unflatten(layout, bucket);
}
