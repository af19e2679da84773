// The local control plane: where its files live, how each component is
// started, the fake nodes, the kubeconfig. Pure functions; scripts/cluster.ts
// runs the processes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, repoRoot } from './paths.ts';
import type { REAL_NODE_COMPONENTS, RealNodePorts } from './real-node.ts';

type RealNodeComponent = (typeof REAL_NODE_COMPONENTS)[number];

/** Kubernetes version of the local control plane (tools/kube/versions). */
export function kubeVersion(root: string = repoRoot): string {
  const text = readFileSync(join(root, 'tools', 'kube', 'versions'), 'utf8');
  const match = /^kubernetes\s+(\d+\.\d+\.\d+)\s*$/m.exec(text);
  if (!match) throw new Error('tools/kube/versions names no "kubernetes x.y.z" line');
  return match[1] as string;
}

/** Where the control-plane binaries are: .cache/kube/v<version>/bin, or TECHSHOP_KUBE_BIN. */
export function kubeBinDir(version: string = kubeVersion()): string {
  return process.env.TECHSHOP_KUBE_BIN || join(cacheDir, 'kube', `v${version}`, 'bin');
}

/** Where one cluster keeps its files. Tests use their own root, so they never touch a user's cluster. */
export interface ClusterLayout {
  root: string;
  /** Removed by `down`: etcd data, certificates, kubeconfigs, the state file. */
  dataDir: string;
  pkiDir: string;
  etcdDir: string;
  /** Kept by `down` (overwritten by the next `up`), for post-mortems. */
  logDir: string;
  stateFile: string;
  kubeconfig: string;
}

export function clusterLayout(root: string = process.env.TECHSHOP_CLUSTER_ROOT || join(cacheDir, 'cluster')): ClusterLayout {
  const dataDir = join(root, 'data');
  return {
    root,
    dataDir,
    pkiDir: join(dataDir, 'pki'),
    etcdDir: join(dataDir, 'etcd'),
    logDir: join(root, 'logs'),
    stateFile: join(dataDir, 'state.json'),
    kubeconfig: join(dataDir, 'kubeconfig'),
  };
}

export interface ClusterPorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

/** Components in start order; `down` stops them in reverse. */
export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'provisioner'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface ProcessRecord {
  component: Component | RealNodeComponent;
  pid: number;
  /** argv[0] as started, to refuse killing a recycled pid that now runs something else. */
  command: string;
  log: string;
}

export interface ClusterState {
  version: string;
  ports: ClusterPorts;
  /** Set by `up --real-node`: the node's ports and what the host had before (restored by `down`). */
  realNode?: { ports: RealNodePorts; ipForward: string };
  startedAt: string;
  processes: ProcessRecord[];
}

// --- certificates ------------------------------------------------------------------------

/** A certificate signed by the cluster CA: file stem, subject, SANs, usage. */
export interface CertificateSpec {
  name: string;
  commonName: string;
  organization?: string;
  altNames?: string[];
  /**
   * server-and-client: both ends of a TLS connection. etcd members dial each
   * other, and etcd's own gRPC gateway dials its client port with the serving certificate.
   */
  usage: 'server' | 'client' | 'server-and-client';
  /** The CA that signs it (file stem in the pki directory): the cluster CA unless named. */
  ca?: string;
}

/**
 * etcd's own CA, apart from the cluster CA: etcd trusts only client
 * certificates this CA signed (the API server's), never the admin's or a
 * controller's, which the cluster CA signs. Whoever holds an etcd client
 * certificate can rewrite every object, RBAC included.
 */
export const ETCD_CA = 'etcd-ca';
/** The CAs `up` makes, each a self-signed certificate with this subject. */
export const CERTIFICATE_AUTHORITIES = [
  { name: 'ca', commonName: 'techshop-local-ca' },
  { name: ETCD_CA, commonName: 'techshop-local-etcd-ca' },
];

