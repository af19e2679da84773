// Renders the umbrella for every environment under Helm 4 and Helm 3 and
// checks the app's objects field by field.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartNames, umbrellaChart, valuesFile, type Environment } from '../scripts/lib/paths.ts';
import { findObject, podSpecOf, type K8sObject } from '../scripts/lib/render.ts';
import { coalesce, readChartMeta, readChartValues, type Values } from '../scripts/lib/values.ts';
import { byKind, helms, renderEnv } from './helpers/render.ts';
import { restrictedContainerContext, restrictedPodContext } from './helpers/security.ts';
import { imageRef } from '../scripts/lib/images.ts';

const EXPECTED = {
  dev: { requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '64Mi' }, limits: { cpu: '200m', memory: '256Mi', 'ephemeral-storage': '256Mi' }, replicas: 1 },
  staging: { requests: { cpu: '250m', memory: '256Mi', 'ephemeral-storage': '64Mi' }, limits: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '256Mi' }, replicas: undefined },
  prod: { requests: { cpu: '250m', memory: '256Mi', 'ephemeral-storage': '64Mi' }, limits: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '256Mi' }, replicas: undefined },
} as const;

/** The charts that render objects (every chart but the library), each with its Chart.yaml version. */
const RENDERING_CHARTS = chartNames.filter((name) => readChartMeta(name).type !== 'library');

/** What helm merges for an environment: the umbrella's values.yaml under values/values-<env>.yaml. */
function environmentValues(env: Environment): Values {
  return coalesce(readChartValues(umbrellaChart), parse(readFileSync(valuesFile(env), 'utf8'))) as Values;
}

/** The Secrets holding the database passwords (global.<db>.existingSecret, else the release's generated one). */
const DATABASE_SECRETS = {
  dev: { mongodb: 'shop-mongodb', redis: 'shop-redis' },
  staging: { mongodb: 'techshop-mongodb', redis: 'techshop-redis' },
  prod: { mongodb: 'techshop-mongodb', redis: 'techshop-redis' },
} as const;

/** Static files in the release's MinIO (dev and staging; prod has no objectstore): its one Secret. */
const OBJECTSTORE_SECRET: Record<Environment, string | undefined> = { dev: 'shop-objectstore', staging: 'techshop-objectstore', prod: undefined };

/** Logs and traces per environment: every one traces to the release's collector (OTLP/HTTP), the sampled share falls toward prod. */
const EXPECTED_TELEMETRY_ENV = Object.fromEntries(
  (
    [
      ['dev', 'debug', '1.0', 'latest'],
      ['staging', 'info', '0.5', '1.4.2'],
      ['prod', 'info', '0.1', '1.4.2'],
    ] as const
  ).map(([env, level, ratio, version]) => [
    env,
    [
      { name: 'LOG_LEVEL', value: level },
      { name: 'LOG_FORMAT', value: 'json' },
      { name: 'K8S_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'K8S_NAMESPACE_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'OTEL_SERVICE_NAME', value: 'techshop-app' },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://shop-otel-collector:4318' },
      { name: 'OTEL_EXPORTER_OTLP_PROTOCOL', value: 'http/protobuf' },
      { name: 'OTEL_TRACES_EXPORTER', value: 'otlp' },
      { name: 'OTEL_TRACES_SAMPLER', value: 'parentbased_traceidratio' },
      { name: 'OTEL_TRACES_SAMPLER_ARG', value: ratio },
      {
        name: 'OTEL_RESOURCE_ATTRIBUTES',
        value: `service.version=${version},deployment.environment=${env},k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=$(K8S_NAMESPACE_NAME)`,
      },
    ],
  ]),
) as Record<Environment, object[]>;

