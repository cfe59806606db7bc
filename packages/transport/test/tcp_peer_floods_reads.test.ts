import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerProcess } from './helpers/tcp_peers.js';
import { helloTo, memberSocket } from './helpers/stranger.js';

const SECRET = 'flooded-job-secret-0123456789abcd';
const BYTES = 65536;
const REQUESTS = 1_000_000;

/** READ_REQUEST headers for the whole region, `n` of them. */
function readRequests(key: number, first: number, n: number): Buffer {
  const b = Buffer.alloc(64 * n);
  for (let i = 0; i < n; i++) {
    const at = 64 * i;
    b.writeUInt32LE(2, at); // READ_REQUEST
    b.writeUInt32LE(key % 2 ** 32, at + 8);
    b.writeUInt32LE(Math.floor(key / 2 ** 32), at + 12);
    b.writeUInt32LE((first + i) >>> 0 || 1, at + 36);
    b.writeUInt32LE(BYTES, at + 44);
  }
  return b;
}

describe('a peer of the job that asks for reads and never reads the answers', () => {
  let b: PeerProcess;
  beforeAll(async () => {
    b = await (await PeerProcess.start({ COLLECTIVE_JOB_SECRET: SECRET })).setup(BYTES);
  });
  afterAll(async () => b?.stop());

  it('is held back by its own socket: the target stops reading it instead of queueing answers without bound, and serves the others', async () => {
    const hello = helloTo(b.address, '1.0000000000ab');
    const rssBefore = await b.call('rss');
    const socket = await memberSocket(b.address, SECRET, hello);
    socket.pause();
    socket.on('error', () => {});
    for (let i = 0; i < REQUESTS; i += 65536) socket.write(readRequests(b.key, i + 1, Math.min(65536, REQUESTS - i)));
    // b drives its endpoint for 4 s (waiting for a message that never comes), reading what the flood lets it.
    await expect(b.call('trecv', 99, 0, 4000)).rejects.toThrow(/timed out/);
    const grown = (await b.call('rss')) - rssBefore;
    socket.destroy();
    // Unbounded, the queue of answers grew by ~300 MB in these 4 s here; held back, ~56 MB (the heap's own growth).
    expect(grown).toBeLessThan(128 << 20);
    const member = await (await PeerProcess.start({ COLLECTIVE_JOB_SECRET: SECRET })).setup(BYTES);
    try {
      await member.call('insert', b.address);
      await member.call('fill', 0, 64, 2);
      expect((await member.call('rma', { kind: 'write', length: 64, dest: 0, remoteOffset: 0, key: b.key })).ok).toBeDefined();
      expect(await b.call('check', 0, 64, 2)).toBe(-1);
    } finally {
      await member.stop();
    }
  });
});
