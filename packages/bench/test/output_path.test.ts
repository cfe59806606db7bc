import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOutputPath } from '@collective/bench';

describe('checkOutputPath', () => {
  it('accepts a new or existing file in an existing folder, and refuses missing folders, files as folders and folders as files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'out-path-'));
    expect(() => checkOutputPath('--json', join(dir, 'new.json'))).not.toThrow();
    writeFileSync(join(dir, 'old.json'), '{}');
    expect(() => checkOutputPath('--json', join(dir, 'old.json'))).not.toThrow();
    expect(() => checkOutputPath('--json', join(dir, 'nope', 'r.json'))).toThrow(`ENOENT: --json ${join(dir, 'nope', 'r.json')}: the folder ${join(dir, 'nope')} does not exist`);
    expect(() => checkOutputPath('--plot', join(dir, 'old.json', 'r.svg'))).toThrow(`--plot ${join(dir, 'old.json', 'r.svg')}: ${join(dir, 'old.json')} is not a folder`);
    mkdirSync(join(dir, 'sub'));
    expect(() => checkOutputPath('--plot', join(dir, 'sub'))).toThrow(`--plot ${join(dir, 'sub')} is a folder; give a file name`);
  });
});
