import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getInfo, Pool } from '../src/index.js';
import { Actor, type Ref } from './helpers/actor.js';
import { PeerProcess } from './helpers/tcp_peers.js';

const idleExit = fileURLToPath(new URL('../dist-test/fixtures/tcp_idle_exit.js', import.meta.url));

/** Whether something accepts TCP connections at the address an endpoint published. */
const accepts = ({ host, port }: { host: string; port: number }) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

interface Opened {
  ep: Ref;
  cq: Ref;
  address: { host: string; port: number; process: string; slot: number };
}

/** An enabled tcp endpoint in the actor's thread, with `peer` at fi_addr 0. */
async function openEndpoint(actor: Actor, peer: unknown): Promise<Opened> {
  const fabric = await actor.call('$Fabric', 'open', getInfo({ provider: 'tcp' })[0]);
  const domain = await actor.call(fabric, 'domain', '$pool');
  const ep = await actor.call(domain, 'endpoint');
  const cq = await actor.call(domain, 'cq');
  const av = await actor.call(domain, 'av');
  await actor.call(ep, 'bind', cq);
  await actor.call(ep, 'bind', av);
  await actor.call(ep, 'enable');
  await actor.call(av, 'insert', peer);
  return { ep, cq, address: await actor.helper('get', ep, 'address') };
}

async function send(actor: Actor, o: Opened, peer: PeerProcess, text: string): Promise<void> {
  await actor.call(o.ep, 'tsend', 0, 9, text);
  expect(await actor.call(o.cq, 'wait', 10_000)).toMatchObject([{ op: 'send' }]);
  expect((await peer.call('trecv', 9, 0)).message).toBe(text);
}

describe('the socket listener thread of a process', () => {
  const pool = Pool.create({ bytes: 16 << 20 });
  const actors: Actor[] = [];
  let peer: PeerProcess | undefined;
  afterAll(async () => {
    await Promise.all(actors.map((a) => a.stop()));
    await peer?.stop();
  });

  it('is shared by the threads of the process, outlives the thread that started it, and stops with the last endpoint', async () => {
    peer = await (await PeerProcess.start()).setup(4096);
    const [t1, t2] = [Actor.start(pool), Actor.start(pool)];
    actors.push(t1, t2);
    const first = await openEndpoint(t1, peer.address);
    const second = await openEndpoint(t2, peer.address);
    expect(second.address).toMatchObject({ host: first.address.host, port: first.address.port, process: first.address.process });
    expect(second.address.slot).not.toBe(first.address.slot);
    await send(t1, first, peer, 'from thread 1');
    await send(t2, second, peer, 'from thread 2');

    // The starter's endpoint closes: the listener keeps serving the other thread.
    await t1.call(first.ep, 'close');
    await send(t2, second, peer, 'still here');
    expect(await accepts(first.address)).toBe(true);

    // The last endpoint closes: the listener stops listening.
    await t2.call(second.ep, 'close');
    const end = Date.now() + 5000;
    while ((await accepts(first.address)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(await accepts(first.address)).toBe(false);

    // The next endpoint starts a new listener.
    const third = await openEndpoint(t2, peer.address);
    expect(third.address.process).not.toBe(first.address.process);
    await send(t2, third, peer, 'a new listener');
    await t2.call(third.ep, 'close');
  });

  it('never keeps a process alive: one that leaves an endpoint open still exits', async () => {
    const child = spawn(process.execPath, [idleExit], { env: { ...process.env, COLLECTIVE_SOCKET_IFNAME: 'lo' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    expect({ code, signal, err }).toEqual({ code: 0, signal: null, err: '' });
    expect(JSON.parse(out)).toMatchObject({ provider: 'tcp', host: '127.0.0.1' });
  });
});
