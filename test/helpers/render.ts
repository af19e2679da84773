import { helmMatrix, type HelmBinary } from '../../scripts/lib/helm.ts';
import { renderChart, type K8sObject, type RenderOptions } from '../../scripts/lib/render.ts';
import { valuesFile, type Environment } from '../../scripts/lib/paths.ts';

export const helms: HelmBinary[] = await helmMatrix();

/** Renders the umbrella with an environment's values file (plus overrides). */
export function renderEnv(helm: HelmBinary, env: Environment, options: RenderOptions = {}): Promise<K8sObject[]> {
  return renderChart(helm, 'techshop', { ...options, valuesFiles: [valuesFile(env), ...(options.valuesFiles ?? [])] });
}

export function byKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/**
 * Every CRD-backed API the charts can ask for: renders that test values rules
 * pass these, so a rule is reached instead of the "cluster does not serve"
 * refusal (common.capabilities.require).
 */
export const OPTIONAL_APIS = [
  'autoscaling.k8s.io/v1/VerticalPodAutoscaler',
  'cert-manager.io/v1/ClusterIssuer',
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
  'external-secrets.io/v1/ExternalSecret',
  'security.istio.io/v1/AuthorizationPolicy',
  'security.istio.io/v1/PeerAuthentication',
];
