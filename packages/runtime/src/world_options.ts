import { TransportError, WASM_PAGE_SIZE } from '@collective/transport';

/** The options World.start and World.join share, checked alike. */
export interface WorldSizing {
  devices: number;
  poolBytes?: number;
  streams?: boolean;
}

/** Refuses bad devices, poolBytes and streams options; returns the device count and the pool's bytes (default 256 MiB). */
export function checkWorldSizing(what: 'World.start' | 'World.join', options: WorldSizing): { n: number; poolBytes: number } {
  if (!options || typeof options !== 'object') throw new TransportError('EINVAL', `${what} needs an options object such as { devices: 2 }`);
  const n = options.devices;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new TransportError('EINVAL', `options.devices must be a positive integer (got ${String(n)})`);
  const poolBytes = options.poolBytes ?? 256 * 1024 * 1024;
  if (typeof poolBytes !== 'number' || !Number.isSafeInteger(poolBytes) || poolBytes <= 0 || poolBytes % WASM_PAGE_SIZE !== 0) {
    throw new TransportError('EINVAL', `options.poolBytes must be a positive multiple of ${WASM_PAGE_SIZE} (got ${String(options.poolBytes)})`);
  }
  if (options.streams !== undefined && typeof options.streams !== 'boolean') throw new TransportError('EINVAL', `options.streams must be true or false (got ${String(options.streams)})`);
  return { n, poolBytes };
}
