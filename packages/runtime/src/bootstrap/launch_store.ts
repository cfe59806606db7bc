import { TransportError } from '@collective/transport';
import { HashStore } from './hash_store.js';
import type { LaunchEnv } from './launch_env.js';
import { PrefixStore } from './prefix_store.js';
import { type Store, StoreError, checkTimeout } from './store.js';
import { TCPStore } from './tcp_store.js';
import { TCPStoreServer } from './tcp_store_server.js';

/** The store a launch environment points at, opened; close() also stops a server this process hosts. */
export interface LaunchStore {
  store: Store;
  /** set when this process hosts the TCPStore server */
  server?: TCPStoreServer;
  close(): Promise<void>;
}

/**
 * Opens the store that `launch` describes: an in-process HashStore for a
 * single process, or the TCPStore, hosting its server when this process is
 * the one the launcher designates.
 */
export async function openLaunchStore(launch: LaunchEnv, options: { timeoutMs?: number } = {}): Promise<LaunchStore> {
  const timeoutMs = checkTimeout(options.timeoutMs ?? 300_000, 'options.timeoutMs');
  const spec = launch.store;
  if (spec.kind === 'hash') {
    const store = new HashStore({ timeoutMs });
    return { store, close: () => store.close() };
  }
  let server: TCPStoreServer | undefined;
  if (spec.serve) {
    try {
      server = await TCPStoreServer.start({ port: spec.port, ...(spec.listenHost !== undefined && { host: spec.listenHost }) });
    } catch (e) {
      const why = (e as Error).message.replace(/^[A-Z]+: /, '');
      throw new StoreError((e as TransportError).code ?? 'EIO', `rank ${launch.rank} hosts the job's store (${spec.source}, launcher ${launch.launcher}) but ${why}`);
    }
  }
  let client: TCPStore;
  try {
    // The host talks to its own server over loopback: its advertised name may not resolve locally.
    const host = server ? (spec.listenHost ?? '127.0.0.1') : spec.host;
    client = await TCPStore.connect({ host, port: spec.port, timeoutMs, dialect: spec.dialect });
  } catch (e) {
    await server?.close();
    const why = (e as Error).message.replace(/^[A-Z]+: /, '');
    throw new StoreError((e as TransportError).code ?? 'ENOTCONN', `rank ${launch.rank}: ${why} (address from ${spec.source}, launcher ${launch.launcher})`);
  }
  const store = spec.prefix === undefined ? client : new PrefixStore(spec.prefix, client);
  const out: LaunchStore = {
    store,
    close: async () => {
      await client.close();
      await server?.close();
    },
  };
  if (server) out.server = server;
  return out;
}
