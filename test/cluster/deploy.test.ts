// npm run deploy end to end against the local control plane: dry run, deploy,
// a no-op redeploy, a change preview, a failed rollout rolled back, refusals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../scripts/lib/exec.ts';
import { repoRoot } from '../../scripts/lib/paths.ts';
import { clusterEnv, deleteNamespace, kubectl, kubectlJson } from '../helpers/cluster.ts';

const NAMESPACE = 'deploy-dev';
const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
const deploy = (args: string[]) =>
  run(tsx, [join(repoRoot, 'scripts', 'deploy.ts'), '--env', 'dev', '--namespace', NAMESPACE, ...args], { cwd: repoRoot, env: clusterEnv(), timeoutMs: 900_000 });

const scratch = mkdtempSync(join(tmpdir(), 'techshop-deploy-test-'));
const valuesFile = (name: string, text: string) => {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
};

beforeAll(async () => {
  await deleteNamespace(NAMESPACE);
});
afterAll(async () => {
  await deleteNamespace(NAMESPACE);
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

  it('refuses another cluster than the values name, an unknown context, and invalid values, before touching anything', async () => {
    const generationBefore = (await kubectlJson(['-n', NAMESPACE, 'get', 'deployment', 'shop-app'])).metadata.generation;
    const other = valuesFile('other.yaml', 'global:\n  deploy:\n    cluster: techshop-prod-eu\n');
    const wrongCluster = await deploy(['--values', other]);
    expect(wrongCluster.code).toBe(1);
    expect(wrongCluster.stdout).toContain('deploy: refused: the kube context "techshop-local" points at cluster "techshop-local"');
    expect(wrongCluster.stdout).toContain('global.deploy.cluster says this environment deploys to "techshop-prod-eu"');
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
