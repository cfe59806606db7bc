import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('shipped kernels', () => {
  it('are exactly what scripts/generate_kernels.mjs builds from kernel_source.mjs', async () => {
    const { buildKernels } = (await import(new URL('../scripts/generate_kernels.mjs', import.meta.url).href)) as { buildKernels: () => Promise<string> };
    const shipped = readFileSync(new URL('../src/kernels/kernels_wasm.ts', import.meta.url), 'utf8');
    expect(shipped === (await buildKernels()), 'kernels_wasm.ts is stale: run pnpm --filter @collective/runtime gen:kernels').toBe(true);
  });

  it('validate as WebAssembly, SIMD and scalar alike', async () => {
    const { KERNELS_SIMD, KERNELS_SCALAR } = await import('../src/kernels/kernels_wasm.js');
    expect(WebAssembly.validate(Buffer.from(KERNELS_SIMD, 'base64'))).toBe(true);
    expect(WebAssembly.validate(Buffer.from(KERNELS_SCALAR, 'base64'))).toBe(true);
  });
});
