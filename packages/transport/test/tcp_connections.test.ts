import { afterEach, describe, expect, it } from 'vitest';
import { establishedTo, type PeerProcess, startPair, unixConnected } from './helpers/tcp_peers.js';

const MIB = 1 << 20;
const BYTES = 16 * MIB + 4096;

describe('connections between the endpoints of two processes', () => {
  let pair: PeerProcess[] = [];
  afterEach(async () => {
    await Promise.all(pair.map((p) => p.stop()));
    pair = [];
  });

  /** tcp connections between the two processes, as the kernel sees them from a. */
  const tcpBetween = (a: PeerProcess, b: PeerProcess) => establishedTo(a.pid, a.address.port!) + establishedTo(a.pid, b.address.port!);

  const roundTrip = async (a: PeerProcess, b: PeerProcess) => {
    await a.call('fill', 0, 16 * MIB, 5);
    expect((await a.call('rma', { kind: 'write', length: 16 * MIB, dest: 0, remoteOffset: 4096, key: b.key })).ok).toBeDefined();
    expect(await b.call('check', 4096, 16 * MIB, 5)).toBe(-1);
    await b.call('fill', 0, 16 * MIB, 6);
    expect((await a.call('rma', { kind: 'read', offset: 4096, length: 16 * MIB, dest: 0, remoteOffset: 0, key: b.key })).ok).toBeDefined();
    expect(await a.call('check', 4096, 16 * MIB, 6)).toBe(-1);
    // And the other way, over the same connection.
    expect((await b.call('rma', { kind: 'write', length: 8, dest: 0, remoteOffset: 0, key: a.key })).ok).toBeDefined();
  };

  it('is one Unix socket per pair of endpoints on one host, carrying 16 MiB both ways intact', async () => {
    pair = await startPair(BYTES, { COLLECTIVE_DEBUG: 'INFO' });
    const [a, b] = pair as [PeerProcess, PeerProcess];
    const before = [unixConnected(a.pid), unixConnected(b.pid)];
    await roundTrip(a, b);
    expect([unixConnected(a.pid) - before[0]!, unixConnected(b.pid) - before[1]!]).toEqual([1, 1]);
    expect(tcpBetween(a, b)).toBe(0);
    expect(a.address.unix).toMatch(/^@collective\./);
    expect(a.address.hostId).toBe(b.address.hostId);
    // COLLECTIVE_DEBUG=INFO: the listeners say where they listen and how the pair was connected.
    const said = () => /over a Unix socket/.test(a.stderr + b.stderr);
    for (let i = 0; i < 40 && !said(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(a.stderr + b.stderr).toMatch(/listens on 127\.0\.0\.1:\d+ \(lo: COLLECTIVE_SOCKET_IFNAME=lo\) and @collective\./);
    expect(said()).toBe(true);
  });

  it('is one tcp connection when COLLECTIVE_SOCKET_TRANSPORT=tcp', async () => {
    pair = await startPair(BYTES, { COLLECTIVE_SOCKET_TRANSPORT: 'tcp' });
    const [a, b] = pair as [PeerProcess, PeerProcess];
    const before = unixConnected(a.pid);
    await roundTrip(a, b);
    expect(tcpBetween(a, b)).toBe(1);
    expect(unixConnected(a.pid)).toBe(before);
  });

  it('refuses an unknown COLLECTIVE_SOCKET_TRANSPORT when the endpoint opens', async () => {
    await expect(startPair(4096, { COLLECTIVE_SOCKET_TRANSPORT: 'udp' }).then((p) => (pair = p))).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/COLLECTIVE_SOCKET_TRANSPORT must be auto, tcp or unix \(got udp\)/) });
  });
});
