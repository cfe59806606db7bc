import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const runMain = fileURLToPath(new URL('../../dist/run_main.js', import.meta.url));
export const benchMain = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
export const runWorker = fileURLToPath(new URL('../fixtures/run_worker.mjs', import.meta.url));
export const gloojob = fileURLToPath(new URL('../fixtures/torch_gloo_job.py', import.meta.url));
/** The example that checkpoints every few steps and resumes after a restart. */
export const elasticExample = fileURLToPath(new URL('../../../../examples/dist/elastic_checkpoint.js', import.meta.url));
/** The same job script the runtime's launcher tests run under mpirun, torchrun and Slurm. */
export const jobScript = fileURLToPath(new URL('../../../../packages/runtime/dist-test/fixtures/bootstrap_job.js', import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<Finished>;
}

/** Starts `collective-run args...`; `done` rejects past timeoutMs (after killing it). */
export function startRun(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Running {
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) if (/^(RANK|WORLD_SIZE|LOCAL_RANK|MASTER_|OMPI_|PMI_|SLURM_|TORCHELASTIC_|COLLECTIVE_)/.test(k)) delete clean[k];
  const t0 = performance.now();
  const child = spawn(process.execPath, [runMain, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`collective-run ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err, ms: performance.now() - t0 });
    });
  });
  return { child, stdout: () => out, stderr: () => err, done };
}

export const runCollective = (args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<Finished> => startRun(args, env, timeoutMs).done;

export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
