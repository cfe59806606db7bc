import type { AlgorithmName, Protocol } from './algorithm_names.js';
import type { CollectiveKind } from './collective_kind.js';

/**
 * One row of a tuning table: calls of up to `maxBytes`, in a world of
 * `ranks` ranks, run (algo, proto). The bytes are the call's count times
 * the element size, where the count is what ncclAllReduce and friends
 * take: the buffer for all-reduce, broadcast and reduce, one rank's block
 * for all-gather (its input) and reduce-scatter (its output).
 */
export interface TunerRule {
  collective: CollectiveKind;
  ranks: number;
  maxBytes: number;
  algo: AlgorithmName;
  proto: Protocol;
}

/** What `collective-bench tune` writes and the runtime reads. */
export interface TuningTable {
  format: 'collective-tuning/1';
  machine?: string;
  date?: string;
  rules: TunerRule[];
}
