import { World, type WorldOptions } from '@collective/runtime';

export const fixture = (name: string): URL => new URL(`../../dist-test/fixtures/${name}.js`, import.meta.url);

/** Starts a world of `devices` workers, runs `fn`, and always closes it. */
export async function withWorld<T>(devices: number, fn: (w: World) => Promise<T>, options: Partial<WorldOptions> = {}): Promise<T> {
  const world = await World.start({ devices, poolBytes: 128 << 20, ...options });
  try {
    return await fn(world);
  } finally {
    await world.close();
  }
}
