// Renders charts/redis with its dev and prod ci values under Helm 4 and Helm 3
// and checks its objects field by field: resources, security contexts, exact
// NetworkPolicy peers and ports, Secret usage, PDB, hooks; plus shellcheck on
// every script the chart ships.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { chartDir } from '../scripts/lib/paths.ts';
import { checkNetworkPolicyCoverage, checkPodSecurityRestricted } from '../scripts/lib/policy.ts';
import { findObject, podSpecOf, RenderError, renderChart, type K8sObject, type RenderOptions } from '../scripts/lib/render.ts';
import { helms } from './helpers/render.ts';
import { ensureRedisChartDependencies } from './helpers/redis-server.ts';
import { restrictedContainerContext, restrictedPodContext } from './helpers/security.ts';
import { imageRef } from '../scripts/lib/images.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered objects are untyped YAML */

const ciValues = (env: string) => join(chartDir('redis'), 'ci', `${env}-values.yaml`);
const render = (helm: (typeof helms)[number], env: 'dev' | 'prod', options: RenderOptions = {}) =>
  renderChart(helm, 'redis', { ...options, valuesFiles: [ciValues(env), ...(options.valuesFiles ?? [])] });

const SELECTOR = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'redis' };
const component = (name: string) => ({ 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': name });
const DNS_PEER = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};
const DNS_PORTS = [
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 53 },
];
// the redis image's user and group
const POD_SECURITY = restrictedPodContext(999);
const CONTAINER_SECURITY = restrictedContainerContext(999);
const SECRET_REF = (name: string) => ({ secretKeyRef: { name, key: 'redis-password' } });
const PASSWORD_FILE_ENV = { name: 'REDISCLI_AUTH_FILE', value: '/etc/redis-auth/redis-password' };
const PASSWORD_MOUNT = { name: 'redis-auth', mountPath: '/etc/redis-auth', readOnly: true };
const PASSWORD_VOLUME = (secretName: string) => ({
  name: 'redis-auth',
  secret: { secretName, defaultMode: 0o440, items: [{ key: 'redis-password', path: 'redis-password' }] },
});

