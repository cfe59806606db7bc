import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PeerProcess } from './helpers/tcp_peers.js';
import { prng, strangerSession } from './helpers/stranger.js';

const SECRET = 'fuzzed-job-secret-0123456789abcdef';
const BYTES = 65536;
const SEED = 0x5eed18;
/** Bounded in time as well as in count: the loop stops at whichever comes first. */
const BUDGET_MS = 4000;
const SESSIONS = 240;
const AT_ONCE = 8;

describe('a listener under a seeded stream of hostile connections', () => {
  let b: PeerProcess;
  beforeAll(async () => {
    b = await (await PeerProcess.start({ COLLECTIVE_JOB_SECRET: SECRET })).setup(BYTES);
    await b.call('fillByte', 0, BYTES, 0xee);
  });
  afterAll(async () => b?.stop());

  it(`refuses random, truncated, oversized and silent connections (seed ${SEED}) without writing, crashing, hanging or growing, and still serves the job`, async () => {
    const rand = prng(SEED);
    const int = (n: number) => Math.floor(rand() * n);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
    const rssBefore = await b.call('rss');
    const end = Date.now() + BUDGET_MS;
    const kinds = new Map<string, number>();
    let answered = 0;
    for (let i = 0; i < SESSIONS && Date.now() < end; i += AT_ONCE) {
      const batch = Array.from({ length: AT_ONCE }, () => {
        const kind = ['random', 'random-mac', 'truncated', 'oversized', 'silent', 'header-first'][int(6)]!;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        const over = int(4) === 0 ? 'unix' : 'tcp';
        const send = (): Buffer | undefined => {
          switch (kind) {
            case 'random':
              return bytes(int(2048));
            case 'random-mac':
              return bytes(32 + 32 + 256);
            case 'truncated':
              return bytes(int(32 + 32 + 256));
            case 'oversized':
              return randomBytes(1 << 20);
            case 'silent':
              return undefined;
            default: {
              // A data header naming the real key, lengths at random.
              const h = bytes(64);
              h.writeUInt32LE(1 + int(5), 0);
              h.writeUInt32LE(b.key % 2 ** 32, 8);
              h.writeUInt32LE(int(2 ** 32), 24);
              return Buffer.concat([h, bytes(int(512))]);
            }
          }
        };
        return strangerSession(b.address, over, send, 250).then((seen) => {
          // Whatever it sent, a stranger is told nothing beyond the challenge.
          if (seen.received.length > 40) answered++;
        });
      });
      await Promise.all(batch);
    }
    expect(answered).toBe(0);
    expect([...kinds.values()].reduce((a, n) => a + n, 0)).toBeGreaterThanOrEqual(48);
    expect(await b.call('checkByte', 0, BYTES, 0xee)).toBe(-1);
    // Nothing a stranger sent is kept: the process did not grow by what it was sent (≥ 8 MiB of it).
    expect((await b.call('rss')) - rssBefore).toBeLessThan(48 << 20);
    const member = await (await PeerProcess.start({ COLLECTIVE_JOB_SECRET: SECRET })).setup(BYTES);
    try {
      await member.call('insert', b.address);
      await member.call('fill', 0, 64, 7);
      expect((await member.call('rma', { kind: 'write', length: 64, dest: 0, remoteOffset: 128, key: b.key })).ok).toBeDefined();
      expect(await b.call('check', 128, 64, 7)).toBe(-1);
    } finally {
      await member.stop();
    }
  });
});
