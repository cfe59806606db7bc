import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The README's code is not written in the README: every TypeScript block
 * there is a file (or a marked excerpt of one) under examples/src/readme,
 * named by the comment line above the block. This test holds the two
 * together and runs the built files, so an example that no longer
 * compiles, runs or prints what the README says fails here.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const readmePath = join(root, 'README.md');
const sourceDir = join(root, 'examples/src/readme');
const builtDir = join(root, 'examples/dist/readme');

/** Languages whose blocks must come from a file: everything a reader could paste into a .js or .ts file. */
const CODE_LANGS = new Set(['ts', 'typescript', 'tsx', 'js', 'javascript', 'mjs', 'cjs', 'jsx']);
const SOURCE_COMMENT = /^<!-- example: (examples\/src\/readme\/[\w.-]+\.ts)(?:#([\w-]+))? -->$/;

interface Block {
  /** 1-based line of the opening fence */
  line: number;
  lang: string;
  body: string;
  /** the file and excerpt named above the block, if any */
  file: string | undefined;
  excerpt: string | undefined;
}

function readmeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    if (end === lines.length) throw new Error(`README.md line ${start + 1}: code block never closed`);
    let above = start - 1;
    while (above >= 0 && lines[above]!.trim() === '') above--;
    const named = above >= 0 ? SOURCE_COMMENT.exec(lines[above]!.trim()) : null;
    out.push({ line: start + 1, lang: open[1]!, body: lines.slice(start + 1, end).join('\n'), file: named?.[1], excerpt: named?.[2] });
    i = end;
  }
  return out;
}

/** The whole file (without its final newline), or the lines between `// README:begin name` and `// README:end name`. */
function excerptOf(file: string, name: string | undefined): string {
  const text = readFileSync(join(root, file), 'utf8').replace(/\n$/, '');
  if (name === undefined) {
    if (/README:(begin|end)/.test(text)) throw new Error(`${file} has README markers: name the excerpt (${file}#<name>) instead of the whole file`);
    return text;
  }
  const lines = text.split('\n');
  const begin = lines.flatMap((l, i) => (l.trim() === `// README:begin ${name}` ? [i] : []));
  const end = lines.flatMap((l, i) => (l.trim() === `// README:end ${name}` ? [i] : []));
  if (begin.length !== 1 || end.length !== 1 || end[0]! < begin[0]!) {
    throw new Error(`${file} must have exactly one '// README:begin ${name}' followed by one '// README:end ${name}' (found ${begin.length} and ${end.length})`);
  }
  return lines.slice(begin[0]! + 1, end[0]).join('\n');
}

const readme = readFileSync(readmePath, 'utf8');
const blocks = readmeBlocks(readme);
const codeBlocks = blocks.filter((b) => CODE_LANGS.has(b.lang));