function containers(object: K8sObject): any[] {
  const spec = podSpecOf(object);
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

function container(object: K8sObject, name: string): any {
  const found = containers(object).find((c) => c.name === name);
  expect(found, `container ${name} of ${object.kind}/${object.metadata.name}`).toBeDefined();
  return found;
}

beforeAll(async () => {
  await ensureRedisChartDependencies(helms[0]!);
});

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('%s', (_label, helm) => {
  describe.each(['dev', 'prod'] as const)('%s ci values', (env) => {
    const cluster = env === 'prod';
    const pods = cluster ? 6 : 1;
    const secretName = cluster ? 'techshop-redis' : 'shop-redis';
    let objects: K8sObject[];
    const load = async () => (objects ??= await render(helm, env));

    it('names every object <release>-redis[-suffix] with the standard labels', async () => {
      for (const object of await load()) {
        expect(object.metadata.name).toMatch(/^shop-redis(-[a-z]+)?$/);
        expect(object.metadata.namespace).toBe('techshop');
        const labels = object.metadata.labels ?? {};
        expect(labels['app.kubernetes.io/name']).toBe('redis');
        expect(labels['app.kubernetes.io/instance']).toBe('shop');
        expect(labels['helm.sh/chart']).toBe('redis-0.1.0');
        expect(['redis', 'redis-bootstrap', 'redis-test']).toContain(labels['app.kubernetes.io/component']);
      }
      const kinds = (await load()).map((o) => `${o.kind}/${o.metadata.name}`).sort();
      const expected = [
        'ConfigMap/shop-redis-config',
        'ConfigMap/shop-redis-connection',
        'ConfigMap/shop-redis-scripts',
        'NetworkPolicy/shop-redis',
        'NetworkPolicy/shop-redis-test',
        'PodDisruptionBudget/shop-redis',
        'Pod/shop-redis-test',
        'Service/shop-redis',
        'Service/shop-redis-headless',
        'Service/shop-redis-metrics',
        'StatefulSet/shop-redis',
        ...(cluster ? ['CronJob/shop-redis-reconcile', 'Job/shop-redis-bootstrap', 'NetworkPolicy/shop-redis-bootstrap'] : ['Secret/shop-redis']),
      ].sort();
      expect(kinds).toEqual(expected);
    });

    it('runs a StatefulSet of the pinned images with the seed resources and a volume per pod', async () => {
      const sts = findObject(await load(), 'StatefulSet', 'shop-redis');
      expect(sts.spec.replicas).toBe(pods);
      expect(sts.spec.serviceName).toBe('shop-redis-headless');
      expect(sts.spec.podManagementPolicy).toBe('Parallel');
      expect(sts.spec.selector.matchLabels).toEqual(SELECTOR);
      const redis = container(sts, 'redis');
      expect(redis.image).toBe(imageRef('redis'));
      expect(redis.command).toEqual(['/bin/bash', '/scripts/start.sh']);
      expect(redis.resources).toEqual({ requests: { cpu: '250m', memory: '256Mi', 'ephemeral-storage': '64Mi' }, limits: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '256Mi' } });
      expect(redis.ports).toEqual([
        { name: 'redis', containerPort: 6379, protocol: 'TCP' },
        ...(cluster ? [{ name: 'cluster-bus', containerPort: 16379, protocol: 'TCP' }] : []),
      ]);
      const exporter = container(sts, 'metrics');
      expect(exporter.image).toBe(imageRef('redis-exporter'));
      expect(exporter.ports).toEqual([{ name: 'metrics', containerPort: 9121, protocol: 'TCP' }]);
      // alive = its HTTP server answers; ready = the port accepts connections
      expect(exporter.livenessProbe).toEqual({ httpGet: { path: '/', port: 'metrics' }, initialDelaySeconds: 10, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 });
      expect(exporter.readinessProbe.tcpSocket).toEqual({ port: 'metrics' });
      expect(exporter.resources).toEqual({ requests: { cpu: '25m', memory: '32Mi', 'ephemeral-storage': '16Mi' }, limits: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '64Mi' } });
      // the password only as the JSON file (in memory) the metrics-auth init container wrote from the Secret's file
      expect(exporter.env.filter((e: any) => e.valueFrom)).toEqual([]);
      expect(exporter.env).toContainEqual({ name: 'REDIS_PASSWORD_FILE', value: '/run/redis-exporter/passwords.json' });
      expect(exporter.volumeMounts).toEqual([{ name: 'metrics-auth', mountPath: '/run/redis-exporter', readOnly: true }]);
      const auth = container(sts, 'metrics-auth');
      expect(auth.command).toEqual(['/bin/bash', '/scripts/exporter-auth.sh']);
      expect(auth.image).toBe(imageRef('redis'));
      expect(podSpecOf(sts).volumes).toContainEqual({ name: 'metrics-auth', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
      expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
      expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
      expect(sts.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: cluster ? '5Gi' : '1Gi' } } });
      if (cluster) {
        expect(redis.env.find((e: any) => e.name === 'REDIS_ANNOUNCE_HOSTNAME').value).toBe('$(POD_NAME).shop-redis-headless.techshop.svc.cluster.local');
        expect(podSpecOf(sts).affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm).toEqual({
          topologyKey: 'kubernetes.io/hostname',
          labelSelector: { matchLabels: SELECTOR },
        });
        expect(podSpecOf(sts).topologySpreadConstraints[0]).toMatchObject({ topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' });
      } else {
        expect(podSpecOf(sts).affinity).toBeUndefined();
      }
    });

    it('applies the restricted security context (uid/gid 999) with a read-only root and memory-backed runtime dir', async () => {
      const rendered = await load();
      for (const object of rendered.filter((o) => podSpecOf(o))) {
        const spec = podSpecOf(object);
        expect(spec.securityContext, object.metadata.name).toEqual(POD_SECURITY);
        expect(spec.automountServiceAccountToken).toBe(false);
        for (const c of containers(object)) expect(c.securityContext, `${object.metadata.name}/${c.name}`).toEqual(CONTAINER_SECURITY);
      }
      const spec = podSpecOf(findObject(rendered, 'StatefulSet', 'shop-redis'));
      expect(spec.volumes).toEqual([
        { name: 'config', configMap: { name: 'shop-redis-config' } },
        { name: 'scripts', configMap: { name: 'shop-redis-scripts' } },
        { name: 'runtime', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
        PASSWORD_VOLUME(secretName),
        { name: 'metrics-auth', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
      ]);
      expect(checkPodSecurityRestricted(rendered)).toEqual([]);
      expect(checkNetworkPolicyCoverage(rendered)).toEqual([]);
    });

    it('probes with an authenticated redis-cli PING (REDISCLI_AUTH read from the mounted Secret, never -a)', async () => {
      const sts = findObject(await load(), 'StatefulSet', 'shop-redis');
      const redis = container(sts, 'redis');
      expect(redis.livenessProbe.exec.command).toEqual(['/bin/bash', '/scripts/probe.sh', 'liveness']);
      expect(redis.readinessProbe.exec.command).toEqual(['/bin/bash', '/scripts/probe.sh', 'readiness']);
      expect(redis.env.find((e: any) => e.name === 'REDISCLI_AUTH')).toBeUndefined();
      expect(redis.env).toContainEqual(PASSWORD_FILE_ENV);
      expect(redis.env).toContainEqual({ name: 'REDIS_PASSWORD_FILE', value: '/etc/redis-auth/redis-password' });
      expect(redis.volumeMounts).toContainEqual(PASSWORD_MOUNT);
      expect(sts.spec.template.spec.volumes).toContainEqual(PASSWORD_VOLUME(secretName));
      const probe = configMapDataOf(await load(), 'shop-redis-scripts', 'probe.sh');
      expect(probe).toMatch(/redis-cli .*ping/);
      for (const object of await load()) expect(JSON.stringify(object)).not.toMatch(/redis-cli[^"]* -a /);
    });

    it('reads the password only from the one Secret, key redis-password (secretKeyRef, or its mounted file)', async () => {
      const rendered = await load();
      for (const object of rendered) {
        for (const c of containers(object)) {
          for (const e of c.env ?? []) {
            // the exporter's password file is the JSON map the metrics-auth init container writes from the Secret's file
            if (e.name === 'EXPORTER_AUTH_FILE' || (c.name === 'metrics' && e.name === 'REDIS_PASSWORD_FILE')) expect(e.value).toBe('/run/redis-exporter/passwords.json');
            else if (/_FILE$/.test(e.name)) expect(e, `${object.metadata.name}/${c.name}`).toEqual({ name: e.name, value: PASSWORD_FILE_ENV.value });
            else if (/PASSWORD|AUTH/.test(e.name)) expect(e.valueFrom, `${object.metadata.name}/${c.name} ${e.name}`).toEqual(SECRET_REF(secretName));
          }
        }
        const spec = object.kind === 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec?.template?.spec ?? (object.kind === 'Pod' ? object.spec : undefined);
        for (const v of spec?.volumes ?? []) if (v.secret) expect(v, object.metadata.name).toEqual(PASSWORD_VOLUME(secretName));
      }
      const annotations = findObject(rendered, 'StatefulSet', 'shop-redis').spec.template.metadata.annotations;
      if (cluster) expect(annotations['checksum/secret']).toBeUndefined();
      else expect(annotations['checksum/secret']).toMatch(/^[a-f0-9]{64}$/);
      expect(configMapDataOf(rendered, 'shop-redis-config', 'redis.conf')).not.toMatch(/requirepass|masterauth/);
    });

    it('publishes the connection facts (no password) in shop-redis-connection', async () => {
      const data = findObject(await load(), 'ConfigMap', 'shop-redis-connection').data;
      const host = 'shop-redis.techshop.svc.cluster.local';
      const nodes = cluster
        ? Array.from({ length: 6 }, (_, i) => `shop-redis-${i}.shop-redis-headless.techshop.svc.cluster.local:6379`).join(',')
        : `${host}:6379`;
      expect(data).toEqual({ host, port: '6379', cluster: String(cluster), nodes });
    });

    it('exposes client, headless and metrics Services', async () => {
      const rendered = await load();
      const client = findObject(rendered, 'Service', 'shop-redis');
      expect(client.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' }]);
      expect(client.spec.selector).toEqual(SELECTOR);
      const headless = findObject(rendered, 'Service', 'shop-redis-headless');
      expect(headless.spec.clusterIP).toBe('None');
      expect(headless.spec.publishNotReadyAddresses).toBe(true);
      expect(headless.spec.ports.map((p: any) => [p.name, p.port])).toEqual([['redis', 6379], ...(cluster ? [['cluster-bus', 16379]] : [])]);
      const metrics = findObject(rendered, 'Service', 'shop-redis-metrics');
      expect(metrics.spec.ports).toEqual([{ name: 'metrics', port: 9121, targetPort: 'metrics', protocol: 'TCP' }]);
    });

    it('lets only the app (and bootstrap/test pods, and members) reach 6379, members 16379, Prometheus 9121', async () => {
      const policy = findObject(await load(), 'NetworkPolicy', 'shop-redis');
      expect(policy.spec.podSelector).toEqual({ matchLabels: SELECTOR });
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const members = { podSelector: { matchLabels: SELECTOR } };
      expect(policy.spec.ingress).toEqual([
        {
          from: [
            { podSelector: { matchLabels: component('app') } },
            { podSelector: { matchLabels: component('redis-test') } },
            ...(cluster ? [{ podSelector: { matchLabels: component('redis-bootstrap') } }, members] : []),
          ],
          ports: [{ protocol: 'TCP', port: 6379 }],
        },
        ...(cluster ? [{ from: [members], ports: [{ protocol: 'TCP', port: 16379 }] }] : []),
        { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'prometheus' } } }], ports: [{ protocol: 'TCP', port: 9121 }] },
      ]);
      expect(policy.spec.egress).toEqual([
        { to: [DNS_PEER], ports: DNS_PORTS },
        ...(cluster ? [{ to: [members], ports: [{ protocol: 'TCP', port: 6379 }, { protocol: 'TCP', port: 16379 }] }] : []),
      ]);
      const test = findObject(await load(), 'NetworkPolicy', 'shop-redis-test');
      expect(test.metadata.annotations?.['helm.sh/hook']).toBe('test');
      expect(test.spec.ingress).toBeUndefined();
      expect(test.spec.egress).toEqual([
        { to: [DNS_PEER], ports: DNS_PORTS },
        { to: [members], ports: [{ protocol: 'TCP', port: 6379 }] },
      ]);
      if (cluster) {
        const bootstrap = findObject(await load(), 'NetworkPolicy', 'shop-redis-bootstrap');
        expect(bootstrap.metadata.annotations).toBeUndefined(); // a regular object: it exists before the hook Job runs
        expect(bootstrap.spec.podSelector.matchLabels['app.kubernetes.io/component']).toBe('redis-bootstrap');
        expect(bootstrap.spec.egress).toEqual(test.spec.egress);
      }
    });

    it('keeps at most one Redis pod down (PDB maxUnavailable 1)', async () => {
      const pdb = findObject(await load(), 'PodDisruptionBudget', 'shop-redis');
      expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: SELECTOR } });
    });

    it('runs a helm test that authenticates and SET/GETs a key (-c in cluster mode)', async () => {
      const pod = findObject(await load(), 'Pod', 'shop-redis-test');
      expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
      const c = container(pod, 'redis-test');
      const script = c.command[2] as string;
      expect(script).toMatch(/ set "\$key" ok/);
      expect(script).toMatch(/ get "\$key"/);
      if (cluster) expect(script).toMatch(/redis-cli --no-auth-warning -h "\$REDIS_HOST" -p 6379 -c /);
      else expect(script).not.toMatch(/ -c /);
      // the password from the mounted Secret, never an env value
      expect(c.env.find((e: any) => e.name === 'REDISCLI_AUTH')).toBeUndefined();
      expect(c.env).toContainEqual(PASSWORD_FILE_ENV);
      expect(script).toMatch(/^REDISCLI_AUTH="\$\(cat "\$REDISCLI_AUTH_FILE"\)"\nexport REDISCLI_AUTH\n/);
      expect(pod.spec.volumes).toContainEqual(PASSWORD_VOLUME(secretName));
      expect(c.volumeMounts).toContainEqual(PASSWORD_MOUNT);
    });

    if (cluster) {
      it('bootstraps the cluster from a post-install/post-upgrade hook Job and a --no-create CronJob', async () => {
        const job = findObject(await load(), 'Job', 'shop-redis-bootstrap');
        expect(job.metadata.annotations).toMatchObject({
          'helm.sh/hook': 'post-install,post-upgrade',
          'helm.sh/hook-weight': '0',
          'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
        });
        expect(job.spec.podFailurePolicy.rules[0]).toEqual({ action: 'FailJob', onExitCodes: { containerName: 'bootstrap', operator: 'In', values: [2] } });
        const c = container(job, 'bootstrap');
        expect(c.command).toEqual(['/bin/bash', '/scripts/bootstrap.sh']);
        const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
        expect(env.REDIS_NODES.split(',')).toHaveLength(6);
        expect(env.REDIS_CLUSTER_REPLICAS).toBe('1');
        expect(env.REDISCLI_AUTH).toBeUndefined();
        expect(c.env).toContainEqual(PASSWORD_FILE_ENV);
        expect(c.volumeMounts).toContainEqual(PASSWORD_MOUNT);
        expect(job.spec.template.spec.volumes).toContainEqual(PASSWORD_VOLUME(secretName));
        const cron = findObject(await load(), 'CronJob', 'shop-redis-reconcile');
        expect(cron.spec.concurrencyPolicy).toBe('Forbid');
        expect(container(cron, 'bootstrap').command).toEqual(['/bin/bash', '/scripts/bootstrap.sh', '--no-create']);
      });
    }
  });

  describe('credentials', () => {
    const INLINE = 'Inline-dev-Passw0rd.xyz';

    it('puts an inline password (--set) only into the Secret: no ConfigMap, annotation or env literal has it', async () => {
      const objects = await render(helm, 'dev', { set: [`auth.password=${INLINE}`] });
      const secret = findObject(objects, 'Secret', 'shop-redis');
      expect(secret.data?.['redis-password']).toBe(Buffer.from(INLINE).toString('base64'));
      const others = objects.filter((o) => o.kind !== 'Secret');
      const text = JSON.stringify(others);
      expect(text).not.toContain(INLINE);
      expect(text).not.toContain(Buffer.from(INLINE).toString('base64'));
    });

    it('generates a 32-character password when none is given, and renders no Secret with an existing one', async () => {
      const generated = findObject(await render(helm, 'dev'), 'Secret', 'shop-redis');
      expect(Buffer.from(generated.data?.['redis-password'] as string, 'base64').toString()).toMatch(/^[A-Za-z0-9]{32}$/);
      const prod = await render(helm, 'prod');
      expect(prod.filter((o) => o.kind === 'Secret')).toEqual([]);
    });

    it('refuses an inline password together with global.redis.existingSecret', async () => {
      await expect(render(helm, 'prod', { set: [`auth.password=${INLINE}`] })).rejects.toThrow(/either an inline value or existingSecret/);
    });

    it('refuses a maxmemory above 80% of the memory limit', async () => {
      await expect(render(helm, 'dev', { set: ['config.maxmemory=500mb'] })).rejects.toThrow(RenderError);
      await expect(render(helm, 'dev', { set: ['config.maxmemory=500mb'] })).rejects.toThrow(/above 80% of redis.resources.limits.memory .*\[rule redis-maxmemory\]/);
      await expect(render(helm, 'dev', { set: ['config.maxmemory=400mb'] })).resolves.toBeDefined();
    });

    it('refuses an unknown key and a non-URL-safe password through the values schema', async () => {
      await expect(render(helm, 'dev', { set: ['persistance.size=1Gi'] })).rejects.toThrow(/persistance/);
      await expect(render(helm, 'dev', { set: ['auth.password=a@b'] })).rejects.toThrow(/password/);
    });
  });
});

