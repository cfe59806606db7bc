import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import { type Peer, startPeers, stopPeers } from './helpers/fabric_peers.js';

const MIB = 1 << 20;
const BYTES = MIB + 8192;
const SIZES = [0, 1, 4095, 4096, MIB + 3];

describe('RMA between two workers over shm', () => {
  const pool = Pool.create({ bytes: 16 * MIB });
  let a: Peer;
  let b: Peer;
  beforeAll(async () => {
    [a, b] = await startPeers(pool, 2, BYTES);
  });
  afterAll(async () => stopPeers([a, b]));

  const fillPattern = (offset: number, length: number, seed: number) => {
    const v = pool.u8(offset, length);
    for (let i = 0; i < length; i++) v[i] = (i * 31 + seed) & 0xff;
  };

  it.each(SIZES)('writes %i bytes to an unaligned remote offset, touching nothing else', async (size) => {
    pool.u8(b.offset, BYTES).fill(0xee);
    fillPattern(a.offset + 7, size, size);
    await a.actor.call(a.ep, 'write', { mr: a.mr, offset: 7, length: size, dest: 1, remoteOffset: 5, key: b.key, context: `w${size}` });
    const [done] = await a.actor.call(a.cq, 'read', 1);
    expect(done).toEqual({ op: 'write', context: `w${size}`, length: size });
    const dst = pool.u8(b.offset, BYTES);
    const src = pool.u8(a.offset + 7, size);
    expect(dst[4]).toBe(0xee);
    expect(Buffer.compare(dst.subarray(5, 5 + size), src)).toBe(0);
    expect(dst[5 + size]).toBe(0xee);
  });

  it.each(SIZES)('reads %i bytes back from the remote region', async (size) => {
    fillPattern(b.offset + 3, size, size + 1);
    pool.u8(a.offset, BYTES).fill(0);
    await a.actor.call(a.ep, 'read', { mr: a.mr, offset: 1, length: size, dest: 1, remoteOffset: 3, key: b.key, context: 'r' });
    expect(await a.actor.call(a.cq, 'read', 1)).toEqual([{ op: 'read', context: 'r', length: size }]);
    expect(Buffer.compare(pool.u8(a.offset + 1, size), pool.u8(b.offset + 3, size))).toBe(0);
    expect(pool.u8(a.offset, BYTES)[1 + size]).toBe(0);
  });

  it('delivers writedata to the target CQ with its remote data and counts the remote write', async () => {
    const before = await b.actor.helper('get', b.counter, 'value');
    fillPattern(a.offset, 4096, 9);
    await a.actor.call(a.ep, 'writedata', { mr: a.mr, length: 4096, dest: 1, remoteOffset: 0, key: b.key, data: 0xdeadbeef });
    const got = await b.actor.call(b.cq, 'wait', 5000);
    expect(got).toEqual([{ op: 'remote-write', context: undefined, length: 4096, data: 0xdeadbeef, source: 0 }]);
    expect(Buffer.compare(pool.u8(b.offset, 4096), pool.u8(a.offset, 4096))).toBe(0);
    expect(await a.actor.call(a.cq, 'read', 4)).toEqual([{ op: 'write', context: undefined, length: 4096 }]);
    expect(await b.actor.helper('counterWait', b.counter, before + 1, 1000)).toBe(before + 1);
  });

  it('carries msgpackr control messages with tag matching, including unexpected ones', async () => {
    await a.actor.call(a.ep, 'tsend', 1, 0x100, { op: 'hello', ranks: [0, 1], big: 2 ** 40 }, 'ctx-send');
    await a.actor.call(a.ep, 'tsend', 1, 0x201, 'second');
    // The receive is posted after arrival; the ignore mask lets 0x2xx match.
    await b.actor.call(b.ep, 'trecv', 0x200, 0xff, 'ctx-any-2xx');
    await b.actor.call(b.ep, 'trecv', 0x100, 0, 'ctx-100');
    const got = await b.actor.call(b.cq, 'read', 8);
    expect(got).toEqual([
      { op: 'recv', context: 'ctx-100', tag: 0x100, length: expect.any(Number), message: { op: 'hello', ranks: [0, 1], big: 2 ** 40 }, source: 0 },
      { op: 'recv', context: 'ctx-any-2xx', tag: 0x201, length: expect.any(Number), message: 'second', source: 0 },
    ]);
    const sent = await a.actor.call(a.cq, 'read', 8);
    expect(sent.map((c: { op: string; context: unknown }) => [c.op, c.context])).toEqual([['send', 'ctx-send'], ['send', undefined]]);
  });

  it('refuses oversized control messages and bad arguments before posting', async () => {
    await expect(a.actor.call(a.ep, 'tsend', 1, 1, 'x'.repeat(5000))).rejects.toThrow(/exceeds the 4064-byte limit/);
    await expect(a.actor.call(a.ep, 'tsend', 9, 1, 'x')).rejects.toThrow(/fi_addr 9 is not in the address vector/);
    await expect(a.actor.call(a.ep, 'write', { mr: a.mr, length: -1, dest: 1, remoteOffset: 0, key: b.key })).rejects.toThrow(/op.length must be a non-negative integer/);
    await expect(a.actor.call(a.ep, 'tsend', 1, -1, 'x')).rejects.toThrow(/tag must be an integer in \[0, 2\^32\)/);
  });
});
