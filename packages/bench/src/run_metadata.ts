import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

/** What a results file needs to be compared with another day's or another machine's. */
export interface RunMetadata {
  /** argv as typed, program name first */
  command: string[];
  /** version of @collective/bench, which measured and wrote the figures */
  version: string;
  node: string;
  machine: { cores: number; cpuModel: string; totalMemoryBytes: number; platform: string; arch: string };
  /** ISO 8601, when the run started */
  date: string;
  /** 1, 5 and 15 minute load averages when the run started and ended: figures from a busy machine are not comparable */
  loadAverage: { start: number[]; end: number[] };
}

/** The version in this package's package.json (next to dist/ in the repository and in the tarball). */
export function benchVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export function runMetadata(command: string[], started: Date, loadAtStart: number[]): RunMetadata {
  const cpuList = cpus();
  return {
    command,
    version: benchVersion(),
    node: process.version,
    machine: {
      cores: cpuList.length,
      cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
      totalMemoryBytes: totalmem(),
      platform: process.platform,
      arch: process.arch,
    },
    date: started.toISOString(),
    loadAverage: { start: loadAtStart, end: loadavg() },
  };
}
