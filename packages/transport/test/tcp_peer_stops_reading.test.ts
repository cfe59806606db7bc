import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerProcess, startPair } from './helpers/tcp_peers.js';

const MIB = 1 << 20;
const BYTES = 48 * MIB;

describe('a peer that stops reading', () => {
  let a: PeerProcess;
  let b: PeerProcess;
  let c: PeerProcess;
  beforeAll(async () => {
    [a, b] = await startPair(BYTES);
    c = await (await PeerProcess.start()).setup(4096);
    // a reaches b at fi_addr 0 and c at fi_addr 1.
    expect(await a.call('insert', c.address)).toBe(1);
    await c.call('insert', a.address);
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop(), c?.stop()]));

  it('stalls only the writes to it: the writer keeps serving its other peers, its waits end at their deadline, and the write completes once the peer reads again', async () => {
    await a.call('fill', 0, BYTES, 9);
    // b stops driving its endpoint for 3 s: its socket fills up, far short of 48 MiB.
    const frozen = b.call('freeze', 3000);
    await new Promise((r) => setTimeout(r, 100));
    const write = await a.call('postOnly', { kind: 'write', length: BYTES, dest: 0, remoteOffset: 0, key: b.key });
    // The writer is not stuck in the full socket: a message to c goes and is acknowledged.
    const t0 = Date.now();
    expect((await a.call('tsend', 1, 7, 'meanwhile', 2000)).ok).toBeDefined();
    expect((await c.call('trecv', 7, 0)).message).toBe('meanwhile');
    expect(Date.now() - t0).toBeLessThan(2000);
    // A wait for the stalled write ends at its own deadline with an error, not a hang.
    await expect(a.call('outcome', write, 300)).rejects.toThrow(/timed out after 300 ms/);
    await frozen;
    // b reads again: the write completes, intact.
    expect((await a.call('outcome', write, 20_000)).ok).toBeDefined();
    expect(await b.call('check', 0, BYTES, 9)).toBe(-1);
  });

  it('lets the writer give up: cancel fails the stalled write with ECANCELED at once, and the endpoint closes without waiting', async () => {
    const frozen = b.call('freeze', 2000);
    await new Promise((r) => setTimeout(r, 100));
    const write = await a.call('postOnly', { kind: 'write', length: BYTES, dest: 0, remoteOffset: 0, key: b.key });
    const t0 = Date.now();
    const r = await a.call('cancel', write);
    expect(r.err).toMatchObject({ code: 'ECANCELED', message: expect.stringMatching(/was cancelled/) });
    await a.call('close');
    expect(Date.now() - t0).toBeLessThan(1000);
    await frozen;
  });
});
