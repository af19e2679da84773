// The pure parts of `npm run deploy` and of the local cluster.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  caFingerprints,
  changedPaths,
  clusterMismatch,
  contextIdentity,
  dirtyPaths,
  formatChanges,
  identityYaml,
  isPinned,
  normalizeServer,
  summarizeChanges,
  uncommittedValuesFiles,
  unpinnedImages,
  type KubeContextInfo,
} from '../scripts/lib/deploy.ts';
import {
  CERTIFICATES,
  certificateExtensions,
  clusterLayout,
  componentCommands,
  ETCD_CA,
  etcdClientTls,
  defaultStorageClass,
  fakeNodes,
  isReleasedVolume,
  PROVISIONER_NAME,
  volumeForClaim,
} from '../scripts/lib/cluster.ts';
import type { K8sObject } from '../scripts/lib/render.ts';

const deployment = (image: string, extra: Record<string, unknown> = {}): K8sObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'shop-app' },
  spec: { template: { spec: { containers: [{ name: 'app', image }], ...extra } } },
});

describe('deploy guards', () => {
  it('reads uncommitted paths from git status --porcelain', () => {
    expect(dirtyPaths('')).toEqual([]);
    expect(dirtyPaths(' M charts/app/values.yaml\n?? notes.txt\n')).toEqual(['charts/app/values.yaml', 'notes.txt']);
  });

  it('tells pinned images from floating ones', () => {
    expect(isPinned('docker.io/techshop/app:1.4.2')).toBe(true);
    expect(isPinned(`mongo@sha256:${'a'.repeat(64)}`)).toBe(true);
    expect(isPinned('registry.local:5000/app:v2.0.0')).toBe(true);
    for (const image of ['techshop/app:latest', 'techshop/app:stable', 'techshop/app', 'registry.local:5000/app']) expect(isPinned(image), image).toBe(false);
    const objects = [deployment('techshop/app:latest', { initContainers: [{ name: 'init', image: 'busybox:1.37.0' }] })];
    expect(unpinnedImages(objects)).toEqual(['techshop/app:latest']);
  });

});

