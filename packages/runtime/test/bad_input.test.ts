import { describe, expect, it } from 'vitest';
import { Communicator, World } from '@collective/runtime';
import { Device, Pool } from '@collective/transport';
import { fixture, withWorld } from './helpers/world.js';

describe('bad input', () => {
  it('gets a clear error on the calling rank and leaves the communicator usable', async () => {
    const [r0] = await withWorld(2, (w) => w.launch<any>(fixture('bad_input')));
    const m = (k: string) => r0.results[k]?.message;
    expect(m('hostArray')).toMatch(/send is not in device memory; allocate it with ctx.alloc\(\)/);
    expect(m('lengths')).toMatch(/recv has 9 elements, send has 8/);
    expect(m('dtypes')).toMatch(/send is float32 but recv is int32/);
    expect(m('op')).toMatch(/options.op must be one of sum, prod, min, max, avg \(got mean\)/);
    expect(m('dtypeName')).toMatch(/options.dtype must be one of/);
    expect(m('root')).toMatch(/options.root must be an integer in \[0, 2\) \(got 2\)/);
    expect(m('gather')).toMatch(/recv must hold size × send.length = 16 elements/);
    expect(m('algo')).toMatch(/'butterfly' is not an algorithm of allReduce/);
    expect(m('timeout')).toMatch(/options.timeoutMs must be a positive integer/);
    expect(m('peer')).toMatch(/send.peer must be an integer in \[0, 2\)/);
    expect(m('plainArray')).toMatch(/typed arrays over device memory/);
    expect(m('reservedPage')).toMatch(/recv is not inside one live buffer of device 0; allocate it on this rank's device/);
    expect(m('pastBuffer')).toMatch(/send is not inside one live buffer of device 0/);
    expect(r0.sum).toBe(2);
  });

  it('refuses bad world and communicator options', async () => {
    await expect(World.start({ devices: 0 })).rejects.toThrow(/options.devices must be a positive integer \(got 0\)/);
    await expect(World.start({ devices: 2, poolBytes: 1000 })).rejects.toThrow(/options.poolBytes must be a positive multiple of 65536/);
    await expect(World.start({ devices: 3, poolBytes: 1 << 20 })).rejects.toThrow(/options.poolBytes \(1048576\) is too small for 3 devices/);
    const pool = Pool.create({ bytes: 8 << 20 });
    expect(() => Communicator.createId(pool, 65)).toThrow(/nranks must be at most 64/);
    const id = Communicator.createId(pool, 2);
    const dev = Device.open(pool, 0);
    expect(() => Communicator.init(dev, id, 2)).toThrow(/rank must be an integer in \[0, 2\) \(got 2\)/);
    expect(() => Communicator.init(dev, { ...id, token: id.token + 1 }, 0)).toThrow(/does not name a live communicator/);
    expect(() => Communicator.init(dev, id, 0, { slotBytes: 100 })).toThrow(/options.slotBytes must be a multiple of 64/);
  });
});
