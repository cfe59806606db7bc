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

/**
 * 2 → hidden (tanh) → … → 1 logit with `depth` hidden layers. Layer names
 * are 'hidden', 'hidden2', … and 'output'; kernels draw from seed, seed + 1,
 * … in layer order (depth 1 is the example's original model).
 */
export function buildMlp(hidden: number, seed: number, depth = 1): tfl.Sequential {
  if (!Number.isSafeInteger(hidden) || hidden <= 0) throw new TransportError('EINVAL', `hidden must be a positive integer (got ${String(hidden)})`);
  if (!Number.isSafeInteger(seed)) throw new TransportError('EINVAL', `seed must be an integer (got ${String(seed)})`);
  if (!Number.isSafeInteger(depth) || depth <= 0) throw new TransportError('EINVAL', `depth must be a positive integer (got ${String(depth)})`);
  const hiddenLayers = Array.from({ length: depth }, (_, l) =>
    tfl.layers.dense({
      name: l === 0 ? 'hidden' : `hidden${l + 1}`,
      ...(l === 0 ? { inputShape: [2] } : {}),
      units: hidden,
      activation: 'tanh',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + l }),
      biasInitializer: 'zeros',
    }),
  );
  const output = tfl.layers.dense({ name: 'output', units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + depth }), biasInitializer: 'zeros' });
  return tfl.sequential({ layers: [...hiddenLayers, output] });
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

/** One dense layer's parameters and activation, as the model computes it. */
export interface DenseParams {
  layer: string;
  kernel: tf.Variable;
  bias: tf.Variable;
  activation: 'tanh' | 'linear';
}

/** The model's dense layers in forward order: what a hand-written forward pass over the same variables needs. */
export function denseLayers(model: tfl.LayersModel): DenseParams[] {
  return model.layers.map((layer) => {
    const config = layer.getConfig();
    const activation = config['activation'];
    if (layer.getClassName() !== 'Dense' || (activation !== 'tanh' && activation !== 'linear')) {
      throw new TransportError('EINVAL', `layer ${layer.name} is a ${layer.getClassName()} with activation ${String(activation)}; only Dense layers with tanh or linear activation are supported`);
    }
    const [kernel, bias] = layer.trainableWeights.map((w) => w.read());
    if (!(kernel instanceof tf.Variable && kernel.rank === 2 && bias instanceof tf.Variable && bias.rank === 1)) {
      throw new TransportError('EINVAL', `layer ${layer.name} must have a trainable 2-d kernel and a 1-d bias`);
    }
    return { layer: layer.name, kernel, bias, activation };
  });
}

/** Mean sigmoid cross-entropy of the model's logits on rows `x` (n × 2) with 0/1 `labels` (n × 1). */
export function meanLoss(model: tfl.LayersModel, x: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
  const logits = model.apply(x, { training: true });
  if (!(logits instanceof tf.Tensor)) throw new TransportError('EINVAL', 'the model must have exactly one output tensor');
  return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
}
