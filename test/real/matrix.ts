// The NetworkPolicy probe matrix on the real node (kube-router's firewall enforcing).
//
// Expected verdicts come from the flow table (charts/common/templates/_flows.tpl, each chart's
// "<chart>.flows"): the release rendered once more with the mesh on gives the table as
// AuthorizationPolicies (scripts/lib/mesh-flows.ts reads them back), independent of the
// NetworkPolicies that really run. For every source (each running pod of the release, an outsider
// pod in a namespace of its own, a pod shaped like the ingress controller in `ingress-nginx`, the
// node) and every destination (each Service port of the release, resolved to the pod port the flow
// names), a real TCP connection must succeed exactly when the table admits the flow. The node is
// always admitted (NetworkPolicy: traffic from the pod's own node is always allowed).
//
// The probes run in an ephemeral container (techshop.local/probe, tools/real-node/probe) added to
// the source pod itself: it shares that pod's network namespace, so it has exactly the pod's address,
// labels, namespace and service account. A timeout counts as refused only because the same pair was
// open in the positive control (every policy of the namespace removed) just before.
import { connect } from 'node:net';
import { authorizationPolicyFlows, type Flow } from '../../scripts/lib/mesh-flows.ts';
import { selectorMatches } from '../../scripts/lib/policy.ts';
import type { K8sObject } from '../../scripts/lib/render.ts';
import { GATEWAY_IP, KUBE_DNS_IP } from '../../scripts/lib/real-node.ts';
import { kubectl, kubectlJson, kubectlOk, waitUntil } from '../helpers/cluster.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface Source {
  /** `<namespace>/<pod>` or `node` */
  name: string;
  namespace?: string;
  pod?: string;
  /** the release component (app.kubernetes.io/component), for release pods */
  component?: string;
  labels?: Record<string, string>;
  ip: string;
}

/**
 * Whether the policies let a pod with these labels ask the cluster DNS: no policy restricts its egress,
 * or one admits UDP 53 towards the kube-dns pods.
 */
