import { describe, expect, it } from 'vitest';
import { fixture, withWorld } from './helpers/world.js';

describe('a stream handed memory of another device', () => {
  it('refuses it before touching it, and stays usable', async () => {
    const shared = new SharedArrayBuffer(8);
    const [r0, r1] = await withWorld(2, (w) => w.launch<any>(fixture('stream_foreign_memory'), { shared }), { streams: true });
    expect(r0.refused.code).toBe('EINVAL');
    expect(r0.refused.message).toMatch(/send is not inside one live buffer of device 0/);
    // Rank 1's buffer was reduced only by the legitimate call: 10 + 11.
    expect(r1.after).toBe(21);
    expect(r0.after).toBe(21);
  });
});
