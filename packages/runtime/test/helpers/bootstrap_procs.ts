import { spawn, spawnSync } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const jobScript = fileURLToPath(new URL('../../dist-test/fixtures/bootstrap_job.js', import.meta.url));
export const fixturePath = (name: string): string => fileURLToPath(new URL(`../../dist-test/fixtures/${name}.js`, import.meta.url));

/** Debian's torch lives in /usr/bin/python3, not in the python3 first on PATH. */
export const PYTHON = '/usr/bin/python3';

let torch: string | undefined | null = null;
/** torch's version when `import torch.distributed` works, else undefined. */
export function torchVersion(): string | undefined {
  if (torch === null) {
    const r = spawnSync(PYTHON, ['-c', 'import torch, torch.distributed; print(torch.__version__)'], { encoding: 'utf8', timeout: 30_000 });
    torch = r.status === 0 ? r.stdout.trim() : undefined;
  }
  return torch;
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

/** A port free right now (the OS picked it); the caller binds it soon after. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, killing it (and failing) past `timeoutMs`. */
export function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; onStdout?: (all: string) => void } = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      options.onStdout?.(stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${options.timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface JobResult {
  rank: number;
  worldSize: number;
  launcher: string;
  store: { serve?: boolean; prefix?: string; source?: string; kind?: string };
  localRank: number;
  localWorldSize: number;
  hosts: { hostId: string; ranks: number[] }[];
  deviceOffsets: number[];
  listenAddresses: string[];
  reached: number[];
}

/** Every BOOTSTRAP_RESULT line in some output, whatever prefixes the launcher adds. */
export function jobResults(output: string): JobResult[] {
  return output
    .split('\n')
    .map((l) => /BOOTSTRAP_RESULT (\{.*\})\s*$/.exec(l)?.[1])
    .filter((j): j is string => j !== undefined)
    .map((j) => JSON.parse(j) as JobResult)
    .sort((a, b) => a.rank - b.rank);
}

/** The assertions every launcher test makes: N ranks, one each, all agreeing on world and topology, every peer reached. */
export function expectOneWorld(results: readonly JobResult[], n: number): void {
  expect(results.map((r) => r.rank)).toEqual(Array.from({ length: n }, (_, i) => i));
  const first = results[0] as JobResult;
  for (const r of results) {
    expect(r.worldSize).toBe(n);
    expect(r.hosts, `rank ${r.rank} sees the same hosts as rank 0`).toEqual(first.hosts);
    expect(r.listenAddresses).toEqual(first.listenAddresses);
    expect(r.deviceOffsets).toEqual(Array.from({ length: n }, (_, i) => 2 * i));
    expect(r.reached, `rank ${r.rank} reached every peer at its published address`).toEqual(Array.from({ length: n }, (_, i) => i));
  }
}

/** Starts one process of the job script per environment, as a launcher would, and waits for all. */
export async function runJobProcesses(envs: readonly NodeJS.ProcessEnv[], timeoutMs = 30_000): Promise<ProcResult[]> {
  const base = { ...process.env };
  // This process may itself run under a launcher; the job must see only what the test gives it.
  for (const k of Object.keys(base)) if (/^(RANK|WORLD_SIZE|LOCAL_RANK|MASTER_|OMPI_|PMI_|PMIX_|SLURM_|TORCHELASTIC_|COLLECTIVE_)/.test(k)) delete base[k];
  return Promise.all(envs.map((env) => run(process.execPath, [jobScript], { env: { ...base, ...env }, timeoutMs })));
}
