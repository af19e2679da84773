// Renders the umbrella per environment under Helm 4 and Helm 3 and checks the
// tracing path field by field: the app's egress to the collector, the
// collector and Jaeger objects, their NetworkPolicies both ways, and what helm
// refuses (prod without an external TLS backend, an app tracing to a collector
// that is off).
import { describe, expect, it } from 'vitest';
import { load as loadYaml } from 'js-yaml';
import { environments, type Environment } from '../scripts/lib/paths.ts';
import { findObject, podSpecOf, type K8sObject } from '../scripts/lib/render.ts';
import { byKind, helms, renderEnv } from './helpers/render.ts';

const COLLECTOR = 'shop-otel-collector';
const JAEGER = 'shop-jaeger';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function selects(policy: K8sObject, component: string): boolean {
  return policy.spec.podSelector.matchLabels['app.kubernetes.io/component'] === component;
}

/** The ports a policy's rules open to peers selecting `component` in this namespace. */
function portsTo(rules: Any[] | undefined, peerKey: 'to' | 'from', component: string): number[] {
  return (rules ?? [])
    .filter((r) => (r[peerKey] ?? []).some((p: Any) => p.podSelector?.matchLabels?.['app.kubernetes.io/component'] === component && !p.namespaceSelector))
    .flatMap((r) => r.ports.map((p: Any) => p.port));
}

