import type { ErrorCode } from '@collective/transport';
import { Hdr } from './comm_block.js';

const ABORT_CODES: readonly ErrorCode[] = ['ECANCELED', 'ETIMEDOUT', 'EINVAL', 'EIO', 'EACCES', 'ENOTCONN', 'ENOMEM', 'ESTALE'];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface AbortInfo {
  rank: number;
  code: ErrorCode;
  reason: string;
}

/**
 * Marks the communicator aborted with a reason every rank of the pool can
 * read. The first rank to claim writes the reason; later aborts keep it,
 * so every rank reports the root cause rather than the cascade.
 */
export function setAborted(words: Int32Array, rank: number, code: ErrorCode, reason: string): boolean {
  if (Atomics.compareExchange(words, Hdr.ABORT_CLAIM, 0, rank + 1) !== 0) return false;
  const bytes = encoder.encode(reason).subarray(0, Hdr.REASON_WORDS * 4);
  new Uint8Array(words.buffer, words.byteOffset + Hdr.REASON * 4, bytes.length).set(bytes);
  words[Hdr.REASON_BYTES] = bytes.length;
  words[Hdr.ABORT_CODE] = Math.max(0, ABORT_CODES.indexOf(code));
  Atomics.store(words, Hdr.ABORTED, rank + 1);
  // Waiters sleep on many words, in short slices; wake the ones on the words they most often sleep on.
  Atomics.notify(words, Hdr.ABORTED);
  Atomics.notify(words, Hdr.ARRIVALS);
  return true;
}

export function abortInfo(words: Int32Array): AbortInfo | undefined {
  const who = Atomics.load(words, Hdr.ABORTED);
  if (who === 0) return undefined;
  const n = words[Hdr.REASON_BYTES]!;
  const reason = decoder.decode(new Uint8Array(words.buffer, words.byteOffset + Hdr.REASON * 4, n).slice());
  return { rank: who - 1, code: ABORT_CODES[words[Hdr.ABORT_CODE]!] ?? 'ECANCELED', reason };
}