/** The app's whole env, in order: $(VAR) expansion only sees variables defined earlier in the list. */
function expectedAppEnv(env: Environment) {
  const configMap = (name: string, key: string) => ({ valueFrom: { configMapKeyRef: { name, key } } });
  const secret = (name: string, key: string) => ({ valueFrom: { secretKeyRef: { name, key } } });
  return [
    { name: 'NODE_ENV', value: env === 'dev' ? 'development' : 'production' },
    { name: 'PORT', value: '3000' },
    { name: 'MONGODB_DATABASE', ...configMap('shop-mongodb', 'database') },
    { name: 'MONGODB_HOSTS', ...configMap('shop-mongodb', 'hosts') },
    { name: 'MONGODB_OPTIONS', ...configMap('shop-mongodb', 'options') },
    { name: 'MONGODB_USERNAME', ...configMap('shop-mongodb', 'username') },
    { name: 'MONGODB_PASSWORD', ...secret(DATABASE_SECRETS[env].mongodb, 'mongodb-password') },
    { name: 'MONGODB_URI', value: 'mongodb://$(MONGODB_USERNAME):$(MONGODB_PASSWORD)@$(MONGODB_HOSTS)/$(MONGODB_DATABASE)?$(MONGODB_OPTIONS)' },
    { name: 'REDIS_CLUSTER', ...configMap('shop-redis-connection', 'cluster') },
    { name: 'REDIS_CLUSTER_NODES', ...configMap('shop-redis-connection', 'nodes') },
    { name: 'REDIS_HOST', ...configMap('shop-redis-connection', 'host') },
    { name: 'REDIS_PORT', ...configMap('shop-redis-connection', 'port') },
    { name: 'REDIS_PASSWORD', ...secret(DATABASE_SECRETS[env].redis, 'redis-password') },
    { name: 'REDIS_URL', value: 'redis://:$(REDIS_PASSWORD)@$(REDIS_HOST):$(REDIS_PORT)' },
    ...EXPECTED_TELEMETRY_ENV[env],
    ...(OBJECTSTORE_SECRET[env]
      ? [
          { name: 'S3_BUCKET', ...configMap('shop-objectstore', 'staticBucket') },
          { name: 'S3_ENDPOINT', ...configMap('shop-objectstore', 'endpoint') },
          { name: 'S3_FORCE_PATH_STYLE', ...configMap('shop-objectstore', 'forcePathStyle') },
          { name: 'S3_REGION', ...configMap('shop-objectstore', 'region') },
          // the app's own MinIO user (static bucket only), never the root keys
          { name: 'S3_ACCESS_KEY_ID', ...secret(OBJECTSTORE_SECRET[env], 'app-access-key-id') },
          { name: 'S3_SECRET_ACCESS_KEY', ...secret(OBJECTSTORE_SECRET[env], 'app-secret-access-key') },
        ]
      : []),
    { name: 'JWT_SECRET', ...secret(env === 'dev' ? 'shop-app' : 'techshop-app-secrets', 'jwt-secret') },
  ];
}

/** Env entries with a literal value that hold a credential: a secret-looking name, or a URL whose user info is not made only of $(VAR) references. */
function literalCredentials(env: { name: string; value?: string }[]) {
  return env.filter((e) => {
    if (e.value === undefined) return false;
    if (/SECRET|PASSWORD|TOKEN|KEY/.test(e.name)) return true;
    const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^@/]*)@/i.exec(e.value)?.[1];
    return userinfo !== undefined && userinfo.replace(/\$\([A-Z_]+\)/g, '').replace(/^:/, '') !== '';
  });
}

/** Whether a PDB leaves no eviction possible for the pods it selects (at their minimum replica count). */
function blocksEveryEviction(objects: K8sObject[], pdb: K8sObject): boolean {
  const selector: Record<string, string> = pdb.spec.selector.matchLabels;
  const workloads = objects.filter(
    (o) => ['Deployment', 'StatefulSet'].includes(o.kind) && Object.entries(selector).every(([k, v]) => o.spec.template.metadata.labels?.[k] === v),
  );
  expect(workloads, `workloads selected by PDB ${pdb.metadata.name}`).not.toEqual([]);
  return workloads.some((w) => {
    const hpa = byKind(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.kind === w.kind && h.spec.scaleTargetRef.name === w.metadata.name);
    const replicas: number = hpa ? hpa.spec.minReplicas : (w.spec.replicas ?? 1);
    if (pdb.spec.maxUnavailable !== undefined) return pdb.spec.maxUnavailable === 0 || pdb.spec.maxUnavailable === '0%';
    return typeof pdb.spec.minAvailable === 'number' ? pdb.spec.minAvailable >= replicas : pdb.spec.minAvailable === '100%';
  });
}

