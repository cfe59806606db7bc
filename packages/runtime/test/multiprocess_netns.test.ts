import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, run } from './helpers/bootstrap_procs.js';
import { cleanEnv } from './helpers/job_processes.js';
import { expectCollectivesJob, launchedJoinResults } from './helpers/launch_join_results.js';
import { createNetnsPair, netnsPair, netnsUnavailable, removeNetnsPair, vethBytes } from './helpers/netns_hosts.js';

// Two hosts on one machine: each process in its own network namespace, so the
// only way between them is the veth pair (no shared loopback, no shared host id).
const PROCS = 2;
const DEVICES = 2;
const pair = netnsPair();
const [nsA, nsB] = pair.names;
const [addrA, addrB] = pair.addresses;
// A fresh namespace has no listener of its own: any port is free in it.
const MASTER_PORT = 29500;
const RUN_MS = 40_000;
const TEST_MS = 60_000;
// job_collectives all-reduces 100003 float32 (400 kB): between two processes
// no algorithm finishes with less than half of it crossing in each direction.
const MIN_CROSSING_BYTES = 200_000;

const unavailable = netnsUnavailable(`cr${process.pid}p`);
if (unavailable) console.warn(`multiprocess_netns: SKIPPED — cannot create network namespaces (needs root and iproute2; .ci/run installs iproute2): ${unavailable}`);

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.skipIf(unavailable !== undefined)(`two hosts as network namespaces ${nsA} (${addrA}) and ${nsB} (${addrB}) joined by a veth pair`, () => {
  beforeAll(() => createNetnsPair(pair));
  afterAll(() => {
    const left = removeNetnsPair(pair);
    if (left.length > 0) throw new Error(`could not remove the test's network namespaces: ${left.join('; ')}`);
  });

  it(
    `${PROCS} processes × ${DEVICES} devices, one per namespace: every collective over one communicator, tcp over the veth pair`,
    async () => {
      const before = vethBytes(nsA, pair.veth);
      const base = cleanEnv();
      const procs = await Promise.all(
        pair.names.map((ns, rank) =>
          run('ip', ['netns', 'exec', ns, process.execPath, fixturePath('join_job')], {
            env: {
              ...base,
              RANK: String(rank),
              WORLD_SIZE: String(PROCS),
              MASTER_ADDR: addrA,
              MASTER_PORT: String(MASTER_PORT),
              JOIN_JOB_DEVICES: String(DEVICES),
              JOIN_JOB_MODULE: 'job_collectives',
              COLLECTIVE_DEBUG: 'INFO',
            },
            timeoutMs: RUN_MS,
          }),
        ),
      );
      const after = vethBytes(nsA, pair.veth);
      for (const [rank, p] of procs.entries()) expect(p.code, `process ${rank} in ${pair.names[rank]}:\n${p.stdout}\n${p.stderr}`).toBe(0);
      // Cross-process peers are 'net' and same-process peers 'shm': the two namespaces are two boxes.
      expectCollectivesJob(launchedJoinResults(procs, PROCS), PROCS, DEVICES, 2);

      // Each listener listens on its namespace's veth address (the route to MASTER_ADDR), and the two hosts joined over tcp.
      const [errA, errB] = procs.map((p) => p.stderr) as [string, string];
      for (const [err, mine, theirs] of [
        [errA, addrA, addrB],
        [errB, addrB, addrA],
      ] as const) {
        expect(err).toMatch(new RegExp(`\\[listener\\] COLLECTIVE INFO socket: listener of pool \\d+ listens on ${escape(mine)}:\\d+ \\(${pair.veth}: routes to MASTER_ADDR\\)`));
        expect(err).toMatch(new RegExp(`\\[listener\\] COLLECTIVE INFO socket: endpoint \\d+ (connected to|accepted) tcp peer ${escape(theirs)}:\\d+ \\(process [0-9.a-f]+\\) endpoint \\d+ over tcp`));
      }
      // And the data really went over the veth, both ways.
      const sent = after.tx - before.tx;
      const received = after.rx - before.rx;
      expect(sent, `bytes ${nsA} sent over ${pair.veth}`).toBeGreaterThan(MIN_CROSSING_BYTES);
      expect(received, `bytes ${nsA} received over ${pair.veth}`).toBeGreaterThan(MIN_CROSSING_BYTES);
    },
    TEST_MS,
  );
});
