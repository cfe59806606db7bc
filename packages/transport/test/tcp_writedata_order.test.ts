import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const MIB = 1 << 20;
const BYTES = 16 * MIB;
const MESSAGES = 2000;
const SMALL = [0, 1, 100, 4096, 7000];
const BIG = 256 * 1024;
const BIG_EVERY = 84;

interface Op {
  kind: 'write' | 'writedata';
  offset: number;
  length: number;
  dest: number;
  remoteOffset: number;
  key: number;
  data?: number;
}

/**
 * Message k is a writedata with data k into a region of its own; every
 * BIG_EVERY-th is a 0-byte writedata right after a plain 256 KiB write
 * (the "data, then flag" pattern of a ring step). The target checks, the
 * moment each completion arrives, that the bytes it announces are there.
 */
function plan(key: number) {
  const ops: Op[] = [];
  const fills: [number, number, number][] = [];
  const verify = { offsets: [] as number[], sizes: [] as number[], seeds: [] as number[] };
  let small = 0;
  let big = 10 * MIB;
  for (let k = 0; k < MESSAGES; k++) {
    const seed = (k * 7) % 251;
    if (k % BIG_EVERY === 0) {
      fills.push([big, BIG, seed]);
      ops.push({ kind: 'write', offset: big, length: BIG, dest: 0, remoteOffset: big, key });
      ops.push({ kind: 'writedata', offset: 0, length: 0, dest: 0, remoteOffset: 0, key, data: k });
      verify.offsets.push(big);
      verify.sizes.push(BIG);
      big += BIG;
    } else {
      const size = SMALL[k % SMALL.length]!;
      fills.push([small, size, seed]);
      ops.push({ kind: 'writedata', offset: small, length: size, dest: 0, remoteOffset: small, key, data: k });
      verify.offsets.push(small);
      verify.sizes.push(size);
      small += size;
    }
    verify.seeds.push(seed);
  }
  if (small > 10 * MIB || big > BYTES) throw new Error('plan does not fit the region');
  return { ops, fills, verify };
}

describe('writedata from one endpoint to another process', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    [a, b] = await startPair(BYTES);
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  it('completes at the target in posting order, each after its payload (and the write before it) landed', async () => {
    const { ops, fills, verify } = plan(b.key);
    await a.call('fillMany', fills);
    await b.call('fillByte', 0, BYTES, 0);
    const [status, got] = await Promise.all([a.call('pipeline', ops, 64), b.call('remoteWrites', MESSAGES, 20_000, verify)]);
    expect((status as string[]).filter((s) => s !== 'ok')).toEqual([]);
    expect(got.bad).toEqual([]);
    const data = (got.writes as { data: number }[]).map((w) => w.data);
    expect(data).toEqual(Array.from({ length: MESSAGES }, (_, k) => k));
  });
});
