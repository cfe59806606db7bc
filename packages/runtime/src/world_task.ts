/** Messages from World to its device workers. */
export type WorldTask = { round: number } & ({ type: 'init' } | { type: 'close' } | { type: 'spmd'; module: string; args: unknown });
