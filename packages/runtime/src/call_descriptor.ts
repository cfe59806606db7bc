import { ALGO_CODE } from './algorithm.js';
import { D } from './comm_layout.js';
import { KIND } from './collective_kind.js';
import { DTYPES } from './dtypes.js';
import { OPS } from './ops.js';

/** Descriptor fields every rank must agree on. */
export const CHECKED = [D.KIND, D.COUNT, D.DTYPE, D.OP, D.ROOT, D.ALGO] as const;

const kindNames = Object.keys(KIND);
const algoName = (v: number) => Object.keys(ALGO_CODE).find((k) => ALGO_CODE[k as keyof typeof ALGO_CODE] === v) ?? 'tuned';

const FIELDS: Partial<Record<D, [string, (v: number) => string]>> = {
  [D.KIND]: ['collective', (v) => kindNames[v - 1] ?? String(v)],
  [D.COUNT]: ['count', String],
  [D.DTYPE]: ['dtype', (v) => DTYPES[v] ?? String(v)],
  [D.OP]: ['op', (v) => OPS[v] ?? String(v)],
  [D.ROOT]: ['root', String],
  [D.ALGO]: ['algorithm', algoName],
};

/** "rank 1 passed count 9 but rank 0 passed 8", for a field two ranks disagree on. */
export function describeMismatch(field: D, peer: number, theirs: number, rank: number, mine: number): string {
  const [name, fmt] = FIELDS[field]!;
  return `rank ${peer} passed ${name} ${fmt(theirs)} but rank ${rank} passed ${fmt(mine)}; every rank must make the same call`;
}
