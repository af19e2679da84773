// `npm run cluster -- up --real-node`: one real node instead of kwok's fake ones.
// containerd (Debian) runs the pods with runc, a kubelet (cgroupfs driver) built
// from the same k8s.io/kubernetes module as the control plane registers the node,
// kube-proxy (iptables) makes Services work, and a small DNS server answers the
// cluster's names. Pods live on a private bridge (POD_CIDR) that is isolated from
// every other interface: nothing is routed off the machine and nothing is masqueraded.
// Configuration (pure), host checks, host preparation and teardown; scripts/cluster.ts runs the processes.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { cacheDir } from './paths.ts';
import { SERVICE_CIDR, type CertificateSpec, type ClusterLayout } from './cluster.ts';

export const NODE_NAME = 'techshop-real-node';
export const BRIDGE = 'techshop0';
/** The pods' addresses (host-local IPAM). The gateway is the node's own address on the bridge. */
export const POD_CIDR = '10.89.0.0/24';
export const GATEWAY_IP = '10.89.0.1';
/** The node's cluster DNS server listens on the node's bridge address; pods reach it only through the kube-dns pod. */
export const DNS_IP = GATEWAY_IP;
/**
 * The kube-dns Service's ClusterIP, the pods' nameserver. Behind it a pod in kube-system labelled
 * k8s-app=kube-dns relays to DNS_IP, so the charts' NetworkPolicies (DNS only to kube-dns pods) hold as
 * in a cluster with CoreDNS.
 */
export const KUBE_DNS_IP = '10.96.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
/** iptables chain (filter table, jumped to from FORWARD) that keeps pod traffic on the bridge. */
export const ISOLATION_CHAIN = 'TECHSHOP-REAL-NODE';
/** iptables chain (mangle table, jumped to from INPUT): what pods may reach on the node itself. */
export const INPUT_CHAIN = 'TECHSHOP-REAL-NODE-INPUT';
/** A cgroup of its own in every v1 hierarchy, so the pods' cgroups never mix with anything else. */
export const CGROUP_ROOT = '/techshop-real-node';

export const REAL_NODE_COMPONENTS = ['containerd', 'kubelet', 'kube-proxy', 'netpol', 'dns', 'api-proxy'] as const;

/**
 * The NetworkPolicy engine: kube-router's firewall alone (router and service proxy off), built by
 * .ci/install-real-node.sh at the version tools/real-node/versions pins.
 */
export const NETPOL_IDENTITY = 'techshop:kube-router';

/** Its RBAC: what kube-router's network-policy controller watches (nothing else). */
export function netpolRbac(): object[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NETPOL_IDENTITY },
      rules: [
        { apiGroups: [''], resources: ['namespaces', 'pods', 'services', 'nodes', 'endpoints'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NETPOL_IDENTITY },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NETPOL_IDENTITY },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: NETPOL_IDENTITY }],
    },
  ];
}

/** The kube-dns pod (a relay to the node's DNS server, techshop.local/dns-relay) and its Service. */
export function kubeDnsObjects(): { path: string; object: object }[] {
  const labels = { 'k8s-app': 'kube-dns' };
  return [
    {
      path: '/api/v1/namespaces/kube-system/services',
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
        spec: { clusterIP: KUBE_DNS_IP, selector: labels, ports: [{ name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' }] },
      },
    },
    {
      path: '/api/v1/namespaces/kube-system/pods',
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
        spec: {
          automountServiceAccountToken: false,
          dnsPolicy: 'Default',
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65534,
            // port 53 without root or capabilities
            sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '53' }],
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'relay',
              image: 'techshop.local/dns-relay:1',
              imagePullPolicy: 'Never',
              args: [':53', `${DNS_IP}:53`],
              ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }],
              resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  ];
}

/**
 * The API server binds 127.0.0.1 only; pods reach it (the \`kubernetes\` Service: Prometheus' discovery, the
 * charts' hooks) through a TCP forwarder on the node's bridge address, which the Service's endpoints name.
 */
export const API_PROXY_PORT = 6443;

/** The \`kubernetes\` Service's endpoints (the API server runs with --endpoint-reconciler-type=none). */
export function kubernetesEndpoints(): object {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default' },
    subsets: [{ addresses: [{ ip: GATEWAY_IP }], ports: [{ name: 'https', port: API_PROXY_PORT, protocol: 'TCP' }] }],
  };
}

