import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MAGIC, VERSION } from './wire.js';

/**
 * The job's challenge-response, in front of every socket between two
 * processes (in the spirit of an authenticated key exchange, without the
 * encryption): the acceptor speaks first with a fresh nonce, the dialer
 * answers with its own nonce and an HMAC over both and its hello, and the
 * acceptor answers with an HMAC over both nonces and its answer. Nothing of
 * a hello is parsed before its HMAC checks out, so a stranger learns only
 * that a collective listener is there: a refusal is the socket closing.
 * Each side's HMAC covers the other's fresh nonce, so a recorded exchange
 * cannot be replayed, and the dialer checks the acceptor too (a process
 * that took over a peer's port cannot pose as it).
 */
export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;
/** magic, version, reserved, nonce */
export const CHALLENGE_BYTES = 8 + NONCE_BYTES;

const DIAL = Buffer.from('collective dial\0');
const ACCEPT = Buffer.from('collective accept\0');

export function challenge(): { bytes: Buffer; nonce: Buffer } {
  const bytes = Buffer.alloc(CHALLENGE_BYTES);
  bytes.writeUInt32LE(MAGIC, 0);
  bytes.writeUInt16LE(VERSION, 4);
  const nonce = randomBytes(NONCE_BYTES);
  nonce.copy(bytes, 8);
  return { bytes, nonce };
}

/** The acceptor's nonce from its challenge, or why the bytes are not one. */
export function readChallenge(b: Buffer): Buffer | string {
  if (b.readUInt32LE(0) !== MAGIC) return 'not a collective socket listener (bad magic)';
  if (b.readUInt16LE(4) !== VERSION) return `wire version ${b.readUInt16LE(4)}, this is ${VERSION}`;
  return Buffer.from(b.subarray(8, 8 + NONCE_BYTES));
}

function mac(key: Uint8Array, label: Buffer, first: Buffer, second: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(label).update(first).update(second).update(body).digest();
}

/** What the dialer sends after the challenge: its nonce, the HMAC, its hello. */
export function dialerProof(key: Uint8Array, acceptorNonce: Buffer, hello: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  return Buffer.concat([nonce, mac(key, DIAL, acceptorNonce, nonce, hello), hello]);
}

/** The hello in a dialer's proof if its HMAC is right (the dialer's nonce with it), else undefined. */
export function checkDialer(key: Uint8Array, acceptorNonce: Buffer, proof: Buffer): { hello: Buffer; nonce: Buffer } | undefined {
  const nonce = proof.subarray(0, NONCE_BYTES);
  const got = proof.subarray(NONCE_BYTES, NONCE_BYTES + MAC_BYTES);
  const hello = proof.subarray(NONCE_BYTES + MAC_BYTES);
  return timingSafeEqual(got, mac(key, DIAL, acceptorNonce, nonce, hello)) ? { hello, nonce } : undefined;
}

/** The acceptor's answer: the HMAC over both nonces and the answer hello, then the answer. */
export function acceptorProof(key: Uint8Array, dialerNonce: Buffer, acceptorNonce: Buffer, answer: Buffer): Buffer {
  return Buffer.concat([mac(key, ACCEPT, dialerNonce, acceptorNonce, answer), answer]);
}

/** The answer hello if the acceptor's HMAC is right, else undefined. */
export function checkAcceptor(key: Uint8Array, dialerNonce: Buffer, acceptorNonce: Buffer, proof: Buffer): Buffer | undefined {
  const answer = proof.subarray(MAC_BYTES);
  return timingSafeEqual(proof.subarray(0, MAC_BYTES), mac(key, ACCEPT, dialerNonce, acceptorNonce, answer)) ? answer : undefined;
}
