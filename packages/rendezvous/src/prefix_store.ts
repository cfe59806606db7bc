import { type Store, StoreError, type StoreValue, checkKey, checkKeys } from './store.js';

/**
 * Scopes a store under `prefix`, joined as torch's PrefixStore does
 * (`prefix/key`), so our keys and a torch worker's keys land in the same place.
 * close() leaves the base store open: whoever opened it closes it.
 */
export class PrefixStore implements Store {
  constructor(
    readonly prefix: string,
    readonly base: Store,
  ) {
    if (typeof prefix !== 'string' || prefix.length === 0) throw new StoreError('EINVAL', `prefix must be a non-empty string (got ${JSON.stringify(prefix)})`);
  }

  get timeoutMs(): number {
    return this.base.timeoutMs;
  }

  private k(key: string): string {
    return `${this.prefix}/${checkKey(key)}`;
  }

  async set(key: string, value: StoreValue): Promise<void> {
    return this.base.set(this.k(key), value);
  }

  async get(key: string, timeoutMs?: number): Promise<Uint8Array> {
    return this.base.get(this.k(key), timeoutMs);
  }

  async add(key: string, delta: number): Promise<number> {
    return this.base.add(this.k(key), delta);
  }

  async compareSet(key: string, expected: StoreValue, desired: StoreValue): Promise<Uint8Array> {
    return this.base.compareSet(this.k(key), expected, desired);
  }

  async wait(keys: readonly string[], timeoutMs?: number): Promise<void> {
    try {
      await this.base.wait(checkKeys(keys).map((key) => this.k(key)), timeoutMs);
    } catch (e) {
      // Name the keys as the caller knows them.
      if (e instanceof StoreError && e.keys.length > 0) {
        const strip = (k: string) => (k.startsWith(`${this.prefix}/`) ? k.slice(this.prefix.length + 1) : k);
        const message = e.message.replace(/^[A-Z]+: /, '').split(`'${this.prefix}/`).join(`'`);
        throw new StoreError(e.code, `${message} (under prefix '${this.prefix}')`, e.keys.map(strip));
      }
      throw e;
    }
  }

  async check(keys: readonly string[]): Promise<boolean> {
    return this.base.check(checkKeys(keys).map((key) => this.k(key)));
  }

  async deleteKey(key: string): Promise<boolean> {
    return this.base.deleteKey(this.k(key));
  }

  async numKeys(): Promise<number> {
    return this.base.numKeys();
  }

  async close(): Promise<void> {}
}
