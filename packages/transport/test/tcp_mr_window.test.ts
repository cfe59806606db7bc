import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

const BYTES = 4 * 4096;

describe('a memory region with remote-access windows, reached over tcp', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  let key: number;
  beforeAll(async () => {
    [a, b] = await startPair(BYTES, { COLLECTIVE_DEBUG: 'INFO' });
    key = await b.call('registerWindowed');
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  const rma = (kind: string, remoteOffset: number, length: number) => a.call('rma', { kind, dest: 0, remoteOffset, key, length });

  it('lands writes inside the open window only, refuses the rest (EACCES) and leaves the bytes outside untouched', async () => {
    await b.call('fillByte', 0, BYTES, 0);
    await a.call('fillByte', 0, BYTES, 7);
    // Closed at registration.
    expect((await rma('write', 4096, 16)).err?.code).toBe('EACCES');
    expect(b.stderr).toMatch(/refused the write of 16 bytes at offset 4096 of key \d+ from .*: the range is outside the region's open remoteWrite window/);

    await b.call('setWindow', 'remoteWrite', 4096, 1024);
    expect((await rma('write', 4096, 1024)).ok).toBeDefined();
    expect(await b.call('checkByte', 4096, 1024, 7)).toBe(-1);
    for (const [off, len] of [[4095, 16], [5112, 16], [0, 16], [8192, 4096]] as const) {
      const r = await rma('write', off, len);
      expect(r.err?.code, `write of ${len} at ${off}`).toBe('EACCES');
      expect(r.err.message).toMatch(/was refused by tcp peer/);
    }
    expect(await b.call('checkByte', 0, 4096, 0)).toBe(-1);
    expect(await b.call('checkByte', 5120, BYTES - 5120, 0)).toBe(-1);

    // The write window opens no reads; a read window does.
    expect((await rma('read', 4096, 16)).err?.code).toBe('EACCES');
    await b.call('setWindow', 'remoteRead', 4096, 16);
    expect((await rma('read', 4096, 16)).ok).toBeDefined();
    expect((await rma('read', 4096, 17)).err?.code).toBe('EACCES');
  });

  it('refuses everything once the owner closes its windows', async () => {
    await b.call('setWindow', 'remoteWrite', 0, BYTES);
    await b.call('setWindow', 'remoteRead', 0, BYTES);
    expect((await rma('write', 0, 16)).ok).toBeDefined();
    await b.call('closeWindows');
    await b.call('fillByte', 0, BYTES, 0);
    expect((await rma('write', 0, 16)).err?.code).toBe('EACCES');
    expect((await rma('read', 0, 16)).err?.code).toBe('EACCES');
    expect(await b.call('checkByte', 0, BYTES, 0)).toBe(-1);
  });
});
