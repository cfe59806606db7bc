import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PAGE_SIZE } from '../../constants.js';
import { EndpointField } from '../../control_layout.js';
import { type ErrorCode, fail, TransportError } from '../../errors.js';
import { allocatePagesLocked, scrubAndFreePagesLocked } from '../../page_allocator.js';
import { tables } from '../../pool_tables.js';
import { Pool } from '../../pool.js';
import { getText, P, P_ERROR_BYTE, P_HOST_BYTE, P_PROCESS_BYTE, Phase, PROXY_DEAD_MS, PROXY_PAGES, TCP_PROXY } from './layout.js';

/** How long an endpoint waits for a proxy thread to come up (interface choice, listen). */
const START_TIMEOUT_MS = 20_000;

/**
 * The proxy worker's entry file. Under a TypeScript test runner this module
 * is a source file, and a worker cannot run sources: its compiled twin in
 * dist/ is started instead.
 */
function proxyEntry(): URL {
  const here = new URL('./proxy_main.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const path = fileURLToPath(here);
  const i = path.lastIndexOf('/src/');
  const built = i >= 0 ? `${path.slice(0, i)}/dist/${path.slice(i + 5)}` : path;
  if (!existsSync(built)) fail('ENOENT', `the tcp proxy's entry ${built} is missing; build the package (pnpm build)`);
  return pathToFileURL(built);
}

/**
 * A tcp endpoint's handle on its process's proxy thread. The proxy is
 * per process (per pool): the first tcp endpoint starts it as a worker of
 * its own thread, later ones join it, and the last one to close tells it
 * to stop. Its state lives in a record of the pool's endpoint table and a
 * page of the pool, so every thread of the process finds it.
 */
export class ProxyLink {
  readonly block: Int32Array;
  readonly host: string;
  readonly port: number;
  readonly process: string;
  private lastBeat = -1;
  private lastBeatAt = 0;
  private left = false;

  private constructor(
    readonly pool: Pool,
    readonly slot: number,
    readonly gen: number,
    byte: number,
  ) {
    this.block = new Int32Array(pool.memory.buffer, byte, PAGE_SIZE / 4);
    const u8 = pool.u8(byte, PAGE_SIZE);
    this.host = getText(u8, P_HOST_BYTE, Atomics.load(this.block, P.HOST_LEN));
    this.port = Atomics.load(this.block, P.PORT);
    this.process = getText(u8, P_PROCESS_BYTE, Atomics.load(this.block, P.PROCESS_LEN));
  }

  /** Joins the process's running proxy, or starts one; returns once it listens (or throws why it could not). */
  static join(pool: Pool): ProxyLink {
    const { endpoints } = tables(pool);
    const blockOf = (slot: number) => new Int32Array(pool.memory.buffer, endpoints.get(slot, EndpointField.MAILBOX_PAGE) * PAGE_SIZE, PAGE_SIZE / 4);
    const rec = pool.locked(() => {
      for (let slot = 0; slot < endpoints.capacity; slot++) {
        if (endpoints.get(slot, EndpointField.STATE) !== TCP_PROXY) continue;
        const b = blockOf(slot);
        const phase = Atomics.load(b, P.PHASE);
        if (phase !== Phase.STARTING && phase !== Phase.RUNNING) continue;
        // A proxy dies with the thread that started it.
        if (pool.isThreadDead(Atomics.load(b, P.STARTER))) {
          Atomics.store(b, P.PHASE, Phase.FAILED);
          continue;
        }
        Atomics.add(b, P.USERS, 1);
        return { slot, gen: endpoints.get(slot, EndpointField.GEN), fresh: false };
      }
      const r = endpoints.claimLocked(TCP_PROXY) ?? fail('ENOMEM', `all ${endpoints.capacity} endpoint records are in use; close endpoints first`);
      try {
        endpoints.set(r.slot, EndpointField.MAILBOX_PAGE, allocatePagesLocked(pool, PROXY_PAGES, -(r.slot + 1)));
      } catch (e) {
        endpoints.freeLocked(r.slot);
        throw e;
      }
      endpoints.set(r.slot, EndpointField.MAILBOX_PAGES, PROXY_PAGES);
      const b = blockOf(r.slot);
      b.fill(0);
      Atomics.store(b, P.PHASE, Phase.STARTING);
      Atomics.store(b, P.USERS, 1);
      Atomics.store(b, P.STARTER, Pool.self);
      Atomics.store(b, P.RECORD_SLOT, r.slot);
      Atomics.store(b, P.RECORD_GEN, r.gen);
      return { ...r, fresh: true };
    });
    const byte = endpoints.get(rec.slot, EndpointField.MAILBOX_PAGE) * PAGE_SIZE;
    const block = new Int32Array(pool.memory.buffer, byte, PAGE_SIZE / 4);
    if (rec.fresh) {
      try {
        const worker = new Worker(proxyEntry(), { workerData: { pool: pool.describe(), slot: rec.slot, gen: rec.gen } });
        // The threads that post to the proxy keep the process alive, never the proxy itself.
        worker.unref();
        worker.on('error', (e) => console.error(`collective: the tcp proxy thread failed: ${e.stack ?? e.message}`));
      } catch (e) {
        Atomics.store(block, P.PHASE, Phase.FAILED);
        ProxyLink.release(pool, rec.slot, rec.gen, block);
        throw e;
      }
    }
    const end = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      const phase = Atomics.load(block, P.PHASE);
      if (phase === Phase.RUNNING) return new ProxyLink(pool, rec.slot, rec.gen, byte);
      if (phase === Phase.FAILED || phase === Phase.STOPPING || performance.now() > end) {
        const why = phase === Phase.FAILED ? ProxyLink.failure(pool, byte) : undefined;
        ProxyLink.release(pool, rec.slot, rec.gen, block);
        if (why) throw why;
        fail('ETIMEDOUT', `the tcp proxy thread of this process did not start within ${START_TIMEOUT_MS} ms`);
      }
      Atomics.wait(block, P.PHASE, phase, 50);
    }
  }

  private static failure(pool: Pool, byte: number): TransportError {
    const block = new Int32Array(pool.memory.buffer, byte, PAGE_SIZE / 4);
    const text = getText(pool.u8(byte, PAGE_SIZE), P_ERROR_BYTE, Atomics.load(block, P.ERROR_LEN));
    const m = /^([A-Z]+): ([\s\S]*)$/.exec(text);
    return m ? new TransportError(m[1] as ErrorCode, m[2]!) : new TransportError('EIO', text || 'the tcp proxy thread failed to start');
  }

  /** One user less; the last one stops a running proxy or frees the record of one that never ran. */
  private static release(pool: Pool, slot: number, gen: number, block: Int32Array): void {
    const { endpoints } = tables(pool);
    pool.locked(() => {
      if (endpoints.get(slot, EndpointField.STATE) !== TCP_PROXY || endpoints.get(slot, EndpointField.GEN) !== gen) return;
      if (Atomics.sub(block, P.USERS, 1) !== 1) return;
      const phase = Atomics.load(block, P.PHASE);
      if (phase === Phase.RUNNING || phase === Phase.STARTING) {
        Atomics.store(block, P.PHASE, Phase.STOPPING);
      } else if (phase === Phase.FAILED) {
        // It never served anyone (or its thread is gone): nobody else will free it.
        scrubAndFreePagesLocked(pool, endpoints.get(slot, EndpointField.MAILBOX_PAGE), PROXY_PAGES);
        endpoints.freeLocked(slot);
        return;
      }
    });
    Atomics.add(block, P.DOORBELL, 1);
    Atomics.notify(block, P.DOORBELL);
    Atomics.notify(block, P.PHASE);
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    ProxyLink.release(this.pool, this.slot, this.gen, this.block);
  }

  /** Tells the proxy there is work; wakes it only if it may be asleep. */
  ring(): void {
    Atomics.add(this.block, P.DOORBELL, 1);
    if (Atomics.load(this.block, P.IDLE) !== 0) Atomics.notify(this.block, P.DOORBELL);
  }

  /** A new or closed endpoint: the proxy rescans the endpoint table. */
  endpointsChanged(): void {
    Atomics.add(this.block, P.EP_EPOCH, 1);
    this.ring();
  }

  /** Whether the proxy still runs: its heartbeat moved within PROXY_DEAD_MS and its starting thread lives. */
  alive(): boolean {
    const now = performance.now();
    const beat = Atomics.load(this.block, P.HEARTBEAT);
    if (beat !== this.lastBeat) {
      this.lastBeat = beat;
      this.lastBeatAt = now;
    }
    if (Atomics.load(this.block, P.PHASE) !== Phase.RUNNING) return false;
    if (this.pool.isThreadDead(Atomics.load(this.block, P.STARTER))) return false;
    return now - this.lastBeatAt < PROXY_DEAD_MS;
  }

  get socketsPerPeer(): number {
    return Atomics.load(this.block, P.SOCKETS);
  }
}