/** kubelet and kube-proxy: .cache/realnode/v<version>/bin (.ci/install-real-node.sh), or TECHSHOP_REAL_NODE_BIN. */
export function realNodeBinDir(version: string): string {
  return process.env.TECHSHOP_REAL_NODE_BIN || join(cacheDir, 'realnode', `v${version}`, 'bin');
}

/** The image archives .ci/build-images.sh writes. */
export const imagesDir = (): string => process.env.TECHSHOP_REAL_NODE_IMAGES || join(cacheDir, 'realnode', 'images');

export interface RealNodeLayout {
  dir: string;
  containerdRoot: string;
  containerdState: string;
  containerdConfig: string;
  containerdSocket: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  proxyKubeconfig: string;
  netpolKubeconfig: string;
  podLogs: string;
  cniConf: string;
  cniData: string;
  /** hostPath volumes of the provisioner's PersistentVolumes: real data, under the cluster's root. */
  volumes: string;
  resolvConf: string;
  registryHosts: string;
}

export function realNodeLayout(layout: ClusterLayout): RealNodeLayout {
  const dir = join(layout.dataDir, 'node');
  return {
    dir,
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdConfig: join(dir, 'containerd', 'config.toml'),
    containerdSocket: join(dir, 'containerd', 'state', 'containerd.sock'),
    kubeletRoot: join(dir, 'kubelet'),
    kubeletConfig: join(dir, 'kubelet-config.yaml'),
    kubeletKubeconfig: join(layout.dataDir, 'kubelet.kubeconfig'),
    proxyKubeconfig: join(layout.dataDir, 'kube-proxy.kubeconfig'),
    netpolKubeconfig: join(layout.dataDir, 'kube-router.kubeconfig'),
    podLogs: join(dir, 'pod-logs'),
    cniConf: join(dir, 'cni', 'net.d'),
    cniData: join(dir, 'cni', 'ipam'),
    volumes: join(dir, 'volumes'),
    resolvConf: join(dir, 'resolv.conf'),
    registryHosts: join(dir, 'containerd', 'hosts'),
  };
}

export const REAL_NODE_CERTIFICATES: CertificateSpec[] = [
  { name: 'kubelet', commonName: `system:node:${NODE_NAME}`, organization: 'system:nodes', usage: 'client' },
  { name: 'kubelet-serving', commonName: NODE_NAME, altNames: [`IP:${GATEWAY_IP}`, `DNS:${NODE_NAME}`], usage: 'server' },
  { name: 'kube-proxy', commonName: 'system:kube-proxy', usage: 'client' },
  { name: 'kube-router', commonName: NETPOL_IDENTITY, usage: 'client' },
  // The API server's identity towards the kubelet (logs, exec, port-forward).
  { name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters', usage: 'client' },
];

export interface RealNodePorts {
  kubelet: number;
  kubeletHealthz: number;
  proxyHealthz: number;
  proxyMetrics: number;
}

export function containerdConfig(node: RealNodeLayout): string {
  return `version = 2
root = "${node.containerdRoot}"
state = "${node.containerdState}"
[grpc]
  address = "${node.containerdSocket}"
[ttrpc]
  address = "${node.containerdSocket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10.1"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # No CAP_SYS_RESOURCE here: lowering a pod's oom_score_adj below containerd's own fails ("failed to update
  # /proc/self/oom_score_adj: Permission denied"); this clamps it to containerd's value.
  restrict_oom_score_adj = true
  # the pods' network namespaces under our state directory, not the machine's /var/run/netns
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${node.cniConf}"
  # Nothing is pulled: every registry the charts name resolves to a closed loopback port (registryHosts).
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${node.registryHosts}"
`;
}

/** bridge + host-local on POD_CIDR; no masquerade (isolation is iptables' job, see hostNetworkCommands). */
export function cniConfig(node: RealNodeLayout): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'techshop-real-node',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', dataDir: node.cniData, ranges: [[{ subnet: POD_CIDR, gateway: GATEWAY_IP }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

export function kubeletConfig(layout: ClusterLayout, node: RealNodeLayout, ports: RealNodePorts): string {
  const pki = (file: string) => join(layout.pkiDir, file);
  return `${JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: GATEWAY_IP,
      port: ports.kubelet,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: ports.kubeletHealthz,
      tlsCertFile: pki('kubelet-serving.crt'),
      tlsPrivateKeyFile: pki('kubelet-serving.key'),
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: pki('ca.crt') } },
      authorization: { mode: 'Webhook' },
      containerRuntimeEndpoint: `unix://${node.containerdSocket}`,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: CGROUP_ROOT,
      // This machine has the cgroup v1 hierarchy; Kubernetes 1.35 refuses it unless told otherwise.
      failCgroupV1: false,
      failSwapOn: false,
      clusterDomain: CLUSTER_DOMAIN,
      clusterDNS: [KUBE_DNS_IP],
      resolvConf: node.resolvConf,
      podLogsDir: node.podLogs,
      podCIDR: POD_CIDR,
      maxPods: 110,
      // A shared disk: evict only when it is nearly full, never collect the locally built images.
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '2%', 'imagefs.available': '2%', 'nodefs.inodesFree': '2%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      registerNode: true,
      staticPodPath: '',
      protectKernelDefaults: false,
      localStorageCapacityIsolation: true,
    },
    null,
    2,
  )}\n`;
}

/**
 * Registries an image reference may name. A pull (imagePullPolicy Always, a missing local image) goes to
 * 127.0.0.1:9 instead, where nothing listens: it fails at once and no request leaves the machine.
 */
export const PULL_BLOCKED_REGISTRIES = ['docker.io', 'registry-1.docker.io', 'registry.k8s.io', 'quay.io', 'ghcr.io', 'gcr.io', 'public.ecr.aws'];

export function registryHostsToml(registry: string): string {
  return `# ${registry}: no pulls on the real node (local images only)\nserver = "http://127.0.0.1:9"\n\n[host."http://127.0.0.1:9"]\n  capabilities = ["pull", "resolve"]\n`;
}

