import { type ErrorCode, TransportError } from '@collective/transport';

/** ncclResult_t-like failure of a communicator call. */
export class CollectiveError extends TransportError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'CollectiveError';
  }
}
