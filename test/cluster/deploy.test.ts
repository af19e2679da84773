// npm run deploy end to end against the local control plane: dry run, deploy,
// a no-op redeploy, a change preview, a failed rollout rolled back, refusals.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../scripts/lib/exec.ts';
import { repoRoot } from '../../scripts/lib/paths.ts';
import { clusterEnv, deleteNamespace, kubectl, kubectlJson, kubectlOk } from '../helpers/cluster.ts';

const NAMESPACE = 'deploy-dev';
const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
const deployAs = (env: string, args: string[], kubeconfig?: string) =>
  run(tsx, [join(repoRoot, 'scripts', 'deploy.ts'), '--env', env, ...args], {
    cwd: repoRoot,
    env: { ...clusterEnv(), ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}) },
    timeoutMs: 900_000,
  });
const deploy = (args: string[], kubeconfig?: string) => deployAs('dev', ['--namespace', NAMESPACE, ...args], kubeconfig);

const scratch = mkdtempSync(join(tmpdir(), 'techshop-deploy-test-'));
const valuesFile = (name: string, text: string) => {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
};

// The test cluster as its kubeconfig names it, and what it proves: the server URL and the
// SHA-256 of its CA certificate, computed here by openssl (the deploy computes it by node:crypto).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let kubeconfig: any;
let identity: { server: string; caSha256: string };
/** A copy of the test cluster's kubeconfig, changed by `edit`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const kubeconfigVariant = (name: string, edit: (config: any) => void): string => {
  const copy = structuredClone(kubeconfig);
  edit(copy);
  return valuesFile(`${name}.kubeconfig`, JSON.stringify(copy));
};
const identityValues = (name: string, pin: { server: string; caSha256: string }) =>
  valuesFile(`${name}.yaml`, `global:\n  deploy:\n    cluster:\n      server: ${pin.server}\n      caSha256: ${pin.caSha256}\n`);
function opensslFingerprint(pemFile: string): string {
  const result = spawnSync('openssl', ['x509', '-in', pemFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout.split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
}

beforeAll(async () => {
  await deleteNamespace(NAMESPACE);
  kubeconfig = JSON.parse(await kubectlOk(['config', 'view', '--minify', '--flatten', '-o', 'json']));
  const cluster = kubeconfig.clusters[0].cluster;
  const caFile = valuesFile('cluster-ca.crt', Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8'));
  identity = { server: cluster.server, caSha256: opensslFingerprint(caFile) };
});
afterAll(async () => {
  await deleteNamespace(NAMESPACE);
  await deleteNamespace('deploy-staging-pinned');
  rmSync(scratch, { recursive: true, force: true });
});

describe.sequential('npm run deploy', () => {
  it('--dry-run lists every object as created and changes nothing', async () => {
    const result = await deploy(['--dry-run']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^deploy: dev → techshop-local \(https:\/\/127\.0\.0\.1:\d+\), namespace deploy-dev, release shop$/m);
    expect(result.stdout).toContain('  + Deployment/shop-app');
    expect(result.stdout).toContain('  + StatefulSet/shop-mongodb');
    expect(result.stdout).toMatch(/^changes: \d+ created, 0 changed, 0 deleted, 0 unchanged$/m);
    expect(result.stdout).toMatch(/^deploy: dry run: dev shop@deploy-dev would change \d+ created/m);
    expect((await kubectl(['get', 'namespace', NAMESPACE])).code).not.toBe(0);
  });

  it('deploys: restricted namespace, upgrade --install, a helm test it says proves nothing under kwok, one outcome line', async () => {
    const result = await deploy([]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^deploy: dev shop@deploy-dev revision 1 deployed \(\d+ created, 0 changed, 0 deleted, 0 unchanged\); helm test skipped \(kwok nodes run no containers: a result would prove nothing\); [\d.]+ s$/m);
    const namespace = await kubectlJson(['get', 'namespace', NAMESPACE]);
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const app = await kubectlJson(['-n', NAMESPACE, 'get', 'deployment', 'shop-app']);
    expect(app.status.readyReplicas).toBe(app.spec.replicas);
  });

  it('shows nothing to change when nothing changed, and the changed field when the app image changes', async () => {
    const same = await deploy(['--dry-run']);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/^changes: 0 created, 0 changed, 0 deleted, \d+ unchanged$/m);
    const tag = valuesFile('tag.yaml', 'app:\n  image:\n    tag: "2.0.1"\n');
    const changed = await deploy(['--dry-run', '--values', tag]);
    expect(changed.code, changed.stdout + changed.stderr).toBe(0);
    // the image, and what follows the tag: dev's checkov reasons for `latest`, the OTEL service.version
    expect(changed.stdout).toMatch(/^ {2}~ Deployment\/shop-app: .*spec\.template\.spec\.containers\.0\.image(, |$)/m);
    expect(changed.stdout).toMatch(/^changes: 0 created, 1 changed, 0 deleted, \d+ unchanged$/m);
  });

  it('rolls a rollout that never becomes ready back, and says so', async () => {
    const stuck = valuesFile('stuck.yaml', 'app:\n  image:\n    tag: "2.0.2"\n  nodeSelector:\n    techshop.test/no-such-node: "true"\n');
    const result = await deploy(['--values', stuck, '--timeout', '40s']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^deploy: FAILED: dev shop@deploy-dev did not roll out and was rolled back/m);
    const app = await kubectlJson(['-n', NAMESPACE, 'get', 'deployment', 'shop-app']);
    expect(app.spec.template.spec.containers[0].image).not.toMatch(/2\.0\.2$/);
    expect(app.spec.template.spec.nodeSelector ?? {}).not.toHaveProperty('techshop.test/no-such-node');
  });

  it('refuses the staging quota of 10 Services a real API server refused, at validate, before touching the cluster', async () => {
    const quota = valuesFile('quota.yaml', 'resourceQuota:\n  hard:\n    services: "10"\n');
    const result = await run(tsx, [join(repoRoot, 'scripts', 'deploy.ts'), '--env', 'staging', '--namespace', 'deploy-quota', '--values', quota], {
      cwd: repoRoot,
      env: clusterEnv(),
      timeoutMs: 300_000,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/quota\.yaml:3:5 +resourceQuota\.hard\.services: quota services 10 is below the 1\d the release needs at full scale/);
    expect(result.stdout).toContain('deploy: refused: the values do not validate');
    expect((await kubectl(['get', 'namespace', 'deploy-quota'])).code).not.toBe(0);
  });

  it('prints the cluster identity the server proves: its URL and the SHA-256 of its CA certificate', async () => {
    const printed = await deploy(['--print-cluster-identity']);
    expect(printed.code, printed.stdout + printed.stderr).toBe(0);
    expect(printed.stdout).toBe(`global:\n  deploy:\n    cluster:\n      server: ${identity.server}\n      caSha256: ${identity.caSha256}\n`);
  });

  it('refuses a staging deploy whose values pin no cluster, printing the command that gets the identity', async () => {
    const result = await deployAs('staging', ['--namespace', 'deploy-staging-unpinned', '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('deploy: refused: staging deploys need the identity of their cluster in global.deploy.cluster');
    expect(result.stdout).toMatch(/^ {2}npm run --silent deploy -- --env staging --print-cluster-identity --kube-context \S+$/m);
    expect((await kubectl(['get', 'namespace', 'deploy-staging-unpinned'])).code).not.toBe(0);
  });

  it('accepts the pinned cluster under any local name, for dev and staging', async () => {
    const pinned = identityValues('pinned', identity);
    const renamed = kubeconfigVariant('renamed', (config) => {
      config.clusters[0].name = 'whatever-a-laptop-calls-it';
      config.contexts[0].name = 'renamed';
      config.contexts[0].context.cluster = 'whatever-a-laptop-calls-it';
      config['current-context'] = 'renamed';
    });
    for (const config of [undefined, renamed]) {
      const result = await deploy(['--dry-run', '--values', pinned], config);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^deploy: dry run: dev shop@deploy-dev would change /m);
    }
    const staging = await deployAs('staging', ['--namespace', 'deploy-staging-pinned', '--dry-run', '--values', pinned], renamed);
    expect(staging.code, staging.stdout + staging.stderr).toBe(0);
    expect(staging.stdout).toMatch(/^deploy: dry run: staging shop@deploy-staging-pinned would change \d+ created/m);
  });

  it('refuses the same server under another URL, and a kubeconfig trusting another CA, before touching anything', async () => {
    const generationBefore = (await kubectlJson(['-n', NAMESPACE, 'get', 'deployment', 'shop-app'])).metadata.generation;
    const pinned = identityValues('pinned', identity);
    // The API server's certificate names both 127.0.0.1 and localhost: the other URL reaches the same server.
    const url = new URL(identity.server);
    url.hostname = url.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
    const otherUrl = kubeconfigVariant('other-url', (config) => {
      config.clusters[0].cluster.server = url.toString().replace(/\/$/, '');
    });
    const byUrl = await deploy(['--values', pinned], otherUrl);
    expect(byUrl.code).toBe(1);
    expect(byUrl.stdout).toContain(`but global.deploy.cluster says dev deploys to ${identity.server}`);
    // Another cluster's CA (made here): a server it certifies would be another cluster.
    const key = join(scratch, 'other-ca.key');
    const crt = join(scratch, 'other-ca.crt');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=other-cluster-ca'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const otherCa = kubeconfigVariant('other-ca', (config) => {
      config.clusters[0].cluster['certificate-authority-data'] = readFileSync(crt).toString('base64');
    });
    const byCa = await deploy(['--values', pinned], otherCa);
    expect(byCa.code).toBe(1);
    expect(byCa.stdout).toContain(`with CA sha256 ${opensslFingerprint(crt)}, but global.deploy.cluster says dev's cluster has the CA with sha256 ${identity.caSha256}`);
    // and a pin of another cluster, with the right kubeconfig
    const elsewhere = identityValues('elsewhere', { server: 'https://techshop-prod-eu.invalid:6443', caSha256: identity.caSha256 });
    const wrongCluster = await deploy(['--values', elsewhere]);
    expect(wrongCluster.code).toBe(1);
    expect(wrongCluster.stdout).toMatch(/^deploy: refused: the kube context "\S+" \(cluster "\S+"\) points at https:\/\/127\.0\.0\.1:\d+ with CA sha256 [0-9a-f]{64}, but global\.deploy\.cluster says dev deploys to https:\/\/techshop-prod-eu\.invalid:6443$/m);
    const app = await kubectlJson(['-n', NAMESPACE, 'get', 'deployment', 'shop-app']);
    expect(app.metadata.generation).toBe(generationBefore);
  });

  it('refuses an unknown context and invalid values, before touching anything', async () => {
    const generationBefore = (await kubectlJson(['-n', NAMESPACE, 'get', 'deployment', 'shop-app'])).metadata.generation;
    const noContext = await deploy(['--kube-context', 'no-such-context']);
    expect(noContext.code).toBe(1);
    expect(noContext.stdout).toContain('deploy: no usable kube context');
    const bad = valuesFile('bad.yaml', 'app:\n  replicaCount: many\n');
    const invalid = await deploy(['--values', bad]);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toMatch(/bad\.yaml:2:\d+ +app\.replicaCount: /);
    expect(invalid.stdout).toContain('deploy: refused: the values do not validate');
    const app = await kubectlJson(['-n', NAMESPACE, 'get', 'deployment', 'shop-app']);
    expect(app.metadata.generation).toBe(generationBefore);
  });
});