export interface RealNodeCommand {
  component: (typeof REAL_NODE_COMPONENTS)[number];
  binary: string;
  args: string[];
}

export function realNodeCommands(
  layout: ClusterLayout,
  node: RealNodeLayout,
  ports: RealNodePorts,
  binDir: string,
  selfCommand: string[],
): RealNodeCommand[] {
  return [
    { component: 'containerd', binary: 'containerd', args: [`--config=${node.containerdConfig}`, '--log-level=warn'] },
    {
      component: 'kubelet',
      binary: join(binDir, 'kubelet'),
      args: [
        `--config=${node.kubeletConfig}`,
        `--kubeconfig=${node.kubeletKubeconfig}`,
        `--root-dir=${node.kubeletRoot}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${GATEWAY_IP}`,
        '--node-labels=techshop.local/real-node=true,topology.kubernetes.io/zone=zone-a,topology.kubernetes.io/region=local',
        '--v=1',
      ],
    },
    {
      component: 'kube-proxy',
      binary: join(binDir, 'kube-proxy'),
      args: [
        `--kubeconfig=${node.proxyKubeconfig}`,
        `--hostname-override=${NODE_NAME}`,
        '--proxy-mode=iptables',
        `--cluster-cidr=${POD_CIDR}`,
        `--bind-address=${GATEWAY_IP}`,
        `--healthz-bind-address=127.0.0.1:${ports.proxyHealthz}`,
        `--metrics-bind-address=127.0.0.1:${ports.proxyMetrics}`,
        // Leave the machine's conntrack table size alone.
        '--conntrack-max-per-core=0',
        '--v=1',
      ],
    },
    {
      component: 'netpol',
      binary: join(binDir, 'kube-router'),
      args: [
        `--kubeconfig=${node.netpolKubeconfig}`,
        `--hostname-override=${NODE_NAME}`,
        '--run-firewall=true',
        '--run-router=false',
        '--run-service-proxy=false',
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        // its health server would listen on every interface; readiness is its chains (netpolReady)
        '--health-port=0',
        '--metrics-port=0',
        '--v=1',
      ],
    },
    { component: 'dns', binary: selfCommand[0] as string, args: [...selfCommand.slice(1), 'dns', `--root=${layout.root}`] },
    { component: 'api-proxy', binary: selfCommand[0] as string, args: [...selfCommand.slice(1), 'api-proxy', `--root=${layout.root}`] },
  ];
}

