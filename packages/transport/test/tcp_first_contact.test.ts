import { afterEach, describe, expect, it } from 'vitest';
import { PeerProcess } from './helpers/tcp_peers.js';

const PROCESSES = 4;
const ROUNDS = 2;

describe('first contact between processes', () => {
  let procs: PeerProcess[] = [];
  afterEach(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    procs = [];
  });

  // Every pair connects while both sides send their first message at once,
  // so each pair goes through one of the races of connection setup: the
  // smaller address connecting, the larger one knocking, both at once, and
  // the accepting side sending before the connecting side has its last answer.
  it('delivers and acknowledges the first messages of every pair, whichever side connects', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      procs = await Promise.all(Array.from({ length: PROCESSES }, () => PeerProcess.start()));
      await Promise.all(procs.map((p) => p.setup(4096)));
      // fi_addr j = process j (its own entry is a placeholder it never uses).
      for (const p of procs) {
        for (const q of procs) await p.call('insert', q === p ? { ...procs[(procs.indexOf(p) + 1) % PROCESSES]!.address } : q.address);
      }
      const sent = await Promise.all(
        procs.map(async (p, i) => {
          const out: string[] = [];
          for (let j = 0; j < PROCESSES; j++) if (j !== i) out.push(Object.keys(await p.call('tsend', j, i, { from: i, to: j }, 10_000))[0]!);
          return out;
        }),
      );
      expect(sent.flat().every((s) => s === 'ok')).toBe(true);
      for (const [j, p] of procs.entries()) {
        for (let i = 0; i < PROCESSES; i++) if (i !== j) expect((await p.call('trecv', i, 0, 5000)).message).toEqual({ from: i, to: j });
      }
      await Promise.all(procs.map((p) => p.stop()));
      procs = [];
    }
  });
});
