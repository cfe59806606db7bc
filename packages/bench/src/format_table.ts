import type { Sample } from './sample.js';
import { NOISY_SPREAD } from './timing_plan.js';

/**
 * One printed row: a size of one (dtype, op) sweep, with busbw figured.
 * outWrong and inWrong are NaN when results were not checked (-c 0).
 */
export interface Row extends Sample {
  dtype: string;
  redop: string;
  root: number;
  /** whether the tuner chose algo and proto (false: --algo or --proto forced them) */
  tuned: boolean;
  /** the spread of batches reached NOISY_SPREAD: the machine was busy while this row ran */
  noisy: boolean;
  outAlgbw: number;
  outBusbw: number;
  inAlgbw: number;
  inBusbw: number;
  mpiUs?: number;
  mpiBusbw?: number;
}

const pad = (s: string, w: number) => s.padStart(w);
const num = (v: number, w: number, digits = 2) => pad(Number.isFinite(v) ? v.toFixed(digits) : 'N/A', w);
const count = (v: number, w: number) => pad(Number.isFinite(v) ? String(v) : 'N/A', w);

export function header(withMpi: boolean): string[] {
  const mpi = withMpi ? '      Open MPI' : '';
  const mpi2 = withMpi ? '     time   busbw   ratio' : '';
  const mpi3 = withMpi ? '     (us)  (GB/s)  (busbw)' : '';
  return [
    `#                                                             out-of-place                       in-place          ${mpi}`,
    `#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong${mpi2}`,
    `#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       ${mpi3}`,
  ];
}

export function formatRow(r: Row): string {
  let line =
    pad(String(r.bytes), 12) +
    pad(String(r.count), 14) +
    pad(r.dtype, 10) +
    pad(r.redop, 8) +
    pad(String(r.root), 8) +
    num(r.outUs, 9) +
    num(r.outAlgbw, 8) +
    num(r.outBusbw, 8) +
    count(r.outWrong, 7) +
    num(r.inUs, 9) +
    num(r.inAlgbw, 8) +
    num(r.inBusbw, 8) +
    (Number.isFinite(r.inUs) ? count(r.inWrong, 7) : pad('N/A', 7));
  if (r.mpiUs !== undefined) {
    line += num(r.mpiUs, 9) + num(r.mpiBusbw ?? NaN, 8) + pad(Number.isFinite(r.mpiBusbw!) && r.mpiBusbw! > 0 ? `${(r.outBusbw / r.mpiBusbw!).toFixed(1)}x` : 'N/A', 8);
  }
  if (r.noisy) line += `  noisy (batches ${r.spread.toFixed(1)}x apart)`;
  return line;
}

/** Wrong values over every checked column; NaN when nothing was checked. */
export function wrongCount(rows: Row[]): number {
  const counts = rows.flatMap((r) => [r.outWrong, Number.isFinite(r.inUs) ? r.inWrong : NaN]).filter((v) => Number.isFinite(v));
  return counts.length ? counts.reduce((a, b) => a + b, 0) : NaN;
}

/** nccl-tests' footer: wrong values, and busbw averaged over every measured column. */
export function footer(rows: Row[]): string[] {
  const wrong = wrongCount(rows);
  const bw = rows.flatMap((r) => [r.outBusbw, r.inBusbw]).filter((v) => Number.isFinite(v));
  const avg = bw.length ? bw.reduce((a, b) => a + b, 0) / bw.length : 0;
  const verdict = Number.isNaN(wrong) ? 'N/A (results not checked: -c 0)' : `${wrong} ${wrong === 0 ? 'OK' : 'FAILED'}`;
  const lines = [`# Out of bounds values : ${verdict}`, `# Avg bus bandwidth    : ${avg.toFixed(3)}`];
  const noisy = rows.filter((r) => r.noisy).length;
  if (noisy > 0) lines.push(`# Noisy rows          : ${noisy} of ${rows.length} (timed batches ${NOISY_SPREAD}x apart or more, the fastest and slowest left out: the machine was busy; rerun, or raise -n or --min-time-ms)`);
  return [...lines, '#'];
}