/** The API server's extra flags when a real kubelet serves logs and exec. */
export function apiserverKubeletArgs(layout: ClusterLayout): string[] {
  const pki = (file: string) => join(layout.pkiDir, file);
  return [
    `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`,
    `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
    `--kubelet-certificate-authority=${pki('ca.crt')}`,
    '--kubelet-preferred-address-types=InternalIP',
  ];
}

// --- the host: bridge, forwarding, isolation ---------------------------------------------------

/**
 * Commands that prepare the host (run in order by `up`) and undo it (by `down`, errors ignored).
 * The bridge exists before the first pod, so the kubelet and the DNS server can bind its address.
 * Forwarding is needed for Service traffic (DNAT on the node, back onto the bridge); the isolation
 * chain drops everything forwarded between the bridge and any other interface.
 */
export function hostSetupCommands(): string[][] {
  return [
    ['ip', 'link', 'add', BRIDGE, 'type', 'bridge'],
    ['ip', 'addr', 'add', `${GATEWAY_IP}/24`, 'dev', BRIDGE],
    ['ip', 'link', 'set', BRIDGE, 'up'],
    ['iptables', '-w', '-N', ISOLATION_CHAIN],
    ['iptables', '-w', '-A', ISOLATION_CHAIN, '-i', BRIDGE, '-o', BRIDGE, '-j', 'RETURN'],
    ['iptables', '-w', '-A', ISOLATION_CHAIN, '-i', BRIDGE, '-j', 'DROP'],
    ['iptables', '-w', '-A', ISOLATION_CHAIN, '-o', BRIDGE, '-j', 'DROP'],
    ['iptables', '-w', '-I', 'FORWARD', '1', '-j', ISOLATION_CHAIN],
    // The node's services bind the bridge address: pods reach only what they need on the node (replies to
    // the node's own connections, the API forwarder, the cluster DNS for the kube-dns relay); the rest is
    // dropped. In the mangle table's INPUT (after DNAT, before filter): kube-router keeps its own jump first
    // in filter INPUT and ACCEPTs there whatever the policies admit, so a filter rule of ours would come too late.
    ['iptables', '-w', '-t', 'mangle', '-N', INPUT_CHAIN],
    ['iptables', '-w', '-t', 'mangle', '-A', INPUT_CHAIN, '-i', BRIDGE, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'RETURN'],
    ['iptables', '-w', '-t', 'mangle', '-A', INPUT_CHAIN, '-i', BRIDGE, '-d', GATEWAY_IP, '-p', 'tcp', '--dport', String(API_PROXY_PORT), '-j', 'RETURN'],
    ['iptables', '-w', '-t', 'mangle', '-A', INPUT_CHAIN, '-i', BRIDGE, '-d', GATEWAY_IP, '-p', 'udp', '--dport', '53', '-j', 'RETURN'],
    ['iptables', '-w', '-t', 'mangle', '-A', INPUT_CHAIN, '-i', BRIDGE, '-j', 'DROP'],
    ['iptables', '-w', '-t', 'mangle', '-I', 'INPUT', '1', '-j', INPUT_CHAIN],
  ];
}

/** Chains of ours in the filter table: the isolation and input chains, kube-router's firewall chains. */
export const OUR_CHAIN_PREFIXES = [ISOLATION_CHAIN, 'KUBE-ROUTER-', 'KUBE-NWPLCY-', 'KUBE-POD-FW-'];
/** ipsets of ours: kube-router's policy peer sets. */
export const OUR_IPSET_PREFIXES = ['KUBE-SRC-', 'KUBE-DST-', 'inet6:KUBE-SRC-', 'inet6:KUBE-DST-'];
/** Every name a real node puts into the host's netfilter tables (kube-proxy's and the kubelet's included). */
const OUR_NETFILTER_NAME = new RegExp(`(^|[\\s"])(${[ISOLATION_CHAIN, 'KUBE-'].join('|')})`);

const ours = (chain: string) => OUR_CHAIN_PREFIXES.some((p) => chain === p || chain.startsWith(p) || chain.startsWith(`${p}-`));

/**
 * The commands that remove our chains from one table of `iptables-save` output: first every rule
 * (in any chain) that jumps or goes to one of ours, then our chains' rules, then the chains. Nothing
 * else is touched: a foreign rule or chain stays.
 */
export function iptablesCleanupCommands(save: string, tool = 'iptables'): string[][] {
  const commands: string[][] = [];
  let table = 'filter';
  const chains: string[] = [];
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    const chain = /^:(\S+)/.exec(line)?.[1];
    if (chain && ours(chain)) chains.push(`${table}\t${chain}`);
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (!rule) continue;
    const target = /(?:^| )-[jg] (\S+)/.exec(rule[2] as string)?.[1];
    if (target && ours(target) && !ours(rule[1] as string)) {
      commands.push([tool, '-w', '-t', table, '-D', rule[1] as string, ...splitRule(rule[2] as string)]);
    }
  }
  for (const entry of chains) {
    const [t, chain] = entry.split('\t') as [string, string];
    commands.push([tool, '-w', '-t', t, '-F', chain]);
  }
  for (const entry of chains) {
    const [t, chain] = entry.split('\t') as [string, string];
    commands.push([tool, '-w', '-t', t, '-X', chain]);
  }
  return commands;
}

/** An iptables-save rule's arguments (double-quoted words, as iptables-save writes comments). */
export function splitRule(rule: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(rule); m; m = re.exec(rule)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string));
  return words;
}

/** `ipset list -n` names that are ours. */
export function ourIpsets(names: string): string[] {
  return names.split('\n').map((n) => n.trim()).filter((n) => OUR_IPSET_PREFIXES.some((p) => n.startsWith(p)));
}

/**
 * What a real node left on the host (empty when nothing): rules or chains naming ours in iptables-save
 * (both families) or in the nftables ruleset, our ipsets, the bridge, mounts under the data directory.
 */
export function hostLeftovers(dataDir: string): string[] {
  const left: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const out = run([tool], { ignoreErrors: true }).output;
    for (const line of out.split('\n')) if ((line.startsWith(':') || line.startsWith('-A')) && (OUR_NETFILTER_NAME.test(line) || line.includes(BRIDGE))) left.push(`${tool}: ${line}`);
  }
  if (existsSync('/usr/sbin/nft')) {
    const out = run(['nft', 'list', 'ruleset'], { ignoreErrors: true }).output;
    for (const line of out.split('\n')) if (OUR_NETFILTER_NAME.test(line.trim()) || line.includes(BRIDGE)) left.push(`nft: ${line.trim()}`);
  }
  if (existsSync('/usr/sbin/ipset')) for (const set of ourIpsets(run(['ipset', 'list', '-n'], { ignoreErrors: true }).output)) left.push(`ipset ${set}`);
  if (existsSync(`/sys/class/net/${BRIDGE}`)) left.push(`bridge ${BRIDGE}`);
  for (const point of mountPoints(dataDir)) left.push(`mount ${point}`);
  return left;
}