function configMapDataOf(objects: K8sObject[], name: string, key: string): string {
  return findObject(objects, 'ConfigMap', name).data?.[key] as string;
}

describe('scripts the chart ships', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redis-shellcheck-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are shellcheck-clean: files/*.sh, the rendered ConfigMap scripts and the helm test script', async () => {
    const objects = await render(helms[0]!, 'prod');
    const files: string[] = [];
    const filesDir = join(chartDir('redis'), 'files');
    for (const name of readdirSync(filesDir).filter((f) => f.endsWith('.sh'))) {
      files.push(join(filesDir, name));
      // the ConfigMap carries the files unchanged
      expect(configMapDataOf(objects, 'shop-redis-scripts', name)).toBe(readFileSync(join(filesDir, name), 'utf8'));
    }
    expect(files.map((f) => f.split('/').pop()).sort()).toEqual(['bootstrap.sh', 'exporter-auth.sh', 'probe.sh', 'start.sh']);
    for (const env of ['dev', 'prod'] as const) {
      const pod = findObject(env === 'prod' ? objects : await render(helms[0]!, env), 'Pod', 'shop-redis-test');
      const path = join(dir, `helm-test-${env}.sh`);
      writeFileSync(path, `#!/usr/bin/env bash\nset -e\n${container(pod, 'redis-test').command[2]}`);
      files.push(path);
    }
    const result = await run('shellcheck', ['--shell=bash', '--severity=style', ...files]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
