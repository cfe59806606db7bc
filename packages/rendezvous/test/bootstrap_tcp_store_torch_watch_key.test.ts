import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TCPStore, TCPStoreServer } from '@collective/rendezvous';
import { hasCommand, run } from './helpers/processes.js';

// torch 1.13 binds watchKey in C++ only, so the check is a small C++ program
// built against Debian's libtorch (libtorch-dev), the client torch itself uses.
const HEADER = '/usr/include/torch/csrc/distributed/c10d/TCPStore.hpp';
const usable = hasCommand('g++') && existsSync(HEADER);
if (!usable) console.warn(`bootstrap_tcp_store_torch_watch_key: SKIPPED — needs g++ and ${HEADER} (apt-get install g++ libtorch-dev)`);

describe.skipIf(!usable)("TCPStore server: torch 1.13's C++ client's watchKey", () => {
  let dir: string;
  let binary: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'watch-key-'));
    binary = join(dir, 'torch_watch_key');
    const source = fileURLToPath(new URL('./fixtures/torch_watch_key.cpp', import.meta.url));
    const r = spawnSync('g++', ['-std=c++17', '-O0', source, '-o', binary, '-ltorch', '-ltorch_cpu', '-lc10'], { encoding: 'utf8', timeout: 50_000 });
    if (r.status !== 0) throw new Error(`building the torch client failed:\n${r.stderr ?? r.error?.message}`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('registers and hears of every change to its key, old and new value, as from torch\'s own server', async () => {
    const server = await TCPStoreServer.start({ host: '127.0.0.1' });
    // torch 1.13's main-connection wire: the legacy numbering and its "/" key prefix.
    const store = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, dialect: 'legacy', keyPrefix: '/' });
    try {
      let changed = false;
      const r = await run(binary, [String(server.port), '4'], {
        timeoutMs: 20_000,
        onStdout: (all) => {
          if (changed || !all.includes('REGISTERED')) return;
          changed = true;
          void (async () => {
            await store.set('k', 'v1');
            await store.set('k', 'v2');
            await store.compareSet('k', 'v2', 'v3');
            await store.deleteKey('k');
          })();
        },
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual(['REGISTERED', "NOTICE none -> 'v1'", "NOTICE 'v1' -> 'v2'", "NOTICE 'v2' -> 'v3'", "NOTICE 'v3' -> none"]);
    } finally {
      await store.close();
      await server.close();
    }
  });
});
