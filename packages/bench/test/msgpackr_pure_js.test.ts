import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The transport encodes tagged messages with msgpackr, whose optional native
// accelerator (msgpackr-extract) the workspace does not install
// (pnpm.ignoredOptionalDependencies): msgpackr must fall back to JavaScript.
const transportDir = fileURLToPath(new URL('../../transport/package.json', import.meta.url));
const fromTransport = createRequire(transportDir);

describe('msgpackr as the transport resolves it', () => {
  it('has no native accelerator installed beside it', () => {
    // Resolved from inside msgpackr, where its own require('msgpackr-extract') looks.
    const msgpackrEntry = fromTransport.resolve('msgpackr');
    expect(() => createRequire(msgpackrEntry).resolve('msgpackr-extract')).toThrow(/Cannot find module 'msgpackr-extract'/);
  });

  it('encodes and decodes in pure JavaScript', async () => {
    const url = new URL(`file://${fromTransport.resolve('msgpackr')}`);
    // The ESM entry is what the transport imports under Node.
    const esm = (await import(new URL('../node-index.js', url).href)) as typeof import('msgpackr');
    expect(esm.isNativeAccelerationEnabled).toBe(false);
    const value = { tag: 42, name: 'rank 1', payload: [1, 2.5, 'x'], nested: { ok: true } };
    expect(esm.unpack(esm.pack(value))).toEqual(value);
  });
});