export function dnsAllowed(policies: Json[], labels: Record<string, string>): boolean {
  const selecting = policies.filter((p) => (p.spec.policyTypes ?? []).includes('Egress') && selectorMatches(p.spec.podSelector, labels));
  if (!selecting.length) return true;
  return selecting.some((p) =>
    (p.spec.egress ?? []).some((rule: Json) =>
      (rule.to ?? []).some((peer: Json) => peer.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns') &&
      (!rule.ports || rule.ports.some((port: Json) => (port.protocol ?? 'TCP') === 'UDP' && Number(port.port) === 53)),
    ),
  );
}

export interface Target {
  /** `<service>:<port>` (a headless Service: `<service>:<port>@<pod>`) */
  name: string;
  address: string;
  /** the destination pods' component and the pod port the flow table names */
  component: string;
  podPort: number;
  /** the pods behind it (namespace/name and address) */
  backends: { pod: string; ip: string }[];
}

/**
 * Where a source connects for a target. A pod never probes itself: through its own Service kube-proxy
 * masquerades the hairpin to the node's address (which every policy admits) and a load-balanced
 * Service would pick itself or another backend at random. So a source that backs the target connects
 * to another backend's pod address on the pod port instead, and to nothing when it is the only one.
 */
export function addressFor(source: Source, target: Target): string | undefined {
  const self = target.backends.find((b) => b.pod === source.name);
  if (!self) return target.address;
  const other = target.backends.find((b) => b.pod !== source.name);
  return other ? `${other.ip}:${target.podPort}` : undefined;
}

export type Verdict = 'open' | 'closed';

/** The outsiders: a plain pod in a namespace of its own, and one shaped like the ingress controller. */
export const OUTSIDERS = [
  { namespace: 'real-outsider', labels: { app: 'outsider' } },
  { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
] as const;

/** The mesh identity (service account) of each component, from the mesh render (`shop-<component>`). */
export function meshAccounts(meshRender: K8sObject[]): Map<string, string> {
  const accounts = new Map<string, string>();
  for (const o of meshRender) {
    const template = o.spec?.template ?? o.spec?.jobTemplate?.spec?.template;
    const component = template?.metadata?.labels?.['app.kubernetes.io/component'];
    if (component && template.spec?.serviceAccountName) accounts.set(component, template.spec.serviceAccountName);
  }
  return accounts;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const n = (a: string) => a.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return ((n(ip) & mask) >>> 0) === ((n(base) & mask) >>> 0);
}

/** Whether the flow table admits source → target (the node always). */
export function expected(source: Source, target: Target, flows: Flow[], accounts: Map<string, string>, releaseNamespace: string): Verdict {
  if (!source.pod) return 'open';
  const destination = accounts.get(target.component);
  const identity = source.component && source.namespace === releaseNamespace ? `sa:${accounts.get(source.component)}` : undefined;
  const admitted = flows.some((f) => {
    if (f.destination !== destination || f.port !== target.podPort) return false;
    if (identity && f.source === identity) return true;
    if (source.namespace !== releaseNamespace && f.source === `ns:${source.namespace}`) return true;
    return f.source.startsWith('ip:') && inCidr(source.ip, f.source.slice(3));
  });
  return admitted ? 'open' : 'closed';
}

/** The flow table of a release, from its render with the mesh on. */
export function flowTable(meshRender: K8sObject[], namespace: string): { flows: Flow[]; accounts: Map<string, string> } {
  return { flows: authorizationPolicyFlows(meshRender, namespace), accounts: meshAccounts(meshRender) };
}

/** Every Service port of the release as targets (the pod port by number or by the pods' port name). */
export function targetsOf(services: Json[], pods: Json[]): { targets: Target[]; unbacked: string[] } {
  const targets: Target[] = [];
  const unbacked: string[] = [];
  for (const svc of services) {
    const backing = pods.filter((p) => svc.spec.selector && selectorMatches({ matchLabels: svc.spec.selector }, p.metadata.labels ?? {}) && p.status?.podIP);
    for (const port of svc.spec.ports ?? []) {
      if ((port.protocol ?? 'TCP') !== 'TCP') continue;
      const name = `${svc.metadata.name}:${port.port}`;
      if (!backing.length) {
        unbacked.push(name);
        continue;
      }
      const component = backing[0].metadata.labels['app.kubernetes.io/component'];
      const resolve = (pod: Json): number => {
        const tp = port.targetPort ?? port.port;
        if (typeof tp === 'number') return tp;
        for (const c of pod.spec.containers) for (const cp of c.ports ?? []) if (cp.name === tp) return cp.containerPort;
        throw new Error(`${name}: no container port named ${tp} in ${pod.metadata.name}`);
      };
      const backend = (pod: Json) => ({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, ip: pod.status.podIP as string });
      if (svc.spec.clusterIP === 'None') {
        for (const pod of backing) {
          targets.push({ name: `${name}@${pod.metadata.name}`, address: `${pod.status.podIP}:${resolve(pod)}`, component, podPort: resolve(pod), backends: [backend(pod)] });
        }
      } else {
        targets.push({ name, address: `${svc.spec.clusterIP}:${port.port}`, component, podPort: resolve(backing[0]), backends: backing.map(backend) });
      }
    }
  }
  return { targets, unbacked };
}

// --- probing ------------------------------------------------------------------------------------

let round = 0;

/** Runs the prober in an ephemeral container of the pod; its output, one line per target. */
async function probeFromPod(namespace: string, pod: string, args: string[]): Promise<Map<string, string>> {
  round += 1;
  const container = `probe-${Date.now().toString(36)}-${round}`;
  await kubectlOk([
    '-n', namespace, 'debug', pod, '--image=techshop.local/probe:1', '--image-pull-policy=Never', '--profile=restricted',
    `--container=${container}`, '--', '/probe', '-timeout', '3s', ...args,
  ]);
  await waitUntil(`${namespace}/${pod} ${container} done`, async () => {
    const p = await kubectlJson(['-n', namespace, 'get', 'pod', pod]);
    const status = (p.status.ephemeralContainerStatuses ?? []).find((s: Json) => s.name === container);
    return Boolean(status?.state?.terminated);
  }, 120_000);
  const out = await kubectlOk(['-n', namespace, 'logs', pod, '-c', container]);
  const results = new Map<string, string>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [target, ...rest] = line.split(' ');
    results.set(target as string, rest.join(' '));
  }
  return results;
}

function probeFromNode(address: string): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port), timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : `error ${e.code}`));
  });
}

