import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const MIB = 1 << 20;
const BYTES = 16 * MIB + 65536;
const SIZES = [0, 1, 4095, 64 * 1024 + 3, 16 * MIB];

describe('RMA between two processes over tcp', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    [a, b] = await startPair(BYTES);
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  it.each(SIZES)('writes %i bytes to an unaligned remote offset, touching nothing else', async (size) => {
    await b.call('fillByte', 0, BYTES, 0xee);
    await a.call('fill', 7, size, size % 251);
    const r = await a.call('rma', { kind: 'write', offset: 7, length: size, dest: 0, remoteOffset: 5, key: b.key });
    expect(r).toEqual({ ok: { op: 'write', context: expect.any(Number), length: size } });
    expect(await b.call('checkByte', 0, 5, 0xee)).toBe(-1);
    expect(await b.call('check', 5, size, size % 251)).toBe(-1);
    expect(await b.call('checkByte', 5 + size, BYTES - 5 - size, 0xee)).toBe(-1);
  });

  it.each(SIZES)('reads %i bytes back from the remote region', async (size) => {
    await b.call('fill', 3, size, (size + 1) % 251);
    await a.call('fillByte', 0, BYTES, 0);
    const r = await a.call('rma', { kind: 'read', offset: 1, length: size, dest: 0, remoteOffset: 3, key: b.key });
    expect(r).toEqual({ ok: { op: 'read', context: expect.any(Number), length: size } });
    expect(await a.call('checkByte', 0, 1, 0)).toBe(-1);
    expect(await a.call('check', 1, size, (size + 1) % 251)).toBe(-1);
    expect(await a.call('checkByte', 1 + size, BYTES - 1 - size, 0)).toBe(-1);
  });

  it('delivers writedata to the target CQ with its remote data and source, after the payload, and counts the remote write', async () => {
    const before = await b.call('counterValue');
    await a.call('fill', 0, 65539, 9);
    const r = await a.call('rma', { kind: 'writedata', length: 65539, dest: 0, remoteOffset: 0, key: b.key, data: 0xdeadbeef });
    expect(r.ok).toMatchObject({ op: 'write', length: 65539 });
    const got = await b.call('remoteWrites', 1, 5000);
    expect(got.writes).toEqual([{ data: 0xdeadbeef, length: 65539, source: 0 }]);
    expect(await b.call('check', 0, 65539, 9)).toBe(-1);
    expect(await b.call('counterWait', before + 1, 1000)).toBe(before + 1);
  });

  it('carries traffic both ways at once', async () => {
    await Promise.all([a.call('fill', 0, MIB, 1), b.call('fill', 2 * MIB, MIB, 2)]);
    const [ra, rb] = await Promise.all([
      a.call('rma', { kind: 'write', length: MIB, dest: 0, remoteOffset: 4 * MIB, key: b.key }),
      b.call('rma', { kind: 'write', offset: 2 * MIB, length: MIB, dest: 0, remoteOffset: 6 * MIB, key: a.key }),
    ]);
    expect([ra.ok?.op, rb.ok?.op]).toEqual(['write', 'write']);
    expect(await b.call('check', 4 * MIB, MIB, 1)).toBe(-1);
    expect(await a.call('check', 6 * MIB, MIB, 2)).toBe(-1);
  });
});
