import type { Server, Socket } from 'node:net';
import { EndpointField } from '../../control_layout.js';
import { scrubAndFreePagesLocked } from '../../page_allocator.js';
import { tables } from '../../pool_tables.js';
import type { Pool } from '../../pool.js';
import { debugLine } from './debug_log.js';
import { dials, errCode, proveAndConnect } from './dialer.js';
import { acceptorProof, challenge, checkDialer, MAC_BYTES, NONCE_BYTES } from './handshake.js';
import { type Nonces, Permanent, readExactly, writeWhole } from './handshake_io.js';
import { getText, HEARTBEAT_MS, L, LISTENER_PAGES, Phase, putText, R, R_TEXT_MAX, RECORDS, recTextByte, RecState, recWord, TCP_ENDPOINT, TCP_LISTENER } from './layout.js';
import { describePeer, Reason } from './reasons.js';
import { transportChoice, viaUnix } from './socket_choice.js';
import { socketFd } from './sync_socket.js';
import { decodeHello, encodeHello, type Hello, HELLO_BYTES, HelloKind, HelloStatus, parseReach, type Reach, reachText } from './wire.js';

/** A peer that connects must prove itself and send its hello within this long. */
const HELLO_TIMEOUT_MS = 10_000;
/**
 * Connections still proving themselves, at most: a stranger opening
 * sockets holds a few descriptors for HELLO_TIMEOUT_MS, never the
 * process's whole supply. Per remote address fewer, so one stranger cannot
 * crowd out the job's own handshakes.
 */
const PENDING_MAX = 64;
const PENDING_PER_ADDRESS_MAX = 16;

