import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { TraceDump, TraceEntry } from '@collective/runtime';

export interface TraceVerdict {
  comm: string;
  size: number;
  /** ranks that held the others up: behind them, in another call, or silent while peers waited on them */
  stuck: number[];
  /** the user's call the others wait in, as "allReduce #12"; null when no rank is behind */
  call: string | null;
  lines: string[];
}

/** A dump of either format, read as the current one. */
type Dump = TraceDump & { file: string };

const FILE = /^comm-.+-rank-\d+\.json$/;
/** How deep under DIR dumps copied from several hosts may sit (DIR/host/job/…). */
const MAX_DEPTH = 4;

/** Every flight record under `dir`, also in subdirectories (one per host or process the dumps were copied from). */
function dumpFiles(dir: string, depth = 0): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isFile() && FILE.test(e.name)) out.push(path);
    else if (depth < MAX_DEPTH && (e.isDirectory() || (e.isSymbolicLink() && statSync(path).isDirectory()))) out.push(...dumpFiles(path, depth + 1));
  }
  return out;
}

/** Reads a dump; 'collective-trace/1' (before user calls and steps were recorded) as if every call were the user's own. */
function readDump(dir: string, path: string): Dump {
  const name = relative(dir, path);
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${name} is not JSON (${(e as Error).message}); remove it or copy it again`);
  }
  if (d.format === 'collective-trace/2') return { ...(d as unknown as TraceDump), file: name };
  if (d.format !== 'collective-trace/1') throw new Error(`${name} is not a flight record of this runtime (format ${String(d.format)})`);
  const calls = (d.calls as Omit<TraceEntry, 'call' | 'callKind' | 'step'>[]).map((c) => ({ ...c, call: c.seq, callKind: c.kind, step: null }));
  return { ...(d as unknown as TraceDump), format: 'collective-trace/2', peers: null, lastCall: d.lastSeq as number, lastCallKind: calls.at(-1)?.kind ?? 'init', calls, file: name };
}

const userCall = (kind: string, n: number) => `${kind} #${n}`;

function findLast(calls: readonly TraceEntry[], ok: (c: TraceEntry) => boolean): TraceEntry | undefined {
  for (let i = calls.length - 1; i >= 0; i--) if (ok(calls[i]!)) return calls[i];
  return undefined;
}

function describeEntry(c: TraceEntry): string {
  const what = (kind: string, algorithm: string) => `${c.count} × ${c.dtype}${kind === 'barrier' ? '' : `, ${algorithm}`}`;
  // Point-to-point transfers are not numbered: they follow the user's call #call.
  if (c.callKind === 'sendRecv') return `sendRecv of ${c.count} × ${c.dtype} (first peer rank ${c.root}), after call #${c.call}, ${c.state}`;
  if (!c.step) return c.algorithm === 'steps' ? `${userCall(c.callKind, c.call)} ${c.state}` : `${userCall(c.callKind, c.call)} (${what(c.kind, c.algorithm)}) ${c.state}`;
  // A round the communicator ran itself for the call (split's exchanges) belongs to no group.
  const group = c.step.group === 'communicator itself' ? '' : ` of the ${c.step.group}`;
  return `${userCall(c.callKind, c.call)}, in step ${c.step.kind} #${c.step.seq}${group} (${what(c.kind, c.algorithm)}) ${c.state}`;
}

/** The user's call a rank was in last, at its innermost step. */
function lastCallOf(d: Dump): string {
  const last = d.calls.at(-1);
  if (!last) return d.lastCall > 0 ? `last call ${userCall(d.lastCallKind, d.lastCall)} (no entries kept)` : 'no call made on this communicator';
  // A hierarchical call's own entry stays 'started' until its steps are over: its last step says where it was.
  const top = findLast(d.calls, (c) => c.call === last.call && c.step === null);
  return `last call ${last.step && top && top.state !== last.state ? `${describeEntry(last)}; the call itself ${top.state === 'started' ? 'had not returned' : top.state}` : describeEntry(last)}`;
}

/** The state of the user's call `n` on a rank ('started' while inside it). */
function callState(d: Dump, n: number): string | undefined {
  return findLast(d.calls, (c) => c.call === n && c.step === null)?.state ?? findLast(d.calls, (c) => c.call === n)?.state;
}

/**
 * Reads the flight records the ranks of a failed job wrote
 * (COLLECTIVE_DUMP_DIR; dumps copied from several hosts may sit in
 * subdirectories), joins those of one communicator by its id, and says, once
 * per communicator, which rank is stuck in which of the user's calls and
 * what the others wait for, as PyTorch's fr_trace does.
 */
export function traceReport(dir: string): TraceVerdict[] {
  const files = dumpFiles(dir);
  if (files.length === 0) throw new Error(`no flight records (comm-*-rank-*.json) in ${dir}; set COLLECTIVE_DUMP_DIR for the job`);
  const byComm = new Map<string, Map<number, Dump>>();
  for (const f of files.sort()) {
    const d = readDump(dir, f);
    const ranks = byComm.get(d.comm) ?? new Map<number, Dump>();
    byComm.set(d.comm, ranks);
    // The same rank's record copied twice (or written again): the one further along wins.
    const had = ranks.get(d.rank);
    if (!had || d.lastSeq >= had.lastSeq) ranks.set(d.rank, d);
  }
  return [...byComm].map(([comm, ranks]) => verdictOf(comm, [...ranks.values()].sort((a, b) => a.rank - b.rank)));
}

function verdictOf(comm: string, dumps: Dump[]): TraceVerdict {
  const size = Math.max(...dumps.map((d) => d.size));
  const peers = dumps.find((d) => d.peers)?.peers ?? null;
  const where = (r: number): string => {
    const d = dumps.find((x) => x.rank === r);
    const p = d ? { host: d.host, pid: d.pid } : peers?.[r];
    return p ? `rank ${r} (host ${p.host}, pid ${p.pid})` : `rank ${r}`;
  };
  const lines = [`communicator ${comm}: ${size} rank(s), flight records from rank(s) ${dumps.map((d) => d.rank).join(', ')}`];
  const front = Math.max(...dumps.map((d) => d.lastCall));
  // What the ranks at the front call it: the most common kind is what the job meant; ties go to the lowest rank's.
  const atFront = dumps.filter((d) => d.lastCall === front);
  const kinds = new Map<string, number>();
  for (const d of atFront) kinds.set(d.lastCallKind, (kinds.get(d.lastCallKind) ?? 0) + 1);
  const most = Math.max(...kinds.values());
  const frontKind = atFront.find((d) => kinds.get(d.lastCallKind) === most)!.lastCallKind;
  const frontCall = userCall(frontKind, front);
  // Ranks named by their peers' errors as the one that did not arrive or finish (the rank the user knows, host and pid after it).
  const named = new Map<number, number>();
  for (const d of dumps) {
    lines.push(`  ${where(d.rank)}: ${lastCallOf(d)}${d.error ? `: ${d.error}` : ''}`);
    for (const m of (d.error ?? '').matchAll(/rank (\d+)(?: \([^)]*\))? did not [^;]*? within/g)) named.set(Number(m[1]), (named.get(Number(m[1])) ?? 0) + 1);
  }
  const stuck = new Map<number, string>();
  for (let r = 0; r < size; r++) {
    const d = dumps.find((x) => x.rank === r);
    if (!d) {
      stuck.set(r, `wrote no flight record: its process was killed, or it never entered a call of this communicator after the others failed (it may still be computing, or stuck outside the communicator); the others reached ${frontCall}`);
    } else if (d.lastCall < front) {
      const state = callState(d, d.lastCall);
      stuck.set(r, state === 'started' ? `is behind, still inside ${userCall(d.lastCallKind, d.lastCall)}; the others reached ${frontCall}` : `is behind: it never started ${frontCall} (${d.lastCall === 0 ? 'it made no call on this communicator before' : `its last call, ${userCall(d.lastCallKind, d.lastCall)}, ${state ?? 'is not in its record'}`})`);
    } else if (d.lastCallKind !== frontKind) {
      stuck.set(r, `called ${userCall(d.lastCallKind, front)} where the others called ${frontCall}: it skipped a call or called them in another order`);
    }
  }
  // Everyone reached the same call: the rank the others' timeouts name is the one they waited for.
  if (stuck.size === 0 && named.size > 0) {
    const top = Math.max(...named.values());
    for (const [r, n] of named) if (n === top) stuck.set(r, `is named by its peers' timeouts in ${frontCall}: it arrived late or stopped inside the call`);
  }
  for (const [r, why] of stuck) lines.push(`  ${where(r)} ${why}`);
  const waiting = dumps.filter((d) => !stuck.has(d.rank)).map((d) => d.rank);
  lines.push(
    stuck.size > 0
      ? `=> stuck: ${[...stuck.keys()].map(where).join(', ')}; rank(s) ${waiting.join(', ') || 'none'} wait for ${stuck.size > 1 ? 'them' : 'it'} in ${frontCall}`
      : '=> no rank is behind: every rank reached the same call; read the errors above (a mismatch or a revoked buffer)',
  );
  return { comm, size, stuck: [...stuck.keys()], call: stuck.size > 0 ? frontCall : null, lines };
}
