/**
 * A one-line progress indicator on stderr for sweeps longer than a few
 * seconds; silent when stderr is not a terminal or progress is off.
 */
export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private shown = false;
  private readonly enabled: boolean;

  constructor(
    enabled: boolean,
    private readonly total: number,
  ) {
    this.enabled = enabled && process.stderr.isTTY === true;
  }

  tick(what: string): void {
    this.done++;
    if (!this.enabled || Date.now() - this.started < 2000) return;
    process.stderr.write(`\r\x1b[K[${this.done}/${this.total}] ${what}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
