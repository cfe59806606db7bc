import { createHash, createHmac, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { EndpointAddress } from '../../src/index.js';
import { encodeHello } from '../../src/providers/tcp/wire.js';

/** What a raw connection to a listener saw: every byte it was sent, and whether the listener closed it. */
export interface Seen {
  received: Buffer;
  closed: boolean;
}

/**
 * A process outside the job: it connects to a peer's listener (tcp, or its
 * Unix socket) with a plain socket, writes `send(challenge)` and reports
 * what came back within `waitMs`.
 */
export function strangerSession(address: EndpointAddress, over: 'tcp' | 'unix', send: (firstBytes: Buffer) => Buffer | undefined, waitMs = 3000, localAddress?: string): Promise<Seen> {
  return new Promise((resolve) => {
    const socket: Socket =
      over === 'unix' ? connect({ path: `\0${address.unix!.slice(1)}` }) : connect({ host: address.host!, port: address.port!, ...(localAddress && { localAddress }) });
    const chunks: Buffer[] = [];
    let sent = false;
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (!sent && all.length >= 40) {
        sent = true;
        const out = send(all);
        if (out && out.length > 0) socket.write(out);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      done();
    });
  });
}

/** A deterministic PRNG (mulberry32): a failing fuzz case can be run again from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A raw connection that passes the handshake with `secretText` (a process
 * of the job that misbehaves afterwards): resolves with the socket once the
 * listener answered and handed it to the endpoint at `address`.
 */
export function memberSocket(address: EndpointAddress, secretText: string, hello: Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host!, port: address.port! });
    let got = Buffer.alloc(0);
    let sent = false;
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (!sent && got.length >= 40) {
        sent = true;
        const key = createHash('sha256').update(secretText).digest();
        const nonce = randomBytes(32);
        const mac = createHmac('sha256', key).update('collective dial\0').update(got.subarray(8, 40)).update(nonce).update(hello).digest();
        socket.write(Buffer.concat([nonce, mac, hello]));
      }
      if (got.length >= 40 + 32 + 256) {
        socket.off('data', onData);
        if (got.readUInt8(40 + 32 + 7) !== 0) reject(new Error(`the listener answered status ${got.readUInt8(40 + 32 + 7)}`));
        else resolve(socket);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
}

/** A DATA hello as a job member's dialer would write it, from a made-up endpoint `process`, aimed at the endpoint at `to`. */
export function helloTo(to: EndpointAddress, process = '1.000000000000'): Buffer {
  return encodeHello({
    kind: 1, // DATA
    status: 0,
    from: { host: '127.0.0.1', port: 1, unix: '', hostId: 'elsewhere', process, slot: 0, gen: 1 },
    toSlot: to.slot,
    toGen: to.gen,
    expect: to.process!,
  } as Parameters<typeof encodeHello>[0]);
}
