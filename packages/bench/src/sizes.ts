import { TransportError } from '@collective/transport';

/** An upper bound for a size flag, and why it exists (ends the error message). */
export interface SizeLimit {
  max: number;
  why: string;
}

/**
 * Parses nccl-tests sizes: 8, 64K, 1M, 1G (binary units). Errors quote the
 * text as typed, so a user never sees a number they did not write.
 */
export function parseSize(text: string | number, flag: string, limit?: SizeLimit): number {
  const m = /^(\d+)\s*([kmgKMG]?)[bB]?$/.exec(String(text).trim());
  if (!m) throw new TransportError('EINVAL', `${flag} must be a size such as 8, 64K, 32M or 1G (got '${text}')`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!;
  const bytes = Number(m[1]) * mult;
  if (!Number.isSafeInteger(bytes)) throw new TransportError('EINVAL', `${flag} is too large (got '${text}')`);
  if (limit && bytes > limit.max) throw new TransportError('EINVAL', `${flag} must be at most ${formatBytes(limit.max)} ${limit.why} (got '${text}')`);
  return bytes;
}

/**
 * -b/-e with -f (multiply by factor, nccl-tests' stepfactor) or -i (add a
 * fixed number of bytes, nccl-tests' stepbytes).
 */
export function sweep(min: number, max: number, factor: number, stepBytes = 0): number[] {
  if (!(min >= 0) || !(max >= min)) throw new TransportError('EINVAL', `-e (max bytes, ${max}) must be at least -b (min bytes, ${min})`);
  const out: number[] = [];
  if (stepBytes > 0) {
    for (let s = min; s <= max; s += stepBytes) out.push(s);
    return out;
  }
  if (!(factor > 1)) throw new TransportError('EINVAL', `-f (step factor) must be greater than 1 (got ${factor})`);
  for (let s = min; s <= max; s = s === 0 ? 1 : s * factor) out.push(s);
  return out;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3}G`;
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}
