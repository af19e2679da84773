#!/usr/bin/env tsx
// A local Kubernetes control plane for trying the charts without a cloud:
//   npm run cluster -- up       build what is missing, start etcd, kube-apiserver,
//                               controller-manager, scheduler, kwok (fake nodes) and a
//                               volume provisioner; write a kubeconfig
//   npm run cluster -- up --real-node
//                               the same control plane with one real node instead of kwok:
//                               containerd, a kubelet, kube-proxy and a cluster DNS server
//                               (scripts/lib/real-node.ts); the pods really run
//   npm run cluster -- status   what runs, with pids, and whether the API answers
//   npm run cluster -- down     stop exactly what `up` started (recorded pids), remove the data
// Everything binds 127.0.0.1. TECHSHOP_CLUSTER_ROOT moves the cluster's files
// (the tests use their own root, so they never touch yours).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CERTIFICATE_AUTHORITIES,
  CERTIFICATES,
  etcdClientTls,
  type CertificateSpec,
  COMPONENTS,
  certificateExtensions,
  certificateSubject,
  clusterLayout,
  componentCommands,
  defaultStorageClass,
  fakeNodes,
  isReleasedVolume,
  kubeBinDir,
  kubeconfigFor,
  kubeVersion,
  volumeForClaim,
  type ClusterLayout,
  type ClusterPorts,
  type ClusterState,
  type ComponentCommand,
  type ProcessRecord,
} from './lib/cluster.ts';
import { createSocket } from 'node:dgram';
import { connect as tcpConnect, createServer as tcpServer } from 'node:net';
import { buildResponse, nameTable, parseQuery } from './lib/cluster-dns.ts';
import {
  DNS_IP,
  GATEWAY_IP,
  NODE_NAME,
  REAL_NODE_CERTIFICATES,
  API_PROXY_PORT,
  apiserverKubeletArgs,
  kubernetesEndpoints,
  kubeDnsObjects,
  NETPOL_IDENTITY,
  netpolRbac,
  netpolReady,
  hostInUse,
  importImages,
  prepareHost,
  realNodeBinDir,
  realNodeCommands,
  realNodeLayout,
  realNodeProblems,
  removeAllContainers,
  teardownHost,
  type RealNodePorts,
} from './lib/real-node.ts';
import { createIfAbsent, credentialsFromFiles, kubeRequest, type KubeCredentials } from './lib/kube-api.ts';
import { provisionBundledKubectl } from './lib/helm.ts';
import { freePort } from './lib/net.ts';
import { imagesDir as imagesDirFor } from './lib/real-node.ts';
import { repoRoot } from './lib/paths.ts';
import { runIfMain, type Stage } from './lib/stage.ts';

const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'kwok-stages.yaml'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClusterError extends Error {}

