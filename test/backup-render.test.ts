// Renders charts/backup under Helm 4 and Helm 3 and checks the objects: the
// schedules and Job limits, the restore Job only when asked, restricted pods,
// the NetworkPolicy, and credentials only through Secrets.
import { beforeAll, describe, expect, it } from 'vitest';
import { checkNetworkPolicyCoverage, checkPodSecurityRestricted } from '../scripts/lib/policy.ts';
import { buildDependencies, findObject, podSpecOf, renderChart, RELEASE_NAMESPACE, RenderError, type K8sObject } from '../scripts/lib/render.ts';
import { chartDir } from '../scripts/lib/paths.ts';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { run } from '../scripts/lib/exec.ts';
import { helms } from './helpers/render.ts';
import { restrictedPodContext } from './helpers/security.ts';
import { imageRef } from '../scripts/lib/images.ts';

const PROD = join(chartDir('backup'), 'ci', 'prod-values.yaml');
const DEV = join(chartDir('backup'), 'ci', 'dev-values.yaml');

beforeAll(async () => {
  await buildDependencies(helms[0]!, ['backup']);
});

/* eslint-disable @typescript-eslint/no-explicit-any */
function containers(object: K8sObject): any[] {
  const pod = podSpecOf(object);
  return [...(pod.initContainers ?? []), ...pod.containers];
}

function env(object: K8sObject): any[] {
  return containers(object).flatMap((c) => c.env ?? []);
}

