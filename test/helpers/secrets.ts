// What the ExternalSecrets tests share (test/externalsecrets.test.ts on the
// render, test/cluster/externalsecrets.test.ts on the API server).
import { join } from 'node:path';
import { chartDir } from '../../scripts/lib/paths.ts';
import { podSpecOf, type K8sObject } from '../../scripts/lib/render.ts';
import { ruleConstant } from '../../scripts/lib/rule-table.ts';

/** The umbrella's ci values with every credential from Vault (prod shape). */
export const EXTERNAL_SECRETS_CI_VALUES = join(chartDir('techshop'), 'ci', 'externalsecrets-values.yaml');
export const ESO_API = 'external-secrets.io/v1/ExternalSecret';
/** Per credential, the keys its consumers read (the rule table's constants, shared with the charts). */
export const KEYS = ruleConstant('external-secret-keys', 'keys') as Record<string, readonly string[]>;

/** --set values for dev's shape with every credential from Vault through a SecretStore named vault. */
export const DEV_EXTERNAL = [
  'global.secrets.provider=externalSecrets',
  'global.secrets.externalSecrets.store.name=vault',
  ...Object.entries(KEYS).flatMap(([credential, keys]) =>
    credential === 'backup' ? [] : keys.map((key) => `global.secrets.externalSecrets.credentials.${credential}.${key}.remotePath=techshop/dev/${credential}`),
  ),
];

/** Every Secret a pod of the render reads, with the keys it reads (`*`: the whole Secret). */
export function secretReads(objects: K8sObject[]): Map<string, Set<string>> {
  const reads = new Map<string, Set<string>>();
  const add = (name: string, key: string) => {
    if (!reads.has(name)) reads.set(name, new Set());
    reads.get(name)!.add(key);
  };
  for (const object of objects) {
    const spec = podSpecOf(object);
    if (!spec) continue;
    for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      for (const env of container.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef;
        if (ref) add(ref.name, ref.key);
      }
      for (const from of container.envFrom ?? []) if (from.secretRef) add(from.secretRef.name, '*');
    }
    for (const volume of spec.volumes ?? []) {
      const sources = [volume.secret && { name: volume.secret.secretName, items: volume.secret.items }, ...(volume.projected?.sources ?? []).map((s: any) => s.secret)].filter(Boolean); // eslint-disable-line @typescript-eslint/no-explicit-any
      for (const source of sources) {
        if (source.items?.length) for (const item of source.items) add(source.name, item.key);
        else add(source.name, '*');
      }
    }
  }
  return reads;
}

