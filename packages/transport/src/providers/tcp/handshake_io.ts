import type { Reason } from './reasons.js';
import { readSome, writeSome } from './sync_socket.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Reads exactly `n` bytes of a paused socket's descriptor, polling, within `timeoutMs`. */
export async function readExactly(fd: number, n: number, timeoutMs: number): Promise<Buffer> {
  const b = Buffer.alloc(n);
  const end = performance.now() + timeoutMs;
  let got = 0;
  let pause = 0;
  while (got < n) {
    const k = readSome(fd, b, got, n - got);
    got += k;
    if (got === n) break;
    if (performance.now() > end) throw Object.assign(new Error('no hello from the peer in time'), { code: 'ETIMEDOUT' });
    if (k === 0) {
      pause = Math.min(pause + 1, 20);
      await sleep(pause);
    }
  }
  return b;
}

/** A fresh socket's send buffer always takes a handshake message whole. */
export function writeWhole(fd: number, hello: Buffer): void {
  if (writeSome(fd, [hello]) !== hello.length) throw Object.assign(new Error('the hello did not fit the socket'), { code: 'EIO' });
}

/** The two nonces of one handshake: the dialer's (theirs, for an acceptor) and the acceptor's. */
export interface Nonces {
  theirs: Buffer;
  ours: Buffer;
}

/** A handshake failure no retry can mend: the peer refused, or is not who the dialer expected. */
export class Permanent extends Error {
  constructor(
    readonly reason: Reason,
    readonly detail: string,
  ) {
    super(detail);
  }
}

