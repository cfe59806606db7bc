// The packages as a user gets them: `pnpm pack` each one, `npm install` the
// tarballs into an empty project outside the repository, and use them there.
// The registry is used for third-party dependencies (yargs, piscina, ...).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = { '@collective/rendezvous': 'packages/rendezvous', '@collective/transport': 'packages/transport', '@collective/runtime': 'packages/runtime', '@collective/bench': 'packages/bench', '@collective/cli': 'apps/cli' } as const;
type Name = keyof typeof PACKAGES;
const NAMES = Object.keys(PACKAGES) as Name[];
const versionOf = (name: Name) => (JSON.parse(readFileSync(join(repo, PACKAGES[name], 'package.json'), 'utf8')) as { version: string }).version;
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

let work = '';
let app = '';
const tarball = {} as Record<Name, string>;

/** Files of a tarball, without the leading package/. */
const listing = (file: string) =>
  spawnSync('tar', ['-tzf', file], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
const packedManifest = (file: string) => JSON.parse(spawnSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }).stdout) as Record<string, unknown>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pack-install-'));
  const dest = join(work, 'tarballs');
  await Promise.all(NAMES.map((name) => exec('pnpm', ['pack', '--pack-destination', dest], { cwd: join(repo, PACKAGES[name]), timeout: 120_000 })));
  for (const file of readdirSync(dest)) {
    const name = NAMES.find((n) => file === `${n.slice(1).replace('/', '-')}-${versionOf(n)}.tgz`);
    if (name) tarball[name] = join(dest, file);
  }
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
  // --omit=optional: msgpackr and piscina list native helpers as optional; the packages never load them.
  await exec('npm', ['install', '--omit=optional', '--no-audit', '--no-fund', '--loglevel=error', ...NAMES.map((n) => tarball[n])], { cwd: app, timeout: 200_000 });
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

