import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The package sits below the transport and the runtime (the transport's socket
// listener reads the job secret here): importing either back would make a circle.
const src = fileURLToPath(new URL('../src/', import.meta.url));
const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as Record<string, Record<string, string> | undefined>;

describe('@collective/rendezvous depends on no package of ours', () => {
  it('its manifest lists no @collective package and no source imports one', () => {
    const deps = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies });
    expect(deps.filter((d) => d.startsWith('@collective/'))).toEqual([]);
    const importers = readdirSync(src)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /from\s+['"]@collective\/|import\(\s*['"]@collective\//.test(readFileSync(src + f, 'utf8')));
    expect(importers).toEqual([]);
  });
});
