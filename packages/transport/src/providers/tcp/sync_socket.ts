/**
 * How a thread gets a socket it can read and write synchronously, and the
 * non-blocking calls it makes on it. This is the only place that knows.
 *
 * Why this way: a collective call runs synchronously on its device thread
 * (like a CUDA kernel launch, it does not yield to an event loop), and a
 * hand-off to another thread costs 20-80 µs per message on a 2-core box.
 * Node has no public synchronous socket API, but `fs.readSync` and
 * `fs.writeSync`/`fs.writevSync` work on any descriptor, and libuv makes
 * sockets non-blocking, so an empty read throws EAGAIN instead of blocking.
 * The descriptor of a `net.Socket` is `socket._handle.fd`: undocumented, but
 * present and unchanged on Unix since Node 0.x (it is -1 on Windows, where
 * sockets are not descriptors). /proc/self/fd finds the same number through
 * documented interfaces, but only on Linux and at the cost of reading
 * /proc/net/tcp per socket. Libuv must never read the socket itself: it is
 * accepted with `pauseOnConnect` and dialled paused, so its reader never
 * starts. selfTest() proves all of this at start-up and fails with the Node
 * version in the message if a future Node stops allowing it.
 */
import { readSync, writeSync, writevSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fail } from '../../errors.js';

/** The descriptor behind a connected socket, or a clear error. */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    fail('ENOTSUP', `synchronous socket I/O needs a socket descriptor, which Node ${process.version} on ${process.platform} does not expose (got ${String(fd)}); the socket provider runs on Linux and macOS`);
  }
  return fd;
}

const again = (e: unknown): boolean => {
  const code = (e as { code?: string }).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
};

/** A socket's end, seen by readSome/writeSome: the peer closed (0) or the call failed (its code). */
export class SocketClosed extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/**
 * Reads what is there, up to `length` bytes, into `into` at `at`: the
 * count, 0 when nothing is there yet. Throws SocketClosed at the end of the
 * stream or on a socket error. An empty read costs an exception inside
 * Node; without a stack trace it is a third cheaper.
 */
export function readSome(fd: number, into: Uint8Array, at: number, length: number): number {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let n: number;
  try {
    n = readSync(fd, into, at, length, null);
  } catch (e) {
    if (again(e)) return 0;
    throw new SocketClosed((e as { code?: string }).code ?? String(e));
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (n === 0 && length > 0) throw new SocketClosed('closed by the peer');
  return n;
}

/** Writes what the socket takes of `parts` (one writev): the byte count, 0 when it is full. */
export function writeSome(fd: number, parts: readonly Uint8Array[]): number {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return parts.length === 1 ? writeSync(fd, parts[0]!) : writevSync(fd, parts as Uint8Array[]);
  } catch (e) {
    if (again(e)) return 0;
    throw new SocketClosed((e as { code?: string }).code ?? String(e));
  } finally {
    Error.stackTraceLimit = limit;
  }
}

let proven: Promise<void> | undefined;

/**
 * Proves, once per thread that asks, that sockets can be driven
 * synchronously here: two connected Unix sockets (a pipe on Windows, which
 * then fails in socketFd), an empty read that says "nothing yet", a
 * writev from shared memory and a read into shared memory.
 */
export function selfTest(): Promise<void> {
  proven ??= runSelfTest().catch((e: unknown) => {
    const why = (e as Error).message ?? String(e);
    fail('ENOTSUP', `the socket provider cannot drive sockets synchronously on Node ${process.version} (${process.platform}): ${why}. It is tested on Node 20 and 22 on Linux.`);
  });
  return proven;
}

async function runSelfTest(): Promise<void> {
  const path = process.platform === 'linux' ? `\0collective-selftest-${process.pid}-${Math.random().toString(36).slice(2)}` : `${process.env.TMPDIR ?? '/tmp'}/collective-selftest-${process.pid}-${Math.random().toString(36).slice(2)}.sock`;
  let server: Server | undefined;
  const sockets: Socket[] = [];
  try {
    const accepted = new Promise<Socket>((resolve, reject) => {
      server = createServer({ pauseOnConnect: true }, resolve);
      server.once('error', reject);
      server.listen(path);
    });
    await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
    const dialled = connect(path);
    dialled.pause();
    sockets.push(dialled);
    await new Promise<void>((resolve, reject) => {
      dialled.once('connect', () => resolve());
      dialled.once('error', reject);
    });
    const peer = await accepted;
    sockets.push(peer);
    const a = socketFd(dialled);
    const b = socketFd(peer);
    const shared = new Uint8Array(new SharedArrayBuffer(64));
    if (readSome(b, shared, 0, 8) !== 0) throw new Error('an empty socket returned bytes');
    shared.set([1, 2, 3, 4, 5, 6, 7, 8], 0);
    const header = Buffer.from([9, 9]);
    if (writeSome(a, [header, shared.subarray(0, 8)]) !== 10) throw new Error('a 10-byte writev was cut short');
    let got = 0;
    const end = performance.now() + 2000;
    while (got < 10 && performance.now() < end) got += readSome(b, shared, 16 + got, 10 - got);
    if (got !== 10 || shared[16] !== 9 || shared[25] !== 8) throw new Error(`read back ${got} of 10 bytes`);
  } finally {
    for (const s of sockets) s.destroy();
    server?.close();
  }
}