const scratch = mkdtempSync(join(tmpdir(), 'deploy-lib-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A self-signed CA made by openssl, as PEM, with the fingerprint openssl itself reports. */
function makeCa(name: string): { pem: string; sha256: string } {
  const key = join(scratch, `${name}.key`);
  const crt = join(scratch, `${name}.crt`);
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', `/CN=${name}`], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
  const fingerprint = spawnSync('openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).stdout;
  return { pem: readFileSync(crt, 'utf8'), sha256: fingerprint.split('=')[1]!.trim().replace(/:/g, '').toLowerCase() };
}

describe('cluster identity', () => {
  const prodCa = makeCa('prod-ca');
  const otherCa = makeCa('other-ca');
  const context = (overrides: Partial<KubeContextInfo> = {}): KubeContextInfo => ({
    context: 'prod-admin',
    cluster: 'prod-eu',
    server: 'https://api.prod.example:6443',
    caPem: prodCa.pem,
    insecure: false,
    ...overrides,
  });
  const pin = { server: 'https://api.prod.example:6443', caSha256: prodCa.sha256 };

  it('fingerprints the CA as openssl does, and normalizes the server URL as the client dials it', () => {
    expect(caFingerprints(prodCa.pem)).toEqual([prodCa.sha256]);
    expect(caFingerprints(prodCa.pem + otherCa.pem)).toEqual([prodCa.sha256, otherCa.sha256]);
    expect(normalizeServer('https://API.prod.example:443/')).toBe('https://api.prod.example');
    expect(normalizeServer('https://api.prod.example:6443')).toBe('https://api.prod.example:6443');
    expect(contextIdentity(context()).identity).toEqual(pin);
    expect(identityYaml(pin)).toBe(`global:\n  deploy:\n    cluster:\n      server: https://api.prod.example:6443\n      caSha256: ${prodCa.sha256}\n`);
  });

  it('accepts the pinned server and CA whatever the kubeconfig calls the cluster', () => {
    expect(clusterMismatch('prod', pin, context())).toBeUndefined();
    expect(clusterMismatch('prod', pin, context({ cluster: 'anything-at-all', context: 'renamed' }))).toBeUndefined();
    expect(clusterMismatch('prod', { ...pin, server: 'https://api.prod.example:6443/' }, context())).toBeUndefined();
  });

  it('refuses another CA, another server URL, a CA bundle, no CA, no TLS and skipped verification', () => {
    expect(clusterMismatch('prod', pin, context({ caPem: otherCa.pem }))).toMatch(new RegExp(`CA sha256 ${otherCa.sha256}, but global.deploy.cluster says prod's cluster has the CA with sha256 ${prodCa.sha256}`));
    expect(clusterMismatch('prod', pin, context({ server: 'https://10.0.0.1:6443' }))).toMatch(/points at https:\/\/10\.0\.0\.1:6443 .*but global\.deploy\.cluster says prod deploys to https:\/\/api\.prod\.example:6443/);
    expect(clusterMismatch('prod', pin, context({ caPem: prodCa.pem + otherCa.pem }))).toMatch(/trusts 2 CA certificates/);
    expect(clusterMismatch('prod', pin, context({ caPem: '' }))).toMatch(/names no CA certificate/);
    expect(clusterMismatch('prod', pin, context({ server: 'http://api.prod.example:8080' }))).toMatch(/without TLS/);
    expect(clusterMismatch('prod', pin, context({ insecure: true }))).toMatch(/skips TLS verification/);
  });

  it('refuses a staging or prod deploy without a pin, saying how to get one; dev needs none', () => {
    for (const env of ['staging', 'prod']) {
      const message = clusterMismatch(env, undefined, context());
      expect(message).toContain(`${env} deploys need the identity of their cluster in global.deploy.cluster`);
      expect(message).toContain(`npm run --silent deploy -- --env ${env} --print-cluster-identity --kube-context prod-admin`);
    }
    expect(clusterMismatch('dev', undefined, context())).toBeUndefined();
  });

  it('refuses a dev deploy to a cluster another environment pins', () => {
    expect(clusterMismatch('dev', undefined, context({ context: 'oops' }), { prod: pin, staging: undefined })).toMatch(/the kube context "oops" points at prod's cluster/);
    expect(clusterMismatch('dev', undefined, context({ caPem: otherCa.pem }), { prod: pin })).toBeUndefined();
  });
});

describe('prod values files', () => {
  const git = (cwd: string, ...args: string[]) => {
    const result = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
  };

  it('accepts committed files only: refuses untracked, ignored, modified, staged, outside and linked-outside files', async () => {
    const repo = join(scratch, 'repo');
    mkdirSync(join(repo, 'values'), { recursive: true });
    git(repo, 'init', '-q');
    const file = (path: string, text = 'app: {}\n') => {
      writeFileSync(join(repo, path), text);
      return join(repo, path);
    };
    const committed = file('values/committed.yaml');
    const changed = file('values/changed.yaml');
    file('.gitignore', 'local/\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'values');
    mkdirSync(join(repo, 'local'));
    const ignored = file('local/secret.yaml');
    const untracked = file('values/untracked.yaml');
    const staged = file('values/staged.yaml');
    git(repo, 'add', 'values/staged.yaml');
    writeFileSync(changed, 'app: {replicaCount: 9}\n');
    const outside = join(scratch, 'outside.yaml');
    writeFileSync(outside, 'app: {}\n');
    symlinkSync(outside, join(repo, 'values', 'link.yaml'));
    git(repo, 'add', 'values/link.yaml');
    git(repo, 'commit', '-q', '-m', 'a tracked link to a file elsewhere', '--', 'values/link.yaml');

    expect(await uncommittedValuesFiles(repo, [committed])).toEqual([]);
    expect(await uncommittedValuesFiles(repo, [committed, untracked, ignored, changed, staged, outside, join(repo, 'values', 'link.yaml'), join(repo, 'nope.yaml')])).toEqual([
      `${untracked} (not tracked by git)`,
      `${ignored} (ignored by git)`,
      `${changed} (changed since the last commit)`,
      `${staged} (changed since the last commit)`,
      `${outside} (outside the repository)`,
      `${join(repo, 'values', 'link.yaml')} (outside the repository)`,
      `${join(repo, 'nope.yaml')} (does not exist)`,
    ]);
  });
});

describe('deploy change summary', () => {
  it('lists the leaf paths that differ', () => {
    expect(changedPaths({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] }, d: true })).toEqual(['b.c.1', 'd']);
    expect(changedPaths({ a: 1 }, { a: 1 })).toEqual([]);
  });

  it('sorts objects into created, changed (with fields), deleted and unchanged, ignoring server-owned fields', () => {
    // live objects carry server-owned metadata the K8sObject type of renders does not name
    const live = new Map<string, K8sObject>([
      ['Deployment/shop-app', { ...deployment('app:1.0.0'), metadata: { name: 'shop-app', resourceVersion: '1', generation: 1 } as K8sObject['metadata'], status: { replicas: 1 } }],
      ['Service/shop-app', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-app', resourceVersion: '5' } as K8sObject['metadata'], spec: { ports: [{ port: 80 }] } }],
    ]);
    const dryRun = new Map<string, K8sObject>([
      ['Deployment/shop-app', { ...deployment('app:1.1.0'), metadata: { name: 'shop-app', resourceVersion: '2', generation: 2 } as K8sObject['metadata'], status: { replicas: 1 } }],
      ['Service/shop-app', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-app', resourceVersion: '6' } as K8sObject['metadata'], spec: { ports: [{ port: 80 }] } }],
    ]);
    const rendered = [deployment('app:1.1.0'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-app' } }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new' } }];
    const changes = summarizeChanges(rendered, live, dryRun, ['Deployment/shop-app', 'Service/shop-app', 'Secret/old']);
    expect(changes).toEqual([
      { kind: 'changed', object: 'Deployment/shop-app', fields: ['spec.template.spec.containers.0.image'] },
      { kind: 'unchanged', object: 'Service/shop-app', fields: [] },
      { kind: 'created', object: 'ConfigMap/new', fields: [] },
      { kind: 'deleted', object: 'Secret/old', fields: [] },
    ]);
    expect(formatChanges(changes)).toEqual([
      '  + ConfigMap/new',
      '  ~ Deployment/shop-app: spec.template.spec.containers.0.image',
      '  - Secret/old',
      'changes: 1 created, 1 changed, 1 deleted, 1 unchanged',
    ]);
  });
});

describe('local cluster', () => {
  const layout = clusterLayout('/nonexistent/cluster');
  const ports = { etcdClient: 1, etcdPeer: 2, apiserver: 3, controllerManager: 4, scheduler: 5, kwok: 6 };
  const commands = componentCommands(layout, ports, '/bin-dir', ['node', 'cluster.ts']);

  it('binds every component to the loopback address only', () => {
    for (const command of commands) {
      for (const arg of command.args) {
        const urls = arg.match(/\b\d{1,3}(\.\d{1,3}){3}:\d+/g) ?? [];
        for (const url of urls) expect(url, `${command.component} ${arg}`).toMatch(/^127\.0\.0\.1:/);
        if (/^--bind-address=/.test(arg)) expect(arg).toBe('--bind-address=127.0.0.1');
      }
    }
    expect(commands.map((c) => c.component)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'provisioner']);
  });

  it('runs the admission plugins the issue names and no node lifecycle controller', () => {
    const apiserver = commands.find((c) => c.component === 'kube-apiserver')?.args ?? [];
    const plugins = apiserver.find((a) => a.startsWith('--enable-admission-plugins='))?.split('=')[1]?.split(',') ?? [];
    for (const plugin of ['PodSecurity', 'ResourceQuota', 'LimitRanger', 'ServiceAccount']) expect(plugins).toContain(plugin);
    expect(apiserver).toContain('--authorization-mode=Node,RBAC');
    const manager = commands.find((c) => c.component === 'kube-controller-manager')?.args ?? [];
    expect(manager).toContain('--controllers=*,-node-lifecycle-controller');
  });

  it('runs etcd with TLS and client certificates of its own CA, which only the API server holds', () => {
    const etcd = commands.find((c) => c.component === 'etcd')?.args ?? [];
    for (const flag of ['--listen-client-urls', '--advertise-client-urls', '--listen-peer-urls', '--initial-advertise-peer-urls']) {
      expect(etcd.find((a) => a.startsWith(`${flag}=`)), flag).toMatch(/=https:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(etcd).toEqual(expect.arrayContaining(['--client-cert-auth=true', '--peer-client-cert-auth=true', `--trusted-ca-file=${layout.pkiDir}/etcd-ca.crt`, `--peer-trusted-ca-file=${layout.pkiDir}/etcd-ca.crt`]));
    const apiserver = commands.find((c) => c.component === 'kube-apiserver')?.args ?? [];
    expect(apiserver).toEqual(expect.arrayContaining(['--etcd-servers=https://127.0.0.1:1', `--etcd-cafile=${layout.pkiDir}/etcd-ca.crt`, `--etcd-certfile=${layout.pkiDir}/apiserver-etcd-client.crt`, `--etcd-keyfile=${layout.pkiDir}/apiserver-etcd-client.key`]));
    const signedByEtcdCa = CERTIFICATES.filter((c) => c.ca === ETCD_CA).map((c) => c.name);
    expect(signedByEtcdCa.sort()).toEqual(['apiserver-etcd-client', 'etcd-peer', 'etcd-server']);
    // etcd's gRPC gateway dials its own client port with the serving certificate
    for (const name of ['etcd-server', 'etcd-peer']) expect(certificateExtensions(CERTIFICATES.find((c) => c.name === name)!)).toContain('extendedKeyUsage=serverAuth,clientAuth');
    expect(etcdClientTls(layout)).toEqual({ ca: `${layout.pkiDir}/etcd-ca.crt`, cert: `${layout.pkiDir}/apiserver-etcd-client.crt`, key: `${layout.pkiDir}/apiserver-etcd-client.key` });
  });

  it('gives the API server certificate its loopback and service names, clients their groups', () => {
    const apiserver = CERTIFICATES.find((c) => c.name === 'apiserver');
    expect(certificateExtensions(apiserver!)).toContain('subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost');
    expect(CERTIFICATES.find((c) => c.name === 'admin')?.organization).toBe('system:masters');
  });

  it('makes fake nodes spread over three zones with allocatable resources', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const nodes = fakeNodes(6) as any[];
    expect(new Set(nodes.map((n) => n.metadata.labels['topology.kubernetes.io/zone']))).toEqual(new Set(['zone-a', 'zone-b', 'zone-c']));
    for (const node of nodes) {
      expect(node.metadata.annotations['kwok.x-k8s.io/node']).toBe('fake');
      expect(node.status.allocatable).toMatchObject({ cpu: '4', memory: '16Gi' });
    }
  });

  it('provisions a volume for a pending claim of its class, and nothing else', () => {
    const classes = new Map([['standard', PROVISIONER_NAME], ['other', 'ebs.csi.aws.com']]);
    const claim = {
      metadata: { name: 'data-shop-mongodb-0', namespace: 'prod', uid: 'u1' },
      spec: { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } },
      status: { phase: 'Pending' },
    };
    const volume = volumeForClaim(claim, classes) as K8sObject;
    expect(volume.metadata.name).toBe('pvc-u1');
    expect(volume.spec.capacity).toEqual({ storage: '20Gi' });
    expect(volume.spec.claimRef).toMatchObject({ namespace: 'prod', name: 'data-shop-mongodb-0', uid: 'u1' });
    expect(volumeForClaim({ ...claim, spec: { ...claim.spec, storageClassName: 'other' } }, classes)).toBeUndefined();
    expect(volumeForClaim({ ...claim, status: { phase: 'Bound' } }, classes)).toBeUndefined();
    expect(volumeForClaim({ ...claim, spec: { ...claim.spec, volumeName: 'pv-1' } }, classes)).toBeUndefined();
    expect(isReleasedVolume({ ...volume, status: { phase: 'Released' } })).toBe(true);
    expect(isReleasedVolume({ ...volume, status: { phase: 'Bound' } })).toBe(false);
    expect((defaultStorageClass() as K8sObject).provisioner).toBe(PROVISIONER_NAME);
  });
});

describe('layered values (deploy --values)', () => {
  it('validates an overlay over the environment file, as helm layers -f files, reporting at the overlay\'s lines', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadValidator, validateLayers } = await import('../scripts/lib/validate.ts');
    const { valuesFile } = await import('../scripts/lib/paths.ts');
    const dir = mkdtempSync(join(tmpdir(), 'layers-'));
    try {
      const validator = await loadValidator();
      const tag = join(dir, 'tag.yaml');
      writeFileSync(tag, 'app:\n  image:\n    tag: "2.0.1"\n');
      // alone, the overlay would be refused by the staging policy for keys it does not set
      expect(validator.validate('tag.yaml', Buffer.from('app:\n  image:\n    tag: "2.0.1"\n'), 'staging').length).toBeGreaterThan(0);
      expect(validateLayers(validator, [valuesFile('staging'), tag], 'staging')).toEqual([]);
      const quota = join(dir, 'quota.yaml');
      writeFileSync(quota, 'resourceQuota:\n  hard:\n    services: "10"\n');
      const problems = validateLayers(validator, [valuesFile('staging'), quota], 'staging');
      expect(problems.map((d) => [d.file.endsWith('quota.yaml'), d.line, d.path, d.rule])).toEqual([[true, 3, 'resourceQuota.hard.services', 'rule/quota-capacity']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
