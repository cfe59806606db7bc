import type { RendezvousError } from './errors.js';
import { HashStore } from './hash_store.js';
import { jobSecretFromEnv } from './job_secret.js';
import type { LaunchEnv, LaunchStoreSpec } from './launch_env.js';
import { PrefixStore } from './prefix_store.js';
import { type Store, StoreError, checkTimeout } from './store.js';
import { storeListenAddress } from './store_listen.js';
import { TCPStore } from './tcp_store.js';
import { TCPStoreServer } from './tcp_store_server.js';

/** The store a launch environment points at, opened; close() also stops a server this process hosts. */
export interface LaunchStore {
  store: Store;
  /** set when this process hosts the TCPStore server */
  server?: TCPStoreServer;
  close(): Promise<void>;
}

export interface LaunchStoreOptions {
  timeoutMs?: number;
  /** where COLLECTIVE_JOB_SECRET(_FILE) is read; default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Opens the store that `launch` describes: an in-process HashStore for a
 * single process, or the TCPStore, hosting its server when this process is
 * the one the launcher designates. With a job secret in the environment, a
 * server this process hosts admits only clients that prove it, and clients
 * prove it to every store of ours (not to torch's agent store, which cannot
 * check it).
 */
export async function openLaunchStore(launch: LaunchEnv, options: LaunchStoreOptions = {}): Promise<LaunchStore> {
  const timeoutMs = checkTimeout(options.timeoutMs ?? 300_000, 'options.timeoutMs');
  const spec = launch.store;
  if (spec.kind === 'hash') {
    const store = new HashStore({ timeoutMs });
    return { store, close: () => store.close() };
  }
  const where = `(address from ${spec.source}, launcher ${launch.launcher})`;
  let secret: Uint8Array | undefined;
  try {
    secret = jobSecretFromEnv(options.env ?? process.env);
  } catch (e) {
    throw new StoreError((e as RendezvousError).code ?? 'EINVAL', `rank ${launch.rank}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
  let server: TCPStoreServer | undefined;
  let listen: string | undefined;
  if (spec.serve) {
    try {
      const asked = spec.listenHost ?? spec.host;
      const label = spec.listenHost !== undefined && spec.listenHost !== spec.host ? `COLLECTIVE_STORE_LISTEN=${asked}` : addressLabel(spec);
      listen = spec.listenAny ? undefined : await storeListenAddress(asked, { label, multiNode: spansNodes(launch), anyHint: 'set COLLECTIVE_STORE_LISTEN=any' });
      server = await TCPStoreServer.start({ port: spec.port, ...(listen !== undefined && { host: listen }), ...(secret !== undefined && { secret, requireAuth: true }) });
    } catch (e) {
      const why = (e as Error).message.replace(/^[A-Z]+: /, '');
      throw new StoreError((e as RendezvousError).code ?? 'EIO', `rank ${launch.rank} hosts the job's store (${spec.source}, launcher ${launch.launcher}) but ${why}`);
    }
  }
  let client: TCPStore;
  try {
    // The host talks to its own server at the address it listens on: its advertised name may not resolve locally.
    const host = server ? (listen ?? '127.0.0.1') : spec.host;
    const proves = secret !== undefined && !hostedByTorch(launch, spec);
    client = await TCPStore.connect({ host, port: spec.port, timeoutMs, dialect: spec.dialect, ...(proves && { secret }) });
  } catch (e) {
    await server?.close();
    const why = (e as Error).message.replace(/^[A-Z]+: /, '');
    throw new StoreError((e as RendezvousError).code ?? 'ENOTCONN', `rank ${launch.rank}: ${why} ${where}`);
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

/** torchrun's agent hosts the store its workers use under /worker/attempt_N: torch's server, which knows no AUTH. */
function hostedByTorch(launch: LaunchEnv, spec: Extract<LaunchStoreSpec, { kind: 'tcp' }>): boolean {
  return launch.launcher === 'torchrun' && !spec.serve && spec.prefix !== undefined;
}

function spansNodes(launch: LaunchEnv): boolean {
  return (launch.nodeCount ?? 1) > 1 || (launch.localWorldSize !== undefined && launch.localWorldSize < launch.worldSize);
}

function addressLabel(spec: Extract<LaunchStoreSpec, { kind: 'tcp' }>): string {
  if (spec.source.startsWith('COLLECTIVE_COMM_ID')) return `COLLECTIVE_COMM_ID's host ${spec.host}`;
  if (spec.source.startsWith('MASTER_ADDR')) return `MASTER_ADDR=${spec.host}`;
  return `the store's host ${spec.host} (${spec.source})`;
}
