import { type AddressInfo, createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TCPStore, TCPStoreServer, valueToString } from '@collective/rendezvous';
import { RawClient, str, u32, u64 } from './helpers/raw_socket.js';

const MAGIC = 'cef7853c';

describe('TCPStore dialects: our server and our client, byte for byte', () => {
  let server: TCPStoreServer;
  beforeEach(async () => {
    server = await TCPStoreServer.start({ host: '127.0.0.1' });
  });
  afterEach(() => server.close());

  it('answers the exact bytes torch 1.13 sends (legacy numbering, captured from its client)', async () => {
    const c = await RawClient.open(server.port);
    // ADD 'init/' 1, as torch's client does on connect when it knows the world size
    c.send('03 0500000000000000 696e69742f 0100000000000000');
    expect(await c.read(8)).toBe('0100000000000000');
    c.send('06'); // GETNUMKEYS
    expect(await c.read(8)).toBe('0100000000000000');
    // SET '/k' 'v1', then get = WAIT ['/k'] + GET '/k'
    c.send('00 0200000000000000 2f6b 0200000000000000 7631' + '05 0100000000000000 0200000000000000 2f6b');
    expect(await c.read(1)).toBe('00'); // STOP_WAITING
    c.send('02 0200000000000000 2f6b');
    expect(await c.read(10)).toBe('02000000000000007631');
    // COMPARE_SET '/k' 'v1' -> 'v2'
    c.send('01' + str('/k') + str('v1') + str('v2'));
    expect(await c.read(10)).toBe('02000000000000007632');
    // CHECK ['/k', '/zz'] -> NOT_READY; DELETE_KEY '/k' twice -> 1, 0
    c.send('04' + u64(2) + str('/k') + str('/zz'));
    expect(await c.read(1)).toBe('01');
    c.send('08' + str('/k') + '08' + str('/k'));
    expect(await c.read(16)).toBe(u64(1) + u64(0));
    c.end();
  });

  it('speaks v2 after VALIDATE: SET 1, GET 3, ADD 4, APPEND, MULTI_SET/GET, PING and CANCEL_WAIT', async () => {
    const c = await RawClient.open(server.port);
    c.send('00' + MAGIC);
    c.send('0d' + u32(0x12345678)); // PING
    expect(await c.read(4)).toBe(u32(0x12345678));
    c.send('01' + str('a') + str('x')); // SET
    c.send('09' + str('a') + str('yz')); // APPEND
    c.send('03' + str('a')); // GET
    expect(await c.read(11)).toBe(str('xyz'));
    c.send('04' + str('n') + u64(41)); // ADD
    expect(await c.read(8)).toBe(u64(41));
    c.send('0b' + u64(2) + str('m1') + str('one') + str('m2') + str('two')); // MULTI_SET
    c.send('0a' + u64(2) + str('m2') + str('m1')); // MULTI_GET
    expect(await c.read(22)).toBe(str('two') + str('one'));
    c.send('05' + u64(1) + str('m1')); // CHECK
    expect(await c.read(1)).toBe('00');
    c.send('07'); // GETNUMKEYS
    expect(await c.read(8)).toBe(u64(4));
    // WAIT on a missing key, then CANCEL_WAIT: WAIT_CANCELED, and a later SET wakes nobody.
    c.send('06' + u64(1) + str('later'));
    c.send('0c');
    expect(await c.read(1)).toBe('01');
    c.send('01' + str('later') + str('v'));
    c.send('0d' + u32(7));
    expect(await c.read(4)).toBe(u32(7));
    c.end();
  });

  it('tells the dialects apart per connection, over one shared key space', async () => {
    const legacy = await RawClient.open(server.port);
    const v2 = await RawClient.open(server.port);
    v2.send('00' + MAGIC);
    legacy.send('05' + u64(1) + str('shared')); // legacy WAIT
    v2.send('01' + str('shared') + str('hi')); // v2 SET
    expect(await legacy.read(1)).toBe('00');
    legacy.send('02' + str('shared')); // legacy GET
    expect(await legacy.read(10)).toBe(str('hi'));
    // A legacy SET starts with 0 too: the next bytes are a key length, not the magic.
    legacy.send('00' + str('k2') + str('v'));
    v2.send('03' + str('k2'));
    expect(await v2.read(9)).toBe(str('v'));
    legacy.end();
    v2.end();
  });

  it('our client sends torch 1.13 byte-identical queries in the legacy dialect, and VALIDATE + PING first in v2', async () => {
    const seen: Buffer[] = [];
    const fake: Server = createServer((s) => {
      let handshaken = false;
      s.on('data', (d: Buffer) => {
        seen.push(d);
        const all = Buffer.concat(seen);
        // v2 handshake: answer the PING with its nonce
        if (!handshaken && all[0] === 0 && all.length >= 10 && all.subarray(1, 5).toString('hex') === MAGIC) {
          handshaken = true;
          s.write(all.subarray(6, 10));
        }
        // set() confirms itself with an empty CHECK behind the SET: READY.
        if (/(04|05)0000000000000000$/.test(d.toString('hex'))) s.write(Buffer.from([0]));
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const port = (fake.address() as AddressInfo).port;
    try {
      const legacy = await TCPStore.connect({ host: '127.0.0.1', port, dialect: 'legacy', timeoutMs: 2_000 });
      await legacy.set('k', 'v1');
      // torch 1.13's own bytes for set('k', b'v1'), then our confirming CHECK of no keys
      expect(Buffer.concat(seen).toString('hex')).toBe('0002000000000000002f6b02000000000000007631' + '04' + u64(0));
      await legacy.close();
      seen.length = 0;
      const v2 = await TCPStore.connect({ host: '127.0.0.1', port, dialect: 'v2', timeoutMs: 2_000 });
      const hello = Buffer.concat(seen).toString('hex');
      expect(hello.slice(0, 10)).toBe('00' + MAGIC);
      expect(hello.slice(10, 12)).toBe('0d');
      await v2.set('k', 'v1');
      expect(Buffer.concat(seen).toString('hex').slice(20)).toBe('01' + str('/k') + str('v1') + '05' + u64(0));
      await v2.close();
    } finally {
      fake.close();
    }
  });

  it("'auto' picks v2 on our server, legacy on a server that answers NOT_READY to the probe, v2 where a server drops it", async () => {
    const ours = await TCPStore.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 2_000 });
    expect(ours.dialect).toBe('v2');
    await ours.close();

    // torch 1.13 does not know our probe key: NOT_READY.
    const legacyOnly = createServer((s) => s.on('data', () => s.write(Buffer.from([1]))));
    // torch >= 2.1 drops a connection whose first query is not VALIDATE.
    let v2Attempts = 0;
    const v2Only = createServer((s) =>
      s.on('data', (d: Buffer) => {
        if (d[0] !== 0) {
          v2Attempts++;
          s.destroy();
        } else if (d.length >= 10) s.write(d.subarray(6, 10));
      }),
    );
    for (const srv of [legacyOnly, v2Only]) await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const a = await TCPStore.connect({ host: '127.0.0.1', port: (legacyOnly.address() as AddressInfo).port, timeoutMs: 2_000 });
      expect(a.dialect).toBe('legacy');
      await a.close();
      const b = await TCPStore.connect({ host: '127.0.0.1', port: (v2Only.address() as AddressInfo).port, timeoutMs: 2_000 });
      expect(b.dialect).toBe('v2');
      expect(v2Attempts).toBe(1);
      await b.close();
    } finally {
      legacyOnly.close();
      v2Only.close();
    }
  });

  it('a legacy client and a v2 client share keys through one server', async () => {
    const a = await TCPStore.connect({ host: '127.0.0.1', port: server.port, dialect: 'legacy', timeoutMs: 5_000 });
    const b = await TCPStore.connect({ host: '127.0.0.1', port: server.port, dialect: 'v2', timeoutMs: 5_000 });
    const got = a.get('from-v2');
    await b.set('from-v2', 'hello');
    expect(valueToString(await got)).toBe('hello');
    expect(await a.add('n', 2)).toBe(2);
    expect(await b.add('n', 3)).toBe(5);
    await a.close();
    await b.close();
  });
});