export const SERVICE_CIDR = '10.96.0.0/16';
/** The first address of the service range: the `kubernetes` Service's ClusterIP. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

export const CERTIFICATES: CertificateSpec[] = [
  {
    name: 'apiserver',
    commonName: 'kube-apiserver',
    altNames: [
      'IP:127.0.0.1',
      `IP:${KUBERNETES_SERVICE_IP}`,
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
    ],
    usage: 'server',
  },
  { name: 'admin', commonName: 'techshop-admin', organization: 'system:masters', usage: 'client' },
  { name: 'controller-manager', commonName: 'system:kube-controller-manager', usage: 'client' },
  { name: 'scheduler', commonName: 'system:kube-scheduler', usage: 'client' },
  // etcd serves TLS on loopback and asks every client for a certificate of its own CA.
  { name: 'etcd-server', commonName: 'techshop-local-etcd', altNames: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'server-and-client', ca: ETCD_CA },
  { name: 'etcd-peer', commonName: 'techshop-local-etcd', altNames: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'server-and-client', ca: ETCD_CA },
  { name: 'apiserver-etcd-client', commonName: 'kube-apiserver-etcd-client', usage: 'client', ca: ETCD_CA },
];

/** The client certificate, key and CA that reach etcd (the API server's; `up` probes etcd's health with it). */
export function etcdClientTls(layout: ClusterLayout): { ca: string; cert: string; key: string } {
  const pki = (file: string) => join(layout.pkiDir, file);
  return { ca: pki(`${ETCD_CA}.crt`), cert: pki('apiserver-etcd-client.crt'), key: pki('apiserver-etcd-client.key') };
}

