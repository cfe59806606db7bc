import { envSetting, writeTextFile } from '@collective/transport/runtime';
import { algoOfCode } from '../algorithm.js';
import { KIND } from '../collective_kind.js';
import { DTYPES } from '../dtypes.js';
import { OPS } from '../ops.js';

/** The algorithm word of a user's hierarchical call (its steps carry their own algorithms). */
export const HIER_ALGO = -1;
/** The algorithm word of a user's call that is all steps of its own (split). */
export const STEPS_ALGO = -2;

/** How many calls each rank remembers; COLLECTIVE_TRACE_BUFFER overrides it. */
export const DEFAULT_TRACE_CALLS = 2000;
export const TRACE_BUFFER_ENV = 'COLLECTIVE_TRACE_BUFFER';
export const DUMP_DIR_ENV = 'COLLECTIVE_DUMP_DIR';
/** Timestamps cost two clock reads per call: on only when asked for (as TORCH_NCCL_ENABLE_TIMING). */
export const TRACE_TIMING_ENV = 'COLLECTIVE_TRACE_TIMING';

const enum F {
  SEQ = 0,
  KIND = 1,
  COUNT = 2,
  DTYPE = 3,
  OP = 4,
  ROOT = 5,
  ALGO = 6,
  STATE = 7,
  /** the user's call this entry belongs to: its number and kind on the communicator the user called */
  CALL = 8,
  CALL_KIND = 9,
  /** who ran it (Group): the user's call itself, or a step of it (GROUPS) */
  GROUP = 10,
  WORDS = 11,
}
const enum State {
  STARTED = 1,
  COMPLETED = 2,
  FAILED = 3,
}
const STATES = ['', 'started', 'completed', 'failed'];
const KIND_NAMES = ['', ...Object.keys(KIND), 'sendRecv'];

/**
 * Who ran an entry's round, as entries and errors name it: the user's call
 * itself (OWN), a hierarchy's internal groups (the ranks of one process,
 * and one rank of each process), or the communicator the user called,
 * running a round of its own for the call (split's exchanges).
 */
export const GROUPS = ['', 'intra-process group', 'inter-process group', 'communicator itself'] as const;
export const enum Group {
  OWN = 0,
  INTRA_PROCESS = 1,
  INTER_PROCESS = 2,
  SELF = 3,
}

/** The current format; 'collective-trace/1' (no user calls, no steps) is still read by `collective-bench trace`. */
export const TRACE_FORMAT = 'collective-trace/2';

/**
 * One call as the recorder reports it. An entry is either a user's call
 * (step null) or a step of one, recorded under the user's call it served:
 * a call of a hierarchy's internal group, or a round the communicator ran
 * itself for the call (split's exchanges).
 */
export interface TraceEntry {
  /** the user's call: its number on the communicator the user called */
  call: number;
  /** the user's call: its kind */
  callKind: string;
  /** the round that ran it, when it is a step: who ran it (GROUPS), its kind and number there */
  step: { group: string; kind: string; seq: number } | null;
  /** the communicator's own call number (the protocol's; internal calls such as split's exchanges count) */
  seq: number;
  kind: string;
  count: number;
  dtype: string;
  op: string;
  root: number;
  algorithm: string;
  state: string;
  /** performance.now() of the start, with COLLECTIVE_TRACE_TIMING=1 */
  startMs: number | null;
  durationUs: number | null;
}

/** What a rank writes when its communicator fails: enough for `collective-bench trace` to say who is stuck where. */
export interface TraceDump {
  format: typeof TRACE_FORMAT;
  /** the communicator's id, the same on every process of the job (dumps of one communicator join on it) */
  comm: string;
  rank: number;
  size: number;
  pid: number;
  thread: number;
  host: string;
  /** every rank's host and pid, when the communicator spans processes (names ranks that wrote no dump) */
  peers: { host: string; pid: number }[] | null;
  /** the user's last call on this rank: its number and kind */
  lastCall: number;
  lastCallKind: string;
  /** the error that made this rank dump, if any */
  error: string | null;
  /** who aborted the communicator and why, as this rank saw it */
  abortedBy: number | null;
  /** the communicator's own number (protocol sequence) of the last call this rank started */
  lastSeq: number;
  calls: TraceEntry[];
}

/**
 * A rank's flight recorder (PyTorch's NCCL flight recorder): the last N
 * calls in a ring of preallocated typed arrays, so recording costs a few
 * stores per call and nothing is allocated on the hot path.
 */
