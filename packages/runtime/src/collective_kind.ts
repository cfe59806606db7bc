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
