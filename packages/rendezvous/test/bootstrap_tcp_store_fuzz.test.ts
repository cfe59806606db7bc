import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TCPStore, TCPStoreServer, valueToString } from '@collective/rendezvous';
import { RawClient, str, u32, u64 } from './helpers/raw_socket.js';

/** xorshift32: the same frames on every run for a seed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const LIMITS = {
  maxKeyBytes: 64,
  maxValueBytes: 4096,
  maxKeysPerQuery: 64,
  maxFrameBytes: 16384,
  maxKeys: 256,
  maxStoredBytes: 16 << 10,
  maxInputBytes: 64 << 10,
  maxConnectionsPerAddress: 256,
  maxWaiters: 32,
  maxWaitersPerConnection: 4,
  frameTimeoutMs: 150,
  idleTimeoutMs: 300,
};

/** One frame: well-formed, cut short, oversized or noise, in either dialect's numbering. */
function frame(rand: () => number): string {
  const int = (n: number) => Math.floor(rand() * n);
  const key = () => str(`k${int(40)}`);
  const value = () => str(Buffer.alloc(rand() < 0.1 ? 4000 + int(200) : int(300), int(256)));
  const keys = (n: number) => u64(n) + Array.from({ length: n }, key).join('');
  const kind = int(12);
  let f: string;
  if (kind === 0) f = Buffer.from(Array.from({ length: 1 + int(40) }, () => int(256))).toString('hex');
  else if (kind === 1) f = u8hex(int(256)) + u64(BigInt(int(1 << 30)) << BigInt(int(34))); // a length far over every limit
  else if (kind === 2) f = 'c101' + Buffer.alloc(32, int(256)).toString('hex') + Buffer.alloc(32, int(256)).toString('hex'); // AUTH with a made-up proof
  else if (kind === 3) f = '0b' + u64(1 + int(80)) + Array.from({ length: 1 + int(8) }, () => key() + value()).join(''); // MULTI_SET, count and entries disagreeing
  else {
    const op = int(14);
    const args = [key() + value(), key() + value() + value(), key(), key() + u64(int(100) - 50), keys(1 + int(3)), keys(1 + int(3)), '', key(), key(), key() + value(), keys(int(3)), u64(1) + key() + value(), '', u32(int(1000))][op] as string;
    f = u8hex(op) + args;
  }
  // A third of the frames are cut short.
  return rand() < 0.3 ? f.slice(0, 2 * int(f.length / 2)) : f;
}

const u8hex = (n: number) => n.toString(16).padStart(2, '0');

describe('TCPStore server under a seeded fuzz of random, truncated and oversized frames', () => {
  let server: TCPStoreServer;
  beforeAll(async () => {
    server = await TCPStoreServer.start({ host: '127.0.0.1', ...LIMITS, secret: Buffer.alloc(32, 5), onDrop: () => {} });
  });
  afterAll(() => server.close());

  it('keeps serving a normal client, every level within its cap and memory bounded', async () => {
    const memory = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = memory();
    const rand = prng(0x5eed1234);
    const open: RawClient[] = [];
    const stopAt = Date.now() + 2_500;
    let connections = 0;
    const worker = async () => {
      while (Date.now() < stopAt) {
        let c: RawClient;
        try {
          c = await RawClient.open(server.port);
        } catch {
          continue;
        }
        connections++;
        open.push(c);
        if (rand() < 0.5) c.send(rand() < 0.5 ? '00cef7853c' : '');
        const frames = 1 + Math.floor(rand() * 5);
        let bytes = '';
        for (let i = 0; i < frames; i++) bytes += frame(rand);
        // Sent in random pieces, some turns of the event loop apart.
        for (let at = 0; at < bytes.length && !c.closed; ) {
          const n = 2 * (1 + Math.floor(rand() * 200));
          c.send(bytes.slice(at, at + n));
          at += n;
          if (rand() < 0.3) await new Promise((r) => setImmediate(r));
        }
        const ending = rand();
        if (ending < 0.8) {
          if (ending < 0.4) await new Promise((r) => setTimeout(r, Math.floor(rand() * 20)));
          c.end();
        }
        // else: left open, for the timeouts to deal with
        expect(server.stats.storedBytes).toBeLessThanOrEqual(LIMITS.maxStoredBytes);
        expect(server.bufferedBytes).toBeLessThanOrEqual(LIMITS.maxInputBytes + (64 << 10));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    for (const c of open) c.end();
    for (let i = 0; i < 200 && server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));

    expect(connections).toBeGreaterThan(100);
    const s = server.stats;
    expect(s.connections).toBe(0);
    expect(s.inputBytes).toBe(0);
    expect(s.waiters).toBe(0);
    expect(s.keys).toBeLessThanOrEqual(LIMITS.maxKeys);
    expect(s.storedBytes).toBeLessThanOrEqual(LIMITS.maxStoredBytes);
    expect(s.dropped + s.timedOut + s.refused).toBeGreaterThan(0);
    // Whatever the fuzz did, the store holds at most its caps; the rest is garbage the collector may not have taken yet.
    expect(memory() - before).toBeLessThan(96 << 20);

    const good = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000 });
    await good.set('after-fuzz', 'ok');
    expect(valueToString(await good.get('after-fuzz'))).toBe('ok');
    await good.close();
  });
});
