// Upgrade safety: Kubernetes refuses a StatefulSet update that changes
// selector, serviceName, podManagementPolicy or volumeClaimTemplates, so
// `helm upgrade` from the last released chart would fail. Render the released
// archive (test/fixtures/mongodb/released/) and the current chart with the same
// values, under both helm majors, and compare exactly those fields.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findObject, type K8sObject } from '../scripts/lib/render.ts';
import { repoRoot } from '../scripts/lib/paths.ts';
import { helms } from './helpers/render.ts';
import { ciValues, renderArchive, renderMongo } from './fixtures/mongodb/render.ts';

const releasedDir = join(repoRoot, 'test', 'fixtures', 'mongodb', 'released');
const archives = readdirSync(releasedDir).filter((name) => /^mongodb-\d+\.\d+\.\d+\.tgz$/.test(name));

function immutableFields(objects: K8sObject[]) {
  const sts = findObject(objects, 'StatefulSet', 'shop-mongodb');
  const { selector, serviceName, podManagementPolicy, volumeClaimTemplates } = sts.spec;
  return { selector, serviceName, podManagementPolicy, volumeClaimTemplates };
}

describe('released baseline', () => {
  it('holds exactly one packaged mongodb chart (replace it with the last released archive on every release)', () => {
    expect(archives).toHaveLength(1);
  });
});

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('%s', (_label, helm) => {
  const baseline = join(releasedDir, archives[0] ?? 'missing.tgz');

  describe.each(['dev', 'prod'] as const)('ci/%s-values.yaml', (env) => {
    it(`keeps the StatefulSet's immutable fields of ${archives[0]}`, async () => {
      const before = immutableFields(await renderArchive(helm, baseline, [ciValues(env)]));
      const after = immutableFields(await renderMongo(helm, { valuesFiles: [ciValues(env)] }));
      expect(before.serviceName).toBe('shop-mongodb-headless');
      expect(before.volumeClaimTemplates?.[0]?.metadata?.name).toBe('data');
      expect(after).toEqual(before);
    });
  });

  it('notices a change of an immutable field (the comparison is not vacuous)', async () => {
    const before = immutableFields(await renderArchive(helm, baseline, [ciValues('prod')]));
    const resized = immutableFields(await renderMongo(helm, { valuesFiles: [ciValues('prod')], set: ['persistence.size=30Gi'] }));
    expect(resized).not.toEqual(before);
  });
});
