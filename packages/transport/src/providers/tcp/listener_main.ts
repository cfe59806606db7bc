// The socket listener thread's entry: a worker started by the first socket
// endpoint of a process (listener_link.ts), given the pool and the record it serves.
import { workerData } from 'node:worker_threads';
import { Pool, type PoolDescriptor } from '../../pool.js';
import { runListener } from './listener_start.js';

const { pool, slot, gen } = workerData as { pool: PoolDescriptor; slot: number; gen: number };
void runListener(Pool.attach(pool), slot, gen);
