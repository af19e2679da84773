// Pure policy checks over rendered objects (the lint stage, README "lint"):
// Pod Security Standards "restricted" (which includes "baseline") plus our
// house rules, and NetworkPolicy coverage of every pod template.
//
// The PSS checks follow the pod-security-admission controller
// (k8s.io/pod-security-admission/policy, latest policy version), including its
// pod-level vs container-level inheritance. Rule names are the admission's
// check IDs / PSS control names; house rules are prefixed `techshop/` so
// callers can tell them apart (and `level` says which profile a rule is from).
import type { K8sObject } from './render.ts';
import { podSpecOf } from './render.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered objects are untyped YAML */

export type PolicyLevel = 'baseline' | 'restricted' | 'techshop';

export interface Finding {
  /** `Kind/name` of the rendered object that owns the pod template */
  object: string;
  rule: string;
  message: string;
  /** the container the finding is about; absent for pod-level findings */
  container?: string;
  /** where the rule comes from: PSS baseline, PSS restricted, or our house rules */
  level?: PolicyLevel;
}

/** Prefix of rules that are ours, stricter than PSS. */
export const HOUSE_RULE_PREFIX = 'techshop/';

export const PSS_BASELINE_RULES = [
  'hostProcess',
  'hostNamespaces',
  'privileged',
  'capabilities',
  'hostPath',
  'hostPorts',
  'appArmorProfile',
  'seLinuxOptions',
  'procMount',
  'seccompProfile',
  'sysctls',
  'hostProbesAndHostLifecycle',
] as const;

export const PSS_RESTRICTED_RULES = [
  'volumeTypes',
  'allowPrivilegeEscalation',
  'runAsNonRoot',
  'runAsUser',
  'seccompProfile',
  'capabilities',
] as const;

export const HOUSE_RULES = [`${HOUSE_RULE_PREFIX}readOnlyRootFilesystem`] as const;

export const POD_TEMPLATE_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'] as const;

export interface PodTemplate {
  /** `Kind/name` of the owning object */
  object: string;
  source: K8sObject;
  /** metadata.namespace of the owning object (undefined: the release namespace) */
  namespace: string | undefined;
  /** the pod's own metadata: the object's for a Pod, the template's otherwise */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: any;
}

export function objectRef(object: K8sObject): string {
  return `${object.kind}/${object.metadata?.name}`;
}

function podMetadataOf(object: K8sObject): { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined {
  switch (object.kind) {
    case 'Pod':
      return object.metadata;
    case 'CronJob':
      return object.spec?.jobTemplate?.spec?.template?.metadata;
    default:
      return object.spec?.template?.metadata;
  }
}

/** Every pod template among the objects (helm test pods included: they are Pods). */
export function podTemplates(objects: readonly K8sObject[]): PodTemplate[] {
  const templates: PodTemplate[] = [];
  for (const source of objects) {
    if (!(POD_TEMPLATE_KINDS as readonly string[]).includes(source.kind)) continue;
    const spec = podSpecOf(source);
    if (!spec || typeof spec !== 'object') continue;
    const meta = podMetadataOf(source) ?? {};
    templates.push({
      object: objectRef(source),
      source,
      namespace: source.metadata?.namespace,
      labels: meta.labels ?? {},
      annotations: meta.annotations ?? {},
      spec,
    });
  }
  return templates;
}

// ---------------------------------------------------------------------------
// Pod Security Standards
// ---------------------------------------------------------------------------

type ContainerKind = 'containers' | 'initContainers' | 'ephemeralContainers';
const CONTAINER_KINDS: readonly ContainerKind[] = ['containers', 'initContainers', 'ephemeralContainers'];

interface ContainerRef {
  name: string;
  kind: ContainerKind;
  c: any;
  sc: any;
}

function containersOf(spec: any): ContainerRef[] {
  const all: ContainerRef[] = [];
  for (const kind of CONTAINER_KINDS) {
    const list = spec?.[kind];
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!c || typeof c !== 'object') continue;
      all.push({ name: String(c.name ?? '?'), kind, c, sc: c.securityContext ?? undefined });
    }
  }
  return all;
}

