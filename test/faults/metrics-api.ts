// The resource metrics API (metrics.k8s.io) for the faults tier: metrics-server
// (sigs.k8s.io/metrics-server, built by .ci/install-kube.sh), scraping kwok's
// simulated kubelet /metrics/resource endpoints (kwok's own Metric resource), so
// the HorizontalPodAutoscaler reads the usage we set through the same API it
// reads in a real cluster. Only the usage numbers are ours: a kwok
// ClusterResourceUsage per namespace.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ClusterLayout, ClusterState } from '../../scripts/lib/cluster.ts';
import { kubeRequest, type KubeCredentials } from '../../scripts/lib/kube-api.ts';
import { repoRoot } from '../../scripts/lib/paths.ts';

/** Namespaces whose pods report a usage, and what each container uses. */
export interface SimulatedUsage {
  namespace: string;
  cpu: string;
  memory: string;
}

/** kwok ClusterResourceUsage objects: every container of every pod in the namespace reports the usage. */
export function usageConfig(usages: SimulatedUsage[]): string {
  return usages
    .map((u) =>
      stringify({
        apiVersion: 'kwok.x-k8s.io/v1alpha1',
        kind: 'ClusterResourceUsage',
        metadata: { name: `usage-${u.namespace}` },
        spec: { selector: { matchNamespaces: [u.namespace] }, usages: [{ usage: { cpu: { value: u.cpu }, memory: { value: u.memory } } }] },
      }),
    )
    .join('---\n');
}

/** kwok serves each fake node's metrics under this path (kwok's Metric resource); metrics-server (>= 0.7) reads it from the node annotation. */
export const RESOURCE_METRICS_PATH_ANNOTATION = 'metrics.k8s.io/resource-metrics-path';
export const resourceMetricsPath = (node: string) => `/metrics/nodes/${node}/metrics/resource`;

export const METRICS_SERVICE = { namespace: 'kube-system', name: 'metrics-server' };

/**
 * Points every fake node's kubelet address at kwok on 127.0.0.1 (the InternalIP
 * kwok gives them, 10.244.0.1, is no address here) and names its metrics path.
 */
export async function pointNodesAtKwok(credentials: KubeCredentials): Promise<number> {
  const nodes = await kubeRequest(credentials, 'GET', '/api/v1/nodes');
  const items: { metadata: { name: string } }[] = nodes.body?.items ?? [];
  const patch = (path: string, body: unknown) =>
    kubeRequest(credentials, 'PATCH', path, body, { contentType: 'application/merge-patch+json' }).then((res) => {
      if (res.status >= 300) throw new Error(`PATCH ${path}: ${res.status} ${res.body?.message ?? res.text}`);
    });
  await Promise.all(
    items.map(async ({ metadata: { name } }) => {
      await patch(`/api/v1/nodes/${name}`, { metadata: { annotations: { [RESOURCE_METRICS_PATH_ANNOTATION]: resourceMetricsPath(name) } } });
      await patch(`/api/v1/nodes/${name}/status`, {
        status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }] },
      });
    }),
  );
  return items.length;
}