function collectorConfig(objects: K8sObject[]): Any {
  return loadYaml(findObject(objects, 'ConfigMap', COLLECTOR).data?.['config.yaml'] ?? '');
}

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('tracing with %s', (_label, helm) => {
  const cache = new Map<Environment, Promise<K8sObject[]>>();
  const load = (env: Environment) => {
    if (!cache.has(env)) cache.set(env, renderEnv(helm, env));
    return cache.get(env)!;
  };

  describe.each(environments)('%s', (env) => {
    it('runs the collector, receiving OTLP from the app only and exporting where the environment says', async () => {
      const objects = await load(env);
      const deployment = findObject(objects, 'Deployment', COLLECTOR);
      expect(deployment.spec.replicas).toBe(env === 'dev' ? 1 : 2);
      expect(byKind(objects, 'PodDisruptionBudget').some((p) => p.metadata.name === COLLECTOR)).toBe(env !== 'dev');
      const container = podSpecOf(deployment).containers[0];
      expect(container.ports.map((p: Any) => [p.name, p.containerPort])).toEqual([
        ['otlp-grpc', 4317],
        ['otlp-http', 4318],
        ['metrics', 8888],
        ['health', 13133],
      ]);
      expect(container.livenessProbe.tcpSocket.port).toBe('health');
      expect(container.readinessProbe.httpGet).toEqual({ path: '/', port: 'health' });
      const config = collectorConfig(objects);
      expect(config.service.pipelines.traces.receivers).toEqual(['otlp']);
      expect(config.service.pipelines.traces.processors).toEqual(['memory_limiter', 'batch']);
      const [exporter] = config.service.pipelines.traces.exporters;
      if (env === 'prod') {
        expect(exporter).toBe('otlp/backend');
        expect(config.exporters[exporter]).toEqual({ endpoint: 'https://otlp.tracing.techshop-cloud.com:4317', tls: { insecure: false } });
        expect(byKind(objects, 'Deployment').map((d) => d.metadata.name)).not.toContain(JAEGER);
      } else {
        expect(config.exporters[exporter]).toEqual({ endpoint: `${JAEGER}:4317`, tls: { insecure: true } });
      }
      // every listener binds the pod's own address
      expect(config.receivers.otlp.protocols.http.endpoint).toBe('${env:POD_IP}:4318');
      expect(container.env).toEqual([{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]);
    });

    it('opens app → collector → backend and nothing else', async () => {
      const policies = byKind(await load(env), 'NetworkPolicy');
      const app = policies.find((p) => selects(p, 'app'))!;
      // the same OTLP ports the collector admits from the app (the real node's probe matrix checks both sides)
      expect(portsTo(app.spec.egress, 'to', 'otel-collector')).toEqual([4317, 4318]);
      const collector = policies.find((p) => selects(p, 'otel-collector'))!;
      expect(collector.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(portsTo(collector.spec.ingress, 'from', 'app')).toEqual([4317, 4318]);
      // Prometheus scrapes the collector's metrics
      const scrape = collector.spec.ingress.find((r: Any) => r.from.some((p: Any) => p.podSelector.matchLabels['app.kubernetes.io/component'] === 'prometheus'));
      expect(scrape.ports).toEqual([{ protocol: 'TCP', port: 8888 }]);
      if (env === 'prod') {
        expect(portsTo(collector.spec.egress, 'to', 'jaeger')).toEqual([]);
        const external = collector.spec.egress.find((r: Any) => r.to.some((p: Any) => p.ipBlock));
        expect(external.to[0].ipBlock.except).toContain('10.0.0.0/8');
        expect(external.ports.map((p: Any) => p.port)).toContain(4317);
        expect(policies.find((p) => selects(p, 'jaeger'))).toBeUndefined();
      } else {
        expect(portsTo(collector.spec.egress, 'to', 'jaeger')).toEqual([4317]);
        expect(collector.spec.egress.some((r: Any) => r.to.some((p: Any) => p.ipBlock))).toBe(false);
        const jaeger = policies.find((p) => selects(p, 'jaeger'))!;
        expect(portsTo(jaeger.spec.ingress, 'from', 'otel-collector')).toEqual([4317]);
        const grafana = jaeger.spec.ingress.find((r: Any) => r.from.some((p: Any) => p.podSelector.matchLabels['app.kubernetes.io/component'] === 'grafana'));
        expect(grafana.ports).toEqual([{ protocol: 'TCP', port: 16686 }]);
        // Jaeger talks to nobody but DNS
        expect(jaeger.spec.egress.flatMap((r: Any) => r.ports.map((p: Any) => p.port))).toEqual([53, 53]);
      }
    });
  });

  it.each(environments)('monitoring (%s) scrapes the collector, alerts on lost spans, and offers Jaeger to Grafana when it runs', async (env) => {
    const objects = await load(env);
    const prometheusConfig = findObject(objects, 'ConfigMap', 'shop-prometheus').data ?? {};
    const scrape: Any = loadYaml(prometheusConfig['prometheus.yml'] ?? '');
    const job = scrape.scrape_configs.find((j: Any) => j.job_name === 'otel-collector');
    expect(job.relabel_configs[0].regex).toBe('shop;otel-collector;metrics');
    const rules: Any = loadYaml(prometheusConfig['techshop_rules.yml'] ?? '');
    expect(rules.groups.find((g: Any) => g.name === 'techshop-tracing').rules.map((r: Any) => r.alert)).toEqual(['TechShopTracingSpansDropped', 'TechShopTracingSpansRefused']);
    const policies = byKind(objects, 'NetworkPolicy');
    expect(portsTo(policies.find((p) => selects(p, 'prometheus'))!.spec.egress, 'to', 'otel-collector')).toEqual([8888]);
    const datasources: Any = loadYaml(findObject(objects, 'ConfigMap', 'shop-grafana').data?.['datasources.yaml'] ?? '');
    const jaeger = datasources.datasources.find((d: Any) => d.type === 'jaeger');
    const grafanaEgress = portsTo(policies.find((p) => selects(p, 'grafana'))!.spec.egress, 'to', 'jaeger');
    if (env === 'prod') {
      expect(jaeger).toBeUndefined();
      expect(grafanaEgress).toEqual([]);
    } else {
      expect(jaeger.url).toBe('http://shop-jaeger:16686');
      expect(grafanaEgress).toEqual([16686]);
    }
  });

  it.each(['dev', 'staging'] as const)('stores spans in Jaeger (%s): memory in dev, badger on a claim in staging', async (env) => {
    const objects = await load(env);
    const config: Any = loadYaml(findObject(objects, 'ConfigMap', JAEGER).data?.['config.yaml'] ?? '');
    const backend = config.extensions.jaeger_storage.backends.traces;
    const claims = byKind(objects, 'PersistentVolumeClaim').filter((c) => c.metadata.name === JAEGER);
    const spec = podSpecOf(findObject(objects, 'Deployment', JAEGER));
    if (env === 'dev') {
      expect(Object.keys(backend)).toEqual(['memory']);
      expect(claims).toEqual([]);
    } else {
      expect(backend.badger.ttl.spans).toBe('72h');
      expect(claims[0]!.spec.resources.requests.storage).toBe('5Gi');
      expect(spec.volumes.find((v: Any) => v.name === 'data').persistentVolumeClaim.claimName).toBe(JAEGER);
    }
    expect(config.service.pipelines.traces.exporters).toEqual(['jaeger_storage_exporter']);
    expect(config.extensions.jaeger_query.http.endpoint).toBe('${env:POD_IP}:16686');
  });

  it('leaves the app without OTEL_* variables and without egress to a collector when tracing is off', async () => {
    const objects = await renderEnv(helm, 'dev', { set: ['app.tracing.enabled=false', 'tracing.enabled=false', 'monitoring.targets.tracing.enabled=false', 'monitoring.targets.tracing.jaeger=false'] });
    const container = podSpecOf(findObject(objects, 'Deployment', 'shop-app')).containers[0];
    expect(container.env.filter((e: Any) => e.name.startsWith('OTEL_'))).toEqual([]);
    expect(container.env.find((e: Any) => e.name === 'LOG_FORMAT').value).toBe('json');
    const app = byKind(objects, 'NetworkPolicy').find((p) => selects(p, 'app'))!;
    expect(portsTo(app.spec.egress, 'to', 'otel-collector')).toEqual([]);
    expect(byKind(objects, 'Deployment').map((d) => d.metadata.name)).not.toContain(COLLECTOR);
  });

  it('sends gRPC to port 4317 when asked', async () => {
    const objects = await renderEnv(helm, 'dev', { set: ['app.tracing.protocol=grpc'] });
    const container = podSpecOf(findObject(objects, 'Deployment', 'shop-app')).containers[0];
    expect(container.env.find((e: Any) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT').value).toBe('http://shop-otel-collector:4317');
    // the egress opens both OTLP ports whatever the protocol: the same ports the collector admits from the app
    const app = byKind(objects, 'NetworkPolicy').find((p) => selects(p, 'app'))!;
    expect(portsTo(app.spec.egress, 'to', 'otel-collector')).toEqual([4317, 4318]);
  });

  it('refuses an app tracing to a collector that is off, and prod without an external TLS backend', async () => {
    await expect(renderEnv(helm, 'dev', { set: ['tracing.enabled=false'] })).rejects.toThrow(/app.tracing.enabled sends traces to this release's collector, but tracing.enabled is false/);
    await expect(renderEnv(helm, 'dev', { set: ['tracing.jaeger.enabled=false'] })).rejects.toThrow(/exporter.*endpoint/);
    await expect(renderEnv(helm, 'prod', { set: ['tracing.exporter.endpoint=http://otlp.example.com:4317'] })).rejects.toThrow(/tracing.exporter.endpoint/);
    await expect(renderEnv(helm, 'prod', { set: ['tracing.jaeger.enabled=true'] })).rejects.toThrow(/tracing.jaeger.enabled/);
    await expect(renderEnv(helm, 'prod', { set: ['app.logging.format=pretty'] })).rejects.toThrow(/app.logging.format/);
  });
});
