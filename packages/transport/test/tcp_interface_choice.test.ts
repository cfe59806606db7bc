import type { NetworkInterfaceInfo } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseListenAddress, listenAddressFromEnv, routeTo } from '../src/providers/tcp/interface_choice.js';
import { PeerProcess } from './helpers/tcp_peers.js';

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, family: 'IPv4', internal, netmask: '255.0.0.0', mac: '00:00:00:00:00:00', cidr: null });
const v6 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, family: 'IPv6', internal, netmask: 'ffff::', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 });

const table = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  eth0: [v6('fe80::1'), v4('10.1.2.3')],
  eth1: [v4('10.9.9.9')],
  ib0: [v6('fe80::7'), v6('fd00::5')],
  docker0: [],
};

describe('the interface the socket listener listens on', () => {
  it('takes COLLECTIVE_SOCKET_IFNAME as an exact name first, then as a prefix', () => {
    expect(chooseListenAddress('eth1', undefined, table)).toMatchObject({ address: '10.9.9.9', name: 'eth1' });
    expect(chooseListenAddress('eth', undefined, table)).toMatchObject({ address: '10.1.2.3', name: 'eth0' });
    // IPv4 first; without one, a routable IPv6 address (never link-local).
    expect(chooseListenAddress('ib', undefined, table)).toMatchObject({ address: 'fd00::5', name: 'ib0' });
  });

  it('says which interfaces there are when nothing matches', () => {
    expect(() => chooseListenAddress('wlan', undefined, table)).toThrow(
      /EINVAL: COLLECTIVE_SOCKET_IFNAME=wlan matches no interface .*interfaces: lo \(127\.0\.0\.1, ::1\), eth0 \(fe80::1, 10\.1\.2\.3\), eth1 \(10\.9\.9\.9\), ib0 \(fe80::7, fd00::5\), docker0 \(no address\)/,
    );
    expect(() => chooseListenAddress('docker', undefined, table)).toThrow(/matches no interface with a usable address/);
  });

  it('else uses the address that routes to MASTER_ADDR, else the first non-internal IPv4, else 127.0.0.1', async () => {
    expect(chooseListenAddress(undefined, '10.9.9.9', table)).toMatchObject({ address: '10.9.9.9', name: 'eth1', why: 'routes to MASTER_ADDR' });
    expect(chooseListenAddress('', undefined, table)).toMatchObject({ address: '10.1.2.3', name: 'eth0' });
    expect(chooseListenAddress(undefined, undefined, { lo: table.lo })).toMatchObject({ address: '127.0.0.1', name: 'lo' });
    expect(await routeTo('127.0.0.1')).toBe('127.0.0.1');
    expect(await listenAddressFromEnv({ MASTER_ADDR: '127.0.0.1' })).toMatchObject({ address: '127.0.0.1', why: 'routes to MASTER_ADDR' });
  });

  describe('in a process', () => {
    let p: PeerProcess | undefined;
    afterEach(async () => {
      await p?.stop();
      p = undefined;
    });

    it('publishes the chosen address in endpoint addresses', async () => {
      p = await (await PeerProcess.start({ COLLECTIVE_SOCKET_IFNAME: 'l' })).setup(4096);
      expect(p.address).toMatchObject({ provider: 'tcp', host: '127.0.0.1', port: expect.any(Number), process: expect.stringMatching(/^\d+\.[0-9a-f]+$/) });
      await p.stop();
      p = await (await PeerProcess.start({ COLLECTIVE_SOCKET_IFNAME: '', MASTER_ADDR: '127.0.0.1' })).setup(4096);
      expect(p.address.host).toBe('127.0.0.1');
    });

    it('refuses to open an endpoint when COLLECTIVE_SOCKET_IFNAME matches nothing, listing the interfaces', async () => {
      p = await PeerProcess.start({ COLLECTIVE_SOCKET_IFNAME: 'nosuchif' });
      await expect(p.setup(4096)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/COLLECTIVE_SOCKET_IFNAME=nosuchif matches no interface.*interfaces: .*lo \(127\.0\.0\.1/) });
    });
  });
});