function openssl(args: string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr || result.error?.message}`);
}

/** A serving certificate signed by the cluster CA for the name the aggregator checks (<service>.<namespace>.svc). */
function servingCertificate(layout: ClusterLayout): { cert: string; key: string } {
  const pki = (file: string) => join(layout.pkiDir, file);
  const ext = pki('metrics-server.ext');
  const host = `${METRICS_SERVICE.name}.${METRICS_SERVICE.namespace}.svc`;
  writeFileSync(
    ext,
    ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', `subjectAltName=DNS:${host},DNS:localhost,IP:127.0.0.1`, ''].join('\n'),
  );
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', pki('metrics-server.key'), '-out', pki('metrics-server.csr'), '-subj', `/CN=${host}`]);
  openssl(['x509', '-req', '-in', pki('metrics-server.csr'), '-CA', pki('ca.crt'), '-CAkey', pki('ca.key'), '-CAcreateserial', '-out', pki('metrics-server.crt'), '-days', '30', '-extfile', ext]);
  return { cert: pki('metrics-server.crt'), key: pki('metrics-server.key') };
}

/**
 * The front proxy of the aggregation layer, as real control planes have it: a CA of
 * its own and the client certificate the API server presents when it proxies a
 * request to metrics-server, which then trusts the X-Remote-User/Group headers
 * (the HPA controller's identity) and asks the API server's RBAC about them.
 * Written under the cluster's root (not its data directory, which `up` renews),
 * before `up`; the API server's flags are returned.
 */
export function frontProxy(layout: ClusterLayout): string[] {
  const dir = join(layout.root, 'front-proxy');
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '30', '-subj', '/CN=techshop-front-proxy-ca']);
  writeFileSync(file('client.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  openssl(['req', '-new', ...ec, '-keyout', file('client.key'), '-out', file('client.csr'), '-subj', '/CN=front-proxy-client']);
  openssl(['x509', '-req', '-in', file('client.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('client.crt'), '-days', '30', '-extfile', file('client.ext')]);
  return [
    `--requestheader-client-ca-file=${file('ca.crt')}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${file('client.crt')}`,
    `--proxy-client-key-file=${file('client.key')}`,
  ];
}

export function metricsServerArgs(layout: ClusterLayout, state: ClusterState, port: number, tls: { cert: string; key: string }): string[] {
  return [
    `--kubeconfig=${layout.kubeconfig}`,
    `--authentication-kubeconfig=${layout.kubeconfig}`,
    `--authorization-kubeconfig=${layout.kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${tls.cert}`,
    `--tls-private-key-file=${tls.key}`,
    // kwok's simulated kubelets: plain HTTP on kwok's own port, on 127.0.0.1 (pointNodesAtKwok).
    `--kubelet-port=${state.ports.kwok}`,
    '--kubelet-preferred-address-types=InternalIP',
    '--deprecated-kubelet-completely-insecure',
    // The shortest resolution metrics-server allows: a usage change reaches the HPA within ~2 scrapes.
    '--metric-resolution=10s',
    '--kubelet-request-timeout=5s',
    '--v=1',
  ];
}

export function metricsObjects(port: number, caBundle: string): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { ...METRICS_SERVICE },
      // The aggregator resolves an ExternalName Service to https://<externalName>:<port>: metrics-server on loopback.
      spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1beta1.metrics.k8s.io' },
      spec: {
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        groupPriorityMinimum: 100,
        versionPriority: 100,
        service: { ...METRICS_SERVICE, port },
        caBundle: Buffer.from(caBundle).toString('base64'),
      },
    },
  ];
}

/** A process this tier started: stopped by its pid, and only while it still runs the binary we started. */
export interface Started {
  pid: number;
  command: string;
  log: string;
}

export function isRunning(started: Started): boolean {
  try {
    return readFileSync(`/proc/${started.pid}/cmdline`, 'utf8').split('\0')[0] === started.command;
  } catch {
    return false;
  }
}

export async function stopStarted(started: Started): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-started.pid, sig);
    } catch {
      /* gone */
    }
  };
  if (!isRunning(started)) return;
  signal('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isRunning(started) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isRunning(started)) signal('SIGKILL');
}

/** Where the running metrics-server is recorded (inside the data directory `down` removes). */
const recordFile = (layout: ClusterLayout) => join(layout.dataDir, 'metrics-server.json');

/** Stops a metrics-server an interrupted run left behind, by its recorded pid. */
export async function stopRecordedMetricsServer(layout: ClusterLayout): Promise<void> {
  if (!existsSync(recordFile(layout))) return;
  const started = JSON.parse(readFileSync(recordFile(layout), 'utf8')) as Started;
  await stopStarted(started);
  rmSync(recordFile(layout), { force: true });
}

/** Starts metrics-server (detached, its own process group) and registers it as metrics.k8s.io; the record stops it. */
export async function startMetricsServer(
  layout: ClusterLayout,
  state: ClusterState,
  credentials: KubeCredentials,
  binary: string,
  port: number,
): Promise<Started> {
  if (!existsSync(binary)) throw new Error(`metrics-server is not built (${binary}); run bash .ci/install-kube.sh`);
  const tls = servingCertificate(layout);
  const log = join(layout.logDir, 'metrics-server.log');
  const fd = openSync(log, 'w');
  let record: Started;
  try {
    const child = spawn(binary, metricsServerArgs(layout, state, port, tls), { cwd: repoRoot, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`metrics-server did not start; log: ${log}`);
    child.unref();
    record = { pid: child.pid, command: binary, log };
  } finally {
    closeSync(fd);
  }
  writeFileSync(recordFile(layout), `${JSON.stringify(record)}\n`);
  try {
    await register(credentials, port, readFileSync(join(layout.pkiDir, 'ca.crt'), 'utf8'), record);
  } catch (error) {
    await stopStarted(record);
    throw error;
  }
  return record;
}

async function register(credentials: KubeCredentials, port: number, caBundle: string, record: Started): Promise<void> {
  for (const object of metricsObjects(port, caBundle)) {
    const { kind, metadata } = object as { kind: string; metadata: { name: string } };
    const path = kind === 'Service' ? `/api/v1/namespaces/${METRICS_SERVICE.namespace}/services` : '/apis/apiregistration.k8s.io/v1/apiservices';
    // A cluster left running by an interrupted run still names the old port: replaced, not kept.
    await kubeRequest(credentials, 'DELETE', `${path}/${metadata.name}`);
    const res = await kubeRequest(credentials, 'POST', path, object);
    if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${res.body?.message ?? res.text}`);
  }
  // Available once the aggregator reaches it (its status condition) and a list goes through it. The list is
  // empty until pods run: metrics-server drops a node or pod whose usage is zero (the scale test's pods use 1 CPU).
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (!isRunning(record)) throw new Error(`metrics-server exited; its log ${record.log}:\n${readFileSync(record.log, 'utf8').slice(-2000)}`);
    const service = await kubeRequest(credentials, 'GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io').catch(() => undefined);
    const available = (service?.body?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Available' && c.status === 'True');
    const res = await kubeRequest(credentials, 'GET', '/apis/metrics.k8s.io/v1beta1/pods').catch(() => undefined);
    if (available && res?.status === 200 && res.body?.kind === 'PodMetricsList') return;
    if (Date.now() > deadline) {
      throw new Error(`metrics.k8s.io not available after 90 s (last: ${res?.status} ${res?.text.slice(0, 300)}); metrics-server log ${record.log}:\n${readFileSync(record.log, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
