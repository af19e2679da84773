// The real node's configuration and its DNS server, without starting anything.
import { describe, expect, it } from 'vitest';
import { buildResponse, nameTable, parseQuery, TYPE_A, TYPE_AAAA } from '../scripts/lib/cluster-dns.ts';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterLayout, SERVICE_CIDR } from '../scripts/lib/cluster.ts';
import {
  GATEWAY_IP,
  INPUT_CHAIN,
  KUBE_DNS_IP,
  iptablesCleanupCommands,
  kubeDnsObjects,
  mountPoints,
  ourIpsets,
  splitRule,
  POD_CIDR,
  cniConfig,
  hostSetupCommands,
  kubeletConfig,
  mountsUnder,
  realNodeCommands,
  realNodeLayout,
} from '../scripts/lib/real-node.ts';

function query(name: string, type = TYPE_A): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, type >> 8, type & 0xff, 0, 1])]);
}

describe('cluster DNS', () => {
  const services = [
    { metadata: { name: 'shop-redis', namespace: 'dev' }, spec: { clusterIP: '10.96.0.20' } },
    { metadata: { name: 'shop-mongodb-headless', namespace: 'dev' }, spec: { clusterIP: 'None' } },
  ];
  const slices = [
    {
      metadata: { namespace: 'dev', labels: { 'kubernetes.io/service-name': 'shop-mongodb-headless' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.89.0.7'], hostname: 'shop-mongodb-0', conditions: { ready: true } },
        { addresses: ['10.89.0.8'], hostname: 'shop-mongodb-1', conditions: { ready: false } },
      ],
    },
  ];
  const table = nameTable(services, slices);

  it('resolves Services to their ClusterIP and headless Services to ready endpoints and pod hostnames', () => {
    expect(table.get('shop-redis.dev.svc.cluster.local')).toEqual(['10.96.0.20']);
    expect(table.get('shop-mongodb-headless.dev.svc.cluster.local')).toEqual(['10.89.0.7']);
    // a StatefulSet member resolves before it is ready (its peers need it to form the set)
    expect(table.get('shop-mongodb-1.shop-mongodb-headless.dev.svc.cluster.local')).toEqual(['10.89.0.8']);
  });

  it('answers A records, NODATA for other types of known names, NXDOMAIN for everything else', () => {
    const a = query('shop-redis.dev.svc.cluster.local');
    const q = parseQuery(a);
    expect(q?.name).toBe('shop-redis.dev.svc.cluster.local');
    const response = buildResponse(a, q, table.get(q!.name));
    expect(response.readUInt16BE(0)).toBe(0x1234);
    expect(response.readUInt16BE(2) & 0x000f).toBe(0);
    expect(response.readUInt16BE(6)).toBe(1);
    expect([...response.subarray(response.length - 4)]).toEqual([10, 96, 0, 20]);

    const aaaa = query('shop-redis.dev.svc.cluster.local', TYPE_AAAA);
    const noData = buildResponse(aaaa, parseQuery(aaaa), table.get('shop-redis.dev.svc.cluster.local'));
    expect(noData.readUInt16BE(2) & 0x000f).toBe(0);
    expect(noData.readUInt16BE(6)).toBe(0);

    const outside = query('example.com');
    expect(buildResponse(outside, parseQuery(outside), undefined).readUInt16BE(2) & 0x000f).toBe(3);
    expect(buildResponse(Buffer.from([1, 2, 3]), parseQuery(Buffer.from([1, 2, 3])), undefined).readUInt16BE(2) & 0x000f).toBe(1);
  });
});

describe('real node configuration', () => {
  const layout = clusterLayout('/nonexistent/cluster');
  const node = realNodeLayout(layout);
  const ports = { kubelet: 1, kubeletHealthz: 2, proxyHealthz: 3, proxyMetrics: 4 };

  it('binds the node only to loopback or its private bridge address', () => {
    for (const command of realNodeCommands(layout, node, ports, '/bin-dir', ['node', 'cluster.ts'])) {
      for (const arg of command.args) {
        for (const address of arg.match(/\b\d{1,3}(\.\d{1,3}){3}\b/g) ?? []) {
          expect([`127.0.0.1`, GATEWAY_IP, POD_CIDR.split('/')[0], SERVICE_CIDR.split('/')[0]], `${command.component} ${arg}`).toContain(address);
        }
      }
    }
    const kubelet = JSON.parse(kubeletConfig(layout, node, ports));
    expect(kubelet).toMatchObject({ address: GATEWAY_IP, healthzBindAddress: '127.0.0.1', readOnlyPort: 0, cgroupDriver: 'cgroupfs' });
    expect(kubelet.authentication.anonymous.enabled).toBe(false);
    // kube-router: the firewall alone, no health server on every interface
    const netpol = realNodeCommands(layout, node, ports, '/bin-dir', ['node', 'cluster.ts']).find((c) => c.component === 'netpol')!;
    expect(netpol.args).toEqual(expect.arrayContaining(['--run-firewall=true', '--run-router=false', '--run-service-proxy=false', '--health-port=0', '--metrics-port=0']));
  });

  it('pods resolve through the kube-dns Service, whose pod relays to the node\'s DNS server', () => {
    expect(JSON.parse(kubeletConfig(layout, node, ports)).clusterDNS).toEqual([KUBE_DNS_IP]);
    const [service, pod] = kubeDnsObjects().map((o) => o.object as any); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(service.spec).toMatchObject({ clusterIP: KUBE_DNS_IP, selector: { 'k8s-app': 'kube-dns' } });
    expect(pod.metadata).toMatchObject({ namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } });
    expect(pod.spec.containers[0].args).toEqual([':53', `${GATEWAY_IP}:53`]);
  });

  it('lets pods reach on the node only the API forwarder, the DNS server and replies', () => {
    const rules = hostSetupCommands().map((c) => c.join(' ')).filter((r) => r.includes(INPUT_CHAIN));
    expect(rules).toEqual([
      `iptables -w -t mangle -N ${INPUT_CHAIN}`,
      `iptables -w -t mangle -A ${INPUT_CHAIN} -i techshop0 -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
      `iptables -w -t mangle -A ${INPUT_CHAIN} -i techshop0 -d ${GATEWAY_IP} -p tcp --dport 6443 -j RETURN`,
      `iptables -w -t mangle -A ${INPUT_CHAIN} -i techshop0 -d ${GATEWAY_IP} -p udp --dport 53 -j RETURN`,
      `iptables -w -t mangle -A ${INPUT_CHAIN} -i techshop0 -j DROP`,
      `iptables -w -t mangle -I INPUT 1 -j ${INPUT_CHAIN}`,
    ]);
  });

  it('removes only its own chains, the rules that jump to them and its ipsets; a foreign rule and chain stay', () => {
    const save = [
      '# Generated by iptables-save',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD DROP [0:0]',
      ':FOREIGN-CHAIN - [0:0]',
      ':KUBE-ROUTER-FORWARD - [0:0]',
      ':KUBE-POD-FW-ABC - [0:0]',
      ':KUBE-NWPLCY-DEFAULT - [0:0]',
      ':TECHSHOP-REAL-NODE - [0:0]',
      ':TECHSHOP-REAL-NODE-INPUT - [0:0]',
      '-A INPUT -j TECHSHOP-REAL-NODE-INPUT',
      '-A INPUT -m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-INPUT',
      '-A INPUT -j FOREIGN-CHAIN',
      '-A INPUT -s 10.1.0.0/16 -j ACCEPT',
      '-A FORWARD -j TECHSHOP-REAL-NODE',
      '-A KUBE-ROUTER-FORWARD -m comment --comment "rule to jump traffic" -j KUBE-POD-FW-ABC',
      'COMMIT',
    ].join('\n');
    const commands = iptablesCleanupCommands(save).map((c) => c.slice(2));
    expect(commands).toEqual([
      ['-t', 'filter', '-D', 'INPUT', '-j', 'TECHSHOP-REAL-NODE-INPUT'],
      ['-t', 'filter', '-D', 'INPUT', '-m', 'comment', '--comment', 'kube-router netpol - 4IA2OSFRMVNDXBVV', '-j', 'KUBE-ROUTER-INPUT'],
      ['-t', 'filter', '-D', 'FORWARD', '-j', 'TECHSHOP-REAL-NODE'],
      ...['-F', '-X'].flatMap((op) =>
        ['KUBE-ROUTER-FORWARD', 'KUBE-POD-FW-ABC', 'KUBE-NWPLCY-DEFAULT', 'TECHSHOP-REAL-NODE', 'TECHSHOP-REAL-NODE-INPUT'].map((c) => ['-t', 'filter', op, c])),
    ]);
    expect(commands.flat()).not.toContain('FOREIGN-CHAIN');
    expect(splitRule('-m comment --comment "a \\"b\\" c" -j X')).toEqual(['-m', 'comment', '--comment', 'a "b" c', '-j', 'X']);
    expect(ourIpsets('KUBE-SRC-AB\nforeign\nKUBE-DST-CD\nKUBE-SRCX\n')).toEqual(['KUBE-SRC-AB', 'KUBE-DST-CD']);
  });

  it('neither masquerades nor forwards pod traffic off the bridge', () => {
    const cni = JSON.parse(cniConfig(node));
    expect(cni.plugins[0]).toMatchObject({ type: 'bridge', ipMasq: false, ipam: { type: 'host-local' } });
    const rules = hostSetupCommands().map((c) => c.join(' '));
    expect(rules).toContain('iptables -w -A TECHSHOP-REAL-NODE -i techshop0 -j DROP');
    expect(rules).toContain('iptables -w -A TECHSHOP-REAL-NODE -o techshop0 -j DROP');
  });

  it('finds the mounts under the data directory, deepest first, and nothing beside it', () => {
    const mountinfo = [
      '22 1 8:1 / / rw - ext4 /dev/vda rw',
      '90 22 0:50 / /x/data/node/kubelet/pods/a/volumes rw - tmpfs tmpfs rw',
      '91 90 0:51 / /x/data/node/kubelet/pods/a/volumes/b\\040c rw - tmpfs tmpfs rw',
      '92 22 0:52 / /x/data2 rw - tmpfs tmpfs rw',
    ].join('\n');
    expect(mountsUnder('/x/data', mountinfo)).toEqual(['/x/data/node/kubelet/pods/a/volumes/b c', '/x/data/node/kubelet/pods/a/volumes']);
  });

  it('finds the mounts of a data directory reached through a symlink by their real path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'techshop-mounts-'));
    try {
      const real = join(dir, 'real-cache');
      const link = join(dir, 'checkout-cache');
      mkdirSync(real);
      symlinkSync(real, link);
      const mountinfo = [`22 1 8:1 / / rw - ext4 /dev/vda rw`, `95 22 8:1 /x ${real}/data/node/kubelet rw - ext4 /dev/vda rw`].join('\n');
      // /proc/self/mountinfo names the resolved path: the literal one finds nothing, mountPoints finds it
      expect(mountsUnder(`${link}/data`, mountinfo)).toEqual([]);
      expect(mountPoints(`${link}/data`, mountinfo)).toEqual([`${real}/data/node/kubelet`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
