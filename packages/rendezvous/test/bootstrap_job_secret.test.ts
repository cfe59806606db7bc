import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobSecretFromEnv, newJobSecretText } from '@collective/rendezvous';

const dir = mkdtempSync(join(tmpdir(), 'job-secret-'));
const sha = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());

describe('jobSecretFromEnv: COLLECTIVE_JOB_SECRET or a private COLLECTIVE_JOB_SECRET_FILE, as 32 bytes', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes the variable, or the trimmed content of a file only its owner can read; nothing set gives undefined', () => {
    expect(jobSecretFromEnv({})).toBeUndefined();
    expect(jobSecretFromEnv({ COLLECTIVE_JOB_SECRET: '' })).toBeUndefined();
    expect(jobSecretFromEnv({ COLLECTIVE_JOB_SECRET: 'sixteen chars ok' })).toEqual(sha('sixteen chars ok'));
    const file = join(dir, 'secret');
    writeFileSync(file, '  a secret kept in a file  \n');
    chmodSync(file, 0o600);
    expect(jobSecretFromEnv({ COLLECTIVE_JOB_SECRET_FILE: file })).toEqual(sha('a secret kept in a file'));
    const made = newJobSecretText();
    expect(made).toMatch(/^[0-9a-f]{64}$/);
    expect(newJobSecretText()).not.toBe(made);
    expect(jobSecretFromEnv({ COLLECTIVE_JOB_SECRET: made })?.length).toBe(32);
  });

  it('refuses a short secret, a file others can read, a missing file and both variables at once, never showing the secret', () => {
    expect(() => jobSecretFromEnv({ COLLECTIVE_JOB_SECRET: 'short-secret' })).toThrow(/^EINVAL: the job secret in COLLECTIVE_JOB_SECRET has 12 characters; it needs at least 16 \(use a long random string/);
    try {
      jobSecretFromEnv({ COLLECTIVE_JOB_SECRET: 'short-secret' });
    } catch (e) {
      expect((e as Error).message).not.toContain('short-secret');
    }
    const open = join(dir, 'readable');
    writeFileSync(open, 'a secret others could read');
    chmodSync(open, 0o640);
    expect(() => jobSecretFromEnv({ COLLECTIVE_JOB_SECRET_FILE: open })).toThrow(/EINVAL: COLLECTIVE_JOB_SECRET_FILE=.*readable can be read or written by others \(mode 0640\); make it private with chmod 600/);
    const short = join(dir, 'short');
    writeFileSync(short, 'tiny\n');
    chmodSync(short, 0o600);
    expect(() => jobSecretFromEnv({ COLLECTIVE_JOB_SECRET_FILE: short })).toThrow(/EINVAL: the job secret in the file COLLECTIVE_JOB_SECRET_FILE names .* has 4 characters/);
    expect(() => jobSecretFromEnv({ COLLECTIVE_JOB_SECRET_FILE: join(dir, 'absent') })).toThrow(/ENOENT: COLLECTIVE_JOB_SECRET_FILE=.*absent cannot be read: ENOENT/);
    expect(() => jobSecretFromEnv({ COLLECTIVE_JOB_SECRET: 'sixteen chars ok', COLLECTIVE_JOB_SECRET_FILE: short })).toThrow(/both COLLECTIVE_JOB_SECRET and COLLECTIVE_JOB_SECRET_FILE are set; set only one of them/);
  });
});
