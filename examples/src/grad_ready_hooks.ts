// DDP must learn that a parameter's gradient is final while backward is
// still running (torch registers a hook on each parameter's gradient
// accumulator). tfjs has no such hook, and optimizer.computeGradients hands
// back all gradients together at the very end. So here every weight enters
// the forward pass through an identity with a custom gradient: tfjs runs
// gradient functions in reverse tape order, so the identity's gradient
// function runs once the weight's gradient is complete and before the
// backward of the layers in front of it, and it passes the gradient on
// unchanged.
import * as tf from '@tensorflow/tfjs-core';
import { TransportError } from '@collective/transport';
import type { DenseParams } from './mlp_model.js';

/** Called from inside backward with parameter `index`'s final gradient (valid only during the call). */
export type GradListener = (index: number, grad: tf.Tensor) => void;

export class GradReadyHooks {
  private readonly identities = new Map<tf.Variable, (v: tf.Tensor) => tf.Tensor>();

  /** `params[i]` reports its gradient to onGrad(i, …). */
  constructor(params: readonly tf.Variable[], onGrad: GradListener) {
    params.forEach((p, i) => {
      const identity = tf.customGrad((v) => ({
        // clone shares the data: no copy on the cpu backend.
        value: tf.clone(v as tf.Tensor),
        gradFunc: (dy: tf.Tensor) => {
          onGrad(i, dy);
          return [dy];
        },
      }));
      this.identities.set(p, identity as (v: tf.Tensor) => tf.Tensor);
    });
  }

  /** The weight as the forward pass must use it for its gradient to be reported. */
  readonly tap = (v: tf.Variable): tf.Tensor => {
    const identity = this.identities.get(v);
    if (identity === undefined) throw new TransportError('ENOENT', `variable '${v.name}' has no gradient hook: it was not among the parameters given to GradReadyHooks`);
    return identity(v);
  };
}

/**
 * The model's mean loss computed over `layers` with every weight tapped, op
 * for op as tfjs-layers' Dense computes it (a fused matMul with the bias for
 * linear layers; matMul, bias add and activation otherwise), so gradients
 * come out as they do from model.apply. Within a layer the bias's gradient
 * is reported before the kernel's, which waits for the matMul's backward.
 */
export function hookedMeanLoss(layers: readonly DenseParams[], x: tf.Tensor2D, labels: tf.Tensor2D, tap: (v: tf.Variable) => tf.Tensor): tf.Scalar {
  let h: tf.Tensor = x;
  for (const l of layers) {
    if (l.activation === 'linear') {
      h = tf.fused.matMul({ a: h as tf.Tensor2D, b: tap(l.kernel) as tf.Tensor2D, bias: tap(l.bias), activation: 'linear' });
    } else {
      h = tf.tanh(tf.add(tf.fused.matMul({ a: h as tf.Tensor2D, b: tap(l.kernel) as tf.Tensor2D }), tap(l.bias)));
    }
  }
  return tf.losses.sigmoidCrossEntropy(labels, h) as tf.Scalar;
}
