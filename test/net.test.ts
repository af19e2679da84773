import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { assertOwnPorts, baseRange, freePort, listeningPorts, listenOnFreePort, listenRange, parseListeners, parsePortRange, portGroup } from '../scripts/lib/net.ts';
import { CLUSTER_BUS_OFFSET, freePort as redisPort } from './helpers/redis-server.ts';

describe('listening ports stay out of the ephemeral range', () => {
  it('parses the kernel file', () => {
    expect(parsePortRange('32768\t60999\n')).toEqual({ low: 32768, high: 60999 });
    expect(() => parsePortRange('60999 32768')).toThrow(/not a port range/);
    expect(() => parsePortRange('')).toThrow(/not a port range/);
  });

  it('picks below the range, above it when below is too small, and refuses when neither fits', () => {
    expect(listenRange({ low: 32768, high: 60999 })).toEqual({ low: 10000, high: 29999 });
    expect(listenRange({ low: 20000, high: 60999 })).toEqual({ low: 10000, high: 19999 });
    expect(listenRange({ low: 1024, high: 50000 })).toEqual({ low: 50001, high: 65535 });
    expect(() => listenRange({ low: 1024, high: 65000 })).toThrow(/no room/);
  });

  it('hands out distinct ports a server can bind, none from the ephemeral range', async () => {
    const ephemeral = parsePortRange(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) expect(port < ephemeral.low || port > ephemeral.high).toBe(true);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', () => resolve());
    });
    server.close();
  });

  it('keeps a group of derived ports (a port and port + offset) inside the listening range', () => {
    const range = { low: 10000, high: 29999 };
    expect(portGroup(15000, [10000], range)).toEqual([15000, 25000]);
    // a Redis bus port that would land in the ephemeral range (the CI failure: 24491 + 10000 = 34491)
    expect(portGroup(24491, [10000], range)).toBeUndefined();
    expect(portGroup(10005, [-10], range)).toBeUndefined();
    expect(portGroup(12000, [0], range)).toBeUndefined(); // the same port twice is no group
    expect(baseRange(range, [10000])).toEqual({ low: 10000, high: 19999 });
    expect(baseRange(range, [-100, 10])).toEqual({ low: 10100, high: 29989 });
    expect(() => baseRange(range, [30000])).toThrow(/no port/);
  });

  it('hands out a port whose port + 10000 is free and outside the ephemeral range too; the Redis helper uses it', async () => {
    const ephemeral = parsePortRange(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
    const outside = (port: number) => port < ephemeral.low || port > ephemeral.high;
    const plain = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    const pairs = await Promise.all([
      ...Array.from({ length: 20 }, () => freePort({ beside: [10000] })),
      ...Array.from({ length: 20 }, () => redisPort()),
    ]);
    expect(CLUSTER_BUS_OFFSET).toBe(10000);
    const every = [...plain, ...pairs, ...pairs.map((p) => p + 10000)];
    for (const port of every) expect(outside(port), `port ${port}`).toBe(true);
    expect(new Set(every).size, 'no port is handed out twice, bus ports included').toBe(every.length);
    // both ports of a pair bind
    const servers = await Promise.all(
      [pairs[0]!, pairs[0]! + 10000].map(
        (port) =>
          new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
            const server = createServer();
            server.once('error', reject);
            server.listen(port, '127.0.0.1', () => resolve(server));
          }),
      ),
    );
    for (const server of servers) server.close();
  });

  it('reads the listening sockets of a process from /proc, and names a port opened beside the given ones', async () => {
    expect(
      parseListeners(
        [
          '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
          '   0: 0100007F:3A98 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0',
          '   1: 0100007F:8A2C 0100007F:3A98 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1',
        ].join('\n'),
      ),
    ).toEqual(new Map([[4242, 15000]]));
    const server = createServer();
    const port = await listenOnFreePort(server);
    try {
      expect(listeningPorts(process.pid)).toContain(port);
      expect(() => assertOwnPorts('this test', process.pid, [port, ...listeningPorts(process.pid)])).not.toThrow();
      expect(() => assertOwnPorts('this test', process.pid, [])).toThrow(new RegExp(`this test \\(pid ${process.pid}\\) listens on .*${port}`));
    } finally {
      server.close();
    }
  });
});