describe('README code blocks are the files under examples/src/readme', () => {
  it('the README has TypeScript blocks, each a ```ts block named by an <!-- example: … --> line above it', () => {
    expect(codeBlocks.length).toBeGreaterThanOrEqual(5);
    for (const b of codeBlocks) {
      expect(b.lang, `README.md line ${b.line}: write code blocks as \`\`\`ts`).toBe('ts');
      expect(b.file, `README.md line ${b.line}: put '<!-- example: examples/src/readme/<file>.ts[#<excerpt>] -->' above the block`).toBeDefined();
    }
  });

  it.each(codeBlocks.filter((b) => b.file !== undefined).map((b) => [`line ${b.line}: ${b.file}${b.excerpt ? `#${b.excerpt}` : ''}`, b] as const))(
    'README.md %s is that file, character for character',
    (_, b) => {
      expect(b.body, `README.md line ${b.line} differs from ${b.file}${b.excerpt ? ` (excerpt ${b.excerpt})` : ''}: copy the file into the README`).toBe(excerptOf(b.file!, b.excerpt));
    },
  );

  it('every example file is shown in the README, launched by a shown one or named by its built path, and is built', () => {
    const shown = new Set(codeBlocks.map((b) => b.file?.replace('examples/src/readme/', '')));
    const launched = new Set(codeBlocks.flatMap((b) => [...b.body.matchAll(/'\.\/([\w-]+)\.js'/g)].map((m) => `${m[1]}.ts`)));
    for (const f of readdirSync(sourceDir).filter((n) => n.endsWith('.ts'))) {
      const named = readme.includes(`examples/dist/readme/${f.replace(/\.ts$/, '.js')}`);
      expect(shown.has(f) || launched.has(f) || named, `examples/src/readme/${f} is not in the README: show it, or name examples/dist/readme/${f.replace(/\.ts$/, '.js')}`).toBe(true);
      expect(existsSync(join(builtDir, f.replace(/\.ts$/, '.js'))), `examples/dist/readme/${f.replace(/\.ts$/, '.js')} is missing: run pnpm build`).toBe(true);
    }
  });
});

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root with no launcher or COLLECTIVE_* variables inherited; kills it after timeoutMs. */
function run(command: string, args: readonly string[], timeoutMs = 30_000): Promise<Finished> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(RANK|WORLD_SIZE|LOCAL_RANK|LOCAL_WORLD_SIZE|GROUP_RANK|MASTER_|OMPI_|PMI_|PMIX_|SLURM_|TORCHELASTIC_|COLLECTIVE_)/.test(k)) delete env[k];
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${[command, ...args].join(' ')} did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const node = (file: string) => run(process.execPath, [join(builtDir, file)]);
const linesOf = (s: string) => s.split('\n').filter((l) => l !== '');

describe('the README examples run and print what the README says', () => {
  it('start_world.js: launch and the single-controller all-reduce on 4 devices', async () => {
    const r = await node('start_world.js');
    expect(r.code, r.stderr).toBe(0);
    expect(linesOf(r.stdout)).toEqual(['launch [[5,5,5,5],[5,5,5,5],[5,5,5,5],[5,5,5,5]]', 'allReduce [[1111,2222],[1111,2222],[1111,2222],[1111,2222]]']);
  });

  it('streams_world.js: two Async calls on each stream, waited with wait() and promise()', async () => {
    const r = await node('streams_world.js');
    expect(r.code, r.stderr).toBe(0);
    expect(linesOf(r.stdout)).toEqual(['rank 0: a[0]=1 b[0]=2 done=true busy=true', 'rank 1: a[0]=1 b[0]=2 done=true busy=true']);
  });

  it('ddp_world.js: DataParallel with noSync and the bf16 hook trains the same model on every rank', async () => {
    const r = await node('ddp_world.js');
    expect(r.code, r.stderr).toBe(0);
    const rows = linesOf(r.stdout).map((l) => {
      const m = /^(fp32|bf16) rank (\d): (\[.*\])$/.exec(l);
      if (!m) throw new Error(`unexpected output line: ${l}`);
      return { hook: m[1]!, rank: Number(m[2]), text: m[3]!, params: JSON.parse(m[3]!) as number[] };
    });
    expect(rows.map((p) => `${p.hook} ${p.rank}`)).toEqual(['fp32 0', 'fp32 1', 'bf16 0', 'bf16 1']);
    const truth = [1, -2, 3, 0.5];
    for (const hook of ['fp32', 'bf16']) {
      const [r0, r1] = rows.filter((p) => p.hook === hook);
      // The ranks start from different weights: equal bits mean rank 0's were broadcast and every step averaged alike.
      expect(r1!.text, `${hook}: ranks differ`).toBe(r0!.text);
      // Noise-free data: 60 steps of gradient descent get within 1e-4 of the truth (seen: 5e-5 with either hook).
      for (const [i, v] of r0!.params.entries()) expect(Math.abs(v - truth[i]!), `${hook} parameter ${i}`).toBeLessThan(1e-3);
    }
  });

  it('join_job.js under collective-run: 2 processes × 2 devices in one communicator', async () => {
    const launcher = join(root, 'apps/cli/bin/collective-run.js');
    const r = await run(process.execPath, [launcher, '--standalone', '--nproc-per-node', '2', 'node', join(builtDir, 'join_job.js')]);
    expect(r.code, r.stderr).toBe(0);
    expect(linesOf(r.stdout).sort()).toEqual([
      '[rank 0] process 0 of 2: ranks 0..1 of 4; launch 10, allReduce 10',
      '[rank 1] process 1 of 2: ranks 2..3 of 4; launch 10, allReduce 10',
    ]);
  });
});
