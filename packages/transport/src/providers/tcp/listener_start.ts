import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { PAGE_SIZE } from '../../constants.js';
import { EndpointField } from '../../control_layout.js';
import { fail, TransportError } from '../../errors.js';
import { jobSecretFromEnv, RendezvousError } from '@collective/rendezvous';
import { jobSecretOf } from '../../job_secret_slot.js';
import { userCookie } from '../../user_cookie.js';
import { tables } from '../../pool_tables.js';
import type { Pool } from '../../pool.js';
import { debugLine } from './debug_log.js';
import { listenAddressFromEnv } from './interface_choice.js';
import { L, L_ERROR_BYTE, L_ERROR_MAX, L_HOST_BYTE, L_HOSTID_BYTE, L_PROCESS_BYTE, L_UNIX_BYTE, LISTENER_PAGES, Phase, putText, TCP_LISTENER, TEXT_FIELD_MAX } from './layout.js';
import { Listener } from './listener.js';
import { hostIdentity, transportChoice, unixPath } from './socket_choice.js';
import { selfTest } from './sync_socket.js';

export const CONNECT_TIMEOUT_ENV = 'COLLECTIVE_SOCKET_CONNECT_TIMEOUT_MS';
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

function positiveIntEnv(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0 || n > max) fail('EINVAL', `${name} must be an integer in [1, ${max}] (got ${raw})`);
  return n;
}


function listenOn(server: Server, where: { host: string; port: number } | { path: string }, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new TransportError('ENOTCONN', `the socket listener cannot listen on ${what}: ${e.code ?? e.message}`)));
    server.listen({ ...where, backlog: 511 }, () => resolve());
  });
}

function writeFailure(b: Int32Array, u8: Uint8Array, e: unknown): void {
  // Our own errors (a bad setting, a secret the environment gives wrongly) reach the user as they are.
  const text = e instanceof TransportError || e instanceof RendezvousError ? e.message : `EIO: the socket listener failed to start: ${(e as Error).message ?? String(e)}`;
  Atomics.store(b, L.ERROR_LEN, putText(u8, L_ERROR_BYTE, L_ERROR_MAX, text));
  Atomics.store(b, L.PHASE, Phase.FAILED);
  Atomics.notify(b, L.PHASE);
}

/**
 * The listener thread's main: proves that sockets can be driven
 * synchronously here, picks the interface, listens on tcp and (on Unix) on
 * a Unix socket, publishes its addresses in the listener block and serves
 * until the last socket endpoint of the process closes. A failure to start
 * is written into the block for the thread that waits on it.
 */
export async function runListener(pool: Pool, slot: number, gen: number): Promise<void> {
  const { endpoints } = tables(pool);
  if (endpoints.get(slot, EndpointField.STATE) !== TCP_LISTENER || endpoints.get(slot, EndpointField.GEN) !== gen) return;
  const byte = endpoints.get(slot, EndpointField.MAILBOX_PAGE) * PAGE_SIZE;
  const b = new Int32Array(pool.memory.buffer, byte, (LISTENER_PAGES * PAGE_SIZE) / 4);
  const u8 = pool.u8(byte, PAGE_SIZE);
  const servers: Server[] = [];
  try {
    // The start-up waits (the self-test's local sockets, listen(), the route
    // lookup, 2 s) need no deadline of their own: the endpoint that started
    // this thread gives up on it after START_TIMEOUT_MS (listener_link.ts).
    await selfTest();
    const connectTimeoutMs = positiveIntEnv(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT_MS, 3_600_000);
    transportChoice();
    const choice = await listenAddressFromEnv();
    const identity = `${process.pid}.${randomBytes(6).toString('hex')}`;
    // The job's secret (World.join sets it from the launcher), else the environment's, else
    // this user's cookie; failing all, a secret of this process alone.
    const given = jobSecretOf(pool) ?? jobSecretFromEnv();
    const cookie = given ? undefined : userCookie();
    const key = given ?? cookie?.secret ?? new Uint8Array(randomBytes(32));
    const keyFrom = given ? 'the job secret' : cookie ? `this user's cookie ${cookie.path}` : "a secret of this process alone (no job secret was given and the user's cookie is unusable): no other process can connect";
    const tcp = createServer({ pauseOnConnect: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: 10_000 });
    servers.push(tcp);
    await listenOn(tcp, { host: choice.address, port: 0 }, choice.address);
    const port = (tcp.address() as AddressInfo).port;
    let unix = '';
    if (process.platform !== 'win32') {
      const path = process.platform === 'linux' ? `@collective.${identity}` : `${process.env.TMPDIR ?? '/tmp'}/collective.${identity}.sock`;
      const server = createServer({ pauseOnConnect: true });
      servers.push(server);
      await listenOn(server, { path: unixPath(path) }, `Unix socket ${path}`);
      unix = path;
    }
    const self = { host: choice.address, port, unix, hostId: hostIdentity(), process: identity };
    Atomics.store(b, L.HOST_LEN, putText(u8, L_HOST_BYTE, TEXT_FIELD_MAX, self.host));
    Atomics.store(b, L.PROCESS_LEN, putText(u8, L_PROCESS_BYTE, TEXT_FIELD_MAX, self.process));
    Atomics.store(b, L.UNIX_LEN, putText(u8, L_UNIX_BYTE, TEXT_FIELD_MAX, self.unix));
    Atomics.store(b, L.HOSTID_LEN, putText(u8, L_HOSTID_BYTE, TEXT_FIELD_MAX, self.hostId));
    Atomics.store(b, L.PORT, port);
    const listener = new Listener(pool, b, byte, servers, self, connectTimeoutMs, { slot, gen }, key);
    if (Atomics.compareExchange(b, L.PHASE, Phase.STARTING, Phase.RUNNING) !== Phase.STARTING) {
      // Every endpoint that wanted it is gone already.
      listener.stop();
      return;
    }
    Atomics.notify(b, L.PHASE);
    debugLine(`listener of pool ${pool.id} listens on ${self.host}:${port} (${choice.name || 'no interface'}: ${choice.why})${unix ? ` and ${unix}` : ''}, identity ${self.process}; connections authenticate with ${keyFrom}`);
    listener.run();
  } catch (e) {
    for (const s of servers) s.close();
    writeFailure(b, u8, e);
  }
}
