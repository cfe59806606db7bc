import { writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg } from 'node:os';
import { Writable } from 'node:stream';
import { checkTable, LL_MAX_BYTES, type TunerRule, tunerCandidates, type TuningTable } from '@collective/runtime';
import { TransportError } from '@collective/transport';
import { type CollectiveName, SPECS } from './collectives.js';
import { checkOutputPath } from './output_path.js';
import { checkFits, collectiveSizeLimit } from './pool_limits.js';
import { runCollectiveBench } from './run_collective.js';
import { formatBytes } from './sizes.js';
import { NOISY_SPREAD } from './timing_plan.js';

/** The collectives whose algorithm the runtime chooses by size. */
export const TUNABLE: readonly CollectiveName[] = ['all_reduce', 'all_gather', 'reduce_scatter', 'broadcast'];

export interface TuneOptions {
  collectives: CollectiveName[];
  /** world sizes to measure; each gets its own rules */
  devices: number[];
  /** bench sizes (nccl-tests bytes: the whole buffer) */
  sizes: number[];
  minTimeMs: number;
  out: string;
  connector?: 'auto' | 'shm' | 'net';
  progress: boolean;
  /** batches this many times apart make a measurement noisy (default NOISY_SPREAD) */
  noisySpread?: number;
}

interface Candidate {
  algo: TunerRule['algo'];
  proto: TunerRule['proto'];
}

const key = (c: Candidate) => `${c.algo}/${c.proto}`;

/** The runtime's bytes of a bench size: what the call's count covers (see TunerRule). */
function callBytes(name: CollectiveName, size: number, n: number): number {
  return SPECS[name].perRankBlocks ? Math.floor(size / n) : size;
}

/** The bytes the bench reports for a size: whole float32 elements, whole blocks per rank. */
function reported(name: CollectiveName, size: number, n: number): number {
  return SPECS[name].perRankBlocks ? Math.floor(size / (4 * n)) * n * 4 : Math.floor(size / 4) * 4;
}

/** Whether a candidate can run a bench size at all: ll holds one rank's slot. */
function fits(name: CollectiveName, c: Candidate, size: number, n: number): boolean {
  if (c.proto !== 'll') return true;
  // reduce-scatter's slot carries the whole input; all-gather's one block.
  const slot = name === 'reduce_scatter' ? size : callBytes(name, size, n);
  return slot <= LL_MAX_BYTES;
}

const sink = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

function validate(o: TuneOptions): void {
  if (o.collectives.length === 0) throw new TransportError('EINVAL', 'no collective to tune; give one or more of ' + TUNABLE.join(', '));
  for (const c of o.collectives) {
    if (!TUNABLE.includes(c)) throw new TransportError('EINVAL', `${c} cannot be tuned (the runtime has one algorithm for it); tune one of ${TUNABLE.join(', ')}`);
  }
  for (const n of o.devices) {
    if (!Number.isSafeInteger(n) || n < 2) throw new TransportError('EINVAL', `devices to tune must be integers of at least 2 (got ${n}); one device only copies`);
    checkFits('-e (the largest size)', Math.max(...o.sizes), collectiveSizeLimit(n));
  }
  if (o.sizes.length === 0) throw new TransportError('EINVAL', 'the size sweep is empty; check -b, -e and -f');
  if (o.noisySpread !== undefined && !(o.noisySpread >= 1)) throw new TransportError('EINVAL', `options.noisySpread must be a number of at least 1 (got ${o.noisySpread})`);
  checkOutputPath('--out', o.out);
}

/**
 * Measures every (algorithm, protocol) of each collective over the size
 * sweep and world sizes, and writes the table the runtime reads from
 * COLLECTIVE_TUNER_FILE. Per size the fastest wins; after an ll winner the
 * fastest simple choice follows, for worlds whose peers are not all shm.
 */