export function hostTeardownCommands(): string[][] {
  // The kubelet's own chains (kube-proxy --cleanup leaves them), in both address families.
  const kubelet = ['iptables', 'ip6tables'].flatMap((tool) => [
    [tool, '-w', '-D', 'INPUT', '-j', 'KUBE-FIREWALL'],
    [tool, '-w', '-D', 'OUTPUT', '-j', 'KUBE-FIREWALL'],
    [tool, '-w', '-F', 'KUBE-FIREWALL'],
    [tool, '-w', '-X', 'KUBE-FIREWALL'],
    [tool, '-w', '-X', 'KUBE-KUBELET-CANARY'],
    [tool, '-w', '-t', 'nat', '-X', 'KUBE-KUBELET-CANARY'],
    [tool, '-w', '-t', 'mangle', '-X', 'KUBE-KUBELET-CANARY'],
    [tool, '-w', '-t', 'mangle', '-X', 'KUBE-IPTABLES-HINT'],
  ]);
  return [
    ['iptables', '-w', '-D', 'FORWARD', '-j', ISOLATION_CHAIN],
    ['iptables', '-w', '-F', ISOLATION_CHAIN],
    ['iptables', '-w', '-X', ISOLATION_CHAIN],
    ['iptables', '-w', '-t', 'mangle', '-D', 'INPUT', '-j', INPUT_CHAIN],
    ['iptables', '-w', '-t', 'mangle', '-F', INPUT_CHAIN],
    ['iptables', '-w', '-t', 'mangle', '-X', INPUT_CHAIN],
    ...kubelet,
    ['ip', 'link', 'del', BRIDGE],
  ];
}

/** cgroup v1 hierarchies the kubelet needs (cgroupfs driver). */
export const CGROUP_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'freezer', 'blkio', 'systemd'];

/**
 * What this machine lacks for a real node, each with the exact reason; empty when it has everything.
 * The kwok path needs none of it.
 */
