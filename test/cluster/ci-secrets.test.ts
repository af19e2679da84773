// .ci/create-ci-secrets.sh creates every Secret the charts' ct values name,
// with the keys each chart reads: run against the local API server with the
// real kubectl, the Secrets read back from the server.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { chartNames, chartDir } from '../../scripts/lib/paths.ts';
import { createReadmeSecrets, deleteNamespace, kubectlJson } from '../helpers/cluster.ts';

const NAMESPACE = 'ci-secrets';
afterAll(() => deleteNamespace(NAMESPACE));

/** Every `existingSecret` value in every chart's ci values. */
function referencedSecrets(): Set<string> {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'existingSecret' && typeof value === 'string' && value) names.add(value);
        else walk(value);
      }
    }
  };
  for (const chart of chartNames) {
    let files: string[] = [];
    try {
      files = readdirSync(join(chartDir(chart), 'ci')).filter((f) => f.endsWith('-values.yaml'));
    } catch {
      continue;
    }
    for (const f of files) walk(parse(readFileSync(join(chartDir(chart), 'ci', f), 'utf8')));
  }
  return names;
}

describe('.ci/create-ci-secrets.sh', () => {
  it('creates every Secret the ct values name, with the keys the charts read', async () => {
    // the script creates the namespace itself, and is run twice: a second run changes nothing but the values
    await createReadmeSecrets(NAMESPACE);
    await createReadmeSecrets(NAMESPACE);
    const secrets = await kubectlJson(['-n', NAMESPACE, 'get', 'secrets']);
    const created = new Map<string, string[]>();
    for (const secret of secrets.items) created.set(secret.metadata.name, Object.keys(secret.data ?? {}).sort());
    for (const name of referencedSecrets()) expect([...created.keys()], `Secret ${name}`).toContain(name);
    expect(created.get('techshop-mongodb')).toEqual(
      ['mongodb-backup-password', 'mongodb-metrics-password', 'mongodb-password', 'mongodb-replica-set-key', 'mongodb-root-password'],
    );
    expect(created.get('techshop-redis')).toEqual(['redis-password']);
    expect(created.get('techshop-app-secrets')).toEqual(['jwt-secret']);
    expect(created.get('techshop-backup-s3')).toEqual(['access-key-id', 'secret-access-key']);
    expect(created.get('techshop-objectstore')).toEqual(
      ['access-key-id', 'app-access-key-id', 'app-secret-access-key', 'backup-access-key-id', 'backup-secret-access-key', 'secret-access-key'],
    );
    expect(created.get('techshop-grafana-admin')).toEqual(['admin-password', 'admin-user']);
    expect(created.get('techshop-logs-elasticsearch')).toEqual(['api-key']);
  });
});
