// Renders charts/mongodb with its ci values (dev = the defaults, prod = the
// seed's replica set) under Helm 4 and Helm 3 and checks the objects field by field.
import { describe, expect, it } from 'vitest';
import { findObject, podSpecOf, type K8sObject } from '../scripts/lib/render.ts';
import { byKind, helms } from './helpers/render.ts';
import { ciValues, renderMongo } from './fixtures/mongodb/render.ts';
import { restrictedContainerContext, restrictedPodContext } from './helpers/security.ts';
import { imageRef } from '../scripts/lib/images.ts';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../scripts/lib/exec.ts';

function configMapText(objects: K8sObject[], key: string): string {
  const text = findObject(objects, 'ConfigMap', 'shop-mongodb-scripts').data?.[key];
  if (text === undefined) throw new Error(`no ${key} in shop-mongodb-scripts`);
  return text;
}

const SELECTOR = {
  'app.kubernetes.io/name': 'mongodb',
  'app.kubernetes.io/instance': 'shop',
  'app.kubernetes.io/component': 'mongodb',
};
const MEMBER = (i: number) => `shop-mongodb-${i}.shop-mongodb-headless.techshop.svc.cluster.local:27017`;

const EXPECTED = {
  dev: {
    replicas: 1,
    storage: '1Gi',
    resources: { requests: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '128Mi' }, limits: { cpu: '500m', memory: '1Gi', 'ephemeral-storage': '512Mi' } },
    secretName: 'shop-mongodb',
    hosts: 'shop-mongodb.techshop.svc.cluster.local:27017',
    options: 'authSource=techshop',
    replicaSet: '',
    authArgs: ['--auth'],
    cache: '0.25',
  },
  prod: {
    replicas: 3,
    storage: '20Gi',
    resources: { requests: { cpu: '500m', memory: '1Gi', 'ephemeral-storage': '128Mi' }, limits: { cpu: '1', memory: '2Gi', 'ephemeral-storage': '512Mi' } },
    secretName: 'techshop-mongodb',
    hosts: [0, 1, 2].map(MEMBER).join(','),
    options: 'authSource=techshop&replicaSet=rs0',
    replicaSet: 'rs0',
    authArgs: ['--replSet=rs0', '--keyFile=/etc/mongodb/keyfile/keyfile'],
    cache: '0.5',
  },
} as const;

// the official mongo image's user and group
const RESTRICTED_999 = restrictedContainerContext(999);