export class FlightRecorder {
  private readonly words: Int32Array;
  private readonly start: Float64Array;
  private readonly end: Float64Array;
  private next = 0;
  private recorded = 0;

  private readonly timing = envSetting(TRACE_TIMING_ENV) === '1';

  constructor(readonly capacity: number = traceCapacity()) {
    this.words = new Int32Array(capacity * F.WORDS);
    this.start = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
  }

  /**
   * Records the start of call `seq`; kind, dtype, op and algorithm as their
   * descriptor codes; `call`, `callKind` the user's call it belongs to,
   * `group` the communicator that runs it. Returns a mark for finish().
   */
  begin(seq: number, kind: number, count: number, dtype: number, op: number, root: number, algo: number, call: number, callKind: number, group: Group): number {
    if (this.capacity === 0) return -1;
    const i = this.next;
    const w = i * F.WORDS;
    const words = this.words;
    words[w + F.SEQ] = seq;
    words[w + F.KIND] = kind;
    words[w + F.COUNT] = count;
    words[w + F.DTYPE] = dtype;
    words[w + F.OP] = op;
    words[w + F.ROOT] = root;
    words[w + F.ALGO] = algo;
    words[w + F.STATE] = State.STARTED;
    words[w + F.CALL] = call;
    words[w + F.CALL_KIND] = callKind;
    words[w + F.GROUP] = group;
    this.start[i] = this.timing ? performance.now() : 0;
    this.end[i] = 0;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    return this.recorded++;
  }

  /** Records how the call begin() returned `mark` for ended (nothing, if the ring has since overwritten it). */
  finish(mark: number, ok: boolean): void {
    if (mark < 0 || this.recorded - mark > this.capacity) return;
    const i = mark % this.capacity;
    this.words[i * F.WORDS + F.STATE] = ok ? State.COMPLETED : State.FAILED;
    if (this.timing) this.end[i] = performance.now();
  }

  /** The recorded calls, oldest first. */
  entries(): TraceEntry[] {
    const n = Math.min(this.recorded, this.capacity);
    const out: TraceEntry[] = [];
    for (let k = 0; k < n; k++) {
      const i = (this.next - n + k + this.capacity) % this.capacity;
      const w = i * F.WORDS;
      const words = this.words;
      const algo = words[w + F.ALGO]!;
      const group = words[w + F.GROUP]!;
      const kind = KIND_NAMES[words[w + F.KIND]!] ?? String(words[w + F.KIND]);
      out.push({
        call: words[w + F.CALL]!,
        callKind: KIND_NAMES[words[w + F.CALL_KIND]!] ?? String(words[w + F.CALL_KIND]),
        step: group === Group.OWN ? null : { group: GROUPS[group] ?? String(group), kind, seq: words[w + F.SEQ]! },
        seq: words[w + F.SEQ]!,
        kind,
        count: words[w + F.COUNT]!,
        dtype: DTYPES[words[w + F.DTYPE]!] ?? String(words[w + F.DTYPE]),
        op: OPS[words[w + F.OP]!] ?? String(words[w + F.OP]),
        root: words[w + F.ROOT]!,
        algorithm: algo === HIER_ALGO ? 'hier' : algo === STEPS_ALGO ? 'steps' : algoOfCode(algo),
        state: STATES[words[w + F.STATE]!] ?? '?',
        startMs: this.timing ? Math.round(this.start[i]! * 1000) / 1000 : null,
        durationUs: this.end[i]! > 0 ? Math.round((this.end[i]! - this.start[i]!) * 1000) : null,
      });
    }
    return out;
  }

  /** Writes this rank's dump into `dir` (COLLECTIVE_DUMP_DIR by default); returns the file, or undefined when no directory is set. */
  dump(header: Omit<TraceDump, 'format' | 'calls'>, dir: string | undefined = envSetting(DUMP_DIR_ENV)): string | undefined {
    if (!dir) return undefined;
    const dump: TraceDump = { format: TRACE_FORMAT, ...header, calls: this.entries() };
    return writeTextFile(dir, `comm-${header.comm}-rank-${header.rank}.json`, `${JSON.stringify(dump, null, 1)}\n`);
  }
}

function traceCapacity(): number {
  const v = envSetting(TRACE_BUFFER_ENV);
  if (v === undefined || v === '') return DEFAULT_TRACE_CALLS;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : DEFAULT_TRACE_CALLS;
}
