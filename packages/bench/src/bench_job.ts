import { type LaunchEnv, resolveLaunchEnv } from '@collective/runtime';
import { TransportError } from '@collective/transport';

/**
 * Whether collective-bench runs as one process of a job of several
 * (collective-run, torchrun, mpirun, srun, or RANK/WORLD_SIZE/MASTER_ADDR/
 * MASTER_PORT), read from the environment as World.join reads it.
 *
 * - `join` undefined (the default): joins when the launcher environment
 *   names more than one process;
 * - `true` (--join): joins whatever the environment says (a job of one
 *   process is allowed: it runs the joined path alone);
 * - `false` (--no-join): every process runs a bench of its own devices.
 *
 * Returns the launch environment when joining, undefined otherwise.
 */
export function launchedJob(join: boolean | undefined, env: NodeJS.ProcessEnv = process.env): LaunchEnv | undefined {
  if (join === false) return undefined;
  let launch: LaunchEnv;
  try {
    launch = resolveLaunchEnv(env);
  } catch (e) {
    const hint = join ? 'fix the launcher environment' : 'fix the launcher environment, or pass --no-join to run this process on its own';
    throw new TransportError('EINVAL', `collective-bench reads the launcher environment to decide whether to join a job of several processes: ${(e as Error).message}; ${hint}`);
  }
  return join || launch.worldSize > 1 ? launch : undefined;
}
