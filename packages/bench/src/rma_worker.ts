// One side of the RMA benchmark: a device in its own worker thread with an
// shm endpoint; the main thread introduces the two sides to each other.
import { parentPort, workerData } from 'node:worker_threads';
import { type Completion, Device, type EndpointAddress, Fabric, getInfo, Pool, type PoolDescriptor } from '@collective/transport';

interface Data {
  pool: PoolDescriptor;
  role: 0 | 1;
  bytes: number;
  sizes: number[];
  pingPongs: number;
  minTimeMs: number;
}

const d = workerData as Data;
const pool = Pool.attach(d.pool);
const dev = Device.open(pool, d.role);
const buf = dev.allocate(Math.ceil(d.bytes / 4096) * 4096);
const dmabuf = dev.export(buf);
const domain = Fabric.open(getInfo({ provider: 'shm' })[0]!).domain(pool);
const cq = domain.cq({ size: 4096 });
const av = domain.av();
const ep = domain.endpoint();
ep.bind(cq).bind(av);
ep.enable();
const mr = domain.registerDmaBuf(dmabuf, { access: ['read', 'write', 'remoteRead', 'remoteWrite'], endpoint: ep });

/**
 * Takes completions one at a time until `op` arrives; local send/write
 * completions on the way are dropped. Never drains in bulk: that could
 * swallow the peer's next message.
 */
function waitFor(op: Completion['op']): Completion {
  for (;;) {
    let got: Completion[];
    try {
      got = cq.wait(5_000, 1);
    } catch (e) {
      throw new Error(`role ${d.role} waiting for ${op} in phase ${phase} at ${iteration}: ${(e as Error).message}`);
    }
    const c = got.find((x) => x.op === op);
    if (c) return c;
  }
}

let phase = 'start';
let iteration = 0;
parentPort!.postMessage({ address: ep.address, key: mr.key });
parentPort!.once('message', (peer: { address: EndpointAddress; key: number }) => {
  const dest = av.insert(peer.address);
  const results: Record<string, number> = {};
  const write8 = () => ep.writedata({ mr, length: 8, dest, remoteOffset: 0, key: peer.key, data: 1 });
  // Latency: 8-byte writedata ping-pong; each side waits for the other's remote completion.
  for (const measure of [false, true]) {
    phase = measure ? 'latency' : 'latency warm-up';
    const n = measure ? d.pingPongs : Math.min(1000, d.pingPongs);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      iteration = i;
      if (d.role === 0) {
        write8();
        waitFor('remote-write');
      } else {
        waitFor('remote-write');
        write8();
      }
    }
    if (measure) results.writedataLatencyUs = ((performance.now() - t0) * 1000) / (2 * n);
  }
  // Latency of tagged control messages (msgpackr-encoded), same pattern.
  {
    phase = 'tagged';
    const n = d.pingPongs;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (d.role === 0) {
        ep.tsend(dest, 1, i);
        ep.trecv(1);
        waitFor('recv');
      } else {
        ep.trecv(1);
        waitFor('recv');
        ep.tsend(dest, 1, i);
      }
    }
    results.taggedLatencyUs = ((performance.now() - t0) * 1000) / (2 * n);
  }
  // Bandwidth: one-sided writes from role 0 into role 1; role 1 only waits for the end mark.
  phase = 'bandwidth';
  if (d.role === 0) {
    for (const size of d.sizes) {
      let iters = 0;
      const t0 = performance.now();
      do {
        ep.write({ mr, length: size, dest, remoteOffset: 0, key: peer.key });
        cq.read(64);
        iters++;
      } while (performance.now() - t0 < d.minTimeMs);
      results[`bw:${size}`] = (size * iters) / ((performance.now() - t0) * 1e6);
    }
    write8();
  } else {
    waitFor('remote-write');
  }
  parentPort!.postMessage(results);
});