export function realNodeProblems(binDir: string): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not root: the kubelet, containerd and the bridge need uid 0');
  for (const controller of CGROUP_CONTROLLERS) {
    const dir = `/sys/fs/cgroup/${controller}`;
    if (!existsSync(dir)) problems.push(`no cgroup v1 hierarchy ${dir}`);
    else {
      try {
        accessSync(dir, constants.W_OK);
      } catch {
        problems.push(`${dir} is not writable`);
      }
    }
  }
  for (const [file, pkg] of [
    ['/usr/bin/containerd', 'containerd'],
    ['/usr/sbin/runc', 'runc'],
    ['/usr/lib/cni/bridge', 'containernetworking-plugins'],
    ['/usr/lib/cni/host-local', 'containernetworking-plugins'],
    ['/usr/sbin/iptables', 'iptables'],
    ['/usr/sbin/ipset', 'ipset'],
  ] as const) {
    if (!existsSync(file)) problems.push(`${file} is missing (apt-get install -y ${pkg})`);
  }
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) problems.push('the br_netfilter kernel module is not loaded (Service traffic between pods on the bridge needs it)');
  else if (readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim() !== '1') problems.push('net.bridge.bridge-nf-call-iptables is 0');
  for (const name of ['kubelet', 'kube-proxy', 'kube-router']) {
    if (!existsSync(join(binDir, name))) problems.push(`${join(binDir, name)} is missing (.ci/install-real-node.sh builds it)`);
  }
  return problems;
}

// --- host operations (impure: `up` and `down` call them) ------------------------------------------