/**
 * One round: every source probes every target at once. result[source][target name] = raw outcome
 * ("self" when the source is the target's only backend: not probed); extras under their own key.
 */
export async function probeAll(sources: Source[], targets: Target[], extra: (s: Source) => string[] = () => []): Promise<Map<string, Map<string, string>>> {
  const all = new Map<string, Map<string, string>>();
  await Promise.all(
    sources.map(async (source) => {
      const addresses = new Map(targets.map((t) => [t.name, addressFor(source, t)] as const));
      let raw: Map<string, string>;
      if (!source.pod) {
        raw = new Map();
        await Promise.all([...addresses.values()].filter((a): a is string => Boolean(a)).map(async (a) => raw.set(`tcp:${a}`, await probeFromNode(a))));
      } else {
        const args = [...new Set([...addresses.values()].filter((a): a is string => Boolean(a)).map((a) => `tcp:${a}`)), ...extra(source)];
        raw = await probeFromPod(source.namespace!, source.pod, args);
      }
      const m = new Map<string, string>();
      for (const [name, address] of addresses) m.set(name, address ? (raw.get(`tcp:${address}`) ?? 'missing') : 'self');
      for (const e of extra(source)) m.set(e, raw.get(e) ?? 'missing');
      all.set(source.name, m);
    }),
  );
  return all;
}

export const isOpen = (raw: string | undefined): boolean => Boolean(raw?.startsWith('open'));

// --- the cluster side -------------------------------------------------------------------------------

/** The outsider pods (pause, restricted), Ready; returns them as sources. */
export async function startOutsiders(): Promise<Source[]> {
  for (const { namespace, labels } of OUTSIDERS) {
    await kubectl(['create', 'namespace', namespace]);
    await kubectl(['label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted', '--overwrite']);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'outsider', namespace, labels },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 65535, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: 'pause', image: 'registry.k8s.io/pause:3.10.1', imagePullPolicy: 'Never',
          resources: { requests: { cpu: '5m', memory: '8Mi' }, limits: { memory: '16Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        }],
      },
    };
    await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
  }
  const sources: Source[] = [];
  for (const { namespace } of OUTSIDERS) {
    await kubectlOk(['-n', namespace, 'wait', '--for=condition=Ready', 'pod/outsider', '--timeout=120s']);
    const pod = await kubectlJson(['-n', namespace, 'get', 'pod', 'outsider']);
    sources.push({ name: `${namespace}/outsider`, namespace, pod: 'outsider', ip: pod.status.podIP });
  }
  return sources;
}

export async function removeOutsiders(): Promise<void> {
  for (const { namespace } of OUTSIDERS) await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
}

/** The release's running pods as sources, and its Services' ports as targets. */
export async function releaseSourcesAndTargets(namespace: string, release: string): Promise<{ sources: Source[]; targets: Target[]; unbacked: string[] }> {
  const pods = ((await kubectlJson(['-n', namespace, 'get', 'pods', '-l', `app.kubernetes.io/instance=${release}`])).items as Json[]).filter(
    (p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp,
  );
  const services = ((await kubectlJson(['-n', namespace, 'get', 'services', '-l', `app.kubernetes.io/instance=${release}`])).items as Json[]);
  const sources = pods.map((p) => ({
    name: `${namespace}/${p.metadata.name}`, namespace, pod: p.metadata.name, component: p.metadata.labels['app.kubernetes.io/component'], labels: p.metadata.labels, ip: p.status.podIP,
  }));
  return { sources, ...targetsOf(services, pods) };
}

/** The namespace's NetworkPolicies, as objects that can be created again. */
export async function savePolicies(namespace: string): Promise<Json[]> {
  const items = (await kubectlJson(['-n', namespace, 'get', 'networkpolicies'])).items as Json[];
  return items.map((p) => {
    const { resourceVersion: _r, uid: _u, creationTimestamp: _c, managedFields: _m, generation: _g, ...metadata } = p.metadata;
    return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec: p.spec };
  });
}

