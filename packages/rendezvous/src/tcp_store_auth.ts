import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { StoreError } from './store.js';

// The store's optional mutual authentication, for when both ends are ours.
//
//   client → server  AUTH_OP, AUTH_VERSION, client nonce (32 B)
//   server → client  server nonce (32 B)
//   client → server  HMAC-SHA256(secret, "…client" ‖ client nonce ‖ server nonce)
//   server → client  HMAC-SHA256(secret, "…server" ‖ client nonce ‖ server nonce)
//
// The client proves itself first, so a stranger never gets anything computed
// from the secret; fresh nonces on both sides keep a recorded exchange from
// being replayed in either direction, and the two labels keep one side's
// proof from being reflected back as the other's. A server that refuses
// just closes the connection.

/** Far above the query numbers of every torch dialect (which stay under 32). */
export const AUTH_OP = 0xc1;
export const AUTH_VERSION = 1;
export const NONCE_BYTES = 32;
export const TAG_BYTES = 32;
export const MIN_SECRET_BYTES = 16;

const LABEL = {
  client: Buffer.from('collective TCPStore auth v1 client\0', 'latin1'),
  server: Buffer.from('collective TCPStore auth v1 server\0', 'latin1'),
};

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** The proof `role` sends for this pair of nonces. */
export function authTag(secret: Uint8Array, role: 'client' | 'server', clientNonce: Uint8Array, serverNonce: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(LABEL[role]).update(clientNonce).update(serverNonce).digest();
}

/** Constant-time comparison of a received proof with the expected one. */
export function tagMatches(expected: Buffer, got: Buffer): boolean {
  return got.length === expected.length && timingSafeEqual(expected, got);
}

/** A private copy of a secret given as an option; the message never shows it. */
export function checkSecret(secret: unknown, name: string): Buffer {
  if (!(secret instanceof Uint8Array)) throw new StoreError('EINVAL', `${name} must be a Uint8Array (got ${secret === null ? 'null' : typeof secret}); jobSecretFromEnv() makes one from COLLECTIVE_JOB_SECRET`);
  if (secret.byteLength < MIN_SECRET_BYTES) throw new StoreError('EINVAL', `${name} must be at least ${MIN_SECRET_BYTES} bytes (got ${secret.byteLength}); jobSecretFromEnv() gives 32`);
  return Buffer.from(secret);
}
