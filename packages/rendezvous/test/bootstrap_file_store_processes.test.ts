import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath, run } from './helpers/processes.js';

describe('FileStore shared by several processes (write, rename, poll)', () => {
  it('one claim wins, no increment is lost, and a job bootstraps through the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'filestore-procs-'));
    try {
      const n = 4;
      const procs = await Promise.all(Array.from({ length: n }, (_, r) => run(process.execPath, [fixturePath('bootstrap_file_store_worker'), dir, String(r), String(n)], { timeoutMs: 30_000 })));
      for (const p of procs) expect(p.code, p.stderr).toBe(0);
      const out = procs.map((p) => JSON.parse(p.stdout.trim()) as { rank: number; claim: string; counter: number; addresses: string[] });
      expect(new Set(out.map((o) => o.claim)).size).toBe(1);
      for (const o of out) {
        expect(o.counter).toBe(20 * n);
        expect(o.addresses).toEqual(['addr-0', 'addr-1', 'addr-2', 'addr-3']);
      }
      // Nothing half-written or locked is left behind.
      expect(readdirSync(dir).filter((f) => !f.startsWith('k-'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
