// The real node's cluster DNS: answers A queries for Service names
// (<svc>.<ns>.svc.cluster.local: the ClusterIP, or the ready endpoints of a
// headless Service) and for the hostnames of a headless Service's endpoints
// (<pod>.<svc>.<ns>.svc.cluster.local, StatefulSet pods). Nothing is forwarded:
// every other name is NXDOMAIN, so no query leaves the machine. What CoreDNS
// does in a real cluster, reduced to what the charts use.
//
// Pure functions (message parsing and building, the name table); the UDP
// server loop is in scripts/cluster.ts.

export interface DnsQuestion {
  id: number;
  flags: number;
  name: string;
  type: number;
  klass: number;
  /** Offset just past the question: the answer copies the question bytes. */
  end: number;
}

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
const RCODE_NXDOMAIN = 3;
const RCODE_FORMERR = 1;

export function parseQuery(message: Buffer): DnsQuestion | undefined {
  if (message.length < 12) return undefined;
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  if (flags & 0x8000 || message.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    if (offset >= message.length) return undefined;
    const length = message[offset] as number;
    offset += 1;
    if (length === 0) break;
    if (length > 63 || offset + length > message.length) return undefined;
    labels.push(message.subarray(offset, offset + length).toString('ascii'));
    offset += length;
  }
  if (offset + 4 > message.length) return undefined;
  return { id, flags, name: labels.join('.').toLowerCase(), type: message.readUInt16BE(offset), klass: message.readUInt16BE(offset + 2), end: offset + 4 };
}

/**
 * The response to one question: NXDOMAIN for an unknown name, NOERROR with no
 * answers for a known name and a type other than A (so resolvers do not give up),
 * A records otherwise. TTL 5 s: names follow pod restarts quickly.
 */
export function buildResponse(query: Buffer, question: DnsQuestion | undefined, addresses: string[] | undefined): Buffer {
  const header = Buffer.alloc(12);
  if (!question) {
    header.writeUInt16BE(query.length >= 2 ? query.readUInt16BE(0) : 0, 0);
    header.writeUInt16BE(0x8000 | RCODE_FORMERR, 2);
    return header;
  }
  const answers = question.type === TYPE_A && question.klass === 1 ? (addresses ?? []) : [];
  // QR, the opcode and RD copied, AA; RA off (we recurse nowhere).
  const rcode = addresses === undefined ? RCODE_NXDOMAIN : 0;
  header.writeUInt16BE(question.id, 0);
  header.writeUInt16BE(0x8000 | (question.flags & 0x7900) | 0x0400 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map((ip) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(1, 4);
    record.writeUInt32BE(5, 6);
    record.writeUInt16BE(4, 10);
    ip.split('.').forEach((part, i) => record.writeUInt8(Number(part), 12 + i));
    return record;
  });
  return Buffer.concat([header, query.subarray(12, question.end), ...records]);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** name -> IPv4 addresses, from Services and EndpointSlices. */
export function nameTable(services: Json[], slices: Json[], domain = 'cluster.local'): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const add = (name: string, ip: string) => {
    const list = table.get(name) ?? [];
    if (!list.includes(ip)) list.push(ip);
    table.set(name, list);
  };
  const headless = new Set<string>();
  for (const service of services) {
    const name = `${service.metadata.name}.${service.metadata.namespace}.svc.${domain}`;
    const ip: string | undefined = service.spec?.clusterIP;
    if (ip && ip !== 'None') add(name, ip);
    else {
      headless.add(name);
      table.set(name, table.get(name) ?? []);
    }
  }
  for (const slice of slices) {
    const serviceName = slice.metadata?.labels?.['kubernetes.io/service-name'];
    if (!serviceName || slice.addressType !== 'IPv4') continue;
    const name = `${serviceName}.${slice.metadata.namespace}.svc.${domain}`;
    for (const endpoint of slice.endpoints ?? []) {
      const ready = endpoint.conditions?.ready !== false;
      const ip: string | undefined = endpoint.addresses?.[0];
      if (!ip) continue;
      // A StatefulSet pod's own name resolves as soon as it has an address (its peers need it before it is ready).
      if (endpoint.hostname && headless.has(name)) add(`${endpoint.hostname}.${name}`, ip);
      if (ready && headless.has(name)) add(name, ip);
    }
  }
  return table;
}
