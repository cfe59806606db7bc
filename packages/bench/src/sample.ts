export interface Sample {
  bytes: number;
  count: number;
  outUs: number;
  outWrong: number;
  /** NaN where the collective has no in-place form */
  inUs: number;
  inWrong: number;
  /**
   * slowest timed batch over fastest, of the worse placement and the worst
   * rank: a wide spread means the machine was busy while this size ran
   */
  spread: number;
  /** the algorithm and protocol that ran ('p2p' for sendrecv, which has no choice) */
  algo: string;
  proto: string;
}
