import { describe, expect, it } from 'vitest';
import { Device, Pool } from '../src/index.js';

describe("a device's stream handle", () => {
  it('opens only with the grant its owner issued, and sees the owner\'s buffers', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    expect(() => Device.openStream(pool, 2, 1)).toThrow(/ENOENT: device 2 is not open/);
    const owner = Device.open(pool, 2);
    expect(() => Device.openStream(pool, 2, 12345)).toThrow(/EACCES: device 2: the grant does not match/);
    const grant = owner.grantStream();
    expect(() => Device.openStream(pool, 2, grant + 1)).toThrow(/EACCES/);
    const stream = Device.openStream(pool, 2, grant);
    const buf = owner.allocate(4096);
    const view = new Float32Array(pool.memory.buffer, buf.offset, 16);
    // The stream resolves the owner's view to the same buffer and may export it for its communicator.
    const seen = stream.bufferOf(view);
    expect(seen.offset).toBe(buf.offset);
    stream.export(seen).release();
    // Its own allocations (communicator scratch) are the device's memory too.
    const scratch = stream.allocate(4096);
    stream.free(scratch);
    // Closing the stream handle leaves the owner's device and buffers alone.
    stream.close();
    expect(owner.isOpen).toBe(true);
    expect(owner.view(buf).length).toBe(4096);
    owner.close();
  });

  it('dies with its owner: after close it fails, and never reaches the next owner\'s buffers', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const owner = Device.open(pool, 1);
    const stream = Device.openStream(pool, 1, owner.grantStream());
    owner.close();
    expect(stream.isOpen).toBe(false);
    expect(() => stream.allocate(4096)).toThrow(/device 1 was closed by its owner; its stream handle is dead/);
    // The next owner of device 1 gets its own memory; the old stream handle cannot touch it.
    const next = Device.open(pool, 1);
    const buf = next.allocate(4096);
    const view = new Uint8Array(pool.memory.buffer, buf.offset, 4096);
    expect(() => stream.bufferOf(view)).toThrow(/stream handle is dead/);
    expect(() => stream.allocate(4096)).toThrow(/stream handle is dead/);
    // And the old grant does not open the new owner's device.
    expect(() => Device.openStream(pool, 1, 0)).toThrow(/EACCES/);
    next.close();
  });
});
