import { readTextFile } from '@collective/transport/runtime';
import { TransportError } from '@collective/transport';
import { ALGORITHMS, PROTOCOLS } from './algorithm.js';
import type { CollectiveKind } from './collective_kind.js';
import { DEFAULT_TUNING } from './tuner_default.js';
import type { TunerRule, TuningTable } from './tuning_table.js';

export const TUNER_FILE_ENV = 'COLLECTIVE_TUNER_FILE';

/** Checks a table read from a file, naming the first bad row. */
export function checkTable(t: unknown, from: string): TuningTable {
  const table = t as TuningTable;
  if (!table || table.format !== 'collective-tuning/1' || !Array.isArray(table.rules)) {
    throw new TransportError('EINVAL', `${from} is not a tuning table (expected format 'collective-tuning/1' and a rules array, as collective-bench tune writes)`);
  }
  for (const [i, r] of table.rules.entries()) {
    const bad = !r || typeof r.collective !== 'string' || !Number.isSafeInteger(r.ranks) || r.ranks < 1 || !Number.isSafeInteger(r.maxBytes) || r.maxBytes < 0 ||
      !(ALGORITHMS as readonly string[]).includes(r.algo) || !(PROTOCOLS as readonly string[]).includes(r.proto);
    if (bad) throw new TransportError('EINVAL', `${from}: rule ${i} must have collective, ranks ≥ 1, maxBytes ≥ 0, algo in ${ALGORITHMS.join('/')} and proto in ${PROTOCOLS.join('/')} (got ${JSON.stringify(r)})`);
  }
  return table;
}

/** The table in force: COLLECTIVE_TUNER_FILE if set (read once per process), else the one shipped. */
let loaded: TuningTable | undefined;
export function tuningTable(env: string | undefined): TuningTable {
  if (!env) return DEFAULT_TUNING;
  if (!loaded) {
    let text: string;
    try {
      text = readTextFile(env);
    } catch (e) {
      throw new TransportError('ENOENT', `${TUNER_FILE_ENV}=${env} cannot be read (${(e as Error).message}); write one with collective-bench tune --out ${env}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new TransportError('EINVAL', `${TUNER_FILE_ENV}=${env} is not JSON (${(e as Error).message}); write one with collective-bench tune --out ${env}`);
    }
    loaded = checkTable(parsed, env);
  }
  return loaded;
}

/**
 * The rules of `kind` for a world of `nranks`: those measured with the
 * most ranks not above it (or the fewest there are). They are a decision
 * list in table order: the first that covers the size and can run wins,
 * so a table lists, per size, the fastest choice first and its fallbacks
 * (another protocol) after it.
 */
export function rulesFor(table: TuningTable, kind: CollectiveKind, nranks: number): TunerRule[] {
  const mine = table.rules.filter((r) => r.collective === kind);
  if (mine.length === 0) return [];
  const sizes = [...new Set(mine.map((r) => r.ranks))].sort((a, b) => a - b);
  const ranks = sizes.filter((s) => s <= nranks).at(-1) ?? sizes[0]!;
  return mine.filter((r) => r.ranks === ranks);
}
