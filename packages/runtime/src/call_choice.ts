import { envSetting } from '@collective/transport/runtime';
import type { Algorithm } from './algorithm.js';
import { localCopy } from './algorithms/local_copy.js';
import type { CollectiveKind } from './collective_kind.js';
import type { CollectiveOptions } from './collective_options.js';
import { ALGO_ENV, type ChoiceContext, chooseAlgorithm, PROTO_ENV, tunedRules } from './tuner.js';

/**
 * A communicator's choice of algorithm per call: the tuner's (or the forced
 * one), kept and reused while the calls do not change, since a training
 * loop makes the same call again and again.
 */
export class CallChoice {
  /** COLLECTIVE_ALGO and COLLECTIVE_PROTO, read once: process.env is slow on a hot path */
  readonly envAlgo = envSetting(ALGO_ENV);
  readonly #choice: ChoiceContext = { envProto: envSetting(PROTO_ENV), llOk: false, llBytes: 0 };
  readonly #size: number;
  /** the last call's choice, reused while the call does not change */
  readonly #last = { kind: '', bytes: -1, algo: undefined as string | undefined, proto: undefined as string | undefined, alg: undefined as Algorithm | undefined };

  /** `net`: the communicator spans processes. */
  constructor(size: number, net: boolean) {
    this.#size = size;
    // ll runs over both connectors: shm peers read this rank's slot, net peers get flag and data in one write.
    this.#choice.llOk = true;
    this.#choice.net = net;
    this.#choice.rules = tunedRules(size);
  }

  /** The algorithm the last call ran, undefined before any call and after a barrier. */
  get last(): Algorithm | undefined {
    return this.#last.alg;
  }

  /** The algorithm for a call of `bytes` per rank (undefined for a barrier). */
  pick(kind: CollectiveKind, bytes: number, opts: CollectiveOptions): Algorithm | undefined {
    const last = this.#last;
    if (kind === last.kind && bytes === last.bytes && opts.algo === last.algo && opts.proto === last.proto) return last.alg;
    const choice = this.#choice;
    choice.proto = opts.proto;
    choice.llBytes = kind === 'reduceScatter' ? bytes * this.#size : bytes;
    const alg = kind === 'barrier' ? undefined : this.#size === 1 ? localCopy : chooseAlgorithm(kind, bytes, this.#size, opts.algo, this.envAlgo, choice);
    last.kind = kind;
    last.bytes = bytes;
    last.algo = opts.algo;
    last.proto = opts.proto;
    last.alg = alg;
    return alg;
  }
}
