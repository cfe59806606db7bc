import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PrefixStore, TCPStore, TCPStoreServer, valueToString } from '@collective/rendezvous';
import { PYTHON, run, torchVersion } from './helpers/processes.js';

const torch = torchVersion();
const py = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
if (!torch) console.warn('bootstrap_tcp_store_torch: SKIPPED — /usr/bin/python3 cannot import torch.distributed (apt-get install python3-torch)');

describe.skipIf(!torch)(`TCPStore interop with PyTorch's own TCPStore (torch ${torch ?? 'not installed'})`, () => {
  it("torch's client against our server: every call answers as torch's server would, keys shared with our client", async () => {
    const server = await TCPStoreServer.start({ host: '127.0.0.1' });
    const ours = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 10_000 });
    try {
      const child = run(PYTHON, [py('bootstrap_torch_client.py'), String(server.port)], { timeoutMs: 30_000 });
      setTimeout(() => void ours.set('node/hello', 'from node'), 300);
      const r = await child;
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim());
      expect(out.get).toBe('v1');
      expect(out.add).toEqual([5, 3]);
      expect(out.compare_set).toEqual(['v2', 'v2', 'n']);
      expect(out.delete).toEqual([true, false]);
      expect(out.from_node).toBe('from node');
      expect(out.timeout).toMatch(/Socket Timeout|[Tt]imeout/);
      expect(out.after_timeout).toBe('v2');
      // Our client sees torch's keys under the same names, PrefixStore joins included.
      expect(valueToString(await ours.get('py/k'))).toBe('v2');
      expect(valueToString(await new PrefixStore('/worker/attempt_0', ours).get('foo'))).toBe('bar');
      // torch's client counted itself in the raw 'init/' key.
      const raw = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000, keyPrefix: '' });
      expect(valueToString(await raw.get('init/'))).toBe('1');
      // Nothing was stored since torch counted: both see the same number of keys.
      expect(out.num_keys).toBe(await raw.numKeys());
      await raw.close();
    } finally {
      await ours.close();
      await server.close();
    }
  });

  it("our client against torch's server: legacy dialect chosen by itself, values torch reads back", async () => {
    const child = spawn(PYTHON, [py('bootstrap_torch_server.py')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      for (let i = 0; i < 300 && !/^\d+\n/.test(stdout); i++) await new Promise((r) => setTimeout(r, 50));
      const port = Number(stdout.split('\n')[0]);
      expect(port, stderr).toBeGreaterThan(0);
      const c = await TCPStore.connect({ host: '127.0.0.1', port, timeoutMs: 10_000, registerWorker: true });
      expect(c.dialect).toBe('legacy');
      await c.set('node/k', 'from node');
      expect(await c.add('node/c', 7)).toBe(7);
      expect(await c.add('node/c', -3)).toBe(4);
      expect(valueToString(await c.compareSet('node/k', 'from node', 'swapped'))).toBe('swapped');
      expect(await c.check(['node/k'])).toBe(true);
      expect(await c.check(['node/k', 'node/absent'])).toBe(false);
      // A timed-out wait closes the connection (1.13 cannot cancel one); the next call reconnects.
      await expect(c.wait(['node/absent'], 200)).rejects.toThrow(/ETIMEDOUT.*'node\/absent'/);
      expect(await c.deleteKey('node/k')).toBe(true);
      await c.set('node/k', 'from node');
      await new PrefixStore('/worker/attempt_0', c).set('foo', 'bar');
      await c.set('node/done', '1');
      const ack = JSON.parse(valueToString(await c.get('py/ack')));
      expect(ack).toMatchObject({ k: 'from node', c: 4, prefixed: 'bar' });
      await c.set('node/bye', '1');
      await c.close();
      expect(await exited, stderr).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
