import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TCPStore, TCPStoreServer, valueToString } from '@collective/rendezvous';
import { RawClient, str, u64 } from './helpers/raw_socket.js';

describe('TCPStore server against garbage and port scans', () => {
  let server: TCPStoreServer;
  let drops: string[];
  let good: TCPStore;
  beforeEach(async () => {
    drops = [];
    server = await TCPStoreServer.start({ host: '127.0.0.1', maxValueBytes: 1 << 20, onDrop: (r) => drops.push(r) });
    good = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000 });
    await good.set('before', 'intact');
  });
  afterEach(async () => {
    // Whatever came before, the server still serves a well-behaved client.
    expect(valueToString(await good.get('before'))).toBe('intact');
    await good.set('after', 'ok');
    expect(valueToString(await good.get('after'))).toBe('ok');
    await good.close();
    await server.close();
  });

  it.each([
    ['an HTTP request (a port scan)', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /unknown query type 71/],
    ['a TLS ClientHello', Buffer.from('16030100a5010000a10303', 'hex'), /unknown query type 22/],
    ['a key length of 2^60', Buffer.from('02' + u64(1n << 60n), 'hex'), /key length of 1152921504606846976 exceeds the limit/],
    ['a value length over the limit', Buffer.from('00' + str('k') + u64(2 << 20), 'hex'), /value length of 2097152 exceeds the limit of 1048576/],
    ['a WAIT for 2^40 keys', Buffer.from('05' + u64(1n << 40n), 'hex'), /key count of 1099511627776 exceeds the limit/],
    ['VALIDATE with a wrong magic after the handshake', Buffer.from('00cef7853c' + '00deadbeef', 'hex'), /wrong magic/],
    ['a GET of a key nobody set', Buffer.from('02' + str('nope'), 'hex'), /GET of 'nope', which does not exist/],
    ['an ADD to a value that is not a number', Buffer.from('00' + str('word') + str('abc') + '03' + str('word') + u64(1), 'hex'), /ADD to 'word', whose value is not an integer/],
  ])('drops a connection that sends %s, and only that one', async (_what, bytes, reason) => {
    const c = await RawClient.open(server.port);
    c.send(bytes as Buffer);
    expect(await c.closedWithin(3_000)).toBe(true);
    expect(drops.join('\n')).toMatch(reason as RegExp);
    expect(server.bufferedBytes).toBe(0);
  });

  it('keeps memory bounded: a frame that would exceed maxFrameBytes is dropped before it is buffered', async () => {
    const c = await RawClient.open(server.port);
    // A MULTI_SET-style frame of many values each under the value limit but too big in total.
    c.send('0b' + u64(4000));
    for (let i = 0; i < 4000 && !c.closed; i++) {
      c.send(str(`k${i}`) + u64(1 << 20));
      c.socket.write(Buffer.alloc(1 << 20));
      if (i % 8 === 0) await new Promise((r) => setImmediate(r));
      expect(server.bufferedBytes).toBeLessThanOrEqual(2 * (1 << 20) + (1 << 20) + (1 << 16) + 64 * 1024);
    }
    expect(await c.closedWithin(5_000)).toBe(true);
    expect(drops.join('\n')).toMatch(/exceeds the limit/);
  });

  it('survives a burst of connections that send a byte and vanish', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => RawClient.open(server.port)));
    clients.forEach((c, i) => {
      c.send(i % 2 === 0 ? '00' : '05');
      c.end();
    });
    for (let i = 0; i < 100 && server.connectionCount > 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.connectionCount).toBe(1);
  });
});