/** Capabilities baseline allows adding (the container runtime's default set). */
export const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);

/** The "safe" sysctls baseline allows (PSS, up to policy version 1.32). */
export const ALLOWED_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
]);

/** Volume sources restricted allows; anything else (hostPath, nfs, gitRepo, ...) is forbidden. */
export const RESTRICTED_VOLUME_SOURCES = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret',
]);

const SELINUX_ALLOWED_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const SECCOMP_ALLOWED_TYPES = new Set(['RuntimeDefault', 'Localhost']);
const APPARMOR_ALLOWED_TYPES = new Set(['RuntimeDefault', 'Localhost']);
const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

function where(c: ContainerRef): string {
  return `${c.kind === 'containers' ? 'container' : c.kind.replace(/s$/, '').replace(/C/, ' c')} "${c.name}"`;
}

/** Checks one pod template against PSS restricted (and so baseline) plus house rules. */
export function checkPodTemplate(template: PodTemplate): Finding[] {
  const findings: Finding[] = [];
  const { object, spec } = template;
  const podSc = spec.securityContext ?? {};
  const containers = containersOf(spec);
  // The admission exempts Windows pods from these restricted checks (policy 1.25+).
  const windows = spec.os?.name === 'windows';
  const add = (level: PolicyLevel, rule: string, message: string, c?: ContainerRef): void => {
    findings.push(c ? { object, rule, message: `${where(c)}: ${message}`, container: c.name, level } : { object, rule, message: `pod: ${message}`, level });
  };

  // ---- baseline ----

  // HostProcess
  if (podSc.windowsOptions?.hostProcess === true) add('baseline', 'hostProcess', 'securityContext.windowsOptions.hostProcess must not be true');
  for (const c of containers) {
    if (c.sc?.windowsOptions?.hostProcess === true) add('baseline', 'hostProcess', 'securityContext.windowsOptions.hostProcess must not be true', c);
  }

  // Host Namespaces
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[field] === true) add('baseline', 'hostNamespaces', `${field} must not be true`);
  }

  // Privileged Containers
  for (const c of containers) {
    if (c.sc?.privileged === true) add('baseline', 'privileged', 'securityContext.privileged must not be true', c);
  }

  // Capabilities (baseline: add only from the default set; restricted: drop ALL, add at most NET_BIND_SERVICE)
  for (const c of containers) {
    const caps = c.sc?.capabilities;
    const added: string[] = Array.isArray(caps?.add) ? caps.add.map(String) : [];
    const beyondBaseline = added.filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    const beyondRestricted = added.filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (beyondBaseline.length) {
      add('baseline', 'capabilities', `securityContext.capabilities.add must not include ${beyondBaseline.join(', ')}`, c);
    } else if (beyondRestricted.length && !windows) {
      add('restricted', 'capabilities', `securityContext.capabilities.add may only include NET_BIND_SERVICE, not ${beyondRestricted.join(', ')}`, c);
    }
    const dropped: string[] = Array.isArray(caps?.drop) ? caps.drop.map(String) : [];
    if (!windows && !dropped.includes('ALL')) {
      add('restricted', 'capabilities', 'securityContext.capabilities.drop must include ALL', c);
    }
  }

  // HostPath Volumes, and (restricted) Volume Types
  for (const volume of Array.isArray(spec.volumes) ? spec.volumes : []) {
    const name = String(volume?.name ?? '?');
    const sources = Object.keys(volume ?? {}).filter((k) => k !== 'name');
    if (volume?.hostPath != null) add('baseline', 'hostPath', `volume "${name}" must not be a hostPath volume`);
    // A volume without a source is defaulted to emptyDir by the API server, before admission.
    if (sources.length && !sources.some((s) => RESTRICTED_VOLUME_SOURCES.has(s))) {
      add('restricted', 'volumeTypes', `volume "${name}" has restricted type ${sources.join(', ')}; allowed: ${[...RESTRICTED_VOLUME_SOURCES].join(', ')}`);
    }
  }

  // Host Ports
  for (const c of containers) {
    for (const port of Array.isArray(c.c.ports) ? c.c.ports : []) {
      if (port?.hostPort != null && port.hostPort !== 0) add('baseline', 'hostPorts', `ports must not set hostPort (${port.hostPort})`, c);
    }
  }

  // AppArmor: the profile fields and the deprecated per-container annotations
  if (podSc.appArmorProfile && !APPARMOR_ALLOWED_TYPES.has(podSc.appArmorProfile.type)) {
    add('baseline', 'appArmorProfile', `securityContext.appArmorProfile.type must not be ${podSc.appArmorProfile.type}`);
  }
  for (const c of containers) {
    const profile = c.sc?.appArmorProfile;
    if (profile && !APPARMOR_ALLOWED_TYPES.has(profile.type)) {
      add('baseline', 'appArmorProfile', `securityContext.appArmorProfile.type must not be ${profile.type}`, c);
    }
  }
  for (const [key, value] of Object.entries(template.annotations)) {
    if (!key.startsWith(APPARMOR_ANNOTATION_PREFIX)) continue;
    const v = String(value ?? '');
    if (v === '' || v === 'runtime/default' || v.startsWith('localhost/')) continue;
    const containerName = key.slice(APPARMOR_ANNOTATION_PREFIX.length);
    const c = containers.find((x) => x.name === containerName);
    const message = `annotation ${key}=${JSON.stringify(v)} must be runtime/default or localhost/*`;
    if (c) add('baseline', 'appArmorProfile', message, c);
    else add('baseline', 'appArmorProfile', message);
  }

  // SELinux
  const badSELinux = (opts: any): string | undefined => {
    const problems: string[] = [];
    if (!SELINUX_ALLOWED_TYPES.has(String(opts.type ?? ''))) problems.push(`type ${opts.type}`);
    if (opts.user) problems.push('user');
    if (opts.role) problems.push('role');
    return problems.length ? `securityContext.seLinuxOptions must not set ${problems.join(', ')}` : undefined;
  };
  if (podSc.seLinuxOptions) {
    const problem = badSELinux(podSc.seLinuxOptions);
    if (problem) add('baseline', 'seLinuxOptions', problem);
  }
  for (const c of containers) {
    const problem = c.sc?.seLinuxOptions ? badSELinux(c.sc.seLinuxOptions) : undefined;
    if (problem) add('baseline', 'seLinuxOptions', problem, c);
  }

  // /proc Mount Type
  for (const c of containers) {
    const procMount = c.sc?.procMount;
    if (procMount != null && procMount !== 'Default') add('baseline', 'procMount', `securityContext.procMount must be Default, not ${procMount}`, c);
  }

  // Sysctls
  for (const sysctl of Array.isArray(podSc.sysctls) ? podSc.sysctls : []) {
    if (!ALLOWED_SYSCTLS.has(String(sysctl?.name))) add('baseline', 'sysctls', `securityContext.sysctls must not set ${sysctl?.name}`);
  }

  // Probe and lifecycle handler host field
  for (const c of containers) {
    const hosts: string[] = [];
    for (const probe of [c.c.livenessProbe, c.c.readinessProbe, c.c.startupProbe, c.c.lifecycle?.postStart, c.c.lifecycle?.preStop]) {
      for (const handler of [probe?.httpGet, probe?.tcpSocket]) {
        if (handler?.host) hosts.push(String(handler.host));
      }
    }
    if (hosts.length) add('baseline', 'hostProbesAndHostLifecycle', `probes and lifecycle handlers must not set host (${hosts.join(', ')})`, c);
  }

  // ---- restricted ----

  // Privilege Escalation: explicitly false on every container
  if (!windows) {
    for (const c of containers) {
      if (c.sc?.allowPrivilegeEscalation !== false) {
        add('restricted', 'allowPrivilegeEscalation', `securityContext.allowPrivilegeEscalation must be false (is ${c.sc?.allowPrivilegeEscalation ?? 'unset'})`, c);
      }
    }
  }

  // Running as Non-root: true at pod level (not overridden to false) or on every container
  const podNonRoot = podSc.runAsNonRoot;
  if (podNonRoot === false) add('restricted', 'runAsNonRoot', 'securityContext.runAsNonRoot must not be false');
  for (const c of containers) {
    const own = c.sc?.runAsNonRoot;
    if (own === false) add('restricted', 'runAsNonRoot', 'securityContext.runAsNonRoot must not be false', c);
    else if (own == null && podNonRoot !== true) add('restricted', 'runAsNonRoot', 'securityContext.runAsNonRoot must be true (here or at pod level)', c);
  }

  // Running as Non-root user: runAsUser must not be 0, anywhere
  if (podSc.runAsUser === 0) add('restricted', 'runAsUser', 'securityContext.runAsUser must not be 0');
  for (const c of containers) {
    if (c.sc?.runAsUser === 0) add('restricted', 'runAsUser', 'securityContext.runAsUser must not be 0', c);
  }

  // Seccomp: RuntimeDefault or Localhost at pod level, or on every container.
  // Baseline forbids Unconfined anywhere; restricted (Linux pods only) requires a
  // valid profile. A profile object without a type counts as set but invalid.
  const seccompType = (profile: any): string | undefined => (profile == null ? undefined : String(profile.type ?? ''));
  const seccompFinding = (type: string, c?: ContainerRef): void => {
    if (type === 'Unconfined') add('baseline', 'seccompProfile', 'securityContext.seccompProfile.type must not be Unconfined', c);
    else if (!windows) add('restricted', 'seccompProfile', `securityContext.seccompProfile.type must be RuntimeDefault or Localhost, not ${type || '(empty)'}`, c);
  };
  const podSeccomp = seccompType(podSc.seccompProfile);
  const podSeccompOk = podSeccomp !== undefined && SECCOMP_ALLOWED_TYPES.has(podSeccomp);
  if (podSeccomp !== undefined && !podSeccompOk) seccompFinding(podSeccomp);
  for (const c of containers) {
    const own = seccompType(c.sc?.seccompProfile);
    if (own !== undefined) {
      if (!SECCOMP_ALLOWED_TYPES.has(own)) seccompFinding(own, c);
    } else if (!podSeccompOk && !windows) {
      add('restricted', 'seccompProfile', 'securityContext.seccompProfile.type must be RuntimeDefault or Localhost (here or at pod level)', c);
    }
  }

  // ---- house rules ----
  for (const c of containers) {
    if (c.sc?.readOnlyRootFilesystem !== true) {
      add('techshop', `${HOUSE_RULE_PREFIX}readOnlyRootFilesystem`, 'securityContext.readOnlyRootFilesystem must be true', c);
    }
  }

  return findings;
}

