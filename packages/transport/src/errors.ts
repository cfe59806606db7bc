/**
 * Error codes follow errno names so that users coming from libfabric,
 * dma-buf or NCCL recognise the failure class at a glance.
 */
export type ErrorCode =
  | 'EBUSY'
  | 'EINVAL'
  | 'ENOENT'
  | 'EACCES'
  | 'EIO'
  | 'ECANCELED'
  | 'ETIMEDOUT'
  | 'ESTALE'
  | 'EPERM'
  | 'EAGAIN'
  | 'ENOMEM'
  | 'ENOTCONN'
  /** the platform lacks what an operation needs (synchronous sockets) */
  | 'ENOTSUP'
  /** libfabric's FI_EAVAIL: the next completion is an error; read it with readErr() */
  | 'EAVAIL';

export class TransportError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TransportError';
    this.code = code;
  }
}

export function fail(code: ErrorCode, message: string): never {
  throw new TransportError(code, message);
}
