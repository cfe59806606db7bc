import type { TuningTable } from './tuning_table.js';

/**
 * The tuning table shipped with the runtime. Regenerate it on the target
 * machine with `collective-bench tune --out table.json` and point
 * COLLECTIVE_TUNER_FILE at the file, or paste its rules here.
 */
export const DEFAULT_TUNING: TuningTable = {
  format: 'collective-tuning/1',
  machine: 'default',
  rules: [
    { collective: 'allReduce', ranks: 1, maxBytes: 2 ** 31, algo: 'oneshot', proto: 'simple' },
    { collective: 'allReduce', ranks: 2, maxBytes: 4088, algo: 'oneshot', proto: 'll' },
    { collective: 'allReduce', ranks: 2, maxBytes: 256, algo: 'oneshot', proto: 'simple' },
    { collective: 'allReduce', ranks: 2, maxBytes: 2 ** 31, algo: 'twoshot', proto: 'simple' },
    { collective: 'allGather', ranks: 2, maxBytes: 4088, algo: 'direct', proto: 'll' },
    { collective: 'allGather', ranks: 2, maxBytes: 2 ** 31, algo: 'direct', proto: 'simple' },
    { collective: 'reduceScatter', ranks: 2, maxBytes: 2044, algo: 'direct', proto: 'll' },
    { collective: 'reduceScatter', ranks: 2, maxBytes: 2 ** 31, algo: 'direct', proto: 'simple' },
    { collective: 'broadcast', ranks: 2, maxBytes: 4088, algo: 'direct', proto: 'll' },
    { collective: 'broadcast', ranks: 2, maxBytes: 2 ** 31, algo: 'direct', proto: 'simple' },
  ],
};
