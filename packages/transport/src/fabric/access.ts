import { fail } from '../errors.js';

/** fi_mr access bits (FI_READ, FI_WRITE, FI_REMOTE_READ, FI_REMOTE_WRITE, FI_SEND, FI_RECV). */
export const MrAccess = {
  read: 1,
  write: 2,
  remoteRead: 4,
  remoteWrite: 8,
  send: 16,
  recv: 32,
} as const;
export type MrAccessName = keyof typeof MrAccess;

export function accessMask(names: readonly MrAccessName[]): number {
  if (!Array.isArray(names) || names.length === 0) {
    fail('EINVAL', `options.access must be a non-empty array of ${Object.keys(MrAccess).join(', ')}`);
  }
  let mask = 0;
  for (const n of names) {
    const bit = (MrAccess as Record<string, number | undefined>)[n];
    if (bit === undefined) fail('EINVAL', `options.access has unknown flag '${String(n)}'; use ${Object.keys(MrAccess).join(', ')}`);
    mask |= bit;
  }
  return mask;
}
