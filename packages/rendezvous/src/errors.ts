/**
 * The codes a store, a launcher's environment or a job bootstrap fails
 * with: errno names, as the transport's, so a caller catching both sees
 * one vocabulary (every code here is also one of the transport's).
 */
export type RendezvousErrorCode = 'EINVAL' | 'ENOENT' | 'EACCES' | 'EIO' | 'ECANCELED' | 'ETIMEDOUT' | 'ENOTCONN' | 'EAGAIN' | 'EBUSY';

/** Every failure of this package; the message starts with the code, as the transport's errors do. */
export class RendezvousError extends Error {
  readonly code: RendezvousErrorCode;

  constructor(code: RendezvousErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'RendezvousError';
    this.code = code;
  }
}

export function fail(code: RendezvousErrorCode, message: string): never {
  throw new RendezvousError(code, message);
}
