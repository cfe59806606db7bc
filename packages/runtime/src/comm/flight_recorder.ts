import { envSetting, writeTextFile } from '@collective/transport/runtime';
import { algoOfCode } from '../algorithm.js';
import { KIND } from '../collective_kind.js';
import { DTYPES } from '../dtypes.js';
import { OPS } from '../ops.js';

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
  WORDS = 8,
}
const enum State {
  STARTED = 1,
  COMPLETED = 2,
  FAILED = 3,
}
const STATES = ['', 'started', 'completed', 'failed'];
const KIND_NAMES = ['', ...Object.keys(KIND), 'sendRecv'];

/** One call as the recorder reports it. */
export interface TraceEntry {
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
  format: 'collective-trace/1';
  comm: string;
  rank: number;
  size: number;
  pid: number;
  thread: number;
  host: string;
  /** the error that made this rank dump, if any */
  error: string | null;
  /** who aborted the communicator and why, as this rank saw it */
  abortedBy: number | null;
  /** the sequence number of the last call this rank started */
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
  private current = -1;

  private readonly timing = envSetting(TRACE_TIMING_ENV) === '1';

  constructor(readonly capacity: number = traceCapacity()) {
    this.words = new Int32Array(capacity * F.WORDS);
    this.start = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
  }

  /** Records the start of call `seq`; kind, dtype, op and algorithm as their descriptor codes. */
  begin(seq: number, kind: number, count: number, dtype: number, op: number, root: number, algo: number): void {
    if (this.capacity === 0) return;
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
    this.start[i] = this.timing ? performance.now() : 0;
    this.end[i] = 0;
    this.current = i;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    this.recorded++;
  }

  /** Records how the current call ended. */
  finish(ok: boolean): void {
    if (this.current < 0) return;
    this.words[this.current * F.WORDS + F.STATE] = ok ? State.COMPLETED : State.FAILED;
    if (this.timing) this.end[this.current] = performance.now();
    this.current = -1;
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
      out.push({
        seq: words[w + F.SEQ]!,
        kind: KIND_NAMES[words[w + F.KIND]!] ?? String(words[w + F.KIND]),
        count: words[w + F.COUNT]!,
        dtype: DTYPES[words[w + F.DTYPE]!] ?? String(words[w + F.DTYPE]),
        op: OPS[words[w + F.OP]!] ?? String(words[w + F.OP]),
        root: words[w + F.ROOT]!,
        algorithm: algoOfCode(algo),
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
    const dump: TraceDump = { format: 'collective-trace/1', ...header, calls: this.entries() };
    return writeTextFile(dir, `comm-${header.comm}-rank-${header.rank}.json`, `${JSON.stringify(dump, null, 1)}\n`);
  }
}

function traceCapacity(): number {
  const v = envSetting(TRACE_BUFFER_ENV);
  if (v === undefined || v === '') return DEFAULT_TRACE_CALLS;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : DEFAULT_TRACE_CALLS;
}