function readState(layout: ClusterLayout): ClusterState | undefined {
  if (!existsSync(layout.stateFile)) return undefined;
  try {
    return JSON.parse(readFileSync(layout.stateFile, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/** True when pid runs and is still the program we started (not a recycled pid). */
export function isOurProcess(record: ProcessRecord): boolean {
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0');
    // argv[0] for a binary; argv[1] when the kernel ran a script through its interpreter
    return cmdline[0] === record.command || cmdline[1] === record.command;
  } catch {
    return false;
  }
}


function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// --- build -----------------------------------------------------------------------------------

function ensureBinaries(log: (line: string) => void): string {
  const binDir = kubeBinDir();
  const missing = BINARIES.filter((name) => !existsSync(join(binDir, name)));
  if (missing.length) {
    log(`cluster: building ${missing.join(', ')} (.ci/install-kube.sh; a cold build takes 15-25 minutes on 2 cores)`);
    const result = spawnSync('bash', [join(repoRoot, '.ci', 'install-kube.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) throw new ClusterError('cluster: building the control plane failed (see the lines above)');
  }
  return binDir;
}

// --- certificates ---------------------------------------------------------------------------

function openssl(args: string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error) throw new ClusterError(`cluster: openssl is required: ${result.error.message}`);
  if (result.status !== 0) throw new ClusterError(`cluster: openssl ${args[0]} failed: ${result.stderr}`);
}

function writeCertificates(layout: ClusterLayout, extra: CertificateSpec[] = []): void {
  const pki = (file: string) => join(layout.pkiDir, file);
  mkdirSync(layout.pkiDir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of CERTIFICATE_AUTHORITIES) {
    openssl(['req', '-x509', ...ec, '-keyout', pki(`${ca.name}.key`), '-out', pki(`${ca.name}.crt`), '-days', '3650', '-subj', `/CN=${ca.commonName}`]);
  }
  for (const spec of [...CERTIFICATES, ...extra]) {
    const ext = pki(`${spec.name}.ext`);
    const ca = spec.ca ?? 'ca';
    writeFileSync(ext, certificateExtensions(spec));
    openssl(['req', '-new', ...ec, '-keyout', pki(`${spec.name}.key`), '-out', pki(`${spec.name}.csr`), '-subj', certificateSubject(spec)]);
    openssl([
      'x509', '-req', '-in', pki(`${spec.name}.csr`), '-CA', pki(`${ca}.crt`), '-CAkey', pki(`${ca}.key`), '-CAcreateserial',
      '-out', pki(`${spec.name}.crt`), '-days', '825', '-extfile', ext,
    ]);
  }
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', pki('sa.key')]);
  openssl(['pkey', '-in', pki('sa.key'), '-pubout', '-out', pki('sa.pub')]);
}

function writeKubeconfigs(layout: ClusterLayout, server: string): void {
  const pki = (file: string) => join(layout.pkiDir, file);
  const config = (user: string, cert: string) =>
    kubeconfigFor({ server, caFile: pki('ca.crt'), certFile: pki(`${cert}.crt`), keyFile: pki(`${cert}.key`), user });
  writeFileSync(layout.kubeconfig, config('techshop-admin', 'admin'), { mode: 0o600 });
  writeFileSync(join(layout.dataDir, 'controller-manager.kubeconfig'), config('system:kube-controller-manager', 'controller-manager'), { mode: 0o600 });
  writeFileSync(join(layout.dataDir, 'scheduler.kubeconfig'), config('system:kube-scheduler', 'scheduler'), { mode: 0o600 });
}

function writeNodeKubeconfigs(layout: ClusterLayout, server: string): void {
  const pki = (file: string) => join(layout.pkiDir, file);
  const node = realNodeLayout(layout);
  const config = (user: string, cert: string) =>
    kubeconfigFor({ server, caFile: pki('ca.crt'), certFile: pki(`${cert}.crt`), keyFile: pki(`${cert}.key`), user });
  writeFileSync(node.kubeletKubeconfig, config(`system:node:${NODE_NAME}`, 'kubelet'), { mode: 0o600 });
  writeFileSync(node.proxyKubeconfig, config('system:kube-proxy', 'kube-proxy'), { mode: 0o600 });
  writeFileSync(node.netpolKubeconfig, config(NETPOL_IDENTITY, 'kube-router'), { mode: 0o600 });
}

/** The real node's binaries and images: built when missing; the machine's shortcomings named exactly. */
function ensureRealNode(log: (line: string) => void, version: string): string {
  const binDir = realNodeBinDir(version);
  const script = (name: string, what: string) => {
    log(`cluster: ${what} (.ci/${name})`);
    const result = spawnSync('bash', [join(repoRoot, '.ci', name)], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) throw new ClusterError(`cluster: .ci/${name} failed (see the lines above)`);
  };
  if (!['kubelet', 'kube-proxy', 'kube-router'].every((name) => existsSync(join(binDir, name)))) script('install-real-node.sh', 'building the kubelet and kube-proxy');
  if (!existsSync(join(imagesDirFor(), 'pause.tar'))) script('build-images.sh', 'assembling the local images');
  const problems = realNodeProblems(binDir);
  if (problems.length) {
    throw new ClusterError(`cluster: this machine cannot run a real node (the kwok path, without --real-node, still works):\n  ${problems.join('\n  ')}`);
  }
  return binDir;
}

export function adminCredentials(layout: ClusterLayout, state: ClusterState): KubeCredentials {
  const pki = (file: string) => join(layout.pkiDir, file);
  return credentialsFromFiles(`https://127.0.0.1:${state.ports.apiserver}`, { ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') });
}

// --- processes --------------------------------------------------------------------------------

function startProcess(layout: ClusterLayout, command: Omit<ComponentCommand, 'component'> & { component: ProcessRecord['component'] }): ProcessRecord {
  const log = join(layout.logDir, `${command.component}.log`);
  const fd = openSync(log, 'w');
  try {
    const child = spawn(command.binary, command.args, { cwd: repoRoot, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new ClusterError(`cluster: ${command.component} did not start (${command.binary}); log: ${log}`);
    child.unref();
    return { component: command.component, pid: child.pid, command: command.binary, log };
  } finally {
    closeSync(fd);
  }
}

async function stopProcess(record: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isOurProcess(record)) return;
  // Detached: each component leads its own process group; signal the group so helpers go too.
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-record.pid, sig);
    } catch {
      try {
        process.kill(record.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurProcess(record)) return;
    await sleep(100);
  }
  signal('SIGKILL');
  while (isOurProcess(record)) await sleep(50);
}

function probeHttp(url: string, tls?: { ca: string; cert: string; key: string }): Promise<number> {
  return new Promise((resolve) => {
    const getter = url.startsWith('https:') ? httpsGet : httpGet;
    // Our own loopback components' self-signed serving certificates: health only, no credentials
    // sent, except to etcd, which answers only a client with a certificate of its CA (and is verified).
    const options = tls
      ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), timeout: 2_000 }
      : { rejectUnauthorized: false, timeout: 2_000 };
    const req = getter(url, options, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

async function waitFor(
  what: string,
  record: ProcessRecord | undefined,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (record && !isOurProcess(record)) {
      throw new ClusterError(`cluster: ${record.component} exited while starting; its log (${record.log}) ends with:\n${logTail(record.log)}`);
    }
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  const where = record ? `; its log (${record.log}) ends with:\n${logTail(record.log)}` : '';
  throw new ClusterError(`cluster: ${what} not ready after ${Math.round(timeoutMs / 1000)} s${where}`);
}

function healthUrl(component: string, ports: ClusterPorts): string | undefined {
  switch (component) {
    case 'etcd':
      return `https://127.0.0.1:${ports.etcdClient}/health`;
    case 'kube-controller-manager':
      return `https://127.0.0.1:${ports.controllerManager}/healthz`;
    case 'kube-scheduler':
      return `https://127.0.0.1:${ports.scheduler}/healthz`;
    case 'kwok':
      return `http://127.0.0.1:${ports.kwok}/healthz`;
    default:
      return undefined;
  }
}

// --- up / down / status -----------------------------------------------------------------------------

export interface UpResult {
  state: ClusterState;
  alreadyRunning: boolean;
}

async function bootstrapObjects(credentials: KubeCredentials, realNode: boolean): Promise<void> {
  await createIfAbsent(credentials, '/apis/storage.k8s.io/v1/storageclasses', defaultStorageClass());
  if (!realNode) for (const node of fakeNodes()) await createIfAbsent(credentials, '/api/v1/nodes', node);
}

async function nodesReady(credentials: KubeCredentials): Promise<{ ready: number; total: number }> {
  const res = await kubeRequest(credentials, 'GET', '/api/v1/nodes');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const items: any[] = res.body?.items ?? [];
  const ready = items.filter((n) => n.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
  return { ready: ready.length, total: items.length };
}

export async function clusterUp(layout: ClusterLayout, log: (line: string) => void, options: { realNode?: boolean } = {}): Promise<UpResult> {
  const realNode = options.realNode ?? false;
  const existing = readState(layout);
  if (existing) {
    const alive = existing.processes.filter(isOurProcess);
    if (alive.length === existing.processes.length) {
      if (Boolean(existing.realNode) !== realNode) {
        throw new ClusterError(`cluster: already running ${existing.realNode ? 'with' : 'without'} a real node; run \`npm run cluster -- down\` first`);
      }
      return { state: existing, alreadyRunning: true };
    }
    log(`cluster: a previous cluster is partly gone (${existing.processes.length - alive.length} of ${existing.processes.length} processes exited); stopping the rest and starting anew`);
    await clusterDown(layout, () => {});
  }
  const binDir = ensureBinaries(log);
  const nodeBinDir = realNode ? ensureRealNode(log, kubeVersion()) : '';
  const started = performance.now();
  rmSync(layout.dataDir, { recursive: true, force: true });
  mkdirSync(layout.dataDir, { recursive: true });
  mkdirSync(layout.logDir, { recursive: true });
  writeCertificates(layout, realNode ? REAL_NODE_CERTIFICATES : []);

  const ports: ClusterPorts = {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiserver: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
    kwok: await freePort(),
  };
  writeKubeconfigs(layout, `https://127.0.0.1:${ports.apiserver}`);
  const self = fileURLToPath(import.meta.url);
  const selfCommand = [process.execPath, '--import', 'tsx', self];
  let commands: { component: ProcessRecord['component']; binary: string; args: string[] }[] = componentCommands(layout, ports, binDir, selfCommand);
  const state: ClusterState = { version: kubeVersion(), ports, startedAt: new Date().toISOString(), processes: [] };
  const saveState = () => writeFileSync(layout.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  const node = realNodeLayout(layout);
  if (realNode) {
    writeNodeKubeconfigs(layout, `https://127.0.0.1:${ports.apiserver}`);
    const nodePorts: RealNodePorts = { kubelet: await freePort(), kubeletHealthz: await freePort(), proxyHealthz: await freePort(), proxyMetrics: await freePort() };
    // Recorded before the host is touched, so a failure anywhere below is undone by `down`.
    state.realNode = { ports: nodePorts, ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() };
    saveState();
    commands = [
      ...commands
        .filter((c) => c.component !== 'kwok')
        .map((c) => {
          if (c.component === 'kube-apiserver') return { ...c, args: [...c.args, ...apiserverKubeletArgs(layout)] };
          // The provisioner's volumes hold real data: under the cluster's root, writable by the pods' users.
          if (c.component === 'provisioner') return { ...c, args: [...c.args, `--volumes=${node.volumes}`] };
          return c;
        }),
      ...realNodeCommands(layout, node, nodePorts, nodeBinDir, selfCommand),
    ];
  }

  try {
    if (realNode) {
      const inUse = hostInUse();
      if (inUse) {
        // Nothing of ours is on the host: `down` must not remove another node's bridge.
        state.realNode = undefined;
        saveState();
        throw new ClusterError(`cluster: ${inUse}`);
      }
      prepareHost(layout, node, state.realNode!.ports);
    }
    for (const command of commands) {
      const record = startProcess(layout, command);
      state.processes.push(record);
      saveState();
      if (command.component === 'kube-apiserver') {
        const credentials = adminCredentials(layout, state);
        await waitFor('kube-apiserver /readyz', record, async () => (await kubeRequest(credentials, 'GET', '/readyz')).status === 200, 120_000);
        await bootstrapObjects(credentials, realNode);
        if (realNode) {
          await createIfAbsent(credentials, '/api/v1/namespaces/default/endpoints', kubernetesEndpoints());
          const [role, binding] = netpolRbac();
          await createIfAbsent(credentials, '/apis/rbac.authorization.k8s.io/v1/clusterroles', role!);
          await createIfAbsent(credentials, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', binding!);
        }
      } else if (command.component === 'containerd') {
        await waitFor('containerd', record, async () => existsSync(node.containerdSocket), 30_000);
        const refs = importImages(node);
        log(`cluster: imported ${refs.length} local image(s): ${refs.join(' ')}`);
      } else if (command.component === 'kubelet') {
        const url = `http://127.0.0.1:${state.realNode!.ports.kubeletHealthz}/healthz`;
        await waitFor(`kubelet ${url}`, record, async () => (await probeHttp(url)) === 200, 120_000);
      } else if (command.component === 'netpol') {
        await waitFor('kube-router\'s firewall chains (KUBE-ROUTER-FORWARD, KUBE-NWPLCY-DEFAULT)', record, async () => netpolReady(), 120_000);
      } else if (command.component === 'kube-proxy') {
        const url = `http://127.0.0.1:${state.realNode!.ports.proxyHealthz}/healthz`;
        await waitFor(`kube-proxy ${url}`, record, async () => (await probeHttp(url)) === 200, 60_000);
      } else {
        const url = healthUrl(command.component, ports);
        const tls = command.component === 'etcd' ? etcdClientTls(layout) : undefined;
        if (url) await waitFor(`${command.component} ${url}`, record, async () => (await probeHttp(url, tls)) === 200, 60_000);
      }
      log(`cluster: ${command.component} up (pid ${record.pid})`);
    }
    const credentials = adminCredentials(layout, state);
    const kwok = state.processes.find((p) => p.component === (realNode ? 'kubelet' : 'kwok'));
    await waitFor(realNode ? `the real node ${NODE_NAME}` : 'the fake nodes (kwok)', kwok, async () => {
      const { ready, total } = await nodesReady(credentials);
      return total > 0 && ready === total;
    }, 60_000);
    if (realNode) {
      // The pods' nameserver: the kube-dns pod (a relay to the node's DNS server), as the charts' policies expect.
      for (const { path, object } of kubeDnsObjects()) await createIfAbsent(credentials, path, object);
      const kubelet = state.processes.find((p) => p.component === 'kubelet');
      await waitFor('the kube-dns pod Ready', kubelet, async () => {
        const pod = (await kubeRequest(credentials, 'GET', '/api/v1/namespaces/kube-system/pods/kube-dns')).body;
        return Boolean(pod?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
      }, 120_000);
    }
    // The controller-manager's service-account controller gives every namespace its `default` ServiceAccount.
    const manager = state.processes.find((p) => p.component === 'kube-controller-manager');
    await waitFor('the default ServiceAccount', manager, async () =>
      (await kubeRequest(credentials, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, 60_000);
  } catch (error) {
    await clusterDown(layout, () => {});
    throw error;
  }
  log(`cluster: Kubernetes v${state.version} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { state, alreadyRunning: false };
}

export async function clusterDown(layout: ClusterLayout, log: (line: string) => void): Promise<boolean> {
  const state = readState(layout);
  if (!state) {
    rmSync(layout.dataDir, { recursive: true, force: true });
    return false;
  }
  const node = realNodeLayout(layout);
  for (const record of [...state.processes].reverse()) {
    // The pods' containers outlive containerd (their shims are not its children): removed through it first.
    if (record.component === 'containerd') removeAllContainers(node);
    const wasRunning = isOurProcess(record);
    await stopProcess(record);
    log(`cluster: ${record.component} ${wasRunning ? 'stopped' : 'was not running'} (pid ${record.pid})`);
  }
  if (state.realNode) {
    const problems = teardownHost(layout, node, realNodeBinDir(state.version), state.realNode.ipForward);
    if (problems.length) {
      // Never rm -r through a mount (a hostPath volume would lose the host's files): keep the data, say why.
      log(`cluster: the real node left things behind; ${layout.dataDir} is kept:\n  ${problems.join('\n  ')}`);
      if (problems.some((p) => p.startsWith('still mounted'))) return true;
    } else log('cluster: real node host state removed (bridge, iptables rules and ipsets, mounts, cgroups)');
  }
  rmSync(layout.dataDir, { recursive: true, force: true });
  return true;
}

export async function clusterStatus(layout: ClusterLayout): Promise<{ lines: string[]; healthy: boolean }> {
  const state = readState(layout);
  if (!state) return { lines: ['cluster: not running'], healthy: false };
  const lines: string[] = [];
  let healthy = true;
  for (const record of state.processes) {
    const alive = isOurProcess(record);
    healthy &&= alive;
    lines.push(`${record.component.padEnd(24)} ${alive ? 'running' : 'EXITED '}  pid ${record.pid}  log ${record.log}`);
  }
  try {
    const credentials = adminCredentials(layout, state);
    const ready = (await kubeRequest(credentials, 'GET', '/readyz')).status === 200;
    const nodes = await nodesReady(credentials);
    healthy &&= ready && nodes.ready === nodes.total;
    lines.push(`API server https://127.0.0.1:${state.ports.apiserver} ${ready ? 'ready' : 'NOT READY'}; nodes ${nodes.ready}/${nodes.total} Ready`);
  } catch (error) {
    healthy = false;
    lines.push(`API server https://127.0.0.1:${state.ports.apiserver} unreachable: ${(error as Error).message}`);
  }
  lines.push(`export KUBECONFIG=${layout.kubeconfig}`);
  return { lines, healthy };
}

// --- the fake volume provisioner (a process `up` starts) -------------------------------------------

/**
 * Runs `tick` every `intervalMs` for a helper process of the cluster. Stops by itself when
 * `down` removed the data, or the API server is gone for two minutes; a failed tick is
 * reported under `name` and retried.
 */
async function whileClusterLives(layout: ClusterLayout, name: string, intervalMs: number, tick: (credentials: KubeCredentials) => Promise<void>): Promise<void> {
  let lastContact = Date.now();
  while (existsSync(layout.stateFile) && Date.now() - lastContact < 120_000) {
    try {
      const state = readState(layout);
      if (!state) break;
      await tick(adminCredentials(layout, state));
      lastContact = Date.now();
    } catch (error) {
      process.stderr.write(`${name}: ${(error as Error).message}\n`);
    }
    await sleep(intervalMs);
  }
}

async function provisionLoop(root: string, volumesDir?: string): Promise<void> {
  await whileClusterLives(clusterLayout(root), 'provisioner', 500, async (credentials) => {
    const classes = new Map<string, string>();
    const scs = await kubeRequest(credentials, 'GET', '/apis/storage.k8s.io/v1/storageclasses');
    for (const sc of scs.body?.items ?? []) classes.set(sc.metadata.name, sc.provisioner);
    const claims = await kubeRequest(credentials, 'GET', '/api/v1/persistentvolumeclaims');
    for (const claim of claims.body?.items ?? []) {
      const volume = volumesDir ? volumeForClaim(claim, classes, volumesDir) : volumeForClaim(claim, classes);
      if (volume && volumesDir) {
        // A real kubelet mounts it: the directory exists, writable by whichever user the pod runs as.
        const dir = join(volumesDir, claim.metadata.uid);
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o777);
      }
      if (volume) await createIfAbsent(credentials, '/api/v1/persistentvolumes', volume);
    }
    const volumes = await kubeRequest(credentials, 'GET', '/api/v1/persistentvolumes');
    for (const volume of volumes.body?.items ?? []) {
      if (isReleasedVolume(volume)) await kubeRequest(credentials, 'DELETE', `/api/v1/persistentvolumes/${volume.metadata.name}`);
    }
  });
}

// --- the real node's cluster DNS (a process `up --real-node` starts) ------------------------------------

async function dnsLoop(root: string): Promise<void> {
  const layout = clusterLayout(root);
  let table = new Map<string, string[]>();
  const socket = createSocket('udp4');
  socket.on('message', (message, peer) => {
    const question = parseQuery(message);
    const response = buildResponse(message, question, question ? table.get(question.name) : undefined);
    socket.send(response, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, DNS_IP, () => resolve());
  });
  process.stdout.write(`dns: serving the cluster's names on ${DNS_IP}:53 (node ${GATEWAY_IP})\n`);
  await whileClusterLives(layout, 'dns', 1000, async (credentials) => {
    const services = await kubeRequest(credentials, 'GET', '/api/v1/services');
    const slices = await kubeRequest(credentials, 'GET', '/apis/discovery.k8s.io/v1/endpointslices');
    table = nameTable(services.body?.items ?? [], slices.body?.items ?? []);
  });
  socket.close();
}

/** Forwards API_PROXY_PORT on the node's bridge address to the API server on 127.0.0.1 (bytes only: TLS is end to end). */
async function apiProxy(root: string): Promise<void> {
  const layout = clusterLayout(root);
  const state = readState(layout);
  if (!state) throw new ClusterError('api-proxy: no cluster state');
  const server = tcpServer((client) => {
    const upstream = tcpConnect({ host: '127.0.0.1', port: state.ports.apiserver });
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(API_PROXY_PORT, GATEWAY_IP, () => resolve());
  });
  process.stdout.write(`api-proxy: ${GATEWAY_IP}:${API_PROXY_PORT} -> 127.0.0.1:${state.ports.apiserver}\n`);
  // Stops by itself when `down` removed the data.
  while (existsSync(layout.stateFile)) await sleep(2000);
  server.close();
}

// --- entry point ------------------------------------------------------------------------------------

export const clusterStage: Stage = async ({ argv, log }) => {
  const { values: options, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { root: { type: 'string' }, 'real-node': { type: 'boolean' }, volumes: { type: 'string' } },
  });
  const layout = clusterLayout(options.root);
  const verb = positionals[0];
  try {
    switch (verb) {
      case 'up': {
        const { state, alreadyRunning } = await clusterUp(layout, log, { realNode: options['real-node'] });
        if (alreadyRunning) log(`cluster: already running (Kubernetes v${state.version}, API server https://127.0.0.1:${state.ports.apiserver})`);
        log(`export KUBECONFIG=${layout.kubeconfig}`);
        log(`kubectl: ${provisionBundledKubectl()}`);
        return 0;
      }
      case 'down': {
        const wasUp = await clusterDown(layout, log);
        log(wasUp ? 'cluster: down' : 'cluster: not running');
        return 0;
      }
      case 'status': {
        const { lines, healthy } = await clusterStatus(layout);
        for (const line of lines) log(line);
        return healthy ? 0 : 1;
      }
      case 'provision':
        await provisionLoop(layout.root, options.volumes);
        return 0;
      case 'dns':
        await dnsLoop(layout.root);
        return 0;
      case 'api-proxy':
        await apiProxy(layout.root);
        return 0;
      default:
        log('usage: npm run cluster -- up [--real-node] | down | status');
        return 2;
    }
  } catch (error) {
    if (error instanceof ClusterError) {
      log(error.message);
      return 1;
    }
    throw error;
  }
};

export { COMPONENTS };

await runIfMain(import.meta.url, clusterStage);