// This file alone runs npm and tsc in child processes: on two shared cores a
// step that takes 5-20 s can take far longer, hence timeouts of minutes here.
describe('packed and installed outside the repository', { timeout: 300_000 }, () => {
  it('every package packs into a tarball of dist/, README and LICENSE, without tests, build info or source maps', () => {
    for (const name of NAMES) {
      expect(tarball[name], `tarball of ${name}`).toBeDefined();
      const files = listing(tarball[name]);
      expect(files).toContain('package.json');
      expect(files).toContain('README.md');
      expect(files).toContain('LICENSE');
      expect(files.some((f) => f.startsWith('dist/') && f.endsWith('.js'))).toBe(true);
      const allowed = /^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts)|types\/.+\.d\.ts|bin\/.+\.js|peers\/.+)$/;
      expect(files.filter((f) => !allowed.test(f)), name).toEqual([]);
      expect(files.filter((f) => /(^|\/)(test|dist-test|src)\/|\.map$|tsbuildinfo|tsconfig/.test(f)), name).toEqual([]);
    }
    expect(listing(tarball['@collective/bench'])).toEqual(expect.arrayContaining(['peers/README.md', 'peers/mpi_coll.c', 'peers/gloo_coll.py', 'peers/membw.c']));
  });

  it('packed manifests are publishable: real versions instead of workspace:*, license, exports with types, engines', () => {
    for (const name of NAMES) {
      const m = packedManifest(tarball[name]);
      expect(JSON.stringify(m), name).not.toContain('workspace:');
      expect(m.private, name).toBeUndefined();
      expect(m.license, name).toBe('MIT');
      expect(m.description, name).toEqual(expect.any(String));
      expect((m.engines as { node: string }).node, name).toMatch(/^>=20/);
      const deps = (m.dependencies ?? {}) as Record<string, string>;
      for (const [dep, range] of Object.entries(deps)) if (dep.startsWith('@collective/')) expect(range, `${name} → ${dep}`).toBe(versionOf(dep as Name));
      if (name !== '@collective/cli') expect((m.exports as Record<string, { types?: string }>)['.']!.types, name).toMatch(/\.d\.ts$/);
    }
    const bin = packedManifest(tarball['@collective/cli']).bin as Record<string, string>;
    expect(bin).toMatchObject({ 'collective-bench': expect.any(String) });
    const cliFiles = listing(tarball['@collective/cli']);
    for (const [command, file] of Object.entries(bin)) expect(cliFiles, command).toContain(file.replace(/^\.\//, ''));
  });

  it('a script of the consumer all-reduces over World.start({ devices: 2 })', () => {
    writeFileSync(
      join(app, 'all_reduce.mjs'),
      [
        "import { World } from '@collective/runtime';",
        'const world = await World.start({ devices: 2 });',
        'try {',
        "  const out = await world.allReduce([Float32Array.of(1, 2, 3), Float32Array.of(10, 20, 30)], { op: 'sum' });",
        '  process.stdout.write(JSON.stringify(out.map((a) => Array.from(a))));',
        '} finally {',
        '  await world.close();',
        '}',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, ['all_reduce.mjs'], { cwd: app, encoding: 'utf8', timeout: 100_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      [11, 22, 33],
      [11, 22, 33],
    ]);
  });

  it('npx collective-bench runs the installed CLI and prints a checked table', () => {
    const r = spawnSync('npx', ['--no-install', 'collective-bench', '-c', '1', '-e', '64'], { cwd: app, encoding: 'utf8', timeout: 100_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/#\s+size\s+count\s+type\s+redop\s+root\s+time\s+algbw\s+busbw\s+#wrong/);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d/.test(l));
    expect(rows.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([8, 16, 32, 64]);
    expect(r.stdout).toMatch(/# Out of bounds values : 0 OK/);
  });

  // tsc checks every package declaration it reaches (skipLibCheck off): seconds, more on two busy cores.
  it.each([[['ES2022']], [['ES2022', 'DOM']]])('the installed type declarations compile on their own, with lib %j', (lib) => {
    writeFileSync(
      join(app, 'use_types.ts'),
      [
        "import { World, type Dtype } from '@collective/runtime';",
        "import { Pool, TransportError } from '@collective/transport';",
        "import { runCollectiveBench, type Row } from '@collective/bench';",
        'export async function sum(a: Float32Array, b: Float32Array): Promise<Float32Array[]> {',
        '  const world = await World.start({ devices: 2 });',
        "  try { return await world.allReduce([a, b], { op: 'sum' }); } finally { await world.close(); }",
        '}',
        "export const dtype: Dtype = 'float32';",
        'export type Parts = [Pool, TransportError, Row, typeof runCollectiveBench];',
      ].join('\n'),
    );
    const config = {
      compilerOptions: {
        target: 'ES2022', lib, module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
        // Every package declaration is checked; TypeScript's own lib files need not be.
        skipLibCheck: false, skipDefaultLibCheck: true, noEmit: true, types: ['node'], typeRoots: [join(repo, 'node_modules/@types')],
      },
      files: ['use_types.ts'],
    };
    const name = `tsconfig.${lib.join('_')}.json`;
    writeFileSync(join(app, name), JSON.stringify(config));
    const r = spawnSync(process.execPath, [tsc, '-p', name], { cwd: app, encoding: 'utf8', timeout: 100_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('no native addon is installed, and msgpackr runs in pure JavaScript', () => {
    const modules = join(app, 'node_modules');
    expect(existsSync(join(modules, 'msgpackr-extract'))).toBe(false);
    expect(existsSync(join(modules, '@msgpackr-extract'))).toBe(false);
    expect(existsSync(join(modules, '@napi-rs'))).toBe(false);
    const found = spawnSync('find', [modules, '-name', '*.node'], { encoding: 'utf8' }).stdout.trim();
    expect(found).toBe('');
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "import { pack, unpack, isNativeAccelerationEnabled } from 'msgpackr'; console.log(JSON.stringify([isNativeAccelerationEnabled, unpack(pack({ tag: 7, s: 'héllo' }))]))"],
      { cwd: app, encoding: 'utf8', timeout: 100_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([false, { tag: 7, s: 'héllo' }]);
  });
});
