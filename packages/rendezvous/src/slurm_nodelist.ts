import { RendezvousError } from './errors.js';

const MAX_HOSTS = 1 << 20;

function splitTopLevel(list: string, what: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (ch === '[') {
      if (depth++ > 0) throw new RendezvousError('EINVAL', `${what}: nested '[' at position ${i} in ${JSON.stringify(list)}`);
    } else if (ch === ']') {
      if (--depth < 0) throw new RendezvousError('EINVAL', `${what}: unmatched ']' at position ${i} in ${JSON.stringify(list)}`);
    } else if (ch === ',' && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw new RendezvousError('EINVAL', `${what}: unclosed '[' in ${JSON.stringify(list)}`);
  parts.push(list.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** `001-004,010` → ['001','002','003','004','010'], keeping each range's zero padding. */
function expandRanges(body: string, what: string, whole: string): string[] {
  const out: string[] = [];
  for (const item of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item.trim());
    if (!m) throw new RendezvousError('EINVAL', `${what}: '${item}' in ${JSON.stringify(whole)} is not a number or a range such as 001-004`);
    const lo = m[1] as string;
    const hi = m[2] ?? lo;
    const a = Number(lo);
    const b = Number(hi);
    if (b < a) throw new RendezvousError('EINVAL', `${what}: the range ${item} in ${JSON.stringify(whole)} runs backwards`);
    if (b - a + out.length >= MAX_HOSTS) throw new RendezvousError('EINVAL', `${what}: ${JSON.stringify(whole)} names more than ${MAX_HOSTS} hosts`);
    for (let n = a; n <= b; n++) out.push(String(n).padStart(lo.length, '0'));
  }
  return out;
}

/** One host pattern such as `rack[1-2]-node[01-02]` → the cartesian product, in order. */
function expandHost(pattern: string, what: string): string[] {
  let hosts = [''];
  const re = /([^[\]]*)(?:\[([^\]]*)\])?/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < pattern.length && (m = re.exec(pattern)) !== null) {
    const text = m[1] ?? '';
    const choices = m[2] === undefined ? [''] : expandRanges(m[2], what, pattern);
    const next: string[] = [];
    for (const h of hosts) for (const c of choices) next.push(h + text + c);
    if (next.length > MAX_HOSTS) throw new RendezvousError('EINVAL', `${what}: ${JSON.stringify(pattern)} names more than ${MAX_HOSTS} hosts`);
    hosts = next;
    if (m[0].length === 0) break;
  }
  return hosts;
}

/**
 * Expands a Slurm hostlist (`scontrol show hostnames`): `node[001-004,010]`,
 * `gnode[10,20,25,37]`, `a1,b[1-2]`, `rack[1-2]-node[01-02]`.
 */
export function expandNodelist(list: string, what = 'nodelist'): string[] {
  if (typeof list !== 'string' || list.trim().length === 0) throw new RendezvousError('EINVAL', `${what} must be a non-empty Slurm hostlist (got ${JSON.stringify(list)})`);
  const hosts = splitTopLevel(list.trim(), what).flatMap((p) => expandHost(p, what));
  if (hosts.length === 0) throw new RendezvousError('EINVAL', `${what}: ${JSON.stringify(list)} names no host`);
  return hosts;
}

/** `2(x3),1` (SLURM_STEP_TASKS_PER_NODE) → [2, 2, 2, 1]. */
export function expandTasksPerNode(spec: string, what = 'SLURM_STEP_TASKS_PER_NODE'): number[] {
  const out: number[] = [];
  for (const item of spec.split(',')) {
    const m = /^\s*(\d+)(?:\(x(\d+)\))?\s*$/.exec(item);
    if (!m) throw new RendezvousError('EINVAL', `${what}: '${item}' in ${JSON.stringify(spec)} is not a count such as 2 or 2(x3)`);
    const repeat = Number(m[2] ?? 1);
    if (out.length + repeat > MAX_HOSTS) throw new RendezvousError('EINVAL', `${what}: ${JSON.stringify(spec)} covers more than ${MAX_HOSTS} nodes`);
    for (let i = 0; i < repeat; i++) out.push(Number(m[1]));
  }
  return out;
}
