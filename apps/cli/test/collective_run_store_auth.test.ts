import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCollective } from './helpers/collective_run.js';

const worker = fileURLToPath(new URL('./fixtures/store_auth_worker.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'run-secret-'));
const iface = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

const results = (stdout: string) =>
  stdout
    .split('\n')
    .map((l) => /AUTH (\{.*\})$/.exec(l)?.[1])
    .filter((j): j is string => j !== undefined)
    .map((j) => JSON.parse(j) as { secretLength: number; plain: string; proved: string; reach?: string });

describe("collective-run's job secret and the agent store", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('without a secret it makes one for its workers, who prove it; plain (torch) clients are still admitted; the secret is never printed', async () => {
    const out = join(dir, 'made');
    const r = await runCollective(['--standalone', '--nproc-per-node', '2', worker], { SECRET_OUT: out, COLLECTIVE_DEBUG: 'INFO' });
    expect(r.code, r.stderr).toBe(0);
    expect(results(r.stdout)).toEqual([0, 1].map(() => ({ secretLength: 64, plain: 'ok', proved: 'ok' })));
    const made = readFileSync(out, 'utf8');
    expect(made).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stdout + r.stderr).not.toContain(made);
  });

  it('--store-auth required on one node: the store admits only its workers, who prove the secret it made', async () => {
    const r = await runCollective(['--standalone', '--store-auth', 'required', '--nproc-per-node', '2', worker]);
    expect(r.code, r.stderr).toBe(0);
    expect(results(r.stdout)).toEqual([0, 1].map(() => ({ secretLength: 64, plain: 'refused(ENOTCONN)', proved: 'ok' })));
  });

  it("a user's COLLECTIVE_JOB_SECRET locks the store and reaches the workers unchanged", async () => {
    const given = 'a secret the user gave every node';
    const r = await runCollective(['--standalone', '--nproc-per-node', '2', worker], { COLLECTIVE_JOB_SECRET: given });
    expect(r.code, r.stderr).toBe(0);
    expect(results(r.stdout)).toEqual([0, 1].map(() => ({ secretLength: given.length, plain: 'refused(ENOTCONN)', proved: 'ok' })));
    const short = await runCollective(['--standalone', worker], { COLLECTIVE_JOB_SECRET: 'too short' });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/collective-run: the job secret in COLLECTIVE_JOB_SECRET has 9 characters; it needs at least 16/);
    expect(short.stderr).not.toContain('too short');
  });

  it.skipIf(iface === undefined)(`the store listens on --master-addr only; --store-listen any opens it on ${iface} too`, async () => {
    const plain = await runCollective(['--master-port', '0', worker], { REACH_ADDR: iface as string });
    expect(plain.code, plain.stderr).toBe(0);
    expect(results(plain.stdout)[0]?.reach).toBe('refused(ENOTCONN)');
    const any = await runCollective(['--master-port', '0', '--store-listen', 'any', worker], { REACH_ADDR: iface as string });
    expect(any.code, any.stderr).toBe(0);
    expect(results(any.stdout)[0]?.reach).toBe('ok');
    const elsewhere = await runCollective(['--master-addr', '203.0.113.7', '--master-port', '0', worker]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/collective-run: --master-addr 203\.0\.113\.7 is not an address of this machine .* pass --store-listen any to listen on every interface/);
  });
});
