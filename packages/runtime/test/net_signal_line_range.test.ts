import { Device, Pool } from '@collective/transport';
import { describe, expect, it } from 'vitest';
import { NetPort } from '../src/connectors/net_port.js';

const VALUE_BITS = 27;
const LINES = 16; // Line.COUNT

describe("a peer's remote CQ data naming a line past the last one", () => {
  it('is dropped and counted, and raises no line of any peer', () => {
    const pool = Pool.create({ bytes: 16 << 20 });
    const dev = Device.open(pool, 0);
    const dmabuf = () => dev.export(dev.allocate(1 << 16));
    // Two ranks' ports in one process, over the shm provider (as connector: 'net' does there).
    const ports = [new NetPort(pool, 'shm', 2, dmabuf(), dmabuf()), new NetPort(pool, 'shm', 2, dmabuf(), dmabuf())];
    ports[0]!.connect([undefined, ports[1]!.address]);
    ports[1]!.connect([ports[0]!.address, undefined]);
    const [a, b] = ports as [NetPort, NetPort];
    // Line 20 of rank 0 would be index 0 × 16 + 20 of rank 1's mirror: rank 1's line 4.
    for (const line of [LINES, LINES + 4, 31]) a.tryPost(1, b.scratchMr.key, ((line << VALUE_BITS) | 5) >>> 0);
    // One good signal after them still lands.
    a.tryPost(1, b.scratchMr.key, ((2 << VALUE_BITS) | 7) >>> 0);
    b.progress();
    expect(b.droppedSignals).toBe(3);
    for (let q = 0; q < 2; q++) for (let line = 0; line < LINES; line++) expect(b.reached(q, line, 1), `rank ${q} line ${line}`).toBe(q === 0 && line === 2);
    expect(b.reached(0, 2, 7)).toBe(true);
    a.progress();
    for (const p of ports) p.close();
  });
});
