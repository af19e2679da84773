// Loopback networking shared by the local cluster and the tests.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

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

/** The kernel's ephemeral range (Linux's default when the file cannot be read). */
export function ephemeralRange(): PortRange {
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

export interface PortOptions {
  /**
   * Offsets of the ports a program opens beside the one it is given, which
   * must be free and outside the ephemeral range too: a Redis cluster node
   * listens on port + 10000 for its cluster bus ([10000]).
   */
  beside?: readonly number[];
}

/**
 * The ports `port` and each `port + offset` (offsets may be negative), or
 * undefined when one of them falls outside `range`.
 */
export function portGroup(port: number, beside: readonly number[], range: PortRange): number[] | undefined {
  const group = [port, ...beside.map((offset) => port + offset)];
  return group.every((p) => p >= range.low && p <= range.high) && new Set(group).size === group.length ? group : undefined;
}

/** The first ports of a range whose whole group (see portGroup) stays in the range. */
export function baseRange(range: PortRange, beside: readonly number[]): PortRange {
  const low = range.low - Math.min(0, ...beside);
  const high = range.high - Math.max(0, ...beside);
  if (high < low) throw new Error(`no port in ${range.low}-${range.high} leaves room for offsets ${beside.join(', ')}`);
  return { low, high };
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, outside the ephemeral
 * range; with `beside`, the ports at those offsets are free and outside it too
 * (and none of the group is handed out again by this process).
 */
export async function freePort(options: PortOptions = {}): Promise<number> {
  const beside = options.beside ?? [];
  const range = listenRange(ephemeralRange());
  const bases = baseRange(range, beside);
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = bases.low + Math.floor(Math.random() * (bases.high - bases.low + 1));
    const group = portGroup(port, beside, range);
    if (!group || group.some((p) => handedOut.has(p))) continue;
    for (const p of group) handedOut.add(p); // reserved before the await: concurrent callers see it
    const free = await Promise.all(group.map(canListen));
    if (free.every(Boolean)) return port;
    for (const p of group) handedOut.delete(p);
  }
  throw new Error(`no free port${beside.length ? ` group (+${beside.join(', +')})` : ''} on 127.0.0.1 in ${range.low}-${range.high} after 500 tries`);
}

/**
 * Listens `server` on 127.0.0.1 at a port from freePort(), trying another when
 * someone took the port between the check and the bind. Returns the port.
 */
export async function listenOnFreePort(server: Server, attempts = 5): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        server.once('error', onError);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', onError);
          resolve();
        });
      });
      return port;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= attempts) throw error;
    }
  }
}

/**
 * The ports in LISTEN state of /proc/net/tcp or tcp6, keyed by socket inode.
 * A line: "sl local_address rem_address st ... inode", addresses as HEX_IP:HEX_PORT, st 0A = LISTEN.
 */
export function parseListeners(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== '0A') continue;
    const port = parseInt((fields[1] ?? '').split(':').pop() ?? '', 16);
    const inode = Number(fields[9]);
    if (Number.isInteger(port) && Number.isInteger(inode) && inode > 0) out.set(inode, port);
  }
  return out;
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")"
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process is gone
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const next = queue.shift() as number;
    out.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return out;
}

/**
 * Every TCP port that process `pid` or one of its descendants listens on
 * (sorted). For checking that a program opens no port beside the ones it was
 * handed: one it picked itself may be in the ephemeral range.
 */
export function listeningPorts(pid: number): number[] {
  const listeners = new Map<number, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const [inode, port] of parseListeners(readFileSync(file, 'utf8'))) listeners.set(inode, port);
    } catch {
      // no IPv6
    }
  }
  const ports = new Set<number>();
  for (const process of descendants(pid)) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${process}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${process}/fd/${fd}`));
        const port = match ? listeners.get(Number(match[1])) : undefined;
        if (port !== undefined) ports.add(port);
      } catch {
        // closed meanwhile
      }
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/**
 * Throws when `pid` (or a descendant) listens on a port that is not in `allowed`
 * or lies in the kernel's ephemeral range: the names the program and the ports.
 */
export function assertOwnPorts(what: string, pid: number, allowed: readonly number[]): void {
  const ephemeral = ephemeralRange();
  const listening = listeningPorts(pid);
  const stray = listening.filter((port) => !allowed.includes(port) || (port >= ephemeral.low && port <= ephemeral.high));
  if (stray.length) {
    throw new Error(`${what} (pid ${pid}) listens on ${stray.join(', ')} beside the ports it was given (${allowed.join(', ')}); give every port it opens from scripts/lib/net.ts freePort()`);
  }
}
