import { describe, expect, it } from 'vitest';

// index_browser.ts is index.ts less what needs a process: a name added to
// index.ts must be added there too, or be named here as Node-only.
const NODE_ONLY = ['userCookie'];

describe("the transport's browser entry", () => {
  it("exports everything index.ts does but the reader of the user's cookie file", async () => {
    const node = Object.keys(await import('../src/index.js')).sort();
    const browser = Object.keys(await import('../src/index_browser.js')).sort();
    expect(browser).toEqual(node.filter((k) => !NODE_ONLY.includes(k)));
  });
});
