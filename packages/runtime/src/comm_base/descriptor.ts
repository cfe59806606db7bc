import { algoOfCode } from '../algorithm_names.js';
import { KIND } from '../collective_kind.js';
import { DTYPES } from '../dtypes.js';
import { OPS } from '../ops.js';

/**
 * A call descriptor: what a rank announces for each call. Peers check the
 * first fields against their own (a mismatch fails the call everywhere)
 * and reach the rank's buffers only through the registrations named in
 * the rest: an export handle for shm peers, an MR key for net peers.
 */
export const enum D {
  KIND = 0,
  COUNT = 1,
  DTYPE = 2,
  OP = 3,
  ROOT = 4,
  ALGO = 5,
  SEQ = 6,
  SEND_EXP = 7,
  SEND_GEN = 8,
  SEND_SIZE = 9,
  SEND_OFF = 10,
  SEND_KEY_LO = 11,
  SEND_KEY_HI = 12,
  RECV_EXP = 13,
  RECV_GEN = 14,
  RECV_SIZE = 15,
  RECV_OFF = 16,
  RECV_KEY_LO = 17,
  RECV_KEY_HI = 18,
  WORDS = 20,
}

/** Fields every rank must agree on. */
export const CHECKED = [D.KIND, D.COUNT, D.DTYPE, D.OP, D.ROOT, D.ALGO] as const;

const kindNames = Object.keys(KIND);

const FIELDS: Partial<Record<D, [string, (v: number) => string]>> = {
  [D.KIND]: ['collective', (v) => kindNames[v - 1] ?? String(v)],
  [D.COUNT]: ['count', String],
  [D.DTYPE]: ['dtype', (v) => DTYPES[v] ?? String(v)],
  [D.OP]: ['op', (v) => OPS[v] ?? String(v)],
  [D.ROOT]: ['root', String],
  [D.ALGO]: ['algorithm', algoOfCode],
};

/** "rank 1 passed count 9 but rank 0 passed 8", for a field two ranks disagree on. */
export function describeMismatch(field: D, peerName: string, theirs: number, myName: string, mine: number): string {
  const [name, fmt] = FIELDS[field]!;
  return `${peerName} passed ${name} ${fmt(theirs)} but ${myName} passed ${fmt(mine)}; every rank must make the same call`;
}

/** The first field where two descriptors disagree, or -1. */
export function firstMismatch(mine: Int32Array, mineAt: number, theirs: Int32Array, theirsAt: number): D | -1 {
  for (const f of CHECKED) if (mine[mineAt + f] !== theirs[theirsAt + f]) return f;
  return -1;
}

/** A registration's key as two words (MR keys are 64-bit in libfabric). */
export function keyOf(words: Int32Array, at: number, lo: D): number {
  return (words[at + lo]! >>> 0) + (words[at + lo + 1]! >>> 0) * 2 ** 32;
}

export function putKey(words: Int32Array, at: number, lo: D, key: number): void {
  words[at + lo] = key >>> 0;
  words[at + lo + 1] = Math.floor(key / 2 ** 32);
}

/**
 * A 16-bit fingerprint of the checked fields, folded into ll flag words
 * next to 16 bits of the sequence number: a peer that made another call is
 * told apart by one load of the line its data is in.
 */
export function fingerprint(d: Int32Array, at: number): number {
  let h = 0x9e37;
  for (const f of CHECKED) h = (Math.imul(h ^ d[at + f]!, 0x2c1b3c6d) >>> 7) & 0xffffff;
  return (h ^ (h >>> 16)) & 0xffff;
}

/** The flag word of call `seq` with fingerprint `fp`. */
export function llFlag(seq: number, fp: number): number {
  return ((seq & 0xffff) << 16) | fp;
}
