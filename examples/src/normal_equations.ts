// Least squares through the normal equations XᵀX·w = Xᵀy: the partial sums
// XᵀX and Xᵀy of disjoint row shards add up to those of the whole data set,
// which is what makes the problem a single all-reduce away from distributed.
import { TransportError } from '@collective/transport';


/** Entries of the packed normal equations for `cols` columns: XᵀX (cols², row-major), then Xᵀy (cols). */
export const packedLength = (cols: number): number => cols * cols + cols;

/**
 * Adds the XᵀX and Xᵀy of `rows` (row-major, `cols` wide) into `out`
 * (packed as packedLength describes). Rows are added in order, so the result
 * is the same wherever it runs.
 */
export function accumulateNormalEquations(x: Float64Array, y: Float64Array, cols: number, out: Float64Array): void {
  const n = y.length;
  if (x.length !== n * cols) throw new TransportError('EINVAL', `x has ${x.length} entries; ${n} rows of ${cols} columns need ${n * cols}`);
  if (out.length !== packedLength(cols)) throw new TransportError('EINVAL', `out has ${out.length} entries; ${cols} columns need ${packedLength(cols)}`);
  const xty = cols * cols;
  for (let r = 0; r < n; r++) {
    const base = r * cols;
    const yr = y[r]!;
    for (let i = 0; i < cols; i++) {
      const xi = x[base + i]!;
      // Upper triangle only; the lower one is mirrored at the end.
      for (let j = i; j < cols; j++) out[i * cols + j]! += xi * x[base + j]!;
      out[xty + i]! += xi * yr;
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) out[i * cols + j] = out[j * cols + i]!;
}

/**
 * Solves the packed normal equations by Cholesky (XᵀX = LLᵀ, then two
 * triangular solves). XᵀX of a full-column-rank X is symmetric positive
 * definite, so no pivoting is needed and the operation order is fixed.
 */
export function solveNormalEquations(packed: Float64Array, cols: number): Float64Array {
  if (packed.length !== packedLength(cols)) throw new TransportError('EINVAL', `packed has ${packed.length} entries; ${cols} columns need ${packedLength(cols)}`);
  const l = new Float64Array(cols * cols);
  for (let j = 0; j < cols; j++) {
    let d = packed[j * cols + j]!;
    for (let k = 0; k < j; k++) d -= l[j * cols + k]! ** 2;
    if (!(d > 0)) throw new TransportError('EINVAL', `XᵀX is not positive definite (pivot ${j} is ${d}): the columns of X are linearly dependent`);
    const ljj = Math.sqrt(d);
    l[j * cols + j] = ljj;
    for (let i = j + 1; i < cols; i++) {
      let s = packed[i * cols + j]!;
      for (let k = 0; k < j; k++) s -= l[i * cols + k]! * l[j * cols + k]!;
      l[i * cols + j] = s / ljj;
    }
  }
  const xty = cols * cols;
  const z = new Float64Array(cols); // L z = Xᵀy
  for (let i = 0; i < cols; i++) {
    let s = packed[xty + i]!;
    for (let k = 0; k < i; k++) s -= l[i * cols + k]! * z[k]!;
    z[i] = s / l[i * cols + i]!;
  }
  const w = new Float64Array(cols); // Lᵀ w = z
  for (let i = cols - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < cols; k++) s -= l[k * cols + i]! * w[k]!;
    w[i] = s / l[i * cols + i]!;
  }
  return w;
}
