import { algorithmNames } from '@collective/runtime';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run_cli.js';

describe('collective-bench --help', () => {
  it('lists every algorithm --algo takes, hier included', () => {
    const r = runCli('--help');
    expect(r.status).toBe(0);
    // The description may wrap: read it as one line.
    const algo = /--algo\s+([\s\S]*?)\[string\]/.exec(r.stdout)![1]!.replace(/\s+/g, ' ');
    const names = new Set([...algorithmNames('allReduce'), ...algorithmNames('allGather'), ...algorithmNames('broadcast'), ...algorithmNames('reduce'), ...algorithmNames('allToAll')]);
    expect(names.has('hier')).toBe(true);
    for (const n of names) expect(algo).toMatch(new RegExp(`\\b${n}\\b`));
  });
});
