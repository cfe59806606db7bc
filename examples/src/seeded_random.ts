// Counter-based pseudo-random numbers: value k of stream s is a hash of
// (s, k), so any rank can draw exactly the rows it owns, in any order, and
// get the same numbers as a single process drawing them all.

const GOLDEN = 0x9e3779b9;

/** The 32-bit finalizer of MurmurHash3: every input bit flips about half the output bits. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A stream identifier from a seed and 32-bit integer keys (row, purpose, ...); key order matters. */
export function streamOf(seed: number, ...keys: number[]): number {
  let h = mix32(seed ^ GOLDEN);
  for (const k of keys) h = mix32(h + mix32((k ^ GOLDEN) >>> 0));
  return h;
}

/** Draws of one stream, in order. */
export class SeededRandom {
  private counter = 0;

  constructor(private readonly stream: number) {}

  static of(seed: number, ...keys: number[]): SeededRandom {
    return new SeededRandom(streamOf(seed, ...keys));
  }

  /** 32 random bits. */
  nextUint32(): number {
    this.counter = (this.counter + 1) >>> 0;
    return mix32(this.stream ^ mix32(Math.imul(this.counter, GOLDEN)));
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Standard normal (Box–Muller; the second value of each pair is not kept, for simplicity). */
  normal(): number {
    const u = 1 - this.uniform(); // (0, 1]: log(0) never happens
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
