import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, HashStore, PrefixStore, type Store, TCPStore, TCPStoreServer } from '@collective/rendezvous';

/** A store backend under test: `open()` gives another handle on the same store (another client, another process's view). */
export interface Backend {
  name: string;
  open(timeoutMs?: number): Promise<Store>;
  close(): Promise<void>;
}

export type BackendName = 'hash' | 'file' | 'tcp-legacy' | 'tcp-v2' | 'prefix-over-tcp';
export const BACKENDS: readonly BackendName[] = ['hash', 'file', 'tcp-legacy', 'tcp-v2', 'prefix-over-tcp'];

export async function backend(name: BackendName): Promise<Backend> {
  const opened: Store[] = [];
  const track = (s: Store) => {
    opened.push(s);
    return s;
  };
  if (name === 'hash') {
    const store = new HashStore();
    return { name, open: async () => store, close: () => store.close() };
  }
  if (name === 'file') {
    const dir = mkdtempSync(join(tmpdir(), 'filestore-'));
    return {
      name,
      open: async (timeoutMs = 10_000) => track(new FileStore(dir, { timeoutMs })),
      close: async () => {
        await Promise.all(opened.map((s) => s.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const server = await TCPStoreServer.start({ host: '127.0.0.1' });
  const dialect = name === 'tcp-legacy' ? 'legacy' : 'v2';
  return {
    name,
    open: async (timeoutMs = 10_000) => {
      const client = track(await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs, dialect }));
      return name === 'prefix-over-tcp' ? new PrefixStore('/worker/attempt_0', client) : client;
    },
    close: async () => {
      await Promise.all(opened.map((s) => s.close()));
      await server.close();
    },
  };
}
