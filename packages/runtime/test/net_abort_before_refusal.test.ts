import { Device, Pool } from '@collective/transport';
import { describe, expect, it } from 'vitest';
import type { WaitContext } from '../src/comm_base/wait_context.js';
import { encodeSignal, NetPort } from '../src/connectors/net_port.js';

const ABORT = 5; // Line.ABORT

describe("a peer's abort that arrived before the refusal of a transfer to it", () => {
  it('is applied before the refusal is reported, and the refusal says the peer may have left the call', () => {
    const pool = Pool.create({ bytes: 16 << 20 });
    const dev = Device.open(pool, 0);
    const dmabuf = () => dev.export(dev.allocate(1 << 16));
    // Two ranks' ports in one process, over the shm provider (as connector: 'net' does there).
    const [a, b] = [new NetPort(pool, 'shm', 2, dmabuf(), dmabuf()), new NetPort(pool, 'shm', 2, dmabuf(), dmabuf())] as [NetPort, NetPort];
    a.connect([undefined, b.address]);
    b.connect([a.address, undefined]);
    // Rank 1's user buffer, between calls: its windows are closed.
    const user = b.register(dmabuf());
    const aborts: number[] = [];
    a.onAbort = (q) => aborts.push(q);

    // Rank 1 aborts (its signal reaches rank 0 first), then rank 0's write to its buffer is refused.
    b.tryPost(0, a.scratchMr.key, encodeSignal(ABORT, 1));
    a.post('write', 1, a.privateMr, 0, 16, user.key, 0, {} as WaitContext);
    let seenAtThrow: number[] | undefined;
    let error: Error | undefined;
    try {
      a.progress();
    } catch (e) {
      seenAtThrow = [...aborts];
      error = e as Error;
    }
    expect(error).toMatchObject({ code: 'EACCES' });
    expect(error!.message).toMatch(/rank 1 may have left or failed this call/);
    expect(seenAtThrow).toEqual([1]);
    b.progress();
    for (const p of [a, b]) p.close();
  });
});