function run(command: string[], options: { ignoreErrors?: boolean; timeoutMs?: number } = {}): { ok: boolean; output: string } {
  const result = spawnSync(command[0] as string, command.slice(1), { encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? result.error.message : ''}`.trim();
  const ok = result.status === 0;
  if (!ok && !options.ignoreErrors) throw new Error(`${command.join(' ')} failed: ${output}`);
  return { ok, output };
}

/** Why a real node cannot start now because another one holds the host's fixed names; undefined when free. */
export function hostInUse(): string | undefined {
  if (!existsSync(`/sys/class/net/${BRIDGE}`)) return undefined;
  return (
    `the bridge ${BRIDGE} exists: another real node runs on this machine (\`npm run cluster -- down\` it, with its --root), ` +
    `or a killed one left it (\`ip link del ${BRIDGE}\`; the next \`up\` removes the node's own iptables chains)`
  );
}

/** Writes the node's configuration files and prepares the host (hostInUse() first); returns what `down` restores. */
export function prepareHost(layout: ClusterLayout, node: RealNodeLayout, ports: RealNodePorts): { ipForward: string } {
  for (const dir of [node.containerdRoot, node.containerdState, node.kubeletRoot, node.podLogs, node.cniConf, node.cniData, node.volumes]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(node.containerdConfig, containerdConfig(node));
  writeFileSync(join(node.cniConf, '10-techshop.conflist'), cniConfig(node));
  writeFileSync(node.kubeletConfig, kubeletConfig(layout, node, ports));
  for (const registry of PULL_BLOCKED_REGISTRIES) {
    mkdirSync(join(node.registryHosts, registry), { recursive: true });
    writeFileSync(join(node.registryHosts, registry, 'hosts.toml'), registryHostsToml(registry));
  }
  // The pods' nameserver and search list come from the kubelet (clusterDNS, clusterDomain); the host adds nothing.
  writeFileSync(node.resolvConf, '# the real node adds no host name servers to its pods\n');
  for (const controller of CGROUP_CONTROLLERS) mkdirSync(`/sys/fs/cgroup/${controller}${CGROUP_ROOT}`, { recursive: true });
  removeOurChains();
  for (const command of hostSetupCommands()) run(command);
  const ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  return { ipForward };
}

const ctr = (node: RealNodeLayout, args: string[], ignoreErrors = false) =>
  run(['ctr', `--address=${node.containerdSocket}`, '--namespace=k8s.io', ...args], { ignoreErrors, timeoutMs: 300_000 });

/** Imports every archive .ci/build-images.sh wrote; returns the references. */
export function importImages(node: RealNodeLayout): string[] {
  const dir = imagesDir();
  const archives = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tar')) : [];
  const refs: string[] = [];
  for (const archive of archives) {
    ctr(node, ['images', 'import', join(dir, archive)]);
    refs.push(readFileSync(join(dir, archive.replace(/\.tar$/, '.ref')), 'utf8').trim());
  }
  return refs;
}

/**
 * Every container of every pod, killed and removed through containerd while it still runs
 * (after the kubelet stopped, before containerd stops): their shims exit with them.
 */
export function removeAllContainers(node: RealNodeLayout): void {
  if (!existsSync(node.containerdSocket)) return;
  const tasks = ctr(node, ['tasks', 'ls', '-q'], true);
  if (!tasks.ok) return;
  const ids = tasks.output.split('\n').filter(Boolean);
  for (const id of ids) ctr(node, ['tasks', 'kill', '--signal=SIGKILL', id], true);
  for (const id of ids) ctr(node, ['tasks', 'delete', '--force', id], true);
  const containers = ctr(node, ['containers', 'ls', '-q'], true);
  for (const id of containers.output.split('\n').filter(Boolean)) ctr(node, ['containers', 'delete', id], true);
}

/** Our chains in every table (both families), then our ipsets (which the chains referenced). */
function removeOurChains(): void {
  for (const [save, tool] of [['iptables-save', 'iptables'], ['ip6tables-save', 'ip6tables']] as const) {
    const out = run([save], { ignoreErrors: true });
    if (out.ok) for (const command of iptablesCleanupCommands(out.output, tool)) run(command, { ignoreErrors: true });
  }
  if (existsSync('/usr/sbin/ipset')) {
    for (const set of ourIpsets(run(['ipset', 'list', '-n'], { ignoreErrors: true }).output)) run(['ipset', 'destroy', set], { ignoreErrors: true });
  }
}

/**
 * Mount points at or under dir, deepest first. /proc/self/mountinfo names a mount by its resolved path, so
 * dir is looked up both as given and through its symlinks (a checkout's .cache behind a symlink).
 */
export function mountPoints(dir: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'), resolve: (p: string) => string = safeRealpath): string[] {
  const real = resolve(dir);
  const points = [...mountsUnder(dir, mountinfo), ...(real === dir ? [] : mountsUnder(real, mountinfo))];
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** realpath of the longest existing ancestor, the rest appended (a directory may already be gone). */
function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const parent = dirname(p);
    return parent === p ? p : join(safeRealpath(parent), basename(p));
  }
}

/** Mount points at or under dir, deepest first (/proc/self/mountinfo, octal escapes decoded; dir taken literally). */
export function mountsUnder(dir: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const decode = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => Boolean(p))
    .map(decode)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Undoes prepareHost and what the node left behind; returns what could not be undone. */
export function teardownHost(layout: ClusterLayout, node: RealNodeLayout, binDir: string, ipForward: string | undefined): string[] {
  const problems: string[] = [];
  // kube-proxy's Service rules and chains.
  if (existsSync(join(binDir, 'kube-proxy'))) run([join(binDir, 'kube-proxy'), '--cleanup'], { ignoreErrors: true });
  for (const command of hostTeardownCommands()) run(command, { ignoreErrors: true });
  // kube-router's chains and ipsets (its --cleanup-config crashes without a kubeconfig), and ours again.
  removeOurChains();
  if (ipForward !== undefined) writeFileSync('/proc/sys/net/ipv4/ip_forward', ipForward);
  for (const point of mountPoints(layout.dataDir)) {
    if (!run(['umount', point], { ignoreErrors: true }).ok) run(['umount', '-l', point], { ignoreErrors: true });
  }
  const left = mountPoints(layout.dataDir);
  if (left.length) problems.push(`still mounted: ${left.join(', ')}`);
  for (const controller of CGROUP_CONTROLLERS) {
    const root = `/sys/fs/cgroup/${controller}${CGROUP_ROOT}`;
    if (!existsSync(root)) continue;
    // rmdir of every cgroup below ours, deepest first (cgroupfs directories cannot be removed recursively).
    const dirs = run(['find', root, '-depth', '-type', 'd'], { ignoreErrors: true }).output.split('\n').filter(Boolean);
    for (const dir of dirs) {
      try {
        rmdirSync(dir);
      } catch (error) {
        problems.push(`cgroup ${dir}: ${(error as Error).message}`);
        break;
      }
    }
  }
  return problems;
}

/** kube-router's firewall is up once it has synced: its FORWARD chain and the default policy chain exist. */
export function netpolReady(): boolean {
  return run(['iptables', '-w', '-S', 'KUBE-ROUTER-FORWARD'], { ignoreErrors: true }).ok && run(['iptables', '-w', '-S', 'KUBE-NWPLCY-DEFAULT'], { ignoreErrors: true }).ok;
}
