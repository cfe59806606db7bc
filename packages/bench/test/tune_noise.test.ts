import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runTune } from '@collective/bench';

async function tune(noisySpread: number): Promise<string> {
  let text = '';
  const out = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  const file = join(mkdtempSync(join(tmpdir(), 'tune-noise-')), 't.json');
  await runTune({ collectives: ['broadcast'], devices: [2], sizes: [64, 1024], minTimeMs: 1, out: file, progress: false, noisySpread }, out);
  return text;
}

describe('tune on a noisy machine', () => {
  it('marks measurements whose batches disagree and warns that their winners may be noise', async () => {
    // Every spread is at least 1: with a threshold of 1 every measurement counts as noisy.
    const noisy = await tune(1);
    expect(noisy).toMatch(/^ +64 +[\d.]+~\*? +[\d.]+~\*? *$/m);
    expect(noisy).toMatch(/^# warning: 4 of 4 measurements of broadcast on 2 devices had batches 1x apart or more \(~\): the machine is busy \(load average [\d. ]+ on \d+ cores\), so the winners of those sizes may be noise/m);
    const quiet = await tune(Number.MAX_VALUE);
    expect(quiet).not.toMatch(/\d~/);
    expect(quiet).not.toMatch(/^# warning/m);
  }, 60_000);
});
