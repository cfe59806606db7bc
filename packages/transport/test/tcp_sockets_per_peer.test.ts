import { afterEach, describe, expect, it } from 'vitest';
import { establishedTo, type PeerProcess, startPair } from './helpers/tcp_peers.js';

const MIB = 1 << 20;
const BYTES = 16 * MIB + 4096;

describe('several sockets per pair of processes', () => {
  let pair: PeerProcess[] = [];
  afterEach(async () => {
    await Promise.all(pair.map((p) => p.stop()));
  });

  /** Connections between the two processes, as the kernel sees them from a. */
  const sockets = (a: PeerProcess, b: PeerProcess) => establishedTo(a.pid, a.address.port!) + establishedTo(a.pid, b.address.port!);

  const roundTrip = async (a: PeerProcess, b: PeerProcess) => {
    await a.call('fill', 0, 16 * MIB, 5);
    expect((await a.call('rma', { kind: 'write', length: 16 * MIB, dest: 0, remoteOffset: 4096, key: b.key })).ok).toBeDefined();
    expect(await b.call('check', 4096, 16 * MIB, 5)).toBe(-1);
    await b.call('fill', 0, 16 * MIB, 6);
    expect((await a.call('rma', { kind: 'read', offset: 4096, length: 16 * MIB, dest: 0, remoteOffset: 0, key: b.key })).ok).toBeDefined();
    expect(await a.call('check', 4096, 16 * MIB, 6)).toBe(-1);
  };

  it('uses COLLECTIVE_SOCKETS_PER_PEER sockets and splits 16 MiB transfers across them intact', async () => {
    pair = await startPair(BYTES, { COLLECTIVE_SOCKETS_PER_PEER: '4', COLLECTIVE_DEBUG: 'INFO' });
    const [a, b] = pair as [PeerProcess, PeerProcess];
    await roundTrip(a, b);
    expect(sockets(a, b)).toBe(4);
    // COLLECTIVE_DEBUG=INFO: each side says how it reached the other (the proxies' lines reach stderr through the main thread).
    const said = () => [a, b].every((p) => /tcp: connected to tcp peer 127\.0\.0\.1:\d+ \(process [0-9.a-f]+\) with 4 socket\(s\)/.test(p.stderr));
    for (let i = 0; i < 40 && !said(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(a.stderr + b.stderr).toMatch(/listens on 127\.0\.0\.1:\d+ \(lo: COLLECTIVE_SOCKET_IFNAME=lo\), 4 socket\(s\) per peer/);
    expect(said()).toBe(true);
  });

  it('uses 2 by default', async () => {
    pair = await startPair(BYTES);
    const [a, b] = pair as [PeerProcess, PeerProcess];
    await roundTrip(a, b);
    expect(sockets(a, b)).toBe(2);
  });
});
