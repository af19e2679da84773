// Secrets from Vault (global.secrets.provider externalSecrets), on the render:
// every Secret a pod reads is the target of an ExternalSecret that maps every
// key the pod reads, no chart renders a Secret of its own, and without the
// External Secrets Operator's API the render fails naming the API and the fix.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { declaredApiVersions, helmLint, lintTargets } from '../scripts/lib/lint.ts';
import { podSpecOf, renderChart, RenderError, type K8sObject } from '../scripts/lib/render.ts';
import { byKind, helms, renderEnv } from './helpers/render.ts';
import { DEV_EXTERNAL, ESO_API, EXTERNAL_SECRETS_CI_VALUES as CI_VALUES, KEYS, secretReads } from './helpers/secrets.ts';

function externalSecrets(objects: K8sObject[]): Map<string, { keys: string[]; object: K8sObject }> {
  return new Map(
    byKind(objects, 'ExternalSecret').map((o) => [o.spec.target.name as string, { keys: (o.spec.data as { secretKey: string }[]).map((d) => d.secretKey), object: o }]),
  );
}

describe.each(helms)('ExternalSecrets under helm $version', (helm) => {
  let prod: Promise<K8sObject[]> | undefined;
  const renderProd = () => (prod ??= renderChart(helm, 'techshop', { valuesFiles: [CI_VALUES], apiVersions: [ESO_API] }));

  it('the ci file declares the API it needs, so lint and the render checks pass it as --api-versions', () => {
    expect(declaredApiVersions(readFileSync(CI_VALUES, 'utf8'))).toEqual([ESO_API]);
  });

  it('helm lint (which cannot be told the API is served) passes the ci file only through its declaration; any other refusal still fails', async () => {
    const target = lintTargets().find((t) => t.valuesFile === CI_VALUES)!;
    expect(target.apiVersions).toEqual([ESO_API]);
    expect(await helmLint(helm, target)).toMatchObject({ ok: true });
    const undeclared = await helmLint(helm, { chart: target.chart, valuesFile: target.valuesFile });
    expect(undeclared.ok).toBe(false);
    expect(undeclared.detail).toContain('the cluster does not serve external-secrets.io/v1 ExternalSecret');
  });

  it('every Secret a pod reads is an ExternalSecret target, and every ExternalSecret is read', async () => {
    const objects = await renderProd();
    const reads = secretReads(objects);
    const targets = externalSecrets(objects);
    expect([...reads.keys()].sort()).toEqual([...targets.keys()].sort());
    // one helper decides each name: the existingSecret when named, else <release>-<component>
    expect([...targets.keys()].sort()).toEqual(['shop-app', 'shop-backup', 'shop-grafana', 'shop-redis', 'techshop-mongodb']);
  });

  it('each ExternalSecret maps exactly the keys its chart would have generated, and every key a pod reads', async () => {
    const objects = await renderProd();
    const reads = secretReads(objects);
    const targets = externalSecrets(objects);
    const credentialOf: Record<string, string> = { 'shop-app': 'app', 'shop-backup': 'backup', 'shop-grafana': 'grafana', 'shop-redis': 'redis', 'techshop-mongodb': 'mongodb' };
    for (const [name, { keys }] of targets) {
      expect(keys.sort(), name).toEqual([...(KEYS[credentialOf[name]!] ?? [])].sort());
      for (const key of reads.get(name) ?? []) {
        expect(key, `${name}: a pod reads the whole Secret`).not.toBe('*');
        expect(keys, `${name}: a pod reads ${key}`).toContain(key);
      }
    }
  });

  it('renders the operator-facing fields: store, refresh, Owner creation, Retain deletion, Vault paths and properties', async () => {
    const es = externalSecrets(await renderProd()).get('techshop-mongodb')!.object;
    expect(es.apiVersion).toBe('external-secrets.io/v1');
    expect(es.metadata.name).toBe('techshop-mongodb');
    expect(es.spec.secretStoreRef).toEqual({ kind: 'ClusterSecretStore', name: 'vault' });
    expect(es.spec.refreshInterval).toBe('15m');
    expect(es.spec.target).toEqual({ name: 'techshop-mongodb', creationPolicy: 'Owner', deletionPolicy: 'Retain' });
    expect(es.spec.data).toContainEqual({ secretKey: 'mongodb-replica-set-key', remoteRef: { key: 'techshop/prod/mongodb', property: 'replica-set-key' } });
  });

  it('no chart renders a Secret of its own, and no pod carries a checksum of one', async () => {
    const objects = await renderProd();
    expect(byKind(objects, 'Secret').map((o) => o.metadata.name)).toEqual([]);
    for (const object of objects) {
      const annotations = podSpecOf(object) ? (object.spec?.template?.metadata?.annotations ?? object.spec?.jobTemplate?.spec?.template?.metadata?.annotations ?? {}) : {};
      expect(Object.keys(annotations).filter((k) => k === 'checksum/secret'), `${object.kind}/${object.metadata.name}`).toEqual([]);
    }
  });

  it('dev with the provider on: the same, with <release>-<component> names; the backups read MinIO\'s keys', async () => {
    const objects = await renderEnv(helm, 'dev', { set: DEV_EXTERNAL, apiVersions: [ESO_API] });
    expect(byKind(objects, 'Secret')).toEqual([]);
    const targets = externalSecrets(objects);
    expect([...targets.keys()].sort()).toEqual(['shop-app', 'shop-grafana', 'shop-mongodb', 'shop-objectstore', 'shop-redis']);
    expect([...secretReads(objects).keys()].sort()).toEqual([...targets.keys()].sort());
    expect(targets.get('shop-redis')!.object.spec.secretStoreRef).toEqual({ kind: 'SecretStore', name: 'vault' });
  });

  it('the default provider renders no ExternalSecret: the charts generate their Secrets as before', async () => {
    const objects = await renderEnv(helm, 'dev', { apiVersions: [ESO_API] });
    expect(byKind(objects, 'ExternalSecret')).toEqual([]);
    expect(byKind(objects, 'Secret').map((o) => o.metadata.name).sort()).toEqual(['shop-app', 'shop-grafana', 'shop-mongodb', 'shop-objectstore', 'shop-redis']);
  });

  it('without the External Secrets Operator API the render fails, naming the API and the fix', async () => {
    const failed = renderChart(helm, 'techshop', { valuesFiles: [CI_VALUES] });
    await expect(failed).rejects.toThrow(RenderError);
    await expect(failed).rejects.toThrow(
      /global\.secrets\.provider=externalSecrets: the cluster does not serve external-secrets\.io\/v1 ExternalSecret\. Install the External Secrets Operator \(its CRDs\) first.*Pass --api-versions external-secrets\.io\/v1\/ExternalSecret\. \[rule api-not-served\]/,
    );
  });

  it('an inline credential beside ExternalSecrets is refused: one source per credential', async () => {
    await expect(renderEnv(helm, 'dev', { set: [...DEV_EXTERNAL, 'redis.auth.password=inline'], apiVersions: [ESO_API] })).rejects.toThrow(
      /redis\.auth\.password: set either an inline value or global\.secrets\.provider externalSecrets, not both .*\[rule credential-source\]/,
    );
  });
});