export async function restorePolicies(policies: Json[]): Promise<void> {
  await kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: policies }));
}

/** Waits until kube-router has applied what the API holds: the indicator pair shows the wanted verdict. */
export async function waitForVerdict(source: Source, target: Target, want: Verdict, what: string): Promise<void> {
  await waitUntil(what, async () => {
    const raw = (await probeAll([source], [target])).get(source.name)?.get(target.name);
    return isOpen(raw) === (want === 'open');
  }, 180_000);
}

export interface MatrixReport {
  sources: number;
  targets: number;
  probes: number;
  /** pairs not probed: the source is the target's only backend */
  self: number;
  open: number;
  closed: number;
  /** "<source> -> <target>: expected X, got Y (raw)" */
  unexpected: string[];
  /** pairs not open in the positive control (nothing to judge a timeout against) */
  controlFailures: string[];
  /**
   * DNS: lookups through kube-dns whose outcome differs from what the pod's policies admit (dnsAllowed),
   * and direct queries to the node's DNS server that were answered
   */
  dns: { viaKubeDnsUnexpected: string[]; directAnswered: string[]; allowedPods: number };
  /** pods that reached one of the node's own service ports on the bridge address */
  nodeServicesReached: string[];
  unbacked: string[];
  lines: string[];
}

/**
 * The whole matrix for one release: the positive control (every policy of the namespace removed), the
 * policies back, then every pair against the flow table, plus DNS (only through kube-dns).
 */
