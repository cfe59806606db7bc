import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TraceDump, TraceEntry } from '@collective/runtime';

export interface TraceVerdict {
  comm: string;
  size: number;
  /** ranks that held the others up: behind them, or silent while peers waited on them */
  stuck: number[];
  lines: string[];
}

const describe = (c: TraceEntry | undefined) => (c ? `${c.kind} #${c.seq} (${c.count} × ${c.dtype}${c.kind === 'barrier' ? '' : `, ${c.algorithm}`}) ${c.state}` : 'no call recorded');

/**
 * Reads the flight records every rank of a failed communicator wrote
 * (COLLECTIVE_DUMP_DIR) and says which rank is stuck at which call and
 * what the others wait for, as PyTorch's fr_trace does.
 */
export function traceReport(dir: string): TraceVerdict[] {
  const files = readdirSync(dir).filter((f) => /^comm-.+-rank-\d+\.json$/.test(f));
  if (files.length === 0) throw new Error(`no flight records (comm-*-rank-*.json) in ${dir}; set COLLECTIVE_DUMP_DIR for the job`);
  const byComm = new Map<string, TraceDump[]>();
  for (const f of files) {
    const d = JSON.parse(readFileSync(join(dir, f), 'utf8')) as TraceDump;
    if (d.format !== 'collective-trace/1') throw new Error(`${f} is not a flight record of this runtime (format ${String(d.format)})`);
    byComm.set(d.comm, [...(byComm.get(d.comm) ?? []), d]);
  }
  const verdicts: TraceVerdict[] = [];
  for (const [comm, dumps] of byComm) {
    dumps.sort((a, b) => a.rank - b.rank);
    const size = dumps[0]!.size;
    const lines = [`communicator ${comm}: ${size} rank(s), flight records from rank(s) ${dumps.map((d) => d.rank).join(', ')}`];
    const front = Math.max(...dumps.map((d) => d.lastSeq));
    // Ranks named by their peers' errors as the one that did not arrive or finish.
    const named = new Map<number, number>();
    for (const d of dumps) {
      const last = d.calls.at(-1);
      lines.push(`  rank ${d.rank}: last call ${describe(last)}${d.error ? `: ${d.error}` : ''}`);
      const m = d.error && /rank (\d+) (did not [^;]*?) within/.exec(d.error);
      if (m) named.set(Number(m[1]), (named.get(Number(m[1])) ?? 0) + 1);
    }
    const stuck = new Set<number>();
    for (let r = 0; r < size; r++) {
      const d = dumps.find((x) => x.rank === r);
      if (!d) {
        lines.push(`  rank ${r}: no flight record (it never failed a call: stuck outside the communicator, or never reached call #${front})`);
        stuck.add(r);
      } else if (d.lastSeq < front) {
        lines.push(`  rank ${r} is behind: it last started call #${d.lastSeq}; others reached #${front}`);
        stuck.add(r);
      }
    }
    // Everyone reached the same call: the rank the others' timeouts name is the one they waited for.
    if (stuck.size === 0 && named.size > 0) {
      const most = Math.max(...named.values());
      for (const [r, n] of named) if (n === most) stuck.add(r);
    }
    const front0 = dumps.find((d) => d.lastSeq === front)?.calls.find((c) => c.seq === front);
    const waiting = dumps.filter((d) => !stuck.has(d.rank)).map((d) => d.rank);
    lines.push(
      stuck.size > 0
        ? `=> stuck: rank ${[...stuck].join(', ')}; rank(s) ${waiting.join(', ') || 'none'} wait for it in ${front0 ? `${front0.kind} #${front}` : `call #${front}`}`
        : '=> no rank is behind: every rank reached the same call; read the errors above (a mismatch or a revoked buffer)',
    );
    verdicts.push({ comm, size, stuck: [...stuck], lines });
  }
  return verdicts;
}
