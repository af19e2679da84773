// The flows a render admits, read back from its objects two ways: from the
// NetworkPolicies' ingress rules (pod selectors → the rendered workloads → their
// service accounts) and from the Istio AuthorizationPolicies (principals and
// namespaces). Both are generated from one description (charts/common/templates/_flows.tpl);
// test/mesh.test.ts proves the two sets are the same for every environment.
import type { K8sObject } from './render.ts';
import { podTemplates, selectorMatches, type PodTemplate } from './policy.ts';

/** ztunnel's HBONE port: in ambient mode every flow's NetworkPolicy rule admits it too. */
export const HBONE_PORT = 15008;

/** One admitted flow: a source identity to a destination workload's service account on a TCP port. */
export interface Flow {
  /** `sa:<service account>` (this namespace), `sa:<namespace>/<service account>`, `ns:<namespace>` or `ip:<cidr>` */
  source: string;
  /** the destination workload's service account */
  destination: string;
  port: number;
}

export const flowKey = (f: Flow): string => `${f.source} -> ${f.destination}:${f.port}`;

/** The service account a pod runs under ("default" when the spec names none). */
export function serviceAccountOf(template: PodTemplate): string {
  return String(template.spec?.serviceAccountName ?? 'default');
}

function workloadsSelected(templates: PodTemplate[], matchLabels: Record<string, string> | undefined): PodTemplate[] {
  return templates.filter((t) => selectorMatches({ matchLabels: matchLabels ?? {} }, t.labels));
}

function unique(flows: Flow[]): Flow[] {
  const seen = new Map<string, Flow>();
  for (const flow of flows) seen.set(flowKey(flow), flow);
  return [...seen.values()].sort((a, b) => flowKey(a).localeCompare(flowKey(b)));
}

/**
 * Flows the NetworkPolicies admit into the render's workloads. A peer with only a
 * podSelector (or a namespaceSelector naming this namespace) is every rendered
 * workload it selects, by service account; a peer in another namespace is that
 * namespace (kubernetes.io/metadata.name); an ipBlock is its CIDR. Peers that
 * select no rendered workload admit nothing and are left out. HBONE (15008) is
 * not a flow: `withoutHbone` lists the rules with ports that lack it. A rule
 * without ports (every port: the mesh's kubelet-probe rule) is not a flow
 * either: `allPorts` lists them.
 */
export function networkPolicyFlows(objects: readonly K8sObject[], namespace: string): { flows: Flow[]; withoutHbone: string[]; allPorts: string[] } {
  const templates = podTemplates(objects);
  const flows: Flow[] = [];
  const withoutHbone: string[] = [];
  const allPorts: string[] = [];
  for (const policy of objects.filter((o) => o.kind === 'NetworkPolicy')) {
    const destinations = templates.filter((t) => selectorMatches(policy.spec?.podSelector, t.labels));
    (policy.spec?.ingress ?? []).forEach((rule: any, i: number) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const ports: number[] = (rule.ports ?? []).filter((p: any) => (p.protocol ?? 'TCP') === 'TCP').map((p: any) => Number(p.port)); // eslint-disable-line @typescript-eslint/no-explicit-any
      if (ports.length && !ports.includes(HBONE_PORT)) withoutHbone.push(`${policy.metadata.name} ingress[${i}]`);
      if (!ports.length) allPorts.push(`${policy.metadata.name} ingress[${i}]`);
      const sources: string[] = [];
      for (const peer of rule.from ?? []) {
        if (peer.ipBlock) {
          sources.push(`ip:${peer.ipBlock.cidr}`);
          continue;
        }
        const nsLabels: Record<string, string> | undefined = peer.namespaceSelector?.matchLabels;
        const named = nsLabels?.['kubernetes.io/metadata.name'];
        if (peer.namespaceSelector && named !== namespace) {
          sources.push(`ns:${named ?? '*'}`);
          continue;
        }
        for (const t of workloadsSelected(templates, peer.podSelector?.matchLabels)) sources.push(`sa:${serviceAccountOf(t)}`);
      }
      for (const destination of destinations) {
        for (const source of sources) {
          for (const port of ports.filter((p) => p !== HBONE_PORT)) flows.push({ source, destination: serviceAccountOf(destination), port });
        }
      }
    });
  }
  return { flows: unique(flows), withoutHbone, allPorts };
}

/**
 * Flows the AuthorizationPolicies (ALLOW, L4) admit into the render's workloads:
 * principals `<trust domain>/ns/<ns>/sa/<sa>` of rendered workloads, and
 * namespaces other than this one. A principal no rendered workload runs as
 * admits nothing and is left out, like a NetworkPolicy peer that selects nothing.
 */
export function authorizationPolicyFlows(objects: readonly K8sObject[], namespace: string): Flow[] {
  const templates = podTemplates(objects);
  const accounts = new Set(templates.map(serviceAccountOf));
  const flows: Flow[] = [];
  for (const policy of objects.filter((o) => o.kind === 'AuthorizationPolicy')) {
    if ((policy.spec?.action ?? 'ALLOW') !== 'ALLOW') throw new Error(`AuthorizationPolicy ${policy.metadata.name}: only ALLOW policies are compared`);
    const destinations = workloadsSelected(templates, policy.spec?.selector?.matchLabels);
    for (const rule of policy.spec?.rules ?? []) {
      const sources: string[] = [];
      for (const from of rule.from ?? []) {
        for (const principal of from.source?.principals ?? []) {
          const match = /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(String(principal));
          if (!match) throw new Error(`AuthorizationPolicy ${policy.metadata.name}: principal ${principal} is not <trust domain>/ns/<ns>/sa/<sa>`);
          if (match[1] !== namespace) sources.push(`sa:${match[1]}/${match[2]}`);
          else if (accounts.has(match[2]!)) sources.push(`sa:${match[2]}`);
        }
        for (const ns of from.source?.namespaces ?? []) sources.push(`ns:${ns}`);
      }
      const ports: number[] = (rule.to ?? []).flatMap((to: any) => (to.operation?.ports ?? []).map(Number)); // eslint-disable-line @typescript-eslint/no-explicit-any
      for (const destination of destinations) {
        for (const source of sources) for (const port of ports) flows.push({ source, destination: serviceAccountOf(destination), port });
      }
    }
  }
  return unique(flows);
}

/** What one side admits and the other does not (both empty: they agree). */
export function compareFlows(networkPolicy: Flow[], authorizationPolicy: Flow[]): { onlyNetworkPolicy: string[]; onlyAuthorizationPolicy: string[] } {
  const np = new Set(networkPolicy.map(flowKey));
  const ap = new Set(authorizationPolicy.map(flowKey));
  return {
    onlyNetworkPolicy: [...np].filter((k) => !ap.has(k)).sort(),
    onlyAuthorizationPolicy: [...ap].filter((k) => !np.has(k)).sort(),
  };
}
