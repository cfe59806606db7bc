import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

describe('tagged messages between two processes over tcp', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    [a, b] = await startPair(4096);
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  it('carries msgpackr control messages with tag matching, including unexpected ones', async () => {
    expect(await a.call('tsend', 0, 0x100, { op: 'hello', ranks: [0, 1], big: 2 ** 40 })).toEqual({ ok: { op: 'send', context: expect.any(Number), length: expect.any(Number) } });
    expect((await a.call('tsend', 0, 0x201, 'second')).ok).toBeDefined();
    // Both arrived before any receive was posted; the ignore mask lets 0x2xx match first.
    expect(await b.call('trecv', 0x200, 0xff)).toMatchObject({ op: 'recv', tag: 0x201, message: 'second', source: 0 });
    expect(await b.call('trecv', 0x100, 0)).toMatchObject({ op: 'recv', tag: 0x100, message: { op: 'hello', ranks: [0, 1], big: 2 ** 40 }, source: 0 });
  });

  it('keeps one sender\'s messages in order and carries them both ways', async () => {
    for (let i = 0; i < 50; i++) expect((await b.call('tsend', 0, 7, { i, pad: 'x'.repeat(i * 300) })).ok).toBeDefined();
    for (let i = 0; i < 50; i++) expect((await a.call('trecv', 7, 0)).message).toEqual({ i, pad: 'x'.repeat(i * 300) });
  });

  it('refuses oversized messages and unknown destinations before posting', async () => {
    await expect(a.call('tsend', 0, 1, 'x'.repeat(20_000))).rejects.toThrow(/exceeds the 16384-byte limit for tagged messages; use RMA/);
    await expect(a.call('tsend', 3, 1, 'x')).rejects.toThrow(/fi_addr 3 is not in the address vector/);
  });
});