type Container = { name: string; env?: { name: string; value?: string; valueFrom?: any }[]; [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

function containerOf(sts: K8sObject, name: string): Container {
  const found = (podSpecOf(sts).containers as Container[]).find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

function allContainers(object: K8sObject): Container[] {
  const pod = podSpecOf(object);
  return pod ? [...(pod.initContainers ?? []), ...pod.containers] : [];
}

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('%s', (_label, helm) => {
  describe.each(['dev', 'prod'] as const)('ci/%s-values.yaml', (env) => {
    const want = EXPECTED[env];
    let objects: K8sObject[];
    const load = async () => (objects ??= await renderMongo(helm, { valuesFiles: [ciValues(env)] }));
    const sts = async () => findObject(await load(), 'StatefulSet', 'shop-mongodb');

    it('names every object <release>-mongodb[-suffix] with the standard labels', async () => {
      for (const object of await load()) {
        expect(object.metadata.name).toMatch(/^shop-mongodb(-[a-z]+)*$/);
        const labels = object.metadata.labels ?? {};
        expect(labels['app.kubernetes.io/instance']).toBe('shop');
        expect(labels['app.kubernetes.io/managed-by']).toBe('Helm');
        expect(labels['helm.sh/chart']).toBe('mongodb-0.1.0');
        expect(labels['app.kubernetes.io/component']).toMatch(/^mongodb(-test)?$/);
      }
    });

    it('runs a StatefulSet with the topology of the environment', async () => {
      const s = await sts();
      expect(s.spec.replicas).toBe(want.replicas);
      expect(s.spec.serviceName).toBe('shop-mongodb-headless');
      expect(s.spec.podManagementPolicy).toBe('Parallel');
      expect(s.spec.selector.matchLabels).toEqual(SELECTOR);
      expect(s.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
      expect(s.spec.volumeClaimTemplates).toEqual([
        {
          metadata: { name: 'data', labels: SELECTOR },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: want.storage } } },
        },
      ]);
      const mongod = containerOf(s, 'mongodb');
      expect(mongod.image).toBe(imageRef('mongo'));
      expect(mongod.command).toEqual(['mongod']);
      expect(mongod.args).toEqual(['--bind_ip_all', '--port=27017', '--dbpath=/data/db', `--wiredTigerCacheSizeGB=${want.cache}`, ...want.authArgs]);
      expect(mongod.ports).toEqual([{ name: 'mongodb', containerPort: 27017, protocol: 'TCP' }]);
      expect(mongod.resources).toEqual(want.resources);
      expect(mongod.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data/db' });
    });

    it('probes with mongosh: ping for startup and liveness, hello (primary or secondary) for readiness', async () => {
      const mongod = containerOf(await sts(), 'mongodb');
      const uri = 'mongodb://127.0.0.1:27017/admin?directConnection=true&serverSelectionTimeoutMS=5000';
      const ping = ['mongosh', '--quiet', '--norc', uri, '--eval', 'db.adminCommand({ ping: 1 })'];
      expect(mongod.startupProbe).toEqual({ exec: { command: ping }, periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 30 });
      expect(mongod.livenessProbe).toEqual({ exec: { command: ping }, periodSeconds: 20, timeoutSeconds: 10, failureThreshold: 6 });
      expect(mongod.readinessProbe.exec.command.slice(0, 5)).toEqual(['mongosh', '--quiet', '--norc', uri, '--eval']);
      expect(mongod.readinessProbe.exec.command[5]).toMatch(/db\.hello\(\).*isWritablePrimary \|\| h\.secondary.*quit\(1\)/);
      const exporter = containerOf(await sts(), 'metrics');
      expect(exporter.readinessProbe.httpGet).toEqual({ path: '/', port: 'metrics' });
      expect(exporter.livenessProbe.tcpSocket).toEqual({ port: 'metrics' });
    });

    it('probes the bootstrap sidecar by the age of the heartbeat its loop touches (run with bash on files of each age)', async () => {
      const bootstrap = containerOf(await sts(), 'bootstrap');
      expect(configMapText(await load(), 'bootstrap.sh')).toMatch(/reconcile \|\| true\n\s*# .*\n\s*touch "\$\{STATE_DIR\}\/heartbeat"/);
      expect(bootstrap.env).toContainEqual({ name: 'STATE_DIR', value: '/tmp' });
      expect(bootstrap.readinessProbe.exec.command).toEqual(['test', '-e', '/tmp/heartbeat']);
      const [shell, flag, check] = bootstrap.livenessProbe.exec.command as string[];
      expect([shell, flag]).toEqual(['bash', '-c']);
      // 30 s interval (values): a pass may be 3 intervals plus 2 minutes late before the sidecar is restarted
      expect(check).toContain('-lt 210');
      expect(bootstrap.livenessProbe.initialDelaySeconds).toBe(150);
      const dir = mkdtempSync(join(tmpdir(), 'heartbeat-'));
      try {
        const heartbeat = join(dir, 'heartbeat');
        const probe = () => run('bash', ['-c', check!.replaceAll('/tmp/heartbeat', heartbeat)]);
        expect((await probe()).code, 'no heartbeat yet').not.toBe(0);
        writeFileSync(heartbeat, '');
        expect((await probe()).code, 'fresh heartbeat').toBe(0);
        const old = Date.now() / 1000 - 300;
        utimesSync(heartbeat, old, old);
        expect((await probe()).code, 'stale heartbeat').not.toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('runs every container restricted as uid/gid 999 with a read-only root filesystem', async () => {
      const s = await sts();
      const pod = podSpecOf(s);
      expect(pod.securityContext).toEqual(restrictedPodContext(999));
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe('shop-mongodb');
      const names = allContainers(s).map((c) => c.name);
      expect(names).toEqual(env === 'prod' ? ['keyfile', 'mongodb', 'bootstrap', 'metrics'] : ['mongodb', 'bootstrap', 'metrics']);
      for (const c of allContainers(s)) {
        expect(c.securityContext, c.name).toEqual(RESTRICTED_999);
        expect(c.resources.requests && c.resources.limits, c.name).toBeTruthy();
      }
      // Writable paths are volumes: /tmp per container, the data PVC, the in-memory keyfile.
      const emptyDirs = pod.volumes.filter((v: { emptyDir?: unknown }) => v.emptyDir).map((v: { name: string }) => v.name);
      expect(emptyDirs).toEqual(env === 'prod' ? ['tmp', 'bootstrap-tmp', 'keyfile'] : ['tmp', 'bootstrap-tmp']);
      const test = findObject(await load(), 'Pod', 'shop-mongodb-test');
      expect(test.spec.containers[0].securityContext).toEqual(RESTRICTED_999);
    });

    it('copies the keyfile owner-only (0400) for a replica set, and uses --auth for a standalone', async () => {
      const s = await sts();
      const pod = podSpecOf(s);
      if (env === 'dev') {
        expect(pod.initContainers).toBeUndefined();
        expect(pod.volumes.map((v: { name: string }) => v.name)).not.toContain('keyfile-secret');
        return;
      }
      const [keyfile] = pod.initContainers;
      expect(keyfile.command).toEqual(['install', '-m', '0400', '/etc/mongodb/keyfile-secret/mongodb-replica-set-key', '/etc/mongodb/keyfile/keyfile']);
      expect(pod.volumes).toContainEqual({
        name: 'keyfile-secret',
        secret: { secretName: 'techshop-mongodb', defaultMode: 0o440, items: [{ key: 'mongodb-replica-set-key', path: 'mongodb-replica-set-key' }] },
      });
      expect(pod.volumes).toContainEqual({ name: 'keyfile', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
      expect(containerOf(s, 'mongodb').volumeMounts).toContainEqual({ name: 'keyfile', mountPath: '/etc/mongodb/keyfile', readOnly: true });
    });

    it('reads every credential from the one Secret by key', async () => {
      const s = await sts();
      const refs = allContainers(s).flatMap((c) => (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => [c.name, e.name, e.valueFrom.secretKeyRef]));
      // only the exporter, which reads credentials from nothing but its environment (README "Security model")
      expect(refs).toEqual([['metrics', 'MONGODB_PASSWORD', { name: want.secretName, key: 'mongodb-metrics-password' }]]);
      // the bootstrap sidecar: each password as a file of the mounted Secret, read when a query needs it
      const bootstrap = containerOf(s, 'bootstrap');
      const files = Object.fromEntries((bootstrap.env ?? []).filter((e: { name: string }) => e.name.endsWith('_PASSWORD_FILE')).map((e: { name: string; value?: string }) => [e.name, e.value]));
      expect(files).toEqual({
        MONGODB_ROOT_PASSWORD_FILE: '/etc/mongodb/credentials/mongodb-root-password',
        MONGODB_PASSWORD_FILE: '/etc/mongodb/credentials/mongodb-password',
        MONGODB_METRICS_PASSWORD_FILE: '/etc/mongodb/credentials/mongodb-metrics-password',
        MONGODB_BACKUP_PASSWORD_FILE: '/etc/mongodb/credentials/mongodb-backup-password',
      });
      expect(bootstrap.volumeMounts).toContainEqual({ name: 'credentials', mountPath: '/etc/mongodb/credentials', readOnly: true });
      const keys = ['mongodb-root-password', 'mongodb-password', 'mongodb-metrics-password', 'mongodb-backup-password'];
      expect(s.spec.template.spec.volumes).toContainEqual({ name: 'credentials', secret: { secretName: want.secretName, defaultMode: 0o440, items: keys.map((key) => ({ key, path: key })) } });
      const secrets = byKind(await load(), 'Secret');
      if (env === 'prod') {
        expect(secrets).toEqual([]); // global.mongodb.existingSecret: the user's Secret
        expect(s.spec.template.metadata.annotations['checksum/secret']).toBeUndefined();
        return;
      }
      const [secret] = secrets;
      expect(secret?.metadata.name).toBe('shop-mongodb');
      const data = secret?.data ?? {};
      expect(Object.keys(data).sort()).toEqual(['mongodb-backup-password', 'mongodb-metrics-password', 'mongodb-password', 'mongodb-replica-set-key', 'mongodb-root-password']);
      const decoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
      expect(decoded['mongodb-replica-set-key']).toMatch(/^[A-Za-z0-9]{756}$/);
      for (const key of ['mongodb-root-password', 'mongodb-password', 'mongodb-metrics-password', 'mongodb-backup-password']) {
        expect(decoded[key], key).toMatch(/^[A-Za-z0-9]{32}$/);
      }
      expect(s.spec.template.metadata.annotations['checksum/secret']).toMatch(/^[a-f0-9]{64}$/);
    });

    it('publishes the connection info (no credential) in the ConfigMap <release>-mongodb', async () => {
      const cm = findObject(await load(), 'ConfigMap', 'shop-mongodb');
      expect(cm.data).toEqual({
        hosts: want.hosts,
        database: 'techshop',
        username: 'techshop',
        options: want.options,
        replicaSet: want.replicaSet,
        backupUsername: 'backup',
      });
    });

    it('serves a headless Service (not-ready addresses published), a client Service and a metrics Service', async () => {
      const objects = await load();
      const headless = findObject(objects, 'Service', 'shop-mongodb-headless');
      expect(headless.spec).toEqual({
        type: 'ClusterIP',
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: SELECTOR,
        ports: [{ name: 'mongodb', port: 27017, targetPort: 'mongodb', protocol: 'TCP' }],
      });
      const client = findObject(objects, 'Service', 'shop-mongodb');
      expect(client.spec).toEqual({ type: 'ClusterIP', selector: SELECTOR, ports: [{ name: 'mongodb', port: 27017, targetPort: 'mongodb', protocol: 'TCP' }] });
      const metrics = findObject(objects, 'Service', 'shop-mongodb-metrics');
      expect(metrics.metadata.labels).toMatchObject(SELECTOR);
      expect(metrics.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9216' });
      expect(metrics.spec.ports).toEqual([{ name: 'metrics', port: 9216, targetPort: 'metrics', protocol: 'TCP' }]);
      expect(metrics.spec.selector).toEqual(SELECTOR);
      const exporter = containerOf(await sts(), 'metrics');
      expect(exporter.image).toBe(imageRef('mongodb-exporter'));
      expect(exporter.ports).toEqual([{ name: 'metrics', containerPort: 9216, protocol: 'TCP' }]);
      expect(exporter.env?.[0]).toEqual({ name: 'MONGODB_USER', value: 'metrics' });
    });

    it('admits 27017 from the app, backup, members and its tests only, 9216 from Prometheus only; egress to members and DNS', async () => {
      const policy = findObject(await load(), 'NetworkPolicy', 'shop-mongodb');
      const component = (c: string) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': c } } });
      expect(policy.spec).toEqual({
        podSelector: { matchLabels: SELECTOR },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          { from: ['app', 'backup', 'mongodb', 'mongodb-test'].map(component), ports: [{ protocol: 'TCP', port: 27017 }] },
          { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'prometheus' } } }], ports: [{ protocol: 'TCP', port: 9216 }] },
        ],
        egress: [
          { to: [component('mongodb')], ports: [{ protocol: 'TCP', port: 27017 }] },
          {
            to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
          },
        ],
      });
    });

    it('keeps a replica set majority with a PDB (maxUnavailable 1) and spreads members over nodes and zones', async () => {
      const objects = await load();
      const pod = podSpecOf(await sts());
      if (env === 'dev') {
        expect(byKind(objects, 'PodDisruptionBudget')).toEqual([]);
        expect(pod.affinity).toBeUndefined();
        expect(pod.topologySpreadConstraints).toBeUndefined();
        return;
      }
      const pdb = findObject(objects, 'PodDisruptionBudget', 'shop-mongodb');
      expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: SELECTOR } });
      expect(pod.affinity.podAntiAffinity).toEqual({
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: SELECTOR } } },
        ],
      });
      expect(pod.topologySpreadConstraints).toEqual([
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: SELECTOR } },
      ]);
    });

    it('ships a helm test pod that connects like the app, with its own hook NetworkPolicy', async () => {
      const objects = await load();
      const pod = findObject(objects, 'Pod', 'shop-mongodb-test');
      expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
      const [c] = pod.spec.containers;
      expect(c.command.slice(0, 4)).toEqual(['mongosh', '--quiet', '--norc', 'mongodb://$(MONGODB_HOSTS)/$(MONGODB_DATABASE)?$(MONGODB_OPTIONS)&serverSelectionTimeoutMS=20000']);
      // the password read by mongosh from the mounted Secret, never an env value
      expect(c.command[5]).toMatch(/db\.auth\(process\.env\.MONGODB_USERNAME, require\("fs"\)\.readFileSync\(process\.env\.MONGODB_PASSWORD_FILE, "utf8"\)\)/);
      type EnvVar = NonNullable<Container['env']>[number];
      const fromConfigMap = (c.env as EnvVar[]).filter((e) => e.valueFrom?.configMapKeyRef).map((e) => [e.name, e.valueFrom.configMapKeyRef.key]);
      expect(fromConfigMap.sort()).toEqual([['MONGODB_DATABASE', 'database'], ['MONGODB_HOSTS', 'hosts'], ['MONGODB_OPTIONS', 'options'], ['MONGODB_USERNAME', 'username']]);
      expect(c.env.filter((e: EnvVar) => e.valueFrom?.secretKeyRef)).toEqual([]);
      expect(c.env).toContainEqual({ name: 'MONGODB_PASSWORD_FILE', value: '/etc/mongodb/credentials/mongodb-password' });
      expect(c.volumeMounts).toContainEqual({ name: 'credentials', mountPath: '/etc/mongodb/credentials', readOnly: true });
      expect(pod.spec.volumes).toContainEqual({
        name: 'credentials',
        secret: { secretName: want.secretName, defaultMode: 0o440, items: [{ key: 'mongodb-password', path: 'mongodb-password' }] },
      });
      const policy = findObject(objects, 'NetworkPolicy', 'shop-mongodb-test');
      expect(policy.metadata.annotations?.['helm.sh/hook']).toBe('test');
      expect(policy.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'mongodb-test' });
      expect(policy.spec.egress[0]).toEqual({
        to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'mongodb' } } }],
        ports: [{ protocol: 'TCP', port: 27017 }],
      });
    });
  });

  describe('overrides', () => {
    it('never puts an inline credential into a ConfigMap, annotation, env literal or argument', async () => {
      const secrets: Record<string, string> = {
        'mongodb-root-password': 'RootPw4c1d5e9a2b7f3',
        'mongodb-password': 'AppPw8e2f6a0c4d1b9',
        'mongodb-metrics-password': 'MetricsPw3b7d1f5a9c',
        'mongodb-backup-password': 'BackupPw6a0e4c8b2d',
        'mongodb-replica-set-key': 'KeyfileContent0123456789abcdefABCDEF',
      };
      const [root, app, metrics, backup, key] = Object.values(secrets);
      for (const values of ['dev', 'prod'] as const) {
        const set = [`auth.rootPassword=${root}`, `auth.password=${app}`, `auth.metricsPassword=${metrics}`, `auth.backupPassword=${backup}`, `auth.replicaSetKey=${key}`];
        if (values === 'prod') set.push('global.mongodb.existingSecret=');
        const objects = await renderMongo(helm, { valuesFiles: [ciValues(values)], set });
        const exposed: string[] = [];
        for (const object of objects) {
          const ref = `${object.kind}/${object.metadata.name}`;
          if (object.kind === 'ConfigMap') exposed.push(...Object.values(object.data ?? {}).map((v) => `${ref} data: ${v}`));
          exposed.push(...Object.values(object.metadata.annotations ?? {}).map((v) => `${ref} annotation: ${v}`));
          exposed.push(...Object.values(object.spec?.template?.metadata?.annotations ?? {}).map((v) => `${ref} pod annotation: ${v}`));
          for (const c of allContainers(object)) {
            for (const e of c.env ?? []) if (e.value !== undefined) exposed.push(`${ref} ${c.name} env ${e.name}=${e.value}`);
            exposed.push(...[...(c.command ?? []), ...(c.args ?? [])].map((a: string) => `${ref} ${c.name} arg: ${a}`));
          }
        }
        expect(exposed.length).toBeGreaterThan(20);
        for (const value of Object.values(secrets)) expect(exposed.filter((line) => line.includes(value))).toEqual([]);
        const secret = findObject(objects, 'Secret', 'shop-mongodb');
        expect(Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))).toEqual(secrets);
      }
    });

    it('refuses an inline credential together with global.mongodb.existingSecret', async () => {
      await expect(renderMongo(helm, { valuesFiles: [ciValues('prod')], set: ['auth.password=inline'] })).rejects.toThrow(/mongodb\.auth\.password: set either an inline value or existingSecret, not both/);
    });

    it('refuses a standalone with more than one member (schema and template)', async () => {
      await expect(renderMongo(helm, { set: ['replicaCount=3'] })).rejects.toThrow(/replicaCount/);
    });

    it('deletes PVCs only when asked, spreads hard on request, and drops the exporter with metrics off', async () => {
      const objects = await renderMongo(helm, {
        valuesFiles: [ciValues('prod')],
        set: ['persistence.retentionPolicy.whenDeleted=Delete', 'persistence.retentionPolicy.whenScaled=Delete', 'podAntiAffinity=hard', 'metrics.enabled=false', 'persistence.storageClass=fast-ssd'],
      });
      const s = findObject(objects, 'StatefulSet', 'shop-mongodb');
      expect(s.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Delete', whenScaled: 'Delete' });
      expect(s.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('fast-ssd');
      expect(podSpecOf(s).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
        { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: SELECTOR } },
      ]);
      expect(podSpecOf(s).containers.map((c: Container) => c.name)).toEqual(['mongodb', 'bootstrap']);
      expect(objects.filter((o) => o.metadata.name === 'shop-mongodb-metrics')).toEqual([]);
      const policy = findObject(objects, 'NetworkPolicy', 'shop-mongodb');
      expect(policy.spec.ingress).toHaveLength(1);
    });

    it('lists every member in hosts when scaled to 5, and the bootstrap sidecar reads that list from the mounted ConfigMap', async () => {
      const objects = await renderMongo(helm, { valuesFiles: [ciValues('prod')], set: ['replicaCount=5'] });
      expect(findObject(objects, 'ConfigMap', 'shop-mongodb').data?.hosts).toBe([0, 1, 2, 3, 4].map(MEMBER).join(','));
      const s = findObject(objects, 'StatefulSet', 'shop-mongodb');
      const bootstrap = containerOf(s, 'bootstrap');
      expect(bootstrap.env).toContainEqual({ name: 'HOSTS_FILE', value: '/etc/mongodb/connection/hosts' });
      expect(bootstrap.volumeMounts).toContainEqual({ name: 'connection', mountPath: '/etc/mongodb/connection', readOnly: true });
      // Not a subPath mount and no checksum of it: a changed member list reaches running pods without a restart.
      expect(podSpecOf(s).volumes).toContainEqual({ name: 'connection', configMap: { name: 'shop-mongodb', items: [{ key: 'hosts', path: 'hosts' }] } });
      expect(Object.keys(s.spec.template.metadata.annotations)).toEqual(['checksum/scripts']);
    });
  });
});
