import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerProcess, startPair } from './helpers/tcp_peers.js';

describe('RMA permission and range violations across processes complete with EACCES', () => {
  let a: PeerProcess;
  let readOnly: PeerProcess;
  let otherKey: number;
  beforeAll(async () => {
    // The target logs why it refused each operation; the initiator is told only that it was refused.
    [a, readOnly] = await startPair(8192, { COLLECTIVE_DEBUG: 'INFO' }, [undefined, ['read', 'write', 'remoteRead']]);
    otherKey = await readOnly.call('otherDomainKey');
  });
  afterAll(async () => Promise.all([a?.stop(), readOnly?.stop()]));

  const expectError = async (kind: string, args: Record<string, unknown>, message: RegExp) => {
    await readOnly.call('fillByte', 0, 8192, 0x11);
    await a.call('fillByte', 0, 8192, 0x22);
    const r = await a.call('rma', { kind, dest: 0, remoteOffset: 0, key: readOnly.key, length: 16, ...args });
    expect(r.err?.code).toBe('EACCES');
    expect(r.err.message).toMatch(message);
    // Nothing moved either way.
    expect(await readOnly.call('checkByte', 0, 8192, 0x11)).toBe(-1);
    expect(await a.call('checkByte', 0, 8192, 0x22)).toBe(-1);
    return r.err.message as string;
  };
  const peer = () => `127.0.0.1:${readOnly.address.port}`;
  const refused = (op: string, bytes: number, offset: number, key: () => number) => new RegExp(`^the ${op} of ${bytes} bytes at offset ${offset} of remote key ${key()} was refused by tcp peer 127\\.0\\.0\\.1:\\d+ `);
  /** The target's log line for its latest refusal. */
  const targetSaid = () => readOnly.stderr.split('\n').filter((l) => l.includes(' refused the ')).at(-1) ?? '';

  it('write to a region without remoteWrite access', async () => {
    expect(await expectError('write', {}, refused('write', 16, 0, () => readOnly.key))).toContain(peer());
    expect(targetSaid()).toMatch(/the region lacks remoteWrite access/);
  });
  it('unknown key', async () => {
    expect(await expectError('writedata', { key: readOnly.key + 1, data: 1 }, refused('write', 16, 0, () => readOnly.key + 1))).toContain(peer());
    expect(targetSaid()).toMatch(/the key is not registered in this endpoint's domain/);
  });
  it('read past the end of the remote region: the refusal does not give the region\'s length away', async () => {
    const message = await expectError('read', { remoteOffset: 8190, length: 3 }, refused('read', 3, 8190, () => readOnly.key));
    expect(message).toContain(peer());
    expect(message).not.toContain('8192');
    expect(targetSaid()).toMatch(/the range is outside the 8192-byte region/);
  });
  it('local range past the end of the local region', () => expectError('read', { offset: 8191, length: 2 }, /local range \[8191, 8193\) is outside/));
  it('a key registered in another domain of the target process', async () => {
    await expectError('read', { key: otherKey }, refused('read', 16, 0, () => otherKey));
    expect(targetSaid()).toMatch(/the key is not registered in this endpoint's domain/);
  });

  it('lets a permitted read through after the errors, and no remote write was ever announced', async () => {
    await readOnly.call('fillByte', 0, 16, 0x33);
    expect((await a.call('rma', { kind: 'read', dest: 0, remoteOffset: 0, key: readOnly.key, length: 16 })).ok).toBeDefined();
    expect(await a.call('checkByte', 0, 16, 0x33)).toBe(-1);
    expect(await readOnly.call('counterValue')).toBe(0);
  });
});
