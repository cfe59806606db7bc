import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { PeerProcess } from './helpers/tcp_peers.js';

const SECRET = 'fd-exhaustion-secret-0123456789ab';
const BYTES = 65536;
/** Descriptors left to the peer above what it holds once set up: fewer than a stranger opens. */
const HEADROOM = 24;
/** Source addresses: the listener takes at most 16 handshakes from each; from 4 it could hold 64. */
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

function open(host: string, port: number, localAddress: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host, port, localAddress });
    s.on('error', () => resolve(undefined));
    s.once('connect', () => resolve(s));
  });
}

describe('a listener whose process runs out of file descriptors', () => {
  let b: PeerProcess;
  beforeAll(async () => {
    b = await (await PeerProcess.start({ COLLECTIVE_JOB_SECRET: SECRET })).setup(BYTES);
  });
  afterAll(async () => b?.stop());

  it('refuses what it cannot accept, keeps listening, and serves the job once descriptors are free', async () => {
    const held = readdirSync(`/proc/${b.pid}/fd`).length;
    execFileSync('prlimit', ['--pid', String(b.pid), `--nofile=${held + HEADROOM}:${held + HEADROOM}`]);
    const sockets: Socket[] = [];
    for (let i = 0; i < 96; i++) {
      const s = await open(b.address.host!, b.address.port!, SOURCES[i % SOURCES.length]!);
      if (s) {
        s.on('close', () => {});
        sockets.push(s);
      }
    }
    // Give the listener time to try to accept them all.
    await new Promise((r) => setTimeout(r, 300));
    const inPeer = readdirSync(`/proc/${b.pid}/fd`).length;
    expect(inPeer).toBeGreaterThanOrEqual(held + HEADROOM - 2);
    for (const s of sockets) s.destroy();
    // The process is alive and its listener accepts the job again.
    const member = await (await PeerProcess.start({ COLLECTIVE_JOB_SECRET: SECRET })).setup(BYTES);
    try {
      await member.call('insert', b.address);
      await member.call('fill', 0, 32, 4);
      expect((await member.call('rma', { kind: 'write', length: 32, dest: 0, remoteOffset: 0, key: b.key })).ok).toBeDefined();
      expect(await b.call('check', 0, 32, 4)).toBe(-1);
      expect(b.child.exitCode).toBeNull();
    } finally {
      await member.stop();
    }
  });
});
