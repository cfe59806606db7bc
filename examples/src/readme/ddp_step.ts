import { bf16CompressHook, DataParallel, type DeviceContext } from '@collective/runtime';

const TRUE_WEIGHT = [1, -2, 3];
const TRUE_BIAS = 0.5;
const ROWS = 64;

/** Rows of micro-batch `micro` of `step` for `rank`: x uniform in [-1, 1), y = x·w* + b*. */
function batch(rank: number, step: number, micro: number): { x: Float32Array; y: Float32Array } {
  let s = (rank * 7919 + step * 104729 + micro * 1299709 + 1) >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const x = new Float32Array(ROWS * 3);
  const y = new Float32Array(ROWS);
  for (let r = 0; r < ROWS; r++) {
    for (let k = 0; k < 3; k++) x[r * 3 + k] = next();
    y[r] = x[r * 3]! * TRUE_WEIGHT[0]! + x[r * 3 + 1]! * TRUE_WEIGHT[1]! + x[r * 3 + 2]! * TRUE_WEIGHT[2]! + TRUE_BIAS;
  }
  return { x, y };
}

/** The framework's backward pass: adds the gradient of the mean squared error / 2 into gw and gb. */
function backward(weight: Float32Array, bias: Float32Array, x: Float32Array, y: Float32Array, gw: Float32Array, gb: Float32Array): void {
  for (let r = 0; r < ROWS; r++) {
    const err = x[r * 3]! * weight[0]! + x[r * 3 + 1]! * weight[1]! + x[r * 3 + 2]! * weight[2]! + bias[0]! - y[r]!;
    for (let k = 0; k < 3; k++) gw[k]! += (err * x[r * 3 + k]!) / ROWS;
    gb[0]! += err / ROWS;
  }
}

// Needs World.start({ devices, streams: true }).
export default function trainStep(ctx: DeviceContext): number[] {
  const { steps, lr, bf16 } = ctx.args as { steps: number; lr: number; bf16: boolean };
  // README:begin data-parallel
  const weight = new Float32Array(3).fill(ctx.rank); // ranks may start different: rank 0's values are broadcast
  const bias = new Float32Array(1);
  const params = [weight, bias]; // registration (forward) order
  const ddp = new DataParallel(ctx, params, { bucketBytes: 1 << 20, ...(bf16 && { commHook: bf16CompressHook }) });
  const [gw, gb] = ddp.grads as [Float32Array, Float32Array]; // views into the buckets (device memory)
  for (let step = 0; step < steps; step++) {
    ddp.zeroGrad();
    ddp.noSync(); // micro-batch 0 only accumulates locally
    const m0 = batch(ctx.rank, step, 0);
    backward(weight, bias, m0.x, m0.y, gw, gb);
    ddp.finish(); // nothing is sent
    const m1 = batch(ctx.rank, step, 1);
    backward(weight, bias, m1.x, m1.y, gw, gb); // a real backward would call gradReady as each gradient is final
    ddp.gradReady(1); // the last layer's gradient first, as backward produces them
    ddp.gradReady(0); // its bucket is complete: its all-reduce starts on ctx.stream now
    ddp.finish(); // waits: gw and gb hold the average over ranks of the two micro-batches' sum
    for (let k = 0; k < 3; k++) weight[k]! -= (lr / 2) * gw[k]!;
    bias[0]! -= (lr / 2) * gb[0]!;
  }
  // README:end data-parallel
  return [...weight, ...bias];
}
