import { connect, type Socket } from 'node:net';
import { checkAcceptor, CHALLENGE_BYTES, dialerProof, MAC_BYTES, NONCE_BYTES, readChallenge } from './handshake.js';
import { Permanent, readExactly, writeWhole } from './handshake_io.js';
import { Reason } from './reasons.js';
import { unixPath } from './socket_choice.js';
import { SocketClosed, socketFd } from './sync_socket.js';
import { decodeHello, encodeHello, type Hello, HELLO_BYTES, HelloKind, HelloStatus, type Reach } from './wire.js';

/** A dialer whose proof was answered by the socket closing this often concludes it was refused. */
const REFUSALS_TO_GIVE_UP = 3;
const BACKOFF_FIRST_MS = 10;
const BACKOFF_MAX_MS = 500;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const errCode = (e: unknown): string => (e as { code?: string }).code ?? (e as Error).message ?? String(e);

/** The deterministic dial direction between two endpoints: the smaller (process, slot, gen) dials. */
export function dials(me: Reach, peer: Reach): boolean {
  if (me.process !== peer.process) return me.process < peer.process;
  return me.slot !== peer.slot ? me.slot < peer.slot : me.gen < peer.gen;
}

/** Connects one paused socket (Node never reads it), or rejects with the socket error within `timeoutMs`. */
export function dial(peer: Reach, unix: boolean, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = unix ? connect({ path: unixPath(peer.unix) }) : connect({ host: peer.host, port: peer.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 10_000 });
    socket.pause();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
    }, Math.max(1, timeoutMs));
    const onError = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once('connect', () => {
      clearTimeout(timer);
      // Later errors show up in the endpoint's own reads and writes; an unheard 'error' would end this thread.
      socket.off('error', onError);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', onError);
  });
}


/**
 * Dials `peer`, proves this process holds the job secret (`key`), sends
 * `hello` and checks the acceptor's proof and answer; retried with
 * back-off until `deadline` unless the failure is permanent or `stopped()`.
 */
export async function proveAndConnect(key: Uint8Array, peer: Reach, unix: boolean, hello: Hello, deadline: number, stopped: () => boolean): Promise<{ socket: Socket; fd: number }> {
  let backoff = BACKOFF_FIRST_MS;
  let attempts = 0;
  let refused = 0;
  let last = '';
  for (;;) {
    attempts++;
    let socket: Socket | undefined;
    let proved = false;
    try {
      socket = await dial(peer, unix, deadline - performance.now());
      const fd = socketFd(socket);
      const left = () => Math.max(1, deadline - performance.now());
      const theirNonce = readChallenge(await readExactly(fd, CHALLENGE_BYTES, left()));
      if (typeof theirNonce === 'string') throw new Permanent(Reason.PROTOCOL, theirNonce);
      const proof = dialerProof(key, theirNonce, encodeHello(hello));
      writeWhole(fd, proof);
      proved = true;
      const reply = await readExactly(fd, MAC_BYTES + HELLO_BYTES, left());
      const answerBytes = checkAcceptor(key, proof.subarray(0, NONCE_BYTES), theirNonce, reply);
      if (!answerBytes) throw new Permanent(Reason.NOT_AUTHENTICATED, 'its answer does not prove it holds the job secret');
      const answer = decodeHello(answerBytes);
      if (typeof answer === 'string') throw new Permanent(Reason.PROTOCOL, answer);
      if (answer.kind !== HelloKind.ANSWER) throw new Permanent(Reason.PROTOCOL, `hello answered with kind ${answer.kind}`);
      if (answer.status === HelloStatus.WRONG_PROCESS) throw new Permanent(Reason.WRONG_PROCESS, answer.from.process);
      if (answer.status === HelloStatus.NO_ENDPOINT) throw new Permanent(Reason.ENDPOINT_GONE, '');
      return { socket, fd };
    } catch (e) {
      socket?.destroy();
      if (e instanceof Permanent || stopped()) throw e;
      // A listener refuses by closing: the same answer to our proof, again and again, is a refusal.
      if (proved && e instanceof SocketClosed && ++refused >= REFUSALS_TO_GIVE_UP) {
        throw new Permanent(Reason.NOT_AUTHENTICATED, 'it closed the connection after the hello each time');
      }
      last = e instanceof SocketClosed ? e.code : errCode(e);
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw Object.assign(new Error(last), { attempts, last });
      await sleep(Math.min(backoff, remaining));
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }
}
