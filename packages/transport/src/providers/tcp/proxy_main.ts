// The tcp proxy thread's entry: a worker started by the first tcp endpoint
// of a process (proxy_link.ts), given the pool and the record it serves.
import { workerData } from 'node:worker_threads';
import { Pool, type PoolDescriptor } from '../../pool.js';
import { runProxy } from './proxy.js';

const { pool, slot, gen } = workerData as { pool: PoolDescriptor; slot: number; gen: number };
void runProxy(Pool.attach(pool), slot, gen);
