import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Store, StoreError, valueToString } from '@collective/rendezvous';
import { BACKENDS, type Backend, backend } from './helpers/stores.js';

const text = (v: Uint8Array) => valueToString(v);

describe.each(BACKENDS)('Store semantics: %s', (name) => {
  let b: Backend;
  let s: Store;
  beforeEach(async () => {
    b = await backend(name);
    s = await b.open();
  });
  afterEach(() => b.close());

  it('set then get returns the bytes, strings as UTF-8', async () => {
    await s.set('k', 'välue');
    expect(text(await s.get('k'))).toBe('välue');
    await s.set('bin', new Uint8Array([0, 255, 1]));
    expect([...(await s.get('bin'))]).toEqual([0, 255, 1]);
    await s.set('k', '');
    expect((await s.get('k')).length).toBe(0);
  });

  it('add counts from 0, takes negative deltas, and stores the decimal text', async () => {
    expect(await s.add('c', 5)).toBe(5);
    expect(await s.add('c', -7)).toBe(-2);
    expect(await s.add('c', 0)).toBe(-2);
    expect(text(await s.get('c'))).toBe('-2');
  });

  it('compareSet follows torch: sets on match, returns the current value otherwise', async () => {
    expect(text(await s.compareSet('x', '', 'first'))).toBe('first');
    expect(text(await s.compareSet('x', 'wrong', 'second'))).toBe('first');
    expect(text(await s.compareSet('x', 'first', 'second'))).toBe('second');
    // torch's quirk: an absent key with a non-empty expectation returns the expectation and sets nothing.
    expect(text(await s.compareSet('absent', 'guess', 'v'))).toBe('guess');
    expect(await s.check(['absent'])).toBe(false);
  });

  it('check, deleteKey and numKeys see the same keys', async () => {
    const before = await s.numKeys();
    await s.set('a', '1');
    await s.set('b', '2');
    expect(await s.check(['a', 'b'])).toBe(true);
    expect(await s.check(['a', 'zz'])).toBe(false);
    expect(await s.check([])).toBe(true);
    expect(await s.numKeys()).toBe(before + 2);
    expect(await s.deleteKey('a')).toBe(true);
    expect(await s.deleteKey('a')).toBe(false);
    expect(await s.check(['a'])).toBe(false);
    expect(await s.numKeys()).toBe(before + 1);
  });

  it('a wait past its deadline fails with ETIMEDOUT naming only the missing keys, and the store stays usable', async () => {
    await s.set('here', '1');
    const t0 = performance.now();
    const err = (await s.wait(['here', 'gone1', 'gone2'], 250).catch((e: unknown) => e)) as StoreError;
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(StoreError);
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.keys).toEqual(['gone1', 'gone2']);
    expect(err.message).toMatch(/'gone1', 'gone2'/);
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(elapsed).toBeLessThan(5_000);
    // get has the same deadline.
    await expect(s.get('gone1', 100)).rejects.toThrow(/ETIMEDOUT.*gone1/);
    await s.set('gone1', 'now');
    expect(text(await s.get('gone1'))).toBe('now');
  });

  it('releases every concurrent waiter once all of its keys exist, and only then', async () => {
    const handles = await Promise.all(Array.from({ length: 5 }, () => b.open()));
    const released: string[] = [];
    const waits = [
      ...handles.slice(0, 3).map((h, i) => h.wait(['go'], 10_000).then(() => released.push(`go${i}`))),
      (handles[3] as Store).wait(['go', 'also'], 10_000).then(() => released.push('both')),
      (handles[4] as Store).get('go', 10_000).then((v) => released.push(`get:${text(v)}`)),
    ];
    await new Promise((r) => setTimeout(r, 100));
    expect(released).toEqual([]);
    await s.set('go', 'yes');
    await Promise.all(waits.slice(0, 3));
    await waits[4];
    expect(released.sort()).toEqual(['get:yes', 'go0', 'go1', 'go2']);
    await s.add('also', 1);
    await waits[3];
    expect(released).toContain('both');
  });

  it('compareSet races have exactly one winner, and everyone sees it', async () => {
    const handles = await Promise.all(Array.from({ length: 8 }, () => b.open()));
    const results = await Promise.all(handles.map((h, i) => h.compareSet('claim', '', `p${i}`).then(text)));
    const winners = results.filter((v, i) => v === `p${i}`);
    expect(winners).toHaveLength(1);
    expect(new Set(results).size).toBe(1);
    expect(text(await s.get('claim'))).toBe(winners[0]);
  });

  it('concurrent adds from many handles lose no increment', async () => {
    const handles = await Promise.all(Array.from({ length: 6 }, () => b.open()));
    await Promise.all(handles.map(async (h) => {
      for (let i = 0; i < 15; i++) await h.add('sum', 1);
    }));
    expect(await s.add('sum', 0)).toBe(90);
  });

  it('rejects bad arguments with a message naming them', async () => {
    await expect(s.add('c', 1.5)).rejects.toThrow(/delta must be a safe integer \(got 1\.5\)/);
    await expect(s.wait(['k'], -1)).rejects.toThrow(/timeoutMs must be a positive number of milliseconds \(got -1\)/);
    await expect(s.set(42 as unknown as string, 'v')).rejects.toThrow(/key must be a string/);
  });
});