type WaitAsync = (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * The process's listener thread: listens on tcp and on a Unix socket,
 * accepts (paused, so Node never reads them), dials for endpoints that
 * ask, exchanges hellos, and hands each connected descriptor to its
 * endpoint through a socket record. It keeps the `net.Socket` objects,
 * so the descriptors stay open, until their endpoint releases them. No
 * message of a collective passes through it.
 */
export class Listener {
  /** sockets handed out (or being set up), by record */
  private readonly sockets = new Map<number, Socket>();
  /** the record joining a local endpoint and a peer endpoint */
  private readonly byPair = new Map<string, number>();
  private readonly u8: Uint8Array;
  private stopped = false;
  private heartbeat?: NodeJS.Timeout;
  private readonly choice = transportChoice();
  /** unauthenticated connections, in all and by remote address */
  private pending = 0;
  private readonly pendingBy = new Map<string, number>();
  /** remote addresses already logged as refused (one line each), and how many refusals in all */
  private readonly refusedFrom = new Set<string>();

  constructor(
    private readonly pool: Pool,
    private readonly b: Int32Array,
    private readonly base: number,
    private readonly servers: Server[],
    readonly self: Omit<Reach, 'slot' | 'gen'>,
    readonly connectTimeoutMs: number,
    private readonly record: { slot: number; gen: number },
    /** the job secret's key: every connection proves it holds it */
    private readonly key: Uint8Array,
  ) {
    this.u8 = new Uint8Array(pool.memory.buffer);
  }

  run(): void {
    for (const s of this.servers) {
      // Handed-out sockets stay open here too: room for every record and the handshakes in progress.
      s.maxConnections = RECORDS + PENDING_MAX;
      s.on('connection', (socket: Socket) => void this.accept(socket));
      // A listener must never die of an accept error (EMFILE): it refuses and goes on.
      s.on('error', (e) => debugLine(`listener error: ${errCode(e)}`));
    }
    this.heartbeat = setInterval(() => Atomics.add(this.b, L.HEARTBEAT, 1), HEARTBEAT_MS);
    this.loop();
  }

  private loop(): void {
    if (this.stopped) return;
    Atomics.store(this.b, L.IDLE, 0);
    const seen = Atomics.load(this.b, L.DOORBELL);
    this.pass();
    if (this.stopped) return;
    Atomics.store(this.b, L.IDLE, 1);
    // The next pass runs from setImmediate, not from the promise: a promise
    // settled by another thread's notify runs outside Node's callback scope.
    // No deadline: this is a service's idle, not a wait for a result (the
    // event loop stays free: its accepts and dials have their own deadlines).
    // It ends when the last endpoint leaves (STOPPING and a ring), or with
    // the thread that started this one, whose nested workers die with it.
    const r = waitAsync(this.b, L.DOORBELL, seen);
    if (r.async) void (r.value as Promise<string>).then(this.resume);
    else setImmediate(this.next);
  }

  private readonly next = (): void => this.loop();
  private readonly resume = (): void => {
    setImmediate(this.next);
  };

  private w(rec: number, f: R): number {
    return Atomics.load(this.b, recWord(rec, f));
  }

  private set(rec: number, f: R, v: number): void {
    Atomics.store(this.b, recWord(rec, f), v);
  }

  private text(rec: number): string {
    return getText(this.u8, this.base + recTextByte(rec), this.w(rec, R.TEXT_LEN));
  }

  private setText(rec: number, text: string): void {
    this.set(rec, R.TEXT_LEN, putText(this.u8, this.base + recTextByte(rec), R_TEXT_MAX, text));
  }

  private pass(): void {
    if (Atomics.load(this.b, L.PHASE) === Phase.STOPPING) {
      this.stop();
      return;
    }
    for (let rec = 0; rec < RECORDS; rec++) {
      const st = this.w(rec, R.STATE);
      if (st === RecState.REQUEST) this.serveRequest(rec);
      else if (st === RecState.RELEASED) this.free(rec);
    }
  }

  private pairKey(epSlot: number, epGen: number, process: string, slot: number, gen: number): string {
    return `${epSlot}.${epGen}|${process}.${slot}.${gen}`;
  }

  /** Closes the socket the record held, if any: its descriptor is not used again. */
  private dropSocket(rec: number): void {
    this.sockets.get(rec)?.destroy();
    this.sockets.delete(rec);
  }

  private free(rec: number): void {
    this.dropSocket(rec);
    for (const [k, r] of this.byPair) if (r === rec) this.byPair.delete(k);
    this.set(rec, R.FD, -1);
    Atomics.store(this.b, recWord(rec, R.STATE), RecState.FREE);
  }

  private claim(): number | undefined {
    for (let rec = 0; rec < RECORDS; rec++) {
      if (Atomics.compareExchange(this.b, recWord(rec, R.STATE), RecState.FREE, RecState.CLAIMED) === RecState.FREE) return rec;
    }
    return undefined;
  }

  private failRecord(rec: number, reason: Reason, detail: string, arg0 = 0, arg1 = 0): void {
    this.dropSocket(rec);
    this.set(rec, R.REASON, reason);
    this.set(rec, R.ARG0, arg0);
    this.set(rec, R.ARG1, arg1);
    this.setText(rec, detail);
    Atomics.store(this.b, recWord(rec, R.STATE), RecState.FAILED);
  }

  private ready(rec: number, socket: Socket, fd: number, peer: Reach, unix: boolean, adopt: boolean): void {
    this.sockets.set(rec, socket);
    this.set(rec, R.FD, fd);
    this.set(rec, R.UNIX, unix ? 1 : 0);
    this.set(rec, R.PEER_SLOT, peer.slot);
    this.set(rec, R.PEER_GEN, peer.gen);
    this.setText(rec, reachText(peer));
    Atomics.store(this.b, recWord(rec, R.STATE), RecState.READY);
    if (adopt) Atomics.add(this.b, L.ADOPT_EPOCH, 1);
  }

  /** An endpoint asks for a connection: dial (the smaller end), or knock so the peer dials back. */
  private serveRequest(rec: number): void {
    const peer = parseReach(this.text(rec));
    const epSlot = this.w(rec, R.EP_SLOT);
    const epGen = this.w(rec, R.EP_GEN);
    if (!peer) {
      this.failRecord(rec, Reason.PROTOCOL, 'bad peer address');
      return;
    }
    const key = this.pairKey(epSlot, epGen, peer.process, peer.slot, peer.gen);
    const other = this.byPair.get(key);
    if (other !== undefined) {
      this.set(rec, R.MERGED, other);
      Atomics.store(this.b, recWord(rec, R.STATE), RecState.MERGED);
      return;
    }
    this.byPair.set(key, rec);
    Atomics.store(this.b, recWord(rec, R.STATE), RecState.WORKING);
    const me: Reach = { ...this.self, slot: epSlot, gen: epGen };
    let unix: boolean;
    try {
      unix = viaUnix(this.self, peer, this.choice);
    } catch (e) {
      this.failRecord(rec, Reason.CONNECT_FAILED, (e as Error).message, 0, 0);
      return;
    }
    if (dials(me, peer)) void this.dialData(rec, me, peer, unix);
    else void this.knock(rec, me, peer, unix);
  }

  private failDial(rec: number, e: unknown): void {
    if (e instanceof Permanent) this.failRecord(rec, e.reason, e.detail);
    else this.failRecord(rec, Reason.CONNECT_FAILED, (e as { last?: string }).last ?? errCode(e), this.connectTimeoutMs, (e as { attempts?: number }).attempts ?? 1);
  }

  private async dialData(rec: number, me: Reach, peer: Reach, unix: boolean, adopt = false): Promise<void> {
    try {
      const { socket, fd } = await proveAndConnect(this.key, peer, unix, { kind: HelloKind.DATA, status: HelloStatus.OK, from: me, toSlot: peer.slot, toGen: peer.gen, expect: peer.process }, performance.now() + this.connectTimeoutMs, () => this.stopped);
      if (this.w(rec, R.STATE) !== RecState.WORKING) {
        socket.destroy();
        return;
      }
      this.ready(rec, socket, fd, peer, unix, adopt);
      debugLine(`endpoint ${me.slot} connected to ${describePeer(peer.host, peer.port, peer.process)} endpoint ${peer.slot} over ${unix ? 'a Unix socket' : 'tcp'}`);
    } catch (e) {
      if (this.w(rec, R.STATE) === RecState.WORKING) this.failDial(rec, e);
    }
  }

  /** Asks the peer's listener to dial this endpoint; the record waits for that connection. */
  private async knock(rec: number, me: Reach, peer: Reach, unix: boolean): Promise<void> {
    try {
      const { socket } = await proveAndConnect(this.key, peer, unix, { kind: HelloKind.KNOCK, status: HelloStatus.OK, from: me, toSlot: peer.slot, toGen: peer.gen, expect: peer.process }, performance.now() + this.connectTimeoutMs, () => this.stopped);
      socket.destroy();
      // The peer dials back within its own connect deadline; a record still waiting after both fails.
      setTimeout(() => {
        if (this.w(rec, R.STATE) === RecState.WORKING) this.failRecord(rec, Reason.CONNECT_FAILED, 'the peer did not connect back', this.connectTimeoutMs, 1);
      }, 2 * this.connectTimeoutMs).unref();
    } catch (e) {
      if (this.w(rec, R.STATE) === RecState.WORKING) this.failDial(rec, e);
    }
  }

  /**
   * A new connection: it must prove it holds the job secret before a byte
   * of its hello is read as one. Anything else (a stranger, garbage, a
   * trickle past the deadline, one connection too many) is closed without
   * a word.
   */
  private async accept(socket: Socket): Promise<void> {
    socket.on('error', () => {});
    const from = socket.remoteAddress ?? 'a Unix socket';
    const mine = this.pendingBy.get(from) ?? 0;
    if (this.stopped || this.pending >= PENDING_MAX || mine >= PENDING_PER_ADDRESS_MAX) {
      socket.destroy();
      return;
    }
    this.pending++;
    this.pendingBy.set(from, mine + 1);
    try {
      const fd = socketFd(socket);
      if (socket.remoteFamily !== undefined) socket.setNoDelay(true);
      const end = performance.now() + HELLO_TIMEOUT_MS;
      const ours = challenge();
      writeWhole(fd, ours.bytes);
      const proof = await readExactly(fd, NONCE_BYTES + MAC_BYTES + HELLO_BYTES, HELLO_TIMEOUT_MS);
      const proved = checkDialer(this.key, ours.nonce, proof);
      if (!proved) {
        this.refuse(socket, from);
        return;
      }
      const hello = decodeHello(proved.hello);
      if (this.stopped || typeof hello === 'string' || (hello.kind !== HelloKind.DATA && hello.kind !== HelloKind.KNOCK) || performance.now() > end) {
        socket.destroy();
        return;
      }
      this.greet(socket, fd, hello, { theirs: proved.nonce, ours: ours.nonce });
    } catch {
      socket.destroy();
    } finally {
      this.pending--;
      const n = (this.pendingBy.get(from) ?? 1) - 1;
      if (n > 0) this.pendingBy.set(from, n);
      else this.pendingBy.delete(from);
    }
  }

  /** Closes a connection that did not prove it belongs to the job; says so once per address. */
  private refuse(socket: Socket, from: string): void {
    socket.destroy();
    Atomics.add(this.b, L.REFUSALS, 1);
    if (this.refusedFrom.has(from) || this.refusedFrom.size >= 1024) return;
    this.refusedFrom.add(from);
    debugLine(`refused a connection from ${from}: it does not hold this job's secret (COLLECTIVE_JOB_SECRET); later refusals from there are not logged`);
  }

  private answer(fd: number, hello: Hello, status: HelloStatus, nonces: Nonces): void {
    const answer = encodeHello({ kind: HelloKind.ANSWER, status, from: { ...this.self, slot: hello.toSlot, gen: hello.toGen }, toSlot: hello.from.slot, toGen: hello.from.gen, expect: hello.from.process });
    writeWhole(fd, acceptorProof(this.key, nonces.theirs, nonces.ours, answer));
  }

  private endpointLive(slot: number, gen: number): boolean {
    const { endpoints } = tables(this.pool);
    return slot >= 0 && slot < endpoints.capacity && endpoints.get(slot, EndpointField.STATE) === TCP_ENDPOINT && endpoints.get(slot, EndpointField.GEN) === gen;
  }

  private greet(socket: Socket, fd: number, hello: Hello, nonces: Nonces): void {
    if (hello.expect !== this.self.process) {
      this.answer(fd, hello, HelloStatus.WRONG_PROCESS, nonces);
      socket.destroy();
      return;
    }
    if (!this.endpointLive(hello.toSlot, hello.toGen)) {
      this.answer(fd, hello, HelloStatus.NO_ENDPOINT, nonces);
      socket.destroy();
      return;
    }
    const key = this.pairKey(hello.toSlot, hello.toGen, hello.from.process, hello.from.slot, hello.from.gen);
    const known = this.byPair.get(key);
    const unix = socket.remoteFamily === undefined;
    if (hello.kind === HelloKind.KNOCK) {
      this.answer(fd, hello, HelloStatus.OK, nonces);
      socket.destroy();
      if (known !== undefined) return; // already dialling, or connected
      const rec = this.claim();
      if (rec === undefined) return; // the knocker's deadline reports it
      this.set(rec, R.EP_SLOT, hello.toSlot);
      this.set(rec, R.EP_GEN, hello.toGen);
      this.set(rec, R.PEER_SLOT, hello.from.slot);
      this.set(rec, R.PEER_GEN, hello.from.gen);
      this.set(rec, R.FD, -1);
      this.byPair.set(key, rec);
      Atomics.store(this.b, recWord(rec, R.STATE), RecState.WORKING);
      void this.dialData(rec, { ...this.self, slot: hello.toSlot, gen: hello.toGen }, hello.from, unix, true);
      return;
    }
    // DATA: the peer dialled (it is the smaller end), maybe because this side knocked.
    let rec = known;
    if (rec !== undefined && this.w(rec, R.STATE) !== RecState.WORKING) {
      // A connection between these two endpoints exists already: a second one would break their order.
      socket.destroy();
      return;
    }
    const adopt = rec === undefined;
    if (rec === undefined) {
      rec = this.claim();
      if (rec === undefined) {
        socket.destroy();
        return;
      }
      this.set(rec, R.EP_SLOT, hello.toSlot);
      this.set(rec, R.EP_GEN, hello.toGen);
      this.byPair.set(key, rec);
    }
    this.set(rec, R.PEER_SLOT, hello.from.slot);
    this.set(rec, R.PEER_GEN, hello.from.gen);
    this.answer(fd, hello, HelloStatus.OK, nonces);
    this.ready(rec, socket, fd, hello.from, unix, adopt);
    debugLine(`endpoint ${hello.toSlot} accepted ${describePeer(hello.from.host, hello.from.port, hello.from.process)} endpoint ${hello.from.slot} over ${unix ? 'a Unix socket' : 'tcp'}`);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const s of this.servers) s.close();
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
    const { endpoints } = tables(this.pool);
    const { slot, gen } = this.record;
    this.pool.locked(() => {
      if (endpoints.get(slot, EndpointField.STATE) !== TCP_LISTENER || endpoints.get(slot, EndpointField.GEN) !== gen) return;
      scrubAndFreePagesLocked(this.pool, endpoints.get(slot, EndpointField.MAILBOX_PAGE), LISTENER_PAGES);
      endpoints.freeLocked(slot);
    });
    // Ends this thread only; the process is not ours to stop.
    setImmediate(() => process.exit(0));
  }
}