/** The annotation by which a workload declares the Pod Security level its namespace must enforce. */
export const NAMESPACE_LEVEL_ANNOTATION = 'techshop.io/namespace-pod-security';

/**
 * The Pod Security level a render declares for a pod template's namespace: the
 * `pod-security.kubernetes.io/enforce` label of a Namespace object it renders,
 * else the owning workload's `techshop.io/namespace-pod-security` annotation
 * (charts/logging's node agent, which must mount hostPath; the chart refuses
 * to install into a namespace that enforces anything else). Undefined: none.
 */
export function declaredPodSecurityLevel(objects: readonly K8sObject[], template: Pick<PodTemplate, 'namespace' | 'source'>): string | undefined {
  const ns = template.namespace === undefined ? undefined : objects.find((o) => o.kind === 'Namespace' && o.metadata?.name === template.namespace);
  return ns?.metadata?.labels?.['pod-security.kubernetes.io/enforce'] ?? template.source.metadata?.annotations?.[NAMESPACE_LEVEL_ANNOTATION];
}

/**
 * PSS restricted (including baseline) plus `techshop/` house rules, over every
 * pod template. A pod in a namespace the render declares baseline or privileged
 * is held to that level as admission would (the house rules still apply).
 */
export function checkPodSecurityRestricted(objects: readonly K8sObject[]): Finding[] {
  return podTemplates(objects).flatMap((template) => {
    const findings = checkPodTemplate(template);
    const level = declaredPodSecurityLevel(objects, template);
    if (level === 'privileged') return findings.filter((f) => f.level === 'techshop');
    if (level === 'baseline') return findings.filter((f) => f.level !== 'restricted');
    return findings;
  });
}

