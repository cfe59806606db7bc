import { afterEach, describe, expect, it } from 'vitest';
import { Device, Pool } from '../src/index.js';
import { Actor } from './helpers/actor.js';

describe('device ownership', () => {
  const actors: Actor[] = [];
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
  });

  it('lets one owner open a device at a time, across threads', async () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const a = Actor.start(pool);
    const b = Actor.start(pool);
    actors.push(a, b);
    const devA = await a.call('$Device', 'open', '$pool', 3);
    await expect(b.call('$Device', 'open', '$pool', 3)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(() => Device.open(pool, 3)).toThrow(/EBUSY: device 3 is already open/);
    // A different device is independent.
    await b.call('$Device', 'open', '$pool', 4);
    await a.call(devA, 'close');
    await expect(b.call('$Device', 'open', '$pool', 3)).resolves.toHaveProperty('$ref');
  });

  it('refuses an out-of-range device index with a clear message', () => {
    const pool = Pool.create({ bytes: 1 << 20, capacities: { devices: 4 } });
    expect(() => Device.open(pool, 4)).toThrow(/device index must be an integer in \[0, 4\)/);
    expect(() => Device.open(pool, -1)).toThrow(/EINVAL/);
  });
});
