/** Collective kinds as published in call descriptors. */
export const KIND = {
  allReduce: 1,
  allGather: 2,
  reduceScatter: 3,
  broadcast: 4,
  reduce: 5,
  allToAll: 6,
  barrier: 7,
  split: 8,
} as const;
export type CollectiveKind = keyof typeof KIND;

export const KIND_NAME: Record<number, CollectiveKind> = Object.fromEntries(
  Object.entries(KIND).map(([k, v]) => [v, k as CollectiveKind]),
) as Record<number, CollectiveKind>;