export function isHouseRule(finding: Pick<Finding, 'rule'>): boolean {
  return finding.rule.startsWith(HOUSE_RULE_PREFIX);
}

// ---------------------------------------------------------------------------
// NetworkPolicy coverage
// ---------------------------------------------------------------------------

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirement[] | null;
}

/**
 * metav1.LabelSelector semantics: matchLabels and matchExpressions are ANDed;
 * an empty (or missing) selector matches everything. An unknown operator
 * makes the selector invalid, which matches nothing.
 */
export function selectorMatches(selector: LabelSelector | null | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== String(value)) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const values = (req.values ?? []).map(String);
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(labels[req.key] as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[req.key] as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A NetworkPolicy's effective policyTypes, defaulted as the API server does. */
export function policyTypesOf(policy: K8sObject): string[] {
  const declared = policy.spec?.policyTypes;
  if (Array.isArray(declared) && declared.length) return declared.map(String);
  const types = ['Ingress'];
  if (Array.isArray(policy.spec?.egress) && policy.spec.egress.length) types.push('Egress');
  return types;
}

/** Namespace key: a missing namespace is the release namespace (the same for every such object). */
function namespaceKey(namespace: string | undefined, releaseNamespace: string | undefined): string {
  return namespace ?? releaseNamespace ?? '\0release';
}

/** NetworkPolicies among `objects` in `namespace` whose podSelector selects a pod with these labels. */
export function policiesSelecting(
  objects: readonly K8sObject[],
  podTemplateLabels: Record<string, string>,
  namespace: string | undefined,
  releaseNamespace?: string,
): K8sObject[] {
  const ns = namespaceKey(namespace, releaseNamespace);
  return objects.filter(
    (o) =>
      o.kind === 'NetworkPolicy' &&
      namespaceKey(o.metadata?.namespace, releaseNamespace) === ns &&
      selectorMatches(o.spec?.podSelector, podTemplateLabels),
  );
}

/**
 * Every pod template must be selected by a NetworkPolicy of its namespace
 * (rule `uncovered`), and by one that restricts Egress (rule `no-egress-policy`,
 * reported only for pods that are covered at all). `releaseNamespace` is what a
 * missing metadata.namespace means; without it, all objects without a namespace
 * share one namespace, distinct from every named one.
 */
export function checkNetworkPolicyCoverage(objects: readonly K8sObject[], options: { releaseNamespace?: string } = {}): Finding[] {
  const findings: Finding[] = [];
  for (const template of podTemplates(objects)) {
    const selecting = policiesSelecting(objects, template.labels, template.namespace, options.releaseNamespace);
    const where = `namespace ${template.namespace ?? options.releaseNamespace ?? '(release)'}`;
    if (!selecting.length) {
      findings.push({ object: template.object, rule: 'uncovered', message: `no NetworkPolicy in ${where} selects this pod (labels ${JSON.stringify(template.labels)})` });
    } else if (!selecting.some((p) => policyTypesOf(p).includes('Egress'))) {
      findings.push({
        object: template.object,
        rule: 'no-egress-policy',
        message: `selected only by ingress policies (${selecting.map((p) => p.metadata.name).join(', ')}); no NetworkPolicy with Egress in policyTypes selects it`,
      });
    }
  }
  return findings;
}

/** Namespace labels that make the API server enforce (and warn and audit) Pod Security "restricted". */
export const PSA_RESTRICTED_LABELS: Record<string, string> = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
};