function appContainer(deployment: K8sObject) {
  const container = podSpecOf(deployment).containers.find((c: { name: string }) => c.name === 'app');
  expect(container).toBeDefined();
  return container;
}

function envVar(container: { env: { name: string }[] }, name: string) {
  const found = container.env.find((e) => e.name === name);
  expect(found, `env ${name}`).toBeDefined();
  return found as { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };
}

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('%s', (_label, helm) => {
  describe.each(['dev', 'staging', 'prod'] as const)('%s values', (env) => {
    let objects: K8sObject[];
    const load = async () => (objects ??= await renderEnv(helm, env));

    it('names every object <release>-<component> and labels it with the standard set', async () => {
      const objects = await load();
      const chartLabels = new Map(RENDERING_CHARTS.map((name) => [`${name}-${readChartMeta(name).version}`, name]));
      const seen = new Set<string>();
      for (const object of objects) {
        const ref = `${object.kind}/${object.metadata.name}`;
        const labels = object.metadata.labels ?? {};
        expect(labels['app.kubernetes.io/instance'], ref).toBe('shop');
        expect(labels['app.kubernetes.io/managed-by'], ref).toBe('Helm');
        expect(labels['app.kubernetes.io/part-of'], ref).toBe('techshop');
        expect(labels['app.kubernetes.io/version'], ref).toBeTruthy();
        // helm.sh/chart of app|mongodb|redis|monitoring|backup|techshop, at the version of its Chart.yaml
        expect([...chartLabels.keys()], ref).toContain(labels['helm.sh/chart']);
        const chart = chartLabels.get(labels['helm.sh/chart'] ?? '')!;
        seen.add(chart);
        expect(labels['app.kubernetes.io/name'], ref).toBe(chart);
        const component = labels['app.kubernetes.io/component'];
        expect(component, ref).toMatch(/^[a-z][a-z0-9-]*$/);
        // shop-<component>[-suffix]; a helper object of a chart may take the chart's name instead (shop-redis-reconcile)
        const prefixes = [`shop-${component}`, `shop-${chart}`];
        expect(
          prefixes.some((p) => object.metadata.name === p || object.metadata.name.startsWith(`${p}-`)),
          `${ref} (component ${component}, chart ${chart})`,
        ).toBe(true);
        expect(object.metadata.name, ref).toMatch(/^shop-[a-z0-9-]+$/);
      }
      // every enabled subchart renders, and the umbrella itself
      const values = environmentValues(env);
      const enabled = RENDERING_CHARTS.filter((name) => name === umbrellaChart || (values[name] as Values | undefined)?.enabled === true);
      // backups run everywhere (dev and staging into the release's MinIO); MinIO is not in prod
      expect(enabled.includes('backup')).toBe(true);
      expect(enabled.includes('objectstore')).toBe(env !== 'prod');
      expect([...seen].sort()).toEqual([...enabled].sort());
      // selectors use only the immutable labels
      const immutable = ['app.kubernetes.io/component', 'app.kubernetes.io/instance', 'app.kubernetes.io/name'];
      for (const object of objects) {
        const selector = ['Deployment', 'StatefulSet', 'PodDisruptionBudget'].includes(object.kind)
          ? object.spec.selector.matchLabels
          : object.kind === 'Service'
            ? object.spec.selector
            : undefined;
        if (selector) expect(Object.keys(selector).filter((k) => !immutable.includes(k)), `${object.kind}/${object.metadata.name}`).toEqual([]);
      }
    });

    it('runs the app Deployment with the seed numbers and secrets from Secrets', async () => {
      const deployment = findObject(await load(), 'Deployment', 'shop-app');
      expect(deployment.spec.replicas).toBe(EXPECTED[env].replicas);
      expect(deployment.spec.selector.matchLabels).toEqual({
        'app.kubernetes.io/name': 'app',
        'app.kubernetes.io/instance': 'shop',
        'app.kubernetes.io/component': 'app',
      });
      const container = appContainer(deployment);
      expect(container.image).toBe(env === 'dev' ? 'docker.io/techshop/app:latest' : imageRef('app'));
      expect(container.imagePullPolicy).toBe(env === 'dev' ? 'Always' : 'IfNotPresent');
      expect(container.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
      expect(container.resources).toEqual({ requests: EXPECTED[env].requests, limits: EXPECTED[env].limits });
      expect(envVar(container, 'NODE_ENV').value).toBe(env === 'dev' ? 'development' : 'production');
      // MONGODB_* and REDIS_* are composed from the database charts' ConfigMaps and their one Secret each
      expect(container.env).toEqual(expectedAppEnv(env));
      expect(container.envFrom).toBeUndefined();
      const values = environmentValues(env);
      const global = values.global as { mongodb: { existingSecret: string }; redis: { existingSecret: string } };
      expect(DATABASE_SECRETS[env]).toEqual({
        mongodb: global.mongodb.existingSecret || 'shop-mongodb',
        redis: global.redis.existingSecret || 'shop-redis',
      });
      expect(literalCredentials(container.env)).toEqual([]);
      // the sources exist in this render: the ConfigMaps with the keys read, without a password
      const objects = await load();
      const mongodbConfig = findObject(objects, 'ConfigMap', 'shop-mongodb').data ?? {};
      expect(Object.keys(mongodbConfig)).toEqual(expect.arrayContaining(['database', 'hosts', 'options', 'username']));
      const redisConfig = findObject(objects, 'ConfigMap', 'shop-redis-connection').data ?? {};
      expect(Object.keys(redisConfig)).toEqual(expect.arrayContaining(['cluster', 'nodes', 'host', 'port']));
      for (const data of [mongodbConfig, redisConfig]) expect(Object.keys(data).filter((k) => /password|secret|key/i.test(k))).toEqual([]);
      // a generated Secret (dev) is rendered by its owner chart; an existing one (staging, prod) is not rendered at all
      const secrets = byKind(objects, 'Secret').map((o) => o.metadata.name);
      for (const [db, name] of Object.entries(DATABASE_SECRETS[env])) {
        if (env === 'dev') {
          const owner = findObject(objects, 'Secret', name);
          expect(owner.metadata.labels?.['helm.sh/chart']).toBe(`${db}-${readChartMeta(db).version}`);
          expect(Object.keys(owner.data ?? {})).toContain(`${db}-password`);
        } else {
          expect(secrets).not.toContain(name);
          expect(secrets).not.toContain(`shop-${db}`);
        }
      }
      expect(secrets).not.toContain('techshop-connections');
    });

    it('probes /health and /ready with the seed timings', async () => {
      const container = appContainer(findObject(await load(), 'Deployment', 'shop-app'));
      expect(container.livenessProbe).toEqual({
        httpGet: { path: '/health', port: 'http' },
        initialDelaySeconds: 30,
        periodSeconds: 10,
        timeoutSeconds: 3,
        failureThreshold: 3,
      });
      expect(container.readinessProbe).toEqual({
        httpGet: { path: '/ready', port: 'http' },
        initialDelaySeconds: 5,
        periodSeconds: 5,
        timeoutSeconds: 3,
        failureThreshold: 3,
      });
    });

    it('applies the restricted security context with uid/gid/fsGroup 1001 and a writable /tmp only', async () => {
      const deployment = findObject(await load(), 'Deployment', 'shop-app');
      const pod = podSpecOf(deployment);
      expect(pod.securityContext).toEqual(restrictedPodContext(1001));
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe('shop-app');
      const container = appContainer(deployment);
      expect(container.securityContext).toEqual(restrictedContainerContext(1001));
      expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
      expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    });

    it('spreads pods over zones and nodes only when more than one can run', async () => {
      const pod = podSpecOf(findObject(await load(), 'Deployment', 'shop-app'));
      if (env === 'dev') {
        expect(pod.topologySpreadConstraints).toBeUndefined();
      } else {
        const keys = pod.topologySpreadConstraints.map((c: { topologyKey: string }) => c.topologyKey);
        expect(keys).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
        for (const c of pod.topologySpreadConstraints) {
          expect(c.maxSkew).toBe(1);
          expect(c.labelSelector.matchLabels['app.kubernetes.io/component']).toBe('app');
        }
      }
    });

    it('exposes a ClusterIP Service 80 -> the container port named http (3000)', async () => {
      const service = findObject(await load(), 'Service', 'shop-app');
      expect(service.spec.type).toBe('ClusterIP');
      expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
      expect(service.spec.selector['app.kubernetes.io/component']).toBe('app');
    });

    it('annotates pods for Prometheus and for rollouts on Secret changes', async () => {
      const deployment = findObject(await load(), 'Deployment', 'shop-app');
      const annotations = deployment.spec.template.metadata.annotations;
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(annotations['prometheus.io/port']).toBe('3000');
      expect(annotations['prometheus.io/path']).toBe('/metrics');
      if (env === 'dev') expect(annotations['checksum/secret']).toMatch(/^[a-f0-9]{64}$/);
      else expect(annotations['checksum/secret']).toBeUndefined();
    });

    it('renders the HPA and PDB as the environment asks', async () => {
      const objects = await load();
      const hpas = byKind(objects, 'HorizontalPodAutoscaler');
      // the app's PDB; the databases bring their own (checked in their render tests)
      const appPdbs = byKind(objects, 'PodDisruptionBudget').filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'app');
      for (const pdb of byKind(objects, 'PodDisruptionBudget')) expect(blocksEveryEviction(objects, pdb), `PDB ${pdb.metadata.name}`).toBe(false);
      if (env === 'dev') {
        expect(hpas).toHaveLength(0);
        expect(appPdbs).toHaveLength(0);
        return;
      }
      expect(hpas.map((o) => o.metadata.name)).toEqual(['shop-app']);
      expect(appPdbs.map((o) => o.metadata.name)).toEqual(['shop-app']);
      const hpa = findObject(objects, 'HorizontalPodAutoscaler', 'shop-app');
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop-app' });
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual(env === 'prod' ? [3, 10] : [2, 4]);
      expect(hpa.spec.metrics).toEqual([
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
      ]);
      const pdb = findObject(objects, 'PodDisruptionBudget', 'shop-app');
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.spec.minAvailable).toBe(env === 'prod' ? 2 : 1);
    });

    it('routes /api through ingress-nginx with TLS from cert-manager and a rate limit', async () => {
      const ingresses = byKind(await load(), 'Ingress');
      if (env === 'dev') {
        expect(ingresses).toHaveLength(0);
        return;
      }
      const ingress = findObject(await load(), 'Ingress', 'shop-app');
      const host = env === 'prod' ? 'api.techshop-cloud.com' : 'api.staging.techshop-cloud.com';
      expect(ingress.spec.ingressClassName).toBe('nginx');
      expect(ingress.spec.tls).toEqual([{ hosts: [host], secretName: env === 'prod' ? 'techshop-tls' : 'techshop-staging-tls' }]);
      expect(ingress.spec.rules).toEqual([
        {
          host,
          http: {
            paths: [
              {
                path: '/api(/|$)(.*)',
                pathType: 'ImplementationSpecific',
                backend: { service: { name: 'shop-app', port: { name: 'http' } } },
              },
            ],
          },
        },
      ]);
      const a = ingress.metadata.annotations ?? {};
      expect(a['cert-manager.io/cluster-issuer']).toBe(env === 'prod' ? 'letsencrypt-prod' : 'letsencrypt-staging');
      expect(a['nginx.ingress.kubernetes.io/use-regex']).toBe('true');
      expect(a['nginx.ingress.kubernetes.io/rewrite-target']).toBe('/$2');
      expect(a['nginx.ingress.kubernetes.io/limit-rpm']).toBe('100');
    });

    it('isolates the app with a NetworkPolicy: ingress controller and Prometheus in, databases, DNS and outside web out', async () => {
      const policy = findObject(await load(), 'NetworkPolicy', 'shop-app');
      expect(policy.spec.podSelector.matchLabels['app.kubernetes.io/component']).toBe('app');
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const [fromController, fromPrometheus] = policy.spec.ingress;
      expect(fromController.from[0]).toEqual({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
      });
      expect(fromController.from[1]).toEqual({
        podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'test' } },
      });
      expect(fromController.ports).toEqual([{ protocol: 'TCP', port: 3000 }]);
      expect(fromPrometheus.from).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'prometheus' } } }]);
      expect(fromPrometheus.ports).toEqual([{ protocol: 'TCP', port: 3000 }]);
      const egressPorts = policy.spec.egress.map((rule: { ports: { protocol: string; port: number }[] }) =>
        rule.ports.map((p) => `${p.protocol}/${p.port}`).join(','),
      );
      // TCP/4317,TCP/4318: the release's OpenTelemetry Collector (every environment traces; test/tracing-render.test.ts checks the peer);
      // TCP/9000: the release's MinIO, static files (dev and staging)
      const minio = OBJECTSTORE_SECRET[env] ? ['TCP/9000'] : [];
      expect(egressPorts).toEqual(['TCP/27017', 'TCP/6379', 'TCP/4317,TCP/4318', ...minio, 'UDP/53,TCP/53', 'TCP/80,TCP/443']);
      if (minio.length) {
        expect(policy.spec.egress[3].to).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'objectstore' } } }]);
      }
      const dns = policy.spec.egress[3 + minio.length];
      expect(dns.to).toEqual([
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ]);
      const outside = policy.spec.egress[4 + minio.length];
      expect(outside.to).toEqual([
        { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'] } },
      ]);
    });

    it('gives the ServiceAccount no API token', async () => {
      const sa = findObject(await load(), 'ServiceAccount', 'shop-app');
      expect(sa.automountServiceAccountToken).toBe(false);
    });

    it('adds the namespace guard rails and a helm test', async () => {
      const objects = await load();
      const deny = findObject(objects, 'NetworkPolicy', 'shop-default-deny');
      expect(deny.spec).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop' } }, policyTypes: ['Ingress', 'Egress'] });
      const limits = findObject(objects, 'LimitRange', 'shop-limits');
      expect(limits.spec.limits[0].type).toBe('Container');
      const quotas = byKind(objects, 'ResourceQuota');
      if (env === 'dev') expect(quotas).toHaveLength(0);
      else {
        // sized for the whole umbrella (app at HPA max + surge, databases, monitoring, backup jobs, test pods)
        const hard = findObject(objects, 'ResourceQuota', 'shop-quota').spec.hard;
        expect(hard).toEqual((environmentValues(env).resourceQuota as { hard: Record<string, string> }).hard);
        expect([hard.pods, hard['requests.cpu'], hard['requests.memory']]).toEqual(env === 'prod' ? ['40', '8', '16Gi'] : ['34', '5', '7Gi']);
        expect(quotas).toHaveLength(1);
      }
      const test = findObject(objects, 'Pod', 'shop-test-health');
      expect(test.metadata.annotations?.['helm.sh/hook']).toBe('test');
      expect(podSpecOf(test).containers[0].command.at(-1)).toBe('http://shop-app:80/ready');
    });
  });

  describe('options', () => {
    it('renders the VPA when the cluster serves autoscaling.k8s.io/v1, and otherwise refuses with the fix', async () => {
      await expect(renderEnv(helm, 'prod', { set: ['app.vpa.enabled=true'] })).rejects.toThrow(
        /app\.vpa\.enabled: the cluster does not serve autoscaling\.k8s\.io\/v1 VerticalPodAutoscaler\. Install the Vertical Pod Autoscaler.*--api-versions autoscaling\.k8s\.io\/v1\/VerticalPodAutoscaler/,
      );
      const withApi = await renderEnv(helm, 'prod', {
        set: ['app.vpa.enabled=true'],
        apiVersions: ['autoscaling.k8s.io/v1/VerticalPodAutoscaler'],
      });
      const vpa = findObject(withApi, 'VerticalPodAutoscaler', 'shop-app');
      expect(vpa.spec.targetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop-app' });
      expect(vpa.spec.updatePolicy.updateMode).toBe('Off');
      expect(vpa.spec.resourcePolicy.containerPolicies[0]).toEqual({
        containerName: 'app',
        minAllowed: { cpu: '100m', memory: '128Mi' },
        maxAllowed: { cpu: '1', memory: '1Gi' },
      });
    });

    it('renders the ClusterIssuer on request when cert-manager is installed, and otherwise refuses with the fix', async () => {
      await expect(renderEnv(helm, 'prod', { set: ['app.clusterIssuer.create=true'] })).rejects.toThrow(
        /app\.clusterIssuer\.create: the cluster does not serve cert-manager\.io\/v1 ClusterIssuer\. Install cert-manager/,
      );
      const objects = await renderEnv(helm, 'prod', { set: ['app.clusterIssuer.create=true'], apiVersions: ['cert-manager.io/v1/ClusterIssuer'] });
      const issuer = findObject(objects, 'ClusterIssuer', 'letsencrypt-prod');
      expect(issuer.spec.acme).toEqual({
        server: 'https://acme-v02.api.letsencrypt.org/directory',
        email: 'admin@techshop-cloud.com',
        privateKeySecretRef: { name: 'letsencrypt-prod' },
        solvers: [{ http01: { ingress: { ingressClassName: 'nginx' } } }],
      });
    });

    it('never renders a PDB that would block every eviction', async () => {
      // the umbrella refuses a PDB its minimum replicas cannot satisfy (rule pdb-satisfiable, as validate does)
      await expect(renderEnv(helm, 'dev', { set: ['app.pdb.enabled=true', 'app.pdb.minAvailable=1'] })).rejects.toThrow(/\[rule pdb-satisfiable\]/);
      const objects = await renderEnv(helm, 'dev');
      for (const pdb of byKind(objects, 'PodDisruptionBudget')) expect(blocksEveryEviction(objects, pdb), `PDB ${pdb.metadata.name}`).toBe(false);
      const three = await renderEnv(helm, 'dev', { set: ['app.pdb.enabled=true', 'app.pdb.minAvailable=2', 'app.replicaCount=3'] });
      expect(findObject(three, 'PodDisruptionBudget', 'shop-app').spec.minAvailable).toBe(2);
      expect(blocksEveryEviction(three, findObject(three, 'PodDisruptionBudget', 'shop-app'))).toBe(false);
    });

    it('prefers a digest over the tag and honours global.imageRegistry', async () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      const objects = await renderEnv(helm, 'prod', { set: [`app.image.digest=${digest}`, 'global.imageRegistry=mirror.example'] });
      expect(appContainer(findObject(objects, 'Deployment', 'shop-app')).image).toBe(`mirror.example/techshop/app@${digest}`);
    });

    it('passes extra env and pod annotations through', async () => {
      const objects = await renderEnv(helm, 'dev', { set: ['app.extraEnv.FEATURE_FLAGS=checkout-v2', 'app.podAnnotations.team=shop'] });
      const deployment = findObject(objects, 'Deployment', 'shop-app');
      expect(envVar(appContainer(deployment), 'FEATURE_FLAGS').value).toBe('checkout-v2');
      expect(deployment.spec.template.metadata.annotations.team).toBe('shop');
    });

    it('refuses an extra env var named like one the chart sets, naming it', async () => {
      // helm's schema check (Helm 4 names no key path here; npm run validate gives file, line and app.extraEnv.LOG_LEVEL)
      await expect(renderEnv(helm, 'dev', { set: ['app.extraEnv.LOG_LEVEL=debug'] })).rejects.toThrow(/schema[\s\S]*LOG_LEVEL/);
    });

    it("reserves exactly the env names the app's templates set, in every environment", async () => {
      // The schema's list (schemas/app.schema.yaml) against what the chart renders: a name the
      // templates add must be reserved, and a reserved name must still be rendered somewhere.
      const schema = JSON.parse(readFileSync('charts/app/values.schema.json', 'utf8'));
      const reserved: string[] = schema.properties.extraEnv.propertyNames.allOf.find((s: { not?: unknown }) => s.not).not.enum;
      const rendered = new Set<string>();
      for (const env of ['dev', 'staging', 'prod'] as const) {
        const objects = await renderEnv(helm, env);
        for (const e of appContainer(findObject(objects, 'Deployment', 'shop-app')).env) rendered.add(e.name);
      }
      expect([...rendered].sort()).toEqual([...reserved].sort());
    });

    it('keeps a given JWT secret and refuses one given twice', async () => {
      const objects = await renderEnv(helm, 'dev', { set: ['app.auth.jwtSecret=s3cret'] });
      expect(Buffer.from(findObject(objects, 'Secret', 'shop-app').data?.['jwt-secret'] ?? '', 'base64').toString()).toBe('s3cret');
      await expect(renderEnv(helm, 'dev', { set: ['app.auth.jwtSecret=s3cret', 'app.auth.existingSecret=mine'] })).rejects.toThrow(
        /app.auth: set either an inline value or existingSecret, not both/,
      );
    });

    it('composes the MongoDB URI and Redis URL from the release charts without copying a password', async () => {
      const objects = await renderEnv(helm, 'prod', {
        set: ['app.connections.mongodb.existingSecret=', 'app.connections.redis.existingSecret=', 'global.mongodb.existingSecret=mongo-creds', 'global.redis.existingSecret=redis-creds'],
      });
      const container = appContainer(findObject(objects, 'Deployment', 'shop-app'));
      const names = container.env.map((e: { name: string }) => e.name);
      // $(VAR) expansion only sees variables defined earlier in the list
      expect(names.indexOf('MONGODB_PASSWORD')).toBeLessThan(names.indexOf('MONGODB_URI'));
      expect(names.indexOf('REDIS_PASSWORD')).toBeLessThan(names.indexOf('REDIS_URL'));
      expect(envVar(container, 'MONGODB_URI').value).toBe('mongodb://$(MONGODB_USERNAME):$(MONGODB_PASSWORD)@$(MONGODB_HOSTS)/$(MONGODB_DATABASE)?$(MONGODB_OPTIONS)');
      expect(envVar(container, 'MONGODB_PASSWORD').valueFrom?.secretKeyRef).toEqual({ name: 'mongo-creds', key: 'mongodb-password' });
      expect(envVar(container, 'MONGODB_HOSTS').valueFrom).toEqual({ configMapKeyRef: { name: 'shop-mongodb', key: 'hosts' } });
      expect(envVar(container, 'REDIS_URL').value).toBe('redis://:$(REDIS_PASSWORD)@$(REDIS_HOST):$(REDIS_PORT)');
      expect(envVar(container, 'REDIS_PASSWORD').valueFrom?.secretKeyRef).toEqual({ name: 'redis-creds', key: 'redis-password' });
      expect(envVar(container, 'REDIS_CLUSTER').valueFrom).toEqual({ configMapKeyRef: { name: 'shop-redis-connection', key: 'cluster' } });
      const policy = findObject(objects, 'NetworkPolicy', 'shop-app');
      expect(policy.spec.egress[0].to).toEqual([
        { podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'mongodb' } } },
      ]);
      expect(policy.spec.egress[1].to).toEqual([
        { podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'redis' } } },
      ]);
      expect(literalCredentials(container.env)).toEqual([]);
    });

    it('takes the whole URI and URL from a Secret for external servers, and lets them out to any address', async () => {
      const objects = await renderEnv(helm, 'prod', {
        set: ['app.connections.mongodb.existingSecret=external-db', 'app.connections.redis.existingSecret=external-db'],
      });
      const container = appContainer(findObject(objects, 'Deployment', 'shop-app'));
      expect(envVar(container, 'MONGODB_URI').valueFrom?.secretKeyRef).toEqual({ name: 'external-db', key: 'mongodb-uri' });
      expect(envVar(container, 'REDIS_URL').valueFrom?.secretKeyRef).toEqual({ name: 'external-db', key: 'redis-url' });
      const names = container.env.map((e: { name: string }) => e.name);
      expect(names.filter((n: string) => /^(MONGODB|REDIS)_/.test(n))).toEqual(['MONGODB_URI', 'REDIS_URL']);
      expect(literalCredentials(container.env)).toEqual([]);
      const policy = findObject(objects, 'NetworkPolicy', 'shop-app');
      expect(policy.spec.egress.slice(0, 2)).toEqual([{ ports: [{ protocol: 'TCP', port: 27017 }] }, { ports: [{ protocol: 'TCP', port: 6379 }] }]);
    });

    it('refuses a wrong type or an unknown key under app, naming the key', async () => {
      await expect(renderEnv(helm, 'dev', { set: ['app.replicaCount=many'] })).rejects.toThrow(/replicaCount/);
      await expect(renderEnv(helm, 'dev', { set: ['app.replicas=3'] })).rejects.toThrow(/replicas/);
      await expect(renderEnv(helm, 'prod', { set: ['app.image.tag=stable'] })).rejects.toThrow(/tag/);
    });
  });
});
