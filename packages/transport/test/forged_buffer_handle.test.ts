import { describe, expect, it } from 'vitest';
import { Device, DeviceBuffer, PAGE_SIZE, Pool } from '../src/index.js';

describe('a buffer handle forged for another device', () => {
  it('is refused by every owner operation', () => {
    const pool = Pool.create({ bytes: 1 << 20 });
    const victim = Device.open(pool, 0);
    const attacker = Device.open(pool, 1);
    const secret = victim.allocate(PAGE_SIZE);
    victim.view(secret).fill(42);
    const forged = new DeviceBuffer(attacker, secret.slot, secret.gen, PAGE_SIZE);
    const refused = /buffer does not belong to device 1/;
    expect(() => attacker.view(forged)).toThrow(refused);
    expect(() => attacker.export(forged)).toThrow(refused);
    expect(() => attacker.move(forged)).toThrow(refused);
    expect(() => attacker.free(forged)).toThrow(refused);
    expect(() => attacker.reservation(forged)).toThrow(refused);
    // And a view of the victim's memory does not pass as the attacker's.
    expect(() => attacker.bufferOf(victim.view(secret))).toThrow(/not inside one live buffer of device 1/);
    expect(victim.view(secret)[0]).toBe(42);
  });
});
