import { describe, expect, it } from 'vitest';

// index_browser.ts is index.ts less the bootstrap (stores, rendezvous,
// launch environments): a name added to index.ts outside the bootstrap
// must be added there too.
describe("the runtime's browser entry", () => {
  it('exports everything index.ts does but the bootstrap', async () => {
    const bootstrap = new Set(Object.keys(await import('@collective/rendezvous')));
    const node = Object.keys(await import('../src/index.js')).sort();
    const browser = Object.keys(await import('../src/index_browser.js')).sort();
    expect(browser).toEqual(node.filter((k) => !bootstrap.has(k)));
  });
});
