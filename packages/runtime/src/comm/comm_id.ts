import { type Pool, TransportError } from '@collective/transport';
import { allocateHost } from '@collective/transport/runtime';
import { blockWords, COMM_MAGIC, Hdr, MAX_RANKS } from '../comm_base/comm_block.js';

/** What ncclGetUniqueId returns: enough for every rank of the pool to find the same shared block. */
export interface CommId {
  kind: 'comm-id';
  pool: number;
  offset: number;
  nranks: number;
  token: number;
  /**
   * The communicator's name in flight records and logs, the same on every
   * process of a job: World.join derives it from the job, split from the
   * parent's name. Without one, the pool and token name it (unique only in
   * this process: enough for a communicator that never leaves it).
   */
  label?: string;
}

export function checkPositiveInt(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new TransportError('EINVAL', `${name} must be a positive integer (got ${String(v)})`);
}

/** ncclGetUniqueId: a shared block in the pool's host memory for `nranks` ranks. */
export function createCommId(pool: Pool, nranks: number, members = nranks, label?: string): CommId {
  checkPositiveInt('nranks', nranks);
  if (nranks > MAX_RANKS) throw new TransportError('EINVAL', `nranks must be at most ${MAX_RANKS} (got ${nranks})`);
  const bytes = blockWords(nranks) * 4;
  const offset = allocateHost(pool, bytes);
  const w = new Int32Array(pool.memory.buffer, offset, blockWords(nranks));
  const token = pool.nextToken();
  w[Hdr.NRANKS] = nranks;
  w[Hdr.TOKEN] = token;
  w[Hdr.BYTES] = bytes;
  w[Hdr.MEMBERS] = members;
  Atomics.store(w, Hdr.MAGIC, COMM_MAGIC);
  return label === undefined ? { kind: 'comm-id', pool: pool.id, offset, nranks, token } : { kind: 'comm-id', pool: pool.id, offset, nranks, token, label };
}

/** How flight records and logs name the communicator of `id`. */
export function commLabel(pool: Pool, id: CommId): string {
  return id.label ?? `${pool.id.toString(16)}-${id.token.toString(16)}`;
}

/** The block an id names, after checking it is live and of this pool. */
export function blockOf(pool: Pool, id: CommId): Int32Array {
  if (!id || typeof id !== 'object' || id.kind !== 'comm-id') throw new TransportError('EINVAL', 'id must come from Communicator.createId()');
  if (id.pool !== pool.id) throw new TransportError('EINVAL', 'id belongs to another pool');
  const head = new Int32Array(pool.memory.buffer, id.offset, Hdr.SIZE);
  if (head[Hdr.MAGIC] !== COMM_MAGIC || head[Hdr.TOKEN] !== id.token || head[Hdr.NRANKS] !== id.nranks) {
    throw new TransportError('EINVAL', 'id does not name a live communicator (destroyed, or not from createId)');
  }
  return new Int32Array(pool.memory.buffer, id.offset, blockWords(id.nranks));
}
