import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, listenRange, parsePortRange } from '../scripts/lib/net.ts';

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
});
