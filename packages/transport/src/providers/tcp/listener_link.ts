import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PAGE_SIZE } from '../../constants.js';
import { EndpointField } from '../../control_layout.js';
import { type ErrorCode, fail, TransportError } from '../../errors.js';
import { allocatePagesLocked, scrubAndFreePagesLocked } from '../../page_allocator.js';
import { tables } from '../../pool_tables.js';
import { Pool } from '../../pool.js';
import {
  getText, L, L_ERROR_BYTE, L_HOST_BYTE, L_HOSTID_BYTE, L_PROCESS_BYTE, L_UNIX_BYTE, LISTENER_DEAD_MS, LISTENER_PAGES, Phase, putText, R, R_TEXT_MAX, RECORDS, recTextByte, RecState,
  recWord, TCP_LISTENER,
} from './layout.js';
import { parseReach, type Reach, reachText } from './wire.js';

/** How long an endpoint waits for the listener thread to come up (interface choice, listen, self-test). */
const START_TIMEOUT_MS = 20_000;

/**
 * The listener worker's entry file. Under a TypeScript test runner this
 * module is a source file, and a worker cannot run sources: its compiled
 * twin in dist/ is started instead.
 */
function listenerEntry(): URL {
  const here = new URL('./listener_main.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const path = fileURLToPath(here);
  const i = path.lastIndexOf('/src/');
  const built = i >= 0 ? `${path.slice(0, i)}/dist/${path.slice(i + 5)}` : path;
  if (!existsSync(built)) fail('ENOENT', `the socket listener's entry ${built} is missing; build the package (pnpm build)`);
  return pathToFileURL(built);
}

/** A READY record as its endpoint adopts it. */
export interface ReadyRecord {
  rec: number;
  fd: number;
  peer: Reach;
  unix: boolean;
}

/**
 * An endpoint's handle on its process's listener thread. The listener is
 * per process (per pool): the first socket endpoint starts it as a worker
 * of its own thread, later ones join it, and the last one to close tells it
 * to stop. It never carries data: it dials and accepts, and hands each
 * connected descriptor to the endpoint that drives it.
 */
export class ListenerLink {
  readonly block: Int32Array;
  private readonly u8: Uint8Array;
  private readonly base: number;
  readonly host: string;
  readonly port: number;
  readonly process: string;
  readonly unix: string;
  readonly hostId: string;
  private lastBeat = -1;
  private lastBeatAt = 0;
  private left = false;

  private constructor(
    readonly pool: Pool,
    readonly slot: number,
    readonly gen: number,
    byte: number,
  ) {
    this.base = byte;
    this.block = new Int32Array(pool.memory.buffer, byte, (LISTENER_PAGES * PAGE_SIZE) / 4);
    this.u8 = new Uint8Array(pool.memory.buffer);
    const text = (at: number, len: L) => getText(this.u8, byte + at, Atomics.load(this.block, len));
    this.host = text(L_HOST_BYTE, L.HOST_LEN);
    this.port = Atomics.load(this.block, L.PORT);
    this.process = text(L_PROCESS_BYTE, L.PROCESS_LEN);
    this.unix = text(L_UNIX_BYTE, L.UNIX_LEN);
    this.hostId = text(L_HOSTID_BYTE, L.HOSTID_LEN);
  }

  /** Connections the listener refused for lacking the job secret. */
  get refusals(): number {
    return Atomics.load(this.block, L.REFUSALS);
  }

  /** Joins the process's running listener, or starts one; returns once it listens (or throws why it could not). */
  static join(pool: Pool): ListenerLink {
    const { endpoints } = tables(pool);
    const blockOf = (slot: number) => new Int32Array(pool.memory.buffer, endpoints.get(slot, EndpointField.MAILBOX_PAGE) * PAGE_SIZE, PAGE_SIZE / 4);
    const rec = pool.locked(() => {
      for (let slot = 0; slot < endpoints.capacity; slot++) {
        if (endpoints.get(slot, EndpointField.STATE) !== TCP_LISTENER) continue;
        const b = blockOf(slot);
        const phase = Atomics.load(b, L.PHASE);
        if (phase !== Phase.STARTING && phase !== Phase.RUNNING) continue;
        // A listener dies with the thread that started it.
        if (pool.isThreadDead(Atomics.load(b, L.STARTER))) {
          Atomics.store(b, L.PHASE, Phase.FAILED);
          continue;
        }
        Atomics.add(b, L.USERS, 1);
        return { slot, gen: endpoints.get(slot, EndpointField.GEN), fresh: false };
      }
      const r = endpoints.claimLocked(TCP_LISTENER) ?? fail('ENOMEM', `all ${endpoints.capacity} endpoint records are in use; close endpoints first`);
      try {
        endpoints.set(r.slot, EndpointField.MAILBOX_PAGE, allocatePagesLocked(pool, LISTENER_PAGES, -(r.slot + 1)));
      } catch (e) {
        endpoints.freeLocked(r.slot);
        throw e;
      }
      endpoints.set(r.slot, EndpointField.MAILBOX_PAGES, LISTENER_PAGES);
      pool.u8(endpoints.get(r.slot, EndpointField.MAILBOX_PAGE) * PAGE_SIZE, LISTENER_PAGES * PAGE_SIZE).fill(0);
      const b = blockOf(r.slot);
      Atomics.store(b, L.PHASE, Phase.STARTING);
      Atomics.store(b, L.USERS, 1);
      Atomics.store(b, L.STARTER, Pool.self);
      Atomics.store(b, L.RECORD_SLOT, r.slot);
      Atomics.store(b, L.RECORD_GEN, r.gen);
      return { ...r, fresh: true };
    });
    const byte = endpoints.get(rec.slot, EndpointField.MAILBOX_PAGE) * PAGE_SIZE;
    const block = new Int32Array(pool.memory.buffer, byte, PAGE_SIZE / 4);
    if (rec.fresh) {
      try {
        const worker = new Worker(listenerEntry(), { workerData: { pool: pool.describe(), slot: rec.slot, gen: rec.gen } });
        // The threads that drive sockets keep the process alive, never the listener itself.
        worker.unref();
        worker.on('error', (e) => console.error(`collective: the socket listener thread failed: ${e.stack ?? e.message}`));
      } catch (e) {
        Atomics.store(block, L.PHASE, Phase.FAILED);
        ListenerLink.release(pool, rec.slot, rec.gen, block);
        throw e;
      }
    }
    const end = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      const phase = Atomics.load(block, L.PHASE);
      if (phase === Phase.RUNNING) return new ListenerLink(pool, rec.slot, rec.gen, byte);
      if (phase === Phase.FAILED || phase === Phase.STOPPING || performance.now() > end) {
        const why = phase === Phase.FAILED ? ListenerLink.failure(pool, byte) : undefined;
        ListenerLink.release(pool, rec.slot, rec.gen, block);
        if (why) throw why;
        fail('ETIMEDOUT', `the socket listener thread of this process did not start within ${START_TIMEOUT_MS} ms; it starts in milliseconds unless the process is starved of CPU or its start blocks (COLLECTIVE_DEBUG=INFO logs its steps): retry, or look at what holds the process`);
      }
      Atomics.wait(block, L.PHASE, phase, 50);
    }
  }

  private static failure(pool: Pool, byte: number): TransportError {
    const block = new Int32Array(pool.memory.buffer, byte, PAGE_SIZE / 4);
    const text = getText(pool.u8(byte, PAGE_SIZE), L_ERROR_BYTE, Atomics.load(block, L.ERROR_LEN));
    const m = /^([A-Z]+): ([\s\S]*)$/.exec(text);
    return m ? new TransportError(m[1] as ErrorCode, m[2]!) : new TransportError('EIO', text || 'the socket listener thread failed to start');
  }

  /** One user less; the last one stops a running listener or frees the record of one that never ran. */
  private static release(pool: Pool, slot: number, gen: number, block: Int32Array): void {
    const { endpoints } = tables(pool);
    pool.locked(() => {
      if (endpoints.get(slot, EndpointField.STATE) !== TCP_LISTENER || endpoints.get(slot, EndpointField.GEN) !== gen) return;
      if (Atomics.sub(block, L.USERS, 1) !== 1) return;
      const phase = Atomics.load(block, L.PHASE);
      if (phase === Phase.RUNNING || phase === Phase.STARTING) {
        Atomics.store(block, L.PHASE, Phase.STOPPING);
      } else if (phase === Phase.FAILED) {
        // It never served anyone (or its thread is gone): nobody else will free it.
        scrubAndFreePagesLocked(pool, endpoints.get(slot, EndpointField.MAILBOX_PAGE), LISTENER_PAGES);
        endpoints.freeLocked(slot);
        return;
      }
    });
    Atomics.add(block, L.DOORBELL, 1);
    Atomics.notify(block, L.DOORBELL);
    Atomics.notify(block, L.PHASE);
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    ListenerLink.release(this.pool, this.slot, this.gen, this.block);
  }

  /** Tells the listener there is work; wakes it only if it may be asleep. */
  ring(): void {
    Atomics.add(this.block, L.DOORBELL, 1);
    if (Atomics.load(this.block, L.IDLE) !== 0) Atomics.notify(this.block, L.DOORBELL);
  }

  /**
   * Whether the listener still runs: its phase, its starting thread, and
   * (when `beat` is set, for waits on it) its heartbeat. While it runs, the
   * descriptors it handed out stay open.
   */
  alive(beat = false): boolean {
    if (Atomics.load(this.block, L.PHASE) !== Phase.RUNNING) return false;
    if (this.pool.isThreadDead(Atomics.load(this.block, L.STARTER))) return false;
    if (!beat) return true;
    const now = performance.now();
    const b = Atomics.load(this.block, L.HEARTBEAT);
    if (b !== this.lastBeat) {
      this.lastBeat = b;
      this.lastBeatAt = now;
    }
    return now - this.lastBeatAt < LISTENER_DEAD_MS;
  }

  get adoptEpoch(): number {
    return Atomics.load(this.block, L.ADOPT_EPOCH);
  }

  private word(rec: number, f: R): number {
    return Atomics.load(this.block, recWord(rec, f));
  }

  /** Asks for a connection from endpoint (slot, gen) to `peer`: the record to watch. */
  request(slot: number, gen: number, peer: Reach): number {
    const text = reachText(peer);
    if (new TextEncoder().encode(text).length > R_TEXT_MAX) fail('EINVAL', `the peer address ${text} is longer than ${R_TEXT_MAX} bytes`);
    for (let rec = 0; rec < RECORDS; rec++) {
      if (Atomics.compareExchange(this.block, recWord(rec, R.STATE), RecState.FREE, RecState.CLAIMED) !== RecState.FREE) continue;
      this.block[recWord(rec, R.EP_SLOT)] = slot;
      this.block[recWord(rec, R.EP_GEN)] = gen;
      this.block[recWord(rec, R.FD)] = -1;
      this.block[recWord(rec, R.PEER_SLOT)] = peer.slot;
      this.block[recWord(rec, R.PEER_GEN)] = peer.gen;
      this.block[recWord(rec, R.TEXT_LEN)] = putText(this.u8, this.base + recTextByte(rec), R_TEXT_MAX, text);
      Atomics.store(this.block, recWord(rec, R.STATE), RecState.REQUEST);
      this.ring();
      return rec;
    }
    return fail('EAGAIN', `all ${RECORDS} socket records of this process are in use; close endpoints first`);
  }

  state(rec: number): RecState {
    return this.word(rec, R.STATE) as RecState;
  }

  mergedInto(rec: number): number {
    return this.word(rec, R.MERGED);
  }

  ready(rec: number): ReadyRecord {
    const text = getText(this.u8, this.base + recTextByte(rec), this.word(rec, R.TEXT_LEN));
    const peer = parseReach(text) ?? { host: '?', port: 0, unix: '', hostId: '', process: text, slot: this.word(rec, R.PEER_SLOT), gen: this.word(rec, R.PEER_GEN) };
    return { rec, fd: this.word(rec, R.FD), peer, unix: this.word(rec, R.UNIX) === 1 };
  }

  failure(rec: number): { reason: number; arg0: number; arg1: number; detail: string } {
    return { reason: this.word(rec, R.REASON), arg0: this.word(rec, R.ARG0), arg1: this.word(rec, R.ARG1), detail: getText(this.u8, this.base + recTextByte(rec), this.word(rec, R.TEXT_LEN)) };
  }

  /** READY records of endpoint (slot, gen) not in `known`: connections peers made to it. */
  adoptable(slot: number, gen: number, known: ReadonlySet<number>): number[] {
    const out: number[] = [];
    for (let rec = 0; rec < RECORDS; rec++) {
      if (known.has(rec) || this.word(rec, R.STATE) !== RecState.READY) continue;
      if (this.word(rec, R.EP_SLOT) === slot && this.word(rec, R.EP_GEN) === gen) out.push(rec);
    }
    return out;
  }

  /** The endpoint is done with the record: the listener closes its socket (the descriptor is not used again) and frees it. */
  release(rec: number): void {
    Atomics.store(this.block, recWord(rec, R.STATE), RecState.RELEASED);
    this.ring();
  }
}
