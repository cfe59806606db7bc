import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const BYTES = 8192;
const RECORDS = 4096; // MR records in a pool (the default capacity)

describe('keys a peer guesses or keeps after their region is gone, over tcp', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  beforeAll(async () => {
    [a, b] = await startPair(BYTES);
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  const fill = async () => {
    await b.call('fillByte', 0, BYTES, 0x11);
    await a.call('fillByte', 0, BYTES, 0x22);
  };
  const untouched = async () => {
    expect(await b.call('checkByte', 0, BYTES, 0x11)).toBe(-1);
    expect(await a.call('checkByte', 0, BYTES, 0x22)).toBe(-1);
  };

  it('refuses writes and reads under keys made the way keys used to be (generation × records + slot): EACCES, and nothing moves', async () => {
    await fill();
    for (const gen of [1, 2, 3]) {
      for (const slot of [0, 1, 2]) {
        const key = gen * RECORDS + slot;
        for (const kind of ['write', 'read']) {
          const r = await a.call('rma', { kind, dest: 0, remoteOffset: 0, key, length: 64 });
          // A real key's 41 random bits make a hit here a 1-in-2^39 event.
          expect(r.err?.code, `${kind} with key ${key}`).toBe('EACCES');
        }
      }
    }
    await untouched();
    // The real key still works.
    expect((await a.call('rma', { kind: 'write', dest: 0, remoteOffset: 0, key: b.key, length: 64 })).ok).toBeDefined();
    expect(await b.call('checkByte', 0, 64, 0x22)).toBe(-1);
  });

  it('answers a guessed key, a stale key and a range past the end alike: the refusal names the operation, never the reason or the region length', async () => {
    await fill();
    const read = { kind: 'read', dest: 0, remoteOffset: BYTES - 8, length: 16 };
    const outOfRange = await a.call('rma', { ...read, key: b.key });
    const guessed = await a.call('rma', { ...read, key: b.key + RECORDS });
    const { old } = await b.call('closeAndReuse', 0x11);
    const stale = await a.call('rma', { ...read, key: old });
    await untouched();
    const texts = [[outOfRange, b.key], [guessed, b.key + RECORDS], [stale, old]].map(([r, key]) => {
      expect(r.err?.code).toBe('EACCES');
      return (r.err.message as string).replace(` key ${key} `, ' key K ');
    });
    expect(texts[1]).toBe(texts[0]);
    expect(texts[2]).toBe(texts[0]);
    expect(texts[0]).toMatch(new RegExp(`^the read of 16 bytes at offset ${BYTES - 8} of remote key K was refused by tcp peer 127\\.0\\.0\\.1:${b.address.port} `));
    expect(texts[0]).not.toContain(String(BYTES));
  });
});
