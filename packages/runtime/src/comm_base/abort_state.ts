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
  if (Atomics.compareExchange(words, Hdr.ABORT_CLAIM, 0, rank + 1) !== 0) {
    // Another rank claimed it and publishes its reason right after: a
    // caller reads the abort next, so it waits for that. Two ranks that
    // time out at the same moment otherwise read nothing (and one then
    // skipped its drain, leaving its peers waiting on it). Bounded: a
    // claimer that died in between leaves the reason to this rank.
    const end = performance.now() + CLAIMER_PUBLISHES_MS;
    while (Atomics.load(words, Hdr.ABORTED) === 0) {
      if (performance.now() > end) {
        publish(words, rank, code, reason);
        break;
      }
      Atomics.wait(words, Hdr.ABORTED, 0, 1);
    }
    return false;
  }
  publish(words, rank, code, reason);
  return true;
}

/** How long a claimed abort may take to publish its reason (it takes microseconds). */
const CLAIMER_PUBLISHES_MS = 200;

function publish(words: Int32Array, rank: number, code: ErrorCode, reason: string): void {
  const bytes = encoder.encode(reason).subarray(0, Hdr.REASON_WORDS * 4);
  new Uint8Array(words.buffer, words.byteOffset + Hdr.REASON * 4, bytes.length).set(bytes);
  words[Hdr.REASON_BYTES] = bytes.length;
  words[Hdr.ABORT_CODE] = Math.max(0, ABORT_CODES.indexOf(code));
  Atomics.store(words, Hdr.ABORTED, rank + 1);
  // Waiters sleep on many words, in short slices; wake the ones on the words they most often sleep on.
  Atomics.notify(words, Hdr.ABORTED);
  Atomics.notify(words, Hdr.ARRIVALS);
}

export function abortInfo(words: Int32Array): AbortInfo | undefined {
  const who = Atomics.load(words, Hdr.ABORTED);
  if (who === 0) return undefined;
  const n = words[Hdr.REASON_BYTES]!;
  const reason = decoder.decode(new Uint8Array(words.buffer, words.byteOffset + Hdr.REASON * 4, n).slice());
  return { rank: who - 1, code: ABORT_CODES[words[Hdr.ABORT_CODE]!] ?? 'ECANCELED', reason };
}
