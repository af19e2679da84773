// Renders the umbrella for every environment under Helm 4 and Helm 3 and
// checks the app's objects field by field.
import { describe, expect, it } from 'vitest';
import { findObject, podSpecOf, type K8sObject } from '../scripts/lib/render.ts';
import { byKind, helms, renderEnv } from './helpers/render.ts';

const EXPECTED = {
  dev: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '200m', memory: '256Mi' }, replicas: 1 },
  staging: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' }, replicas: undefined },
  prod: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' }, replicas: undefined },
} as const;

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
      for (const object of await load()) {
        expect(object.metadata.name).toMatch(/^shop-[a-z-]+$/);
        const labels = object.metadata.labels ?? {};
        expect(labels['app.kubernetes.io/instance']).toBe('shop');
        expect(labels['app.kubernetes.io/managed-by']).toBe('Helm');
        expect(labels['helm.sh/chart']).toMatch(/^(app|techshop)-\d+\.\d+\.\d+$/);
        expect(labels['app.kubernetes.io/component']).toBeTruthy();
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
      expect(container.image).toBe(env === 'dev' ? 'docker.io/techshop/app:latest' : 'docker.io/techshop/app:1.4.2');
      expect(container.imagePullPolicy).toBe(env === 'dev' ? 'Always' : 'IfNotPresent');
      expect(container.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
      expect(container.resources).toEqual({ requests: EXPECTED[env].requests, limits: EXPECTED[env].limits });
      expect(envVar(container, 'NODE_ENV').value).toBe(env === 'dev' ? 'development' : 'production');
      expect(envVar(container, 'MONGODB_URI').valueFrom?.secretKeyRef).toEqual({ name: 'techshop-connections', key: 'mongodb-uri' });
      expect(envVar(container, 'REDIS_URL').valueFrom?.secretKeyRef).toEqual({ name: 'techshop-connections', key: 'redis-url' });
      expect(envVar(container, 'JWT_SECRET').valueFrom?.secretKeyRef).toEqual({
        name: env === 'dev' ? 'shop-app' : 'techshop-app-secrets',
        key: 'jwt-secret',
      });
      const literalCredentials = container.env.filter((e: { name: string; value?: string }) => /SECRET|PASSWORD|URI|URL/.test(e.name) && e.value !== undefined);
      expect(literalCredentials).toEqual([]);
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
      expect(pod.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 1001,
        runAsGroup: 1001,
        fsGroup: 1001,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe('shop-app');
      const container = appContainer(deployment);
      expect(container.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 1001,
        runAsGroup: 1001,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
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
      const pdbs = byKind(objects, 'PodDisruptionBudget');
      if (env === 'dev') {
        expect(hpas).toHaveLength(0);
        expect(pdbs).toHaveLength(0);
        return;
      }
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
      expect(egressPorts).toEqual(['TCP/27017', 'TCP/6379', 'UDP/53,TCP/53', 'TCP/80,TCP/443']);
      const dns = policy.spec.egress[2];
      expect(dns.to).toEqual([
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ]);
      const outside = policy.spec.egress[3];
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
      else expect(findObject(objects, 'ResourceQuota', 'shop-quota').spec.hard.pods).toBe(env === 'prod' ? '20' : '15');
      const test = findObject(objects, 'Pod', 'shop-test-health');
      expect(test.metadata.annotations?.['helm.sh/hook']).toBe('test');
      expect(podSpecOf(test).containers[0].command.at(-1)).toBe('http://shop-app:80/health');
    });
  });

  describe('options', () => {
    it('renders the VPA only when the cluster serves autoscaling.k8s.io/v1', async () => {
      const without = await renderEnv(helm, 'prod', { set: ['app.vpa.enabled=true'] });
      expect(byKind(without, 'VerticalPodAutoscaler')).toHaveLength(0);
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

    it('renders the ClusterIssuer on request', async () => {
      const objects = await renderEnv(helm, 'prod', { set: ['app.clusterIssuer.create=true'] });
      const issuer = findObject(objects, 'ClusterIssuer', 'letsencrypt-prod');
      expect(issuer.spec.acme).toEqual({
        server: 'https://acme-v02.api.letsencrypt.org/directory',
        email: 'admin@techshop-cloud.com',
        privateKeySecretRef: { name: 'letsencrypt-prod' },
        solvers: [{ http01: { ingress: { ingressClassName: 'nginx' } } }],
      });
    });

    it('never renders a PDB that would block every eviction', async () => {
      const objects = await renderEnv(helm, 'dev', { set: ['app.pdb.enabled=true', 'app.pdb.minAvailable=1'] });
      expect(byKind(objects, 'PodDisruptionBudget')).toHaveLength(0);
      const three = await renderEnv(helm, 'dev', { set: ['app.pdb.enabled=true', 'app.pdb.minAvailable=2', 'app.replicaCount=3'] });
      expect(findObject(three, 'PodDisruptionBudget', 'shop-app').spec.minAvailable).toBe(2);
    });

    it('prefers a digest over the tag and honours global.imageRegistry', async () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      const objects = await renderEnv(helm, 'prod', { set: [`app.image.digest=${digest}`, 'global.imageRegistry=mirror.example'] });
      expect(appContainer(findObject(objects, 'Deployment', 'shop-app')).image).toBe(`mirror.example/techshop/app@${digest}`);
    });

    it('passes extra env and pod annotations through', async () => {
      const objects = await renderEnv(helm, 'dev', { set: ['app.extraEnv.LOG_LEVEL=debug', 'app.podAnnotations.team=shop'] });
      const deployment = findObject(objects, 'Deployment', 'shop-app');
      expect(envVar(appContainer(deployment), 'LOG_LEVEL').value).toBe('debug');
      expect(deployment.spec.template.metadata.annotations.team).toBe('shop');
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
        set: ['app.connections.mongodb.existingSecret=', 'app.connections.redis.existingSecret=', 'global.mongodb.existingSecret=mongo-creds'],
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
      expect(envVar(container, 'REDIS_PASSWORD').valueFrom?.secretKeyRef).toEqual({ name: 'shop-redis', key: 'redis-password' });
      expect(envVar(container, 'REDIS_CLUSTER').valueFrom).toEqual({ configMapKeyRef: { name: 'shop-redis-connection', key: 'cluster' } });
      const policy = findObject(objects, 'NetworkPolicy', 'shop-app');
      expect(policy.spec.egress[0].to).toEqual([
        { podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'mongodb' } } },
      ]);
    });

    it('refuses a wrong type or an unknown key under app, naming the key', async () => {
      await expect(renderEnv(helm, 'dev', { set: ['app.replicaCount=many'] })).rejects.toThrow(/replicaCount/);
      await expect(renderEnv(helm, 'dev', { set: ['app.replicas=3'] })).rejects.toThrow(/replicas/);
      await expect(renderEnv(helm, 'prod', { set: ['app.image.tag=stable'] })).rejects.toThrow(/tag/);
    });
  });
});
