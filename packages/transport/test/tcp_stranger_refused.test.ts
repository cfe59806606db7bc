import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { PeerProcess } from './helpers/tcp_peers.js';
import { helloTo, strangerSession } from './helpers/stranger.js';

const SECRET = 'the-job-secret-of-this-test-0123456789';
const BYTES = 65536;
const NONCE = 32;

/** The dialer's proof for a challenge, computed with `secretText` (the right one or not). */
function proof(secretText: string, challenge: Buffer, hello: Buffer): Buffer {
  const key = createHash('sha256').update(secretText).digest();
  const nonce = randomBytes(NONCE);
  const mac = createHmac('sha256', key).update('collective dial\0').update(challenge.subarray(8, 8 + NONCE)).update(nonce).update(hello).digest();
  return Buffer.concat([nonce, mac, hello]);
}

describe('a process without the job secret', () => {
  let b: PeerProcess;
  beforeAll(async () => {
    b = await (await PeerProcess.start({ COLLECTIVE_JOB_SECRET: SECRET, COLLECTIVE_DEBUG: 'INFO' })).setup(BYTES);
    await b.call('fillByte', 0, BYTES, 0xee);
  });
  afterAll(async () => b?.stop());

  for (const over of ['tcp', 'unix'] as const) {
    it(`is sent only a challenge over ${over}: no identity, and a wrong proof is answered by the socket closing`, async () => {
      const seen = await strangerSession(b.address, over, (c) => proof('not-the-secret-at-all-0000', c, helloTo(b.address)));
      expect(seen.closed).toBe(true);
      // 8 bytes of magic and version, then the nonce: nothing more, and nothing of the process.
      expect(seen.received.length).toBe(40);
      expect(seen.received.includes(Buffer.from(b.address.process!))).toBe(false);
      expect(seen.received.includes(Buffer.from(String(b.pid)))).toBe(false);
    });

    it(`cannot write into a registered region over ${over} by skipping the handshake`, async () => {
      // An RMA write header (op 1) naming the real key, then its payload, as the first bytes.
      const frame = Buffer.alloc(64 + 16, 0x41);
      frame.writeUInt32LE(1, 0);
      frame.writeUInt32LE(0, 4);
      frame.writeUInt32LE(b.key % 2 ** 32, 8);
      frame.writeUInt32LE(Math.floor(b.key / 2 ** 32), 12);
      frame.writeUInt32LE(0, 16);
      frame.writeUInt32LE(0, 20);
      frame.writeUInt32LE(16, 24);
      const seen = await strangerSession(b.address, over, () => Buffer.concat([frame, Buffer.alloc(256)]));
      expect(seen.closed).toBe(true);
      expect(seen.received.length).toBe(40);
      expect(await b.call('checkByte', 0, BYTES, 0xee)).toBe(-1);
    });
  }

  it('cannot replay a proof made for another connection', async () => {
    let first: Buffer | undefined;
    const control = await strangerSession(b.address, 'tcp', (c) => (first = proof(SECRET, c, helloTo(b.address))), 1000);
    // With the secret the proof is accepted: the answer is an HMAC and a 256-byte hello.
    expect(control.received.length).toBe(40 + 32 + 256);
    const replayed = await strangerSession(b.address, 'tcp', () => first);
    expect(replayed.closed).toBe(true);
    expect(replayed.received.length).toBe(40);
  });

  it('is refused as a peer: RMA from a process with another secret fails with EACCES and moves nothing, and the job still connects', async () => {
    const [other, member] = await Promise.all([PeerProcess.start({ COLLECTIVE_JOB_SECRET: 'another-jobs-secret-0123456789' }), PeerProcess.start({ COLLECTIVE_JOB_SECRET: SECRET })]);
    try {
      await Promise.all([other.setup(BYTES), member.setup(BYTES)]);
      await other.call('insert', b.address);
      await other.call('fill', 0, 16, 3);
      const r = await other.call('rma', { kind: 'write', length: 16, dest: 0, remoteOffset: 0, key: b.key });
      expect(r.err).toMatchObject({ code: 'EACCES', message: expect.stringMatching(/do not hold the same job secret/) });
      expect(await b.call('checkByte', 0, BYTES, 0xee)).toBe(-1);
      // The listener still serves the job: a member's write lands.
      await member.call('insert', b.address);
      await member.call('fill', 0, 16, 5);
      expect((await member.call('rma', { kind: 'write', length: 16, dest: 0, remoteOffset: 0, key: b.key })).ok).toBeDefined();
      expect(await b.call('check', 0, 16, 5)).toBe(-1);
      // Refusals are logged once per remote address, however many there were.
      expect(b.stderr.match(/refused a connection from 127\.0\.0\.1/g)).toHaveLength(1);
      expect(b.stderr.match(/refused a connection from a Unix socket/g)).toHaveLength(1);
    } finally {
      await Promise.all([other.stop(), member.stop()]);
    }
  });
});