export async function runMatrix(options: {
  namespace: string;
  release: string;
  meshRender: K8sObject[];
  outsiders: Source[];
  /** TCP ports the node's own services listen on at its bridge address (the kubelet's): no pod may reach them */
  nodePorts: number[];
  log: (line: string) => void;
}): Promise<MatrixReport> {
  const { namespace, release, log } = options;
  const { flows, accounts } = flowTable(options.meshRender, namespace);
  const { sources: releaseSources, targets, unbacked } = await releaseSourcesAndTargets(namespace, release);
  const node: Source = { name: 'node', ip: GATEWAY_IP };
  const sources = [...releaseSources, ...options.outsiders, node];
  const outsider = options.outsiders[0]!;
  // an indicator pair the table forbids: the outsider to the first release target
  const indicator = targets.find((t) => expected(outsider, t, flows, accounts, namespace) === 'closed');
  if (!indicator) throw new Error('no target the outsider is forbidden to reach: the matrix cannot tell whether the policies apply');

  const policies = await savePolicies(namespace);
  if (!policies.length) throw new Error(`${namespace}: no NetworkPolicies to enforce`);
  await kubectlOk(['-n', namespace, 'delete', 'networkpolicies', '--all']);
  await waitForVerdict(outsider, indicator, 'open', `the policies gone (${outsider.name} -> ${indicator.name} open)`);
  const control = await probeAll(sources, targets);
  const controlFailures: string[] = [];
  for (const s of sources) for (const t of targets) {
    const raw = control.get(s.name)?.get(t.name);
    if (raw !== 'self' && !isOpen(raw)) controlFailures.push(`${s.name} -> ${t.name}: ${raw}`);
  }

  await restorePolicies(policies);
  await waitForVerdict(outsider, indicator, 'closed', `the policies back (${outsider.name} -> ${indicator.name} closed)`);
  const dnsName = `${targets[0]!.name.split(/[:@]/)[0]}.${namespace}.svc.cluster.local`;
  const nodeTargets = options.nodePorts.map((p) => `tcp:${GATEWAY_IP}:${p}`);
  const dnsTargets = (s: Source) => (s.pod ? [...nodeTargets, ...(s.namespace === namespace ? [`dns:${dnsName}@${KUBE_DNS_IP}`, `dns:${dnsName}@${GATEWAY_IP}`] : [])] : []);
  const result = await probeAll(sources, targets, dnsTargets);

  const report: MatrixReport = {
    sources: sources.length, targets: targets.length, probes: 0, self: 0, open: 0, closed: 0,
    unexpected: [], controlFailures, dns: { viaKubeDnsUnexpected: [], directAnswered: [], allowedPods: 0 }, nodeServicesReached: [], unbacked, lines: [],
  };
  for (const s of sources) {
    const got = result.get(s.name)!;
    const row: string[] = [];
    for (const t of targets) {
      const raw = got.get(t.name);
      if (raw === 'self') {
        report.self += 1;
        row.push('-');
        continue;
      }
      const verdict: Verdict = isOpen(raw) ? 'open' : 'closed';
      const want = expected(s, t, flows, accounts, namespace);
      report[verdict] += 1;
      row.push(verdict === 'open' ? 'o' : '.');
      if (verdict !== want) report.unexpected.push(`${s.name} -> ${t.name} (pod port ${t.podPort}): expected ${want}, got ${verdict} (${raw})`);
    }
    report.lines.push(`${row.join('')}  ${s.name}`);
    for (const t of s.pod ? nodeTargets : []) if (got.get(t) !== undefined && got.get(t) !== 'missing' && isOpen(got.get(t))) report.nodeServicesReached.push(`${s.name} -> ${t}`);
    if (s.namespace === namespace) {
      const via = got.get(`dns:${dnsName}@${KUBE_DNS_IP}`);
      const allowed = dnsAllowed(policies, s.labels ?? {});
      if (allowed) report.dns.allowedPods += 1;
      if (isOpen(via) !== allowed) report.dns.viaKubeDnsUnexpected.push(`${s.name}: ${allowed ? 'admitted' : 'not admitted'} by its policies, got ${via}`);
      if (isOpen(got.get(`dns:${dnsName}@${GATEWAY_IP}`))) report.dns.directAnswered.push(s.name);
    }
  }
  report.probes = report.open + report.closed;
  report.lines.unshift(`targets: ${targets.map((t, i) => `${i}=${t.name}`).join(' ')}`);
  log(`[real-node] ${namespace}: probe matrix ${sources.length}×${targets.length} (${report.self} self pairs not probed) = ${report.probes} probes: ${report.open} open, ${report.closed} closed, ${report.unexpected.length} unexpected`);
  return report;
}

/**
 * Enforcement, shown on one pair: with the policies on, a connection the table forbids is refused;
 * once the policies selecting its destination are deleted, the same probe succeeds. The policies are put back.
 */
export async function proveEnforcement(namespace: string, source: Source, target: Target, destinationLabels: Record<string, string>): Promise<{ before: string; after: string }> {
  const policies = await savePolicies(namespace);
  const before = (await probeAll([source], [target])).get(source.name)!.get(target.name)!;
  const selecting = policies.filter((p) => selectorMatches(p.spec.podSelector, destinationLabels));
  for (const p of selecting) await kubectlOk(['-n', namespace, 'delete', 'networkpolicy', p.metadata.name]);
  let after = '';
  await waitUntil(`${source.name} -> ${target.name} open without ${selecting.map((p) => p.metadata.name).join(', ')}`, async () => {
    after = (await probeAll([source], [target])).get(source.name)!.get(target.name)!;
    return isOpen(after);
  }, 180_000);
  await restorePolicies(selecting);
  await waitForVerdict(source, target, 'closed', 'the policies back');
  return { before, after };
}
