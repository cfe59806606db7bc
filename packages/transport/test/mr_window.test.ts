import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import type { Ref } from './helpers/actor.js';
import { type Peer, startPeers, stopPeers } from './helpers/fabric_peers.js';

const BYTES = 4 * 4096;

describe('a memory region registered with remote-access windows (shm)', () => {
  const pool = Pool.create({ bytes: 8 << 20 });
  let a: Peer;
  let b: Peer;
  let win: Ref;
  let key: number;
  beforeAll(async () => {
    [a, b] = await startPeers(pool, 2, BYTES);
    win = await b.actor.call(b.domain, 'registerDmaBuf', b.dmabuf, { access: ['remoteRead', 'remoteWrite'], windowed: true });
    key = await b.actor.helper('get', win, 'key');
  });
  afterAll(async () => stopPeers([a, b]));

  const target = () => pool.u8(b.offset, BYTES);
  const write = async (remoteOffset: number, length: number, context: string) => {
    await a.actor.call(a.ep, 'write', { mr: a.mr, length, dest: 1, remoteOffset, key, context });
    return a.actor.call(a.cq, 'readErr');
  };
  const read = async (remoteOffset: number, length: number, context: string) => {
    await a.actor.call(a.ep, 'read', { mr: a.mr, length, dest: 1, remoteOffset, key, context });
    return a.actor.call(a.cq, 'readErr');
  };

  it('lets peers reach only the bytes the owner opened, and nothing once it closes them', async () => {
    target().fill(0);
    pool.u8(a.offset, BYTES).fill(7);
    // Closed at registration.
    expect(await write(0, 16, 'closed')).toMatchObject({ code: 'EACCES', context: 'closed', message: expect.stringMatching(/outside what the region's owner opens to peers for remoteWrite/) });

    await b.actor.call(win, 'setRemoteWindow', 'remoteWrite', 4096, 1024);
    expect(await write(4096, 1024, 'inside')).toBeUndefined();
    expect(await a.actor.call(a.cq, 'read', 1)).toHaveLength(1);
    expect(target().subarray(4096, 5120).every((x) => x === 7)).toBe(true);
    for (const [off, len] of [[4096 - 1, 16], [5120 - 8, 16], [0, 16]] as const) {
      expect(await write(off, len, `outside ${off}`), `write at ${off}`).toMatchObject({ code: 'EACCES' });
    }
    // The write window opens no reads.
    expect(await read(4096, 16, 'read')).toMatchObject({ code: 'EACCES', message: expect.stringMatching(/for remoteRead/) });
    await b.actor.call(win, 'setRemoteWindow', 'remoteRead', 4096, 16);
    expect(await read(4096, 16, 'read ok')).toBeUndefined();
    expect(await a.actor.call(a.cq, 'read', 1)).toHaveLength(1);

    await b.actor.call(win, 'closeRemoteWindows');
    expect(await write(4096, 16, 'after close')).toMatchObject({ code: 'EACCES' });
    expect(await read(4096, 16, 'read after close')).toMatchObject({ code: 'EACCES' });
    // Only the window's bytes were ever written.
    expect(target().subarray(0, 4096).every((x) => x === 0)).toBe(true);
    expect(target().subarray(5120).every((x) => x === 0)).toBe(true);
  });

  it('checks its arguments, and refuses windows on a region registered without them', async () => {
    await expect(b.actor.call(win, 'setRemoteWindow', 'remoteWrite', BYTES + 1, 0)).rejects.toThrow(`offset must be a non-negative integer within the region (got ${BYTES + 1}; the region has ${BYTES} bytes)`);
    await expect(b.actor.call(win, 'setRemoteWindow', 'remoteWrite', -1, 4)).rejects.toThrow(/offset must be a non-negative integer within the region \(got -1/);
    await expect(b.actor.call(win, 'setRemoteWindow', 'remoteWrite', 4096, BYTES)).rejects.toThrow(/length must be a non-negative integer that ends within the region \(got 16384 at offset 4096/);
    await expect(b.actor.call(win, 'setRemoteWindow', 'write', 0, 4)).rejects.toThrow(/access must be 'remoteRead' or 'remoteWrite' \(got write\)/);
    await expect(b.actor.call(b.mr, 'setRemoteWindow', 'remoteWrite', 0, 4)).rejects.toThrow(/registered without windowed: true/);
    await expect(b.actor.call(b.domain, 'registerDmaBuf', b.dmabuf, { access: ['remoteWrite'], windowed: 'yes' })).rejects.toThrow(/options.windowed must be a boolean \(got yes\)/);
    const readOnly = await b.actor.call(b.domain, 'registerDmaBuf', b.dmabuf, { access: ['remoteRead'], windowed: true });
    await expect(b.actor.call(readOnly, 'setRemoteWindow', 'remoteWrite', 0, 4)).rejects.toThrow(/registered without remoteWrite access/);
  });
});