/** openssl x509 extensions for one certificate. */
export function certificateExtensions(spec: CertificateSpec): string {
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${{ server: 'serverAuth', client: 'clientAuth', 'server-and-client': 'serverAuth,clientAuth' }[spec.usage]}`,
  ];
  if (spec.altNames?.length) lines.push(`subjectAltName=${spec.altNames.join(',')}`);
  return `${lines.join('\n')}\n`;
}

export function certificateSubject(spec: CertificateSpec): string {
  return `${spec.organization ? `/O=${spec.organization}` : ''}/CN=${spec.commonName}`;
}

// --- kubeconfig --------------------------------------------------------------------------

export function kubeconfigFor(options: { server: string; caFile: string; certFile: string; keyFile: string; user: string }): string {
  // Absolute file paths: the kubeconfig is read by processes started in other directories.
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: techshop-local',
    '    cluster:',
    `      server: ${options.server}`,
    `      certificate-authority: ${options.caFile}`,
    'users:',
    `  - name: ${options.user}`,
    '    user:',
    `      client-certificate: ${options.certFile}`,
    `      client-key: ${options.keyFile}`,
    'contexts:',
    '  - name: techshop-local',
    '    context:',
    '      cluster: techshop-local',
    `      user: ${options.user}`,
    'current-context: techshop-local',
    '',
  ].join('\n');
}

// --- component command lines ---------------------------------------------------------------

export interface ComponentCommand {
  component: Component;
  binary: string;
  args: string[];
}

/** Admission plugins: the defaults plus the ones the issue names explicitly (quota, limits, Pod Security). */
export const ADMISSION_PLUGINS = [
  'NamespaceLifecycle',
  'LimitRanger',
  'ServiceAccount',
  'DefaultStorageClass',
  'DefaultTolerationSeconds',
  'PodSecurity',
  'Priority',
  'PersistentVolumeClaimResize',
  'RuntimeClass',
  'StorageObjectInUseProtection',
  'MutatingAdmissionWebhook',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionWebhook',
  'ResourceQuota',
];

/**
 * Controllers the controller-manager runs: all but node lifecycle, which
 * would flap kwok's fake nodes to NotReady and taint them (kwok's heartbeats
 * are not the kubelet's).
 */
export const CONTROLLERS = ['*', '-node-lifecycle-controller'];

export function componentCommands(layout: ClusterLayout, ports: ClusterPorts, binDir: string, nodeCommand: string[]): ComponentCommand[] {
  const pki = (file: string) => join(layout.pkiDir, file);
  const kubeconfig = (user: string) => join(layout.dataDir, `${user}.kubeconfig`);
  const bin = (name: string) => join(binDir, name);
  // The controller-manager and the scheduler: their API client identity, and a health endpoint on loopback.
  const controllerArgs = (user: string, port: number) => [
    `--kubeconfig=${kubeconfig(user)}`,
    `--authentication-kubeconfig=${kubeconfig(user)}`,
    `--authorization-kubeconfig=${kubeconfig(user)}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(layout.pkiDir, `${user}-serving`)}`,
    '--leader-elect=false',
  ];
  return [
    {
      component: 'etcd',
      binary: bin('etcd'),
      args: [
        '--name=techshop-local',
        `--data-dir=${layout.etcdDir}`,
        // TLS on both listeners, and no client or peer without a certificate of etcd's own CA
        `--listen-client-urls=https://127.0.0.1:${ports.etcdClient}`,
        `--advertise-client-urls=https://127.0.0.1:${ports.etcdClient}`,
        '--client-cert-auth=true',
        `--trusted-ca-file=${pki(`${ETCD_CA}.crt`)}`,
        `--cert-file=${pki('etcd-server.crt')}`,
        `--key-file=${pki('etcd-server.key')}`,
        `--listen-peer-urls=https://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=https://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=techshop-local=https://127.0.0.1:${ports.etcdPeer}`,
        '--peer-client-cert-auth=true',
        `--peer-trusted-ca-file=${pki(`${ETCD_CA}.crt`)}`,
        `--peer-cert-file=${pki('etcd-peer.crt')}`,
        `--peer-key-file=${pki('etcd-peer.key')}`,
        '--listen-metrics-urls=',
        // A throwaway test store: durability is not worth the fsync latency on a busy machine.
        '--unsafe-no-fsync=true',
        '--quota-backend-bytes=2147483648',
        '--log-level=warn',
      ],
    },
    {
      component: 'kube-apiserver',
      binary: bin('kube-apiserver'),
      args: [
        `--etcd-servers=https://127.0.0.1:${ports.etcdClient}`,
        `--etcd-cafile=${pki(`${ETCD_CA}.crt`)}`,
        `--etcd-certfile=${pki('apiserver-etcd-client.crt')}`,
        `--etcd-keyfile=${pki('apiserver-etcd-client.key')}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        // The `kubernetes` Service cannot point at a loopback address; nothing in the cluster dials it.
        '--endpoint-reconciler-type=none',
        `--tls-cert-file=${pki('apiserver.crt')}`,
        `--tls-private-key-file=${pki('apiserver.key')}`,
        `--client-ca-file=${pki('ca.crt')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki('sa.pub')}`,
        `--service-account-signing-key-file=${pki('sa.key')}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--authorization-mode=Node,RBAC',
        `--enable-admission-plugins=${ADMISSION_PLUGINS.join(',')}`,
        // It taints every new node not-ready until the node-lifecycle controller, which we do not run, clears it.
        '--disable-admission-plugins=TaintNodesByCondition',
        '--allow-privileged=false',
        '--profiling=false',
        '--v=1',
        ...extraApiserverArgs(),
      ],
    },
    {
      component: 'kube-controller-manager',
      binary: bin('kube-controller-manager'),
      args: [
        ...controllerArgs('controller-manager', ports.controllerManager),
        `--controllers=${CONTROLLERS.join(',')}`,
        `--service-account-private-key-file=${pki('sa.key')}`,
        `--root-ca-file=${pki('ca.crt')}`,
        '--use-service-account-credentials=true',
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--profiling=false',
        '--v=1',
      ],
    },
    {
      component: 'kube-scheduler',
      binary: bin('kube-scheduler'),
      args: [
        ...controllerArgs('scheduler', ports.scheduler),
        '--profiling=false',
        '--v=1',
      ],
    },
    {
      component: 'kwok',
      binary: bin('kwok'),
      args: [
        `--kubeconfig=${layout.kubeconfig}`,
        // kwok's own "fast" node and pod lifecycles (.ci/install-kube.sh copies them from its module)
        `--config=${join(binDir, 'kwok-stages.yaml')}`,
        ...extraKwokConfigs().map((file) => `--config=${file}`),
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION}=fake`,
        '--cidr=10.244.0.1/16',
        '--node-ip=10.244.0.1',
        '--node-lease-duration-seconds=40',
        `--server-address=127.0.0.1:${ports.kwok}`,
      ],
    },
    {
      component: 'provisioner',
      binary: nodeCommand[0] as string,
      args: [...nodeCommand.slice(1), 'provision', `--root=${layout.root}`],
    },
  ];
}

// --- fake nodes ------------------------------------------------------------------------------

export const FAKE_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const ZONES = ['zone-a', 'zone-b', 'zone-c'];

export interface NodeSize {
  cpu: string;
  memory: string;
  pods: string;
}

/** Two nodes per zone: prod spreads MongoDB, Redis and the app over zones and hosts. */
export const DEFAULT_NODE_SIZE: NodeSize = { cpu: '4', memory: '16Gi', pods: '110' };
export const DEFAULT_FAKE_NODES = 6;

/**
 * How many fake nodes `up` creates: TECHSHOP_FAKE_NODES (the faults tier asks
 * for 3 zones × 10), else 6. Nodes go round-robin over ZONES.
 */
export function fakeNodeCount(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.TECHSHOP_FAKE_NODES;
  if (text === undefined || text === '') return DEFAULT_FAKE_NODES;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1 || count > 500) throw new Error(`TECHSHOP_FAKE_NODES=${text}: a whole number of fake nodes from 1 to 500 is required`);
  return count;
}

/** Extra kwok configuration files (TECHSHOP_KWOK_CONFIG, separated by ":"), e.g. the faults tier's simulated resource metrics. */
export function extraKwokConfigs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.TECHSHOP_KWOK_CONFIG ?? '').split(':').filter(Boolean);
}

/** Extra kube-apiserver flags (TECHSHOP_APISERVER_ARGS, separated by spaces), e.g. the faults tier's front proxy for an aggregated API. */
export function extraApiserverArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.TECHSHOP_APISERVER_ARGS ?? '').split(/\s+/).filter(Boolean);
}

export function fakeNodes(count = fakeNodeCount(), size: NodeSize = DEFAULT_NODE_SIZE): object[] {
  return Array.from({ length: count }, (_, i) => {
    const zone = ZONES[i % ZONES.length] as string;
    const name = `techshop-node-${i + 1}`;
    const resources = { cpu: size.cpu, memory: size.memory, pods: size.pods, 'ephemeral-storage': '100Gi' };
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        annotations: { [FAKE_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/region': 'local',
          'topology.kubernetes.io/zone': zone,
          type: 'kwok',
        },
      },
      spec: {},
      status: { allocatable: resources, capacity: resources },
    };
  });
}

// --- storage -----------------------------------------------------------------------------------

export const PROVISIONER_NAME = 'techshop.local/fake-volumes';
export const STORAGE_CLASS = 'standard';

export function defaultStorageClass(): object {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: PROVISIONER_NAME,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: true,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * The PersistentVolume the fake provisioner creates for a pending claim, or
 * undefined when the claim is not ours to provision. The volume holds no data
 * (no container ever mounts it under kwok).
 */
export function volumeForClaim(claim: Json, classes: Map<string, string>, hostPathRoot = '/var/lib/techshop-fake-volumes'): object | undefined {
  if (claim?.status?.phase !== 'Pending' || claim?.spec?.volumeName) return undefined;
  const className: string | undefined = claim.spec?.storageClassName;
  if (!className || classes.get(className) !== PROVISIONER_NAME) return undefined;
  const uid: string = claim.metadata.uid;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `pvc-${uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER_NAME } },
    spec: {
      capacity: { storage: claim.spec.resources?.requests?.storage ?? '1Gi' },
      accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: className,
      volumeMode: claim.spec.volumeMode ?? 'Filesystem',
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid },
      hostPath: { path: `${hostPathRoot}/${uid}`, type: 'DirectoryOrCreate' },
    },
  };
}

/** Released volumes of ours (their claim is gone): the Delete reclaim policy is ours to carry out. */
export function isReleasedVolume(volume: Json): boolean {
  return volume?.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === PROVISIONER_NAME && volume?.status?.phase === 'Released';
}