export async function runTune(o: TuneOptions, out: Writable): Promise<TuningTable> {
  validate(o);
  const rules: TunerRule[] = [];
  const sizes = [...o.sizes].sort((a, b) => a - b);
  for (const n of o.devices) {
    for (const name of o.collectives) {
      const kind = SPECS[name].kind as TunerRule['collective'];
      const candidates = tunerCandidates(kind);
      const us = new Map<string, Map<number, number>>();
      // The spread of each measurement's batches: wide ones mean the machine was busy, and their winner may be noise.
      const spreads = new Map<string, Map<number, number>>();
      for (const c of candidates) {
        const mine = sizes.filter((s) => fits(name, c, s, n) && reported(name, s, n) > 0);
        if (mine.length === 0) continue;
        if (o.progress && process.stderr.isTTY) process.stderr.write(`\rtuning ${name} on ${n} devices: ${key(c)}        `);
        const res = await runCollectiveBench(
          { collective: name, sizes: mine, devices: n, iters: 0, warmup: 2, check: true, ops: ['sum'], dtypes: ['float32'], root: 0, algo: c.algo, proto: c.proto, minTimeMs: o.minTimeMs, progress: false, stat: 'min', join: false, ...(o.connector !== undefined && { connector: o.connector }) },
          sink(),
        );
        if (res.wrong > 0) throw new TransportError('EIO', `${name} ${key(c)} on ${n} devices gave ${res.wrong} wrong value(s); not writing a table from a broken run`);
        const byReported = new Map(res.rows.map((r) => [r.bytes, r]));
        us.set(key(c), new Map(mine.map((s) => [s, byReported.get(reported(name, s, n))?.outUs ?? NaN])));
        spreads.set(key(c), new Map(mine.map((s) => [s, byReported.get(reported(name, s, n))?.spread ?? 1])));
      }
      if (o.progress && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      const measured = candidates.filter((c) => us.has(key(c)));
      out.write(`# ${name} on ${n} devices, float32 sum, out-of-place time (us); * marks the fastest, ~ a noisy measurement\n`);
      let noisy = 0;
      let cells = 0;
      out.write(`${'size'.padStart(10)} ${measured.map((c) => key(c).padStart(14)).join(' ')}\n`);
      const winners: { size: number; best: Candidate; bestSimple: Candidate }[] = [];
      for (const s of sizes) {
        const t = measured.map((c) => us.get(key(c))!.get(s) ?? NaN);
        let best = -1;
        let bestSimple = -1;
        for (let i = 0; i < measured.length; i++) {
          if (!(t[i]! >= 0)) continue;
          if (best < 0 || t[i]! < t[best]!) best = i;
          if (measured[i]!.proto === 'simple' && (bestSimple < 0 || t[i]! < t[bestSimple]!)) bestSimple = i;
        }
        if (best < 0) continue;
        const wide = measured.map((c) => (spreads.get(key(c))!.get(s) ?? 1) >= (o.noisySpread ?? NOISY_SPREAD));
        noisy += wide.filter((w, i) => w && Number.isFinite(t[i]!)).length;
        cells += t.filter((v) => Number.isFinite(v)).length;
        // Within 5% the previous winner keeps the size: fewer rules, and none flipping on noise.
        const prev = winners.at(-1);
        const keep = (c: Candidate | undefined, i: number) => {
          const j = c ? measured.findIndex((m) => key(m) === key(c)) : -1;
          return j >= 0 && t[j]! <= t[i]! * 1.05 ? j : i;
        };
        best = keep(prev?.best, best);
        if (bestSimple >= 0) bestSimple = keep(prev?.bestSimple, bestSimple);
        out.write(`${formatBytes(s).padStart(10)} ${t.map((v, i) => (Number.isFinite(v) ? `${v.toFixed(2)}${wide[i] ? '~' : ''}${i === best ? '*' : ' '}` : '-').padStart(14)).join(' ')}\n`);
        winners.push({ size: s, best: measured[best]!, bestSimple: measured[bestSimple]! });
      }
      if (noisy > 0) {
        const load = loadavg().map((l) => l.toFixed(2)).join(' ');
        out.write(`# warning: ${noisy} of ${cells} measurements of ${name} on ${n} devices had batches ${o.noisySpread ?? NOISY_SPREAD}x apart or more (~): the machine is busy (load average ${load} on ${cpus().length} cores), so the winners of those sizes may be noise; rerun on a quiet machine or raise --min-time-ms\n`);
      }
      const last = winners.at(-1);
      if (last) {
        // The runtime needs a rule for every size: the last one covers everything above -e, unmeasured, and says so.
        out.write(`# note: the rule for ${formatBytes(last.size)} (${key(last.best)}) also covers ${name} calls above -e (${formatBytes(sizes.at(-1)!)}), which were not measured; tune with a larger -e to measure them\n`);
      }
      out.write('\n');
      rules.push(...rulesOf(kind, n, name, winners));
    }
  }
  const table: TuningTable = { format: 'collective-tuning/1', machine: `${hostname()}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}`, date: new Date().toISOString(), rules };
  checkTable(table, 'the measured table');
  writeFileSync(o.out, `${JSON.stringify(table, null, 2)}\n`);
  out.write(`# wrote ${rules.length} rules to ${o.out}; use them with COLLECTIVE_TUNER_FILE=${o.out}\n`);
  return table;
}

/**
 * Runs of sizes with the same winners become one rule each, up to the last
 * size of the run (the last rule covers everything above). An ll rule is
 * followed by the simple rule for the same sizes.
 */
function rulesOf(kind: TunerRule['collective'], ranks: number, name: CollectiveName, winners: { size: number; best: Candidate; bestSimple: Candidate }[]): TunerRule[] {
  const rules: TunerRule[] = [];
  for (let i = 0; i < winners.length; i++) {
    const w = winners[i]!;
    const next = winners[i + 1];
    if (next && key(next.best) === key(w.best) && key(next.bestSimple) === key(w.bestSimple)) continue;
    const maxBytes = next ? callBytes(name, w.size, ranks) : 2 ** 31;
    rules.push({ collective: kind, ranks, maxBytes, algo: w.best.algo, proto: w.best.proto });
    if (w.best.proto === 'll') rules.push({ collective: kind, ranks, maxBytes, algo: w.bestSimple.algo, proto: 'simple' });
  }
  return rules;
}
