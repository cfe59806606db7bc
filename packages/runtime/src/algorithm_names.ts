export const ALGORITHMS = ['oneshot', 'twoshot', 'ring', 'tree', 'direct'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];
export const ALGO_CODE: Record<AlgorithmName, number> = { oneshot: 1, twoshot: 2, ring: 3, tree: 4, direct: 5 };

/**
 * How bytes travel (NCCL's protocols): `ll` puts a small input and a flag
 * word carrying the call's sequence number and fingerprint in the sender's
 * own slot, in one cache line for the first 56 bytes, so a call costs one
 * line crossing per peer and no separate handshake; `simple` announces the
 * call (descriptor and sequence word) and moves data through registered
 * buffers or FIFOs.
 */
export const PROTOCOLS = ['ll', 'simple'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** The algorithm code a descriptor carries: the protocol is part of it, so ranks on different protocols mismatch. */
export function algoCode(name: AlgorithmName, proto: Protocol): number {
  return ALGO_CODE[name] + (proto === 'll' ? 8 : 0);
}

export function algoOfCode(code: number): string {
  if (code === 0) return 'none';
  const ll = code > 8;
  const name = ALGORITHMS[(ll ? code - 8 : code) - 1] ?? String(code);
  return ll ? `${name}/ll` : name;
}
