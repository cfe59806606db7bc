import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../src/index.js';
import { type Peer, startPeers, stopPeers } from './helpers/fabric_peers.js';

describe('RMA permission and range violations complete with EACCES', () => {
  const pool = Pool.create({ bytes: 8 << 20 });
  let a: Peer;
  let readOnly: Peer;
  beforeAll(async () => {
    [a, readOnly] = await startPeers(pool, 2, 8192, ['read', 'write', 'remoteRead']);
  });
  afterAll(async () => stopPeers([a, readOnly]));

  const expectError = async (op: string, args: Record<string, unknown>, message: RegExp) => {
    pool.u8(readOnly.offset, 8192).fill(0x11);
    pool.u8(a.offset, 8192).fill(0x22);
    await a.actor.call(a.ep, op, { mr: a.mr, dest: 1, remoteOffset: 0, key: readOnly.key, length: 16, context: { op }, ...args });
    await expect(a.actor.call(a.cq, 'read', 1)).rejects.toMatchObject({ code: 'EAVAIL' });
    const err = await a.actor.call(a.cq, 'readErr');
    expect(err).toMatchObject({ code: 'EACCES', context: { op } });
    expect(err.message).toMatch(message);
    // Nothing moved either way.
    expect(pool.u8(readOnly.offset, 8192).every((x) => x === 0x11)).toBe(true);
    expect(pool.u8(a.offset, 8192).every((x) => x === 0x22)).toBe(true);
  };

  it('write to a region without remoteWrite access', () => expectError('write', {}, /lacks remoteWrite access/));
  it('unknown key', () => expectError('write', { key: readOnly.key + 1 }, /is not registered at the remote endpoint/));
  it('read past the end of the remote region', () => expectError('read', { remoteOffset: 8190, length: 3 }, /outside the 8192-byte region/));
  it('local range past the end of the local region', () => expectError('read', { offset: 8191, length: 2 }, /local range \[8191, 8193\) is outside/));
  it('a key that is valid for another endpoint only', async () => {
    // a's own key is registered in a's domain, not at the target.
    await expectError('read', { key: a.key }, /not registered at the remote endpoint/);
  });

  it('lets a permitted read through after the errors', async () => {
    pool.u8(readOnly.offset, 16).fill(0x33);
    await a.actor.call(a.ep, 'read', { mr: a.mr, dest: 1, remoteOffset: 0, key: readOnly.key, length: 16 });
    expect(await a.actor.call(a.cq, 'read', 1)).toHaveLength(1);
    expect(pool.u8(a.offset, 16).every((x) => x === 0x33)).toBe(true);
  });
});
