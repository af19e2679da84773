// Secrets from Vault (global.secrets.provider externalSecrets) on a real API
// server: refused with the fix while the External Secrets Operator's CRDs are
// absent; with its CRDs (from its Go module, .cache/kube/crds) the rendered
// ExternalSecrets and a Vault SecretStore pass the server's CRD schema
// validation, and the live workloads read exactly the Secrets the live
// ExternalSecrets target, with the keys they map.
//
// The operator itself does not run here (no Vault, no controller image): the
// test creates the target Secrets itself, as the operator would, so that the
// install's --wait has what the pods mount. That the operator then fills them
// from Vault is the operator's contract, not proven here.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmMatrix, type HelmBinary } from '../../scripts/lib/helm.ts';
import { cacheDir, chartDir, umbrellaChart, valuesFile } from '../../scripts/lib/paths.ts';
import { renderChart, type K8sObject } from '../../scripts/lib/render.ts';
import { freshRestrictedNamespace, helmCmd, kubectl, kubectlJson, kubectlOk, removeRelease } from '../helpers/cluster.ts';
import { DEV_EXTERNAL, ESO_API, EXTERNAL_SECRETS_CI_VALUES, secretReads } from '../helpers/secrets.ts';

const NAMESPACE = 'eso-dev';
const CRD_DIR = join(cacheDir, 'kube', 'crds');
const CRDS = ['external-secrets.io_externalsecrets.yaml', 'external-secrets.io_secretstores.yaml', 'external-secrets.io_clustersecretstores.yaml'];
const INSTALL = ['install', 'shop', chartDir(umbrellaChart), '-n', NAMESPACE, '-f', valuesFile('dev'), ...DEV_EXTERNAL.flatMap((s) => ['--set', s])];
let helm: HelmBinary;

/** A SecretStore for Vault's KV v2 engine, as a user would create it before installing. */
const vaultStore = (kind: 'SecretStore' | 'ClusterSecretStore') => ({
  apiVersion: 'external-secrets.io/v1',
  kind,
  metadata: { name: 'vault', ...(kind === 'SecretStore' ? { namespace: NAMESPACE } : {}) },
  spec: { provider: { vault: { server: 'https://vault.vault.svc:8200', path: 'secret', version: 'v2', auth: { kubernetes: { mountPath: 'kubernetes', role: 'techshop' } } } } },
});

beforeAll(async () => {
  [helm] = (await helmMatrix()) as [HelmBinary];
  await freshRestrictedNamespace(NAMESPACE);
});
afterAll(() => removeRelease(helm, 'shop', NAMESPACE));

describe.sequential('ExternalSecrets on the API server', () => {
  it('are refused, naming the missing API and the fix, while the cluster lacks the operator CRDs; nothing is created', async () => {
    expect((await kubectl(['get', 'crd', 'externalsecrets.external-secrets.io'])).code, 'this test installs the CRDs itself, after this step').not.toBe(0);
    const result = await helmCmd(helm, INSTALL);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /global\.secrets\.provider=externalSecrets: the cluster does not serve external-secrets\.io\/v1 ExternalSecret\. Install the External Secrets Operator \(its CRDs\) first/,
    );
    expect((await helmCmd(helm, ['list', '-n', NAMESPACE, '-a', '-q'])).stdout.trim()).toBe('');
    expect((await kubectlJson(['-n', NAMESPACE, 'get', 'deployments,statefulsets,secrets'])).items).toEqual([]);
  });

  it('with the CRDs, a Vault SecretStore and the ExternalSecrets pass the CRD schemas, and the release installs', async () => {
    for (const file of CRDS) await kubectlOk(['apply', '--server-side', '-f', join(CRD_DIR, file)]);
    for (const crd of ['externalsecrets', 'secretstores', 'clustersecretstores']) {
      await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crd}.external-secrets.io`]);
    }
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(vaultStore('SecretStore')));

    // What the operator would do once it read Vault: the target Secrets, with the mapped keys.
    const rendered = await renderChart(helm, umbrellaChart, { namespace: NAMESPACE, valuesFiles: [valuesFile('dev')], set: DEV_EXTERNAL, apiVersions: [ESO_API] });
    for (const es of rendered.filter((o) => o.kind === 'ExternalSecret')) {
      const data = Object.fromEntries((es.spec.data as { secretKey: string }[]).map((d) => [d.secretKey, randomBytes(24).toString('hex')]));
      await kubectlOk(['-n', NAMESPACE, 'create', 'secret', 'generic', es.spec.target.name, ...Object.entries(data).map(([k, v]) => `--from-literal=${k}=${v}`)]);
    }

    const result = await helmCmd(helm, [...INSTALL, '--wait', '--timeout', '10m']);
    expect(result.code, result.stderr).toBe(0);
    const live = (await kubectlJson(['-n', NAMESPACE, 'get', 'externalsecrets.external-secrets.io'])).items as K8sObject[];
    expect(live.map((o) => o.metadata.name).sort()).toEqual(['shop-app', 'shop-grafana', 'shop-mongodb', 'shop-objectstore', 'shop-redis']);
    for (const es of live) {
      expect(es.apiVersion).toBe('external-secrets.io/v1');
      expect(es.spec.secretStoreRef).toEqual({ kind: 'SecretStore', name: 'vault' });
      expect(es.spec.target).toMatchObject({ name: es.metadata.name, creationPolicy: 'Owner', deletionPolicy: 'Retain' });
    }
  });

  it('the live workloads read exactly the Secrets the live ExternalSecrets target, and only keys they map', async () => {
    const workloads = (await kubectlJson(['-n', NAMESPACE, 'get', 'deployments,statefulsets,cronjobs,jobs'])).items as K8sObject[];
    const reads = secretReads(workloads);
    const live = (await kubectlJson(['-n', NAMESPACE, 'get', 'externalsecrets.external-secrets.io'])).items as K8sObject[];
    const mapped = new Map(live.map((es) => [es.spec.target.name as string, (es.spec.data as { secretKey: string }[]).map((d) => d.secretKey)]));
    expect([...reads.keys()].sort()).toEqual([...mapped.keys()].sort());
    for (const [name, keys] of reads) for (const key of keys) expect(mapped.get(name), `${name} ${key}`).toContain(key);
    // The release itself holds no Secret of its own: each credential comes from its ExternalSecret.
    const owned = (await kubectlJson(['-n', NAMESPACE, 'get', 'secrets', '-l', 'app.kubernetes.io/instance=shop'])).items as K8sObject[];
    expect(owned.map((s) => s.metadata.name)).toEqual([]);
  });

  it("the ci file's ExternalSecrets (prod shape, ClusterSecretStore) pass the server's schemas; a bad field does not", async () => {
    const rendered = await renderChart(helm, umbrellaChart, { namespace: NAMESPACE, valuesFiles: [EXTERNAL_SECRETS_CI_VALUES], apiVersions: [ESO_API] });
    const items = [vaultStore('ClusterSecretStore'), ...rendered.filter((o) => o.kind === 'ExternalSecret')];
    expect(items).toHaveLength(6);
    const accepted = await kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain('externalsecret.external-secrets.io/techshop-mongodb created (server dry run)');

    // The same validation refuses what the operator could not act on: the schema is really applied.
    const bad = structuredClone(items[1]) as K8sObject;
    bad.spec.target.creationPolicy = 'Sometimes';
    const refused = await kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(bad));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/spec\.target\.creationPolicy: Unsupported value: "Sometimes"/);
  });
});
