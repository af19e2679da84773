// Relabelling as Prometheus applies it (keep, drop, replace: the actions the
// monitoring chart uses) and the targets Kubernetes service discovery would
// offer, to evaluate each scrape job's target selection in TypeScript.
/* eslint-disable @typescript-eslint/no-explicit-any -- pod templates are untyped YAML */
import { RELEASE_NAMESPACE } from '../../scripts/lib/render.ts';

const NS = RELEASE_NAMESPACE;

export interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: string;
}

export function relabel(labels: Record<string, string>, configs: RelabelConfig[]): Record<string, string> | undefined {
  let current = { ...labels };
  for (const config of configs) {
    const value = (config.source_labels ?? []).map((l) => current[l] ?? '').join(config.separator ?? ';');
    const regex = new RegExp(`^(?:${config.regex ?? '(.*)'})$`);
    const match = regex.exec(value);
    switch (config.action ?? 'replace') {
      case 'keep':
        if (!match) return undefined;
        break;
      case 'drop':
        if (match) return undefined;
        break;
      case 'replace': {
        if (!match) break;
        const target = config.target_label;
        if (!target) throw new Error('replace without target_label');
        const result = (config.replacement ?? '$1').replace(/\$\{(\d+)\}|\$(\d+)/g, (_m, a, b) => match[Number(a ?? b)] ?? '');
        current = { ...current };
        if (result === '') delete current[target];
        else current[target] = result;
        break;
      }
      default:
        throw new Error(`relabel action ${config.action} not implemented here`);
    }
  }
  return current;
}

const sanitize = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** Targets the pod role discovers for a pod template (one per container port), as Prometheus names its meta labels. */
export function podRoleTargets(template: { metadata: any; spec: any }, podName: string, podIp: string): Record<string, string>[] {
  const targets: Record<string, string>[] = [];
  const meta: Record<string, string> = { __meta_kubernetes_namespace: NS, __meta_kubernetes_pod_name: podName, __meta_kubernetes_pod_ip: podIp, __meta_kubernetes_pod_phase: 'Running' };
  for (const [k, v] of Object.entries<string>(template.metadata.labels ?? {})) {
    meta[`__meta_kubernetes_pod_label_${sanitize(k)}`] = v;
    meta[`__meta_kubernetes_pod_labelpresent_${sanitize(k)}`] = 'true';
  }
  for (const [k, v] of Object.entries<string>(template.metadata.annotations ?? {})) meta[`__meta_kubernetes_pod_annotation_${sanitize(k)}`] = v;
  for (const container of template.spec.containers) {
    for (const port of container.ports ?? []) {
      targets.push({
        ...meta,
        __address__: `${podIp}:${port.containerPort}`,
        __meta_kubernetes_pod_container_name: container.name,
        __meta_kubernetes_pod_container_port_name: port.name ?? '',
        __meta_kubernetes_pod_container_port_number: String(port.containerPort),
        __meta_kubernetes_pod_container_port_protocol: port.protocol ?? 'TCP',
      });
    }
  }
  return targets;
}

/** Targets the endpointslice role discovers for a Service (one per port and ready pod). */
export function endpointSliceTargets(service: { name: string; labels: Record<string, string>; ports: { name: string; targetPort: number }[] }, pods: string[]): Record<string, string>[] {
  const meta: Record<string, string> = { __meta_kubernetes_namespace: NS, __meta_kubernetes_service_name: service.name };
  for (const [k, v] of Object.entries(service.labels)) meta[`__meta_kubernetes_service_label_${sanitize(k)}`] = v;
  return service.ports.flatMap((port) =>
    pods.map((pod, i) => ({
      ...meta,
      __address__: `10.0.1.${i + 10}:${port.targetPort}`,
      __meta_kubernetes_endpointslice_port_name: port.name,
      __meta_kubernetes_endpointslice_port: String(port.targetPort),
      __meta_kubernetes_pod_name: pod,
      __meta_kubernetes_pod_container_name: 'metrics',
    })),
  );
}

