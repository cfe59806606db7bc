import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error the build scripts are plain JavaScript
import { buildWeb } from '../scripts/build.mjs';
// @ts-expect-error the build scripts are plain JavaScript
import { nodeOnlyParts } from '../scripts/node_only.mjs';

async function partsOf(platform: 'browser' | 'node'): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'collective-web-bundle-'));
  try {
    return nodeOnlyParts(await buildWeb(dir, { platform }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the page's bundle", () => {
  it('holds no node: module, no tcp provider, store, launcher or Node side of the platform', async () => {
    expect(await partsOf('browser')).toEqual([]);
  }, 60_000);

  it('is checked by a detector that sees them in the same entries built for Node', async () => {
    const parts = await partsOf('node');
    expect(parts).toContain('node:worker_threads');
    expect(parts.some((p) => /transport\/dist\/platform\.js$/.test(p))).toBe(true);
    expect(parts.some((p) => /providers\/tcp\//.test(p))).toBe(true);
    expect(parts.some((p) => /rendezvous\/dist\/tcp_store\.js$/.test(p))).toBe(true);
    expect(parts.some((p) => /transport\/dist\/user_cookie\.js$/.test(p))).toBe(true);
    expect(parts.some((p) => /runtime\/dist\/device_threads\.js$/.test(p))).toBe(true);
  }, 60_000);
});