/** The prelude of every backup command: reads each <NAME>_FILE into <NAME>. */
const LOAD_FILES = /^for v in \$\(compgen -e\); do .*?; done; /;
const fileEnv = (name: string, path: string) => ({ name: `${name}_FILE`, value: path });
const secretVolume = (name: string, secretName: string, keys: string[]) => ({
  name: `secret-${name}`,
  secret: { secretName, defaultMode: 0o440, items: keys.map((key) => ({ key, path: key })) },
});

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('%s', (_label, helm) => {
  const render = (options: Parameters<typeof renderChart>[2] = {}) => renderChart(helm, 'backup', options);
  let dev: K8sObject[];
  let prod: K8sObject[];
  beforeAll(async () => {
    [dev, prod] = await Promise.all([render({ valuesFiles: [DEV] }), render({ valuesFiles: [PROD] })]);
  });

  it('standalone: daily full dump and verification, no oplog CronJob, and says only full dumps are possible', () => {
    const names = dev.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names).toEqual([
      'ConfigMap/shop-backup-scripts',
      'CronJob/shop-backup',
      'CronJob/shop-backup-verify',
      'NetworkPolicy/shop-backup',
      'PersistentVolumeClaim/shop-backup',
      'Secret/shop-backup',
      'ServiceAccount/shop-backup',
    ]);
    const cron = findObject(dev, 'CronJob', 'shop-backup');
    expect(cron.metadata.annotations?.['backup.techshop.io/mode']).toMatch(/^full dumps only: MongoDB is standalone/);
  });

  it('replica set: full dump 02:00, oplog slices every 6 h, verification; Forbid, deadlines, history limits', () => {
    const expected = { 'shop-backup': '0 2 * * *', 'shop-backup-oplog': '0 */6 * * *', 'shop-backup-verify': '30 4 * * *' };
    for (const [name, schedule] of Object.entries(expected)) {
      const cron = findObject(prod, 'CronJob', name);
      expect(cron.spec).toMatchObject({ schedule, timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 3600, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3 });
      expect(cron.spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(0);
      expect(podSpecOf(cron).restartPolicy).toBe('Never');
      expect(podSpecOf(cron).automountServiceAccountToken).toBe(false);
      expect(cron.spec.jobTemplate.spec.template.metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'backup' });
    }
    expect(findObject(prod, 'CronJob', 'shop-backup').spec.jobTemplate.spec).toMatchObject({ backoffLimit: 1, activeDeadlineSeconds: 10800 });
    expect(findObject(prod, 'CronJob', 'shop-backup-verify').spec.jobTemplate.spec.backoffLimit).toBe(0);
    const full = findObject(prod, 'CronJob', 'shop-backup');
    // each script starts after the credential files are read (common.secretFiles.load)
    expect(containers(full).map((c) => [c.name, c.image, c.command[2].replace(LOAD_FILES, '')])).toEqual([
      ['dump', imageRef('mongo'), '/scripts/dump.sh'],
      ['redis-rdb', imageRef('redis'), '/scripts/redis-rdb.sh'],
      ['upload', imageRef('aws-cli'), '/scripts/upload.sh && /scripts/retention.sh'],
    ]);
    expect(env(full)).toEqual(expect.arrayContaining([{ name: 'RETENTION_LOCAL_DAYS', value: '7' }, { name: 'RETENTION_REMOTE_DAYS', value: '30' }, { name: 'S3_SSE', value: 'aws:kms' }]));
    const verify = findObject(prod, 'CronJob', 'shop-backup-verify');
    expect(containers(verify).map((c) => c.name)).toEqual(['fetch', 'verify']);
    expect(podSpecOf(verify).volumes.map((v: any) => v.name)).toEqual(['scripts', 'work', 'tmp', 'secret-s3']);
  });

  it('renders no restore Job by default, refuses enabled without an archive, and renders a plain Job (no hook) when asked', async () => {
    for (const objects of [dev, prod]) expect(objects.filter((o) => o.kind === 'Job')).toEqual([]);
    await expect(render({ set: ['restore.enabled=true'] })).rejects.toThrow(/restore.archive/) // values.schema.json: restore.enabled needs an archive;
    await expect(render({ set: ['restore.enabled=true', 'restore.archive=mongodb-full-20250131T020000Z.archive.gz', 'restore.pointInTime=2025-01-31T10:30:00Z'] })).rejects.toThrow(/mongodb.architecture/) // values.schema.json: pointInTime needs a replica set;
    expect((await render({ set: ['restore.archive=mongodb-full-20250131T020000Z.archive.gz'] })).filter((o) => o.kind === 'Job')).toEqual([]);
    const asked = await render({ valuesFiles: [PROD], set: ['restore.enabled=true', 'restore.archive=mongodb-full-20250131T020000Z.archive.gz', 'restore.pointInTime=2025-01-31T10:30:00Z'] });
    const jobs = asked.filter((o) => o.kind === 'Job');
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(job.metadata.name).toMatch(/^shop-backup-restore-[0-9a-f]{8}$/);
    expect(Object.keys(job.metadata.annotations ?? {}).filter((k) => k.startsWith('helm.sh/hook'))).toEqual([]);
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
    expect(env(job)).toEqual(expect.arrayContaining([
      { name: 'FETCH_ARCHIVE', value: 'mongodb-full-20250131T020000Z.archive.gz' },
      { name: 'FETCH_POINT_IN_TIME', value: '2025-01-31T10:30:00Z' },
      fileEnv('MONGODB_PASSWORD', '/run/secrets/mongodb-restore/mongodb-root-password'),
    ]));
    expect(podSpecOf(job).volumes).toEqual(expect.arrayContaining([secretVolume('mongodb-restore', 'shop-mongodb', ['mongodb-root-password'])]));
    expect(checkPodSecurityRestricted(asked)).toEqual([]);
    expect(checkNetworkPolicyCoverage(asked, { releaseNamespace: RELEASE_NAMESPACE })).toEqual([]);
  });

  it('passes the restricted Pod Security Standard and NetworkPolicy coverage with zero findings', () => {
    for (const objects of [dev, prod]) {
      expect(checkPodSecurityRestricted(objects)).toEqual([]);
      expect(checkNetworkPolicyCoverage(objects, { releaseNamespace: RELEASE_NAMESPACE })).toEqual([]);
      for (const cron of objects.filter((o) => o.kind === 'CronJob')) {
        expect(podSpecOf(cron).securityContext).toEqual(restrictedPodContext(999));
        for (const c of containers(cron)) expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      }
    }
  });

  it('NetworkPolicy: no ingress; egress to MongoDB 27017, Redis 6379 only with the RDB copy, DNS and the storage endpoint', () => {
    const prodPolicy = findObject(prod, 'NetworkPolicy', 'shop-backup');
    expect(prodPolicy.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'backup', 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'backup' });
    expect(prodPolicy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(prodPolicy.spec.ingress).toBeUndefined();
    expect(prodPolicy.spec.egress).toEqual([
      { to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'mongodb' } } }], ports: [{ protocol: 'TCP', port: 27017 }] },
      { to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/component': 'redis' } } }], ports: [{ protocol: 'TCP', port: 6379 }] },
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ]);
    const devPolicy = findObject(dev, 'NetworkPolicy', 'shop-backup');
    expect(devPolicy.spec.egress.map((r: any) => r.ports[0].port)).toEqual([27017, 53, 9000]);
    expect(devPolicy.spec.egress[2].to).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'minio' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'storage' } } }]);
  });

  it('reads every credential as a file of the owning Secret, mounted only where used; none in a ConfigMap or env', async () => {
    const full = findObject(prod, 'CronJob', 'shop-backup');
    expect(env(full)).toEqual(expect.arrayContaining([
      fileEnv('MONGODB_PASSWORD', '/run/secrets/mongodb/mongodb-backup-password'),
      { name: 'MONGODB_USERNAME', valueFrom: { configMapKeyRef: { name: 'shop-mongodb', key: 'backupUsername' } } },
      { name: 'MONGODB_HOSTS', valueFrom: { configMapKeyRef: { name: 'shop-mongodb', key: 'hosts' } } },
      { name: 'MONGODB_REPLICA_SET', valueFrom: { configMapKeyRef: { name: 'shop-mongodb', key: 'replicaSet' } } },
      fileEnv('AWS_ACCESS_KEY_ID', '/run/secrets/s3/access-key-id'),
      fileEnv('AWS_SECRET_ACCESS_KEY', '/run/secrets/s3/secret-access-key'),
      fileEnv('REDISCLI_AUTH', '/run/secrets/redis/redis-password'),
      { name: 'REDIS_HOST', valueFrom: { configMapKeyRef: { name: 'shop-redis-connection', key: 'host' } } },
    ]));
    expect(podSpecOf(full).volumes).toEqual(expect.arrayContaining([
      secretVolume('mongodb', 'shop-mongodb', ['mongodb-backup-password']),
      secretVolume('redis', 'shop-redis', ['redis-password']),
      secretVolume('s3', 'techshop-backup-s3', ['access-key-id', 'secret-access-key']),
    ]));
    // least privilege: each container mounts only the Secrets its own env names
    const mounts = Object.fromEntries(containers(full).map((c) => [c.name, c.volumeMounts.filter((m: any) => m.name.startsWith('secret-')).map((m: any) => [m.name, m.mountPath, m.readOnly])]));
    expect(mounts).toEqual({
      dump: [['secret-mongodb', '/run/secrets/mongodb', true]],
      'redis-rdb': [['secret-redis', '/run/secrets/redis', true]],
      upload: [['secret-s3', '/run/secrets/s3', true]],
    });
    expect(prod.filter((o) => o.kind === 'Secret')).toEqual([]);
    const shared = await render({ valuesFiles: [PROD], set: ['global.mongodb.existingSecret=mongo-creds', 'global.redis.existingSecret=redis-creds'] });
    const sharedVolumes = podSpecOf(findObject(shared, 'CronJob', 'shop-backup')).volumes;
    expect(sharedVolumes).toEqual(expect.arrayContaining([secretVolume('mongodb', 'mongo-creds', ['mongodb-backup-password']), secretVolume('redis', 'redis-creds', ['redis-password'])]));
    for (const objects of [dev, prod, shared]) {
      for (const cron of objects.filter((o) => o.kind === 'CronJob' || o.kind === 'Job')) {
        const credentials = env(cron).filter((e: any) => /PASSWORD|SECRET|_AUTH$|_AUTH_FILE$|ACCESS_KEY/.test(e.name));
        for (const e of credentials) expect(e, cron.metadata.name).toEqual({ name: e.name, value: expect.stringMatching(/^\/run\/secrets\/[a-z0-9-]+\/[a-z0-9-]+$/) });
        expect(credentials.every((e: any) => e.name.endsWith('_FILE'))).toBe(true);
      }
    }
    // dev inline keys: only in the chart's Secret, never in a ConfigMap or env literal
    const secret = findObject(dev, 'Secret', 'shop-backup');
    expect(Buffer.from(secret.data!['secret-access-key']!, 'base64').toString()).toBe('dev-secret-key');
    const text = JSON.stringify(dev.filter((o) => o.kind !== 'Secret'));
    expect(text).not.toContain('dev-secret-key');
    expect(text).not.toContain('dev-access-key');
  });

  it('the rendered command reads each <NAME>_FILE into <NAME> before the script (exported: the script\'s children see it too), and stops on an unreadable file', async () => {
    const dump = containers(findObject(prod, 'CronJob', 'shop-backup')).find((c) => c.name === 'dump');
    const [shell, flag, command] = dump.command as string[];
    expect([shell, flag]).toEqual(['/bin/bash', '-c']);
    const dir = mkdtempSync(join(tmpdir(), 'backup-files-'));
    try {
      writeFileSync(join(dir, 'pw'), 's3cret with spaces', { mode: 0o400 });
      const script = command!.replace('/scripts/dump.sh', 'printf "%s|%s|" "$MONGODB_PASSWORD" "${OTHER:-unset}"; printenv MONGODB_PASSWORD');
      const ok = await run('bash', ['-c', script], { env: { PATH: process.env.PATH, MONGODB_PASSWORD_FILE: join(dir, 'pw') } });
      // what common.secretFiles.load says: the value is in the environment of every process the script starts
      expect(ok).toMatchObject({ code: 0, stdout: 's3cret with spaces|unset|s3cret with spaces\n' });
      const missing = await run('bash', ['-c', script], { env: { PATH: process.env.PATH, MONGODB_PASSWORD_FILE: join(dir, 'nope') } });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`MONGODB_PASSWORD_FILE: ${join(dir, 'nope')} is not readable`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the backup PVC on uninstall, sized from values', () => {
    const pvc = findObject(prod, 'PersistentVolumeClaim', 'shop-backup');
    expect(pvc.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    expect(pvc.spec.resources.requests.storage).toBe('50Gi');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
  });

  it('the values schema refuses a typo and a bad schedule, naming the key', async () => {
    await expect(render({ set: ['retention.remoteDay=30'] })).rejects.toThrow(/remoteDay/);
    await expect(render({ set: ['schedule=every day'] })).rejects.toThrow(/schedule/);
    await expect(render({ set: ['restore.archive=../../etc/passwd'] })).rejects.toThrow(RenderError);
  });
});
