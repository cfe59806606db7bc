import { describe, expect, it } from 'vitest';
import { footer, formatRow, type Row } from '@collective/bench';

const row = (spread: number): Row => ({
  bytes: 64, count: 16, outUs: 2, outWrong: 0, inUs: 2, inWrong: 0, spread, algo: 'oneshot', proto: 'll', dtype: 'float32', redop: 'sum', root: -1,
  tuned: true, noisy: spread >= 2, outAlgbw: 0.03, outBusbw: 0.03, inAlgbw: 0.03, inBusbw: 0.03,
});

describe('rows whose batches disagree', () => {
  it('are flagged on the row and counted in the footer', () => {
    expect(formatRow(row(1.2))).not.toMatch(/noisy/);
    expect(formatRow(row(4.25))).toMatch(/ {2}noisy \(batches 4\.3x apart\)$/);
    const f = footer([row(1.2), row(4.25), row(9)]);
    expect(f.find((l) => l.startsWith('# Noisy rows'))).toMatch(/: 2 of 3 \(timed batches 2x apart or more/);
    expect(footer([row(1.2)]).some((l) => l.startsWith('# Noisy rows'))).toBe(false);
  });
});
