// Loopback networking shared by the local cluster and the tests.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The kernel's range for ephemeral (outgoing) ports, inclusive. */
export interface PortRange {
  low: number;
  high: number;
}

/** Parses /proc/sys/net/ipv4/ip_local_port_range ("32768\t60999"). */
export function parsePortRange(text: string): PortRange {
  const [low = NaN, high = NaN] = text.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || low > high) {
    throw new Error(`not a port range: ${JSON.stringify(text)}`);
  }
  return { low, high };
}

/**
 * Where listening ports are picked: below the ephemeral range when it leaves
 * room, else above it. A port the OS hands out for listen(0) comes from the
 * ephemeral range, so any outgoing connection (the API server dialling etcd,
 * say) may take it before the server it was meant for binds: a real CI run
 * failed so. Ports outside that range are only taken by someone listening.
 * Kubernetes' NodePort range (30000-32767) is left out too: a real node's
 * kube-proxy may hold those.
 */
export function listenRange(ephemeral: PortRange): PortRange {
  const floor = 10000;
  const below = Math.min(ephemeral.low - 1, 29999);
  if (below - floor >= 2000) return { low: floor, high: below };
  if (65535 - (ephemeral.high + 1) >= 2000) return { low: ephemeral.high + 1, high: 65535 };
  throw new Error(`the ephemeral port range ${ephemeral.low}-${ephemeral.high} leaves no room for listening ports`);
}

function ephemeralRange(): PortRange {
  try {
    return parsePortRange(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
  } catch {
    return { low: 32768, high: 60999 }; // Linux's default
  }
}

// Ports this process handed out, so two servers of one test never share one.
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  const range = listenRange(ephemeralRange());
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = range.low + Math.floor(Math.random() * (range.high - range.low + 1));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // reserved before the await: concurrent callers see it
    if (await canListen(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(`no free port on 127.0.0.1 in ${range.low}-${range.high} after 200 tries`);
}
