import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { TCPStore, valueToString } from '@collective/rendezvous';
import { fixturePath } from './helpers/processes.js';
import { RawClient } from './helpers/raw_socket.js';

const LIMIT = 128;
/** Connections opened: more than the limit, so an uncapped server runs out. */
const FLOOD = 240;

interface Host {
  child: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
}

/**
 * A process limited to LIMIT descriptors hosting a server with `options`.
 * (64 was too few to start reliably: Node's module loader reads files in
 * parallel, and a start-up now and then failed with EMFILE before the
 * server existed.)
 */
async function host(options: object): Promise<Host> {
  const script = fixturePath('store_server_process');
  const child = spawn('bash', ['-c', `ulimit -n ${LIMIT}; exec "$0" "$1" "$2"`, process.execPath, script, JSON.stringify(options)], {
    env: { ...process.env, COLLECTIVE_DEBUG: 'INFO' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  for (let i = 0; i < 500 && !stdout.includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
  const port = stdout.includes('\n') ? (JSON.parse(stdout.split('\n')[0] as string) as { port: number }).port : 0;
  expect(port, stderr).toBeGreaterThan(0);
  return { child, port, stdout: () => stdout, stderr: () => stderr };
}

async function until(check: () => boolean, tries = 250): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await new Promise((r) => setTimeout(r, 20));
}

/** After the flood: a normal client is served and the hosting process is alive. */
async function stillServes(h: Host): Promise<void> {
  const store = await TCPStore.connect({ host: '127.0.0.1', port: h.port, timeoutMs: 10_000 });
  await store.set('after', 'served');
  expect(valueToString(await store.get('after'))).toBe('served');
  await store.close();
  expect(h.child.exitCode).toBeNull();
  expect(h.child.signalCode).toBeNull();
}

// Connections from anyone could take every descriptor of the process hosting
// the store (rank 0, whose own sockets and files then fail) (review 2, F6).
describe(`TCPStore server in a process with ${LIMIT} file descriptors, flooded with ${FLOOD} connections`, () => {
  let h: Host | undefined;
  afterEach(() => {
    h?.child.kill('SIGKILL');
    h = undefined;
  });

  it('by default it turns connections away before the process runs out of descriptors', async () => {
    h = await host({});
    const clients: RawClient[] = [];
    for (let i = 0; i < FLOOD; i++) clients.push(await RawClient.open(h.port));
    const current = h;
    await until(() => /turned away/.test(current.stderr()));
    // The default cap is half the descriptor limit.
    expect(h.stderr()).toMatch(new RegExp(`turned away 127\\.0\\.0\\.1: ${LIMIT / 2} connections open`));
    h.child.kill('SIGUSR2');
    await until(() => /FD /.test(current.stdout()));
    expect(h.stdout()).toMatch(/^FD ok$/m);
    for (const c of clients) c.end();
    await stillServes(h);
  });

  it('with its cap set above the limit, accepts fail; the server survives them and serves once descriptors are free', async () => {
    h = await host({ maxConnections: 1000, maxConnectionsPerAddress: 1000 });
    const clients: RawClient[] = [];
    for (let i = 0; i < FLOOD; i++) clients.push(await RawClient.open(h.port));
    // An accept that fails for want of descriptors closes the connection it could not take.
    await until(() => clients.some((c) => c.closed));
    expect(clients.some((c) => c.closed)).toBe(true);
    for (const c of clients) c.end();
    await stillServes(h);
  });
});
