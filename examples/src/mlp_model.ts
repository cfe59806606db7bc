// The model of the data-parallel example: a small MLP (2 → hidden tanh → 1
// logit) for two-class data, built with tfjs-layers from seeded
// initializers so that every rank (and a reference) can build the same one.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { TransportError } from '@collective/transport';

/**
 * Selects tfjs's plain-JavaScript CPU backend. Production mode turns off
 * tfjs's console warnings, among them the one that suggests tfjs-node (a
 * native addon, which this project does not use).
 */
export async function useCpuBackend(): Promise<void> {
  tf.enableProdMode();
  if (!(await tf.setBackend('cpu'))) throw new TransportError('EIO', "tfjs could not select its 'cpu' backend");
}

export function buildMlp(hidden: number, seed: number): tfl.Sequential {
  if (!Number.isSafeInteger(hidden) || hidden <= 0) throw new TransportError('EINVAL', `hidden must be a positive integer (got ${String(hidden)})`);
  if (!Number.isSafeInteger(seed)) throw new TransportError('EINVAL', `seed must be an integer (got ${String(seed)})`);
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ name: 'hidden', inputShape: [2], units: hidden, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed }), biasInitializer: 'zeros' }),
      tfl.layers.dense({ name: 'output', units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }), biasInitializer: 'zeros' }),
    ],
  });
}

/** The trainable variables of `model`, sorted by name: the fixed order in which parameters and gradients are flattened. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  const vars = model.trainableWeights.map((w) => {
    const v = w.read();
    if (!(v instanceof tf.Variable)) throw new TransportError('EINVAL', `weight ${w.name} is not backed by a tf.Variable`);
    return v;
  });
  return vars.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Mean sigmoid cross-entropy of the model's logits on rows `x` (n × 2) with 0/1 `labels` (n × 1). */
export function meanLoss(model: tfl.LayersModel, x: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
  const logits = model.apply(x, { training: true });
  if (!(logits instanceof tf.Tensor)) throw new TransportError('EINVAL', 'the model must have exactly one output tensor');
  return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
}
