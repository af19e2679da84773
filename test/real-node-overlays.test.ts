// The real node's overlays (test/real/overlays): each makes its environment's values fit one 2-core
// node and does nothing else. The merged values with and without the overlay differ only at resource
// sizes (CPU and memory requests and limits, volume sizes, the memory-bound WiredTiger cache, the HPA
// maximum) and image references; the environment file and the overlay together pass `validate` with
// the environment's policy, as helm layers them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot, valuesFile } from '../scripts/lib/paths.ts';
import { loadValidator, validateLayers } from '../scripts/lib/validate.ts';
import { chartDefaults, coalesce } from '../scripts/lib/values.ts';

/** The key paths an overlay may change. */
export const FIT_ONLY = [
  /(^|\.)resources\.(requests|limits)\.(cpu|memory)$/,
  /(^|\.)persistence\.size$/,
  /^tracing\.jaeger\.storage\.size$/,
  /^monitoring\.prometheus\.retention\.size$/,
  /^mongodb\.wiredTigerCacheSizeGB$/,
  /(^|\.)autoscaling\.maxReplicas$/,
  /(^|\.)image\.(registry|repository|tag|digest|pullPolicy)$/,
];

/** Leaf paths whose values differ between a and b (arrays compared whole). */
export function changedPaths(a: unknown, b: unknown, path: string[] = []): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().flatMap((k) => changedPaths(a[k], b[k], [...path, k]));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path.join('.')];
}

export const overlayFile = (env: 'staging' | 'prod') => join(repoRoot, 'test', 'real', 'overlays', `values-${env}-real-node.yaml`);

describe.each(['staging', 'prod'] as const)('the %s real-node overlay', (env) => {
  const defaults = chartDefaults('techshop');
  const envValues = load(readFileSync(valuesFile(env), 'utf8'));
  const overlay = load(readFileSync(overlayFile(env), 'utf8'));

  it('changes only sizes, the HPA maximum and image references', () => {
    const before = coalesce(defaults, envValues);
    const after = coalesce(before, overlay);
    const changed = changedPaths(before, after);
    expect(changed.length).toBeGreaterThan(5);
    expect(changed.filter((p) => !FIT_ONLY.some((re) => re.test(p)))).toEqual([]);
    // it really makes things smaller
    expect(changed.some((p) => p === 'mongodb.resources.requests.memory')).toBe(true);
  });

  it(`passes validate with the ${env} policy, layered after values-${env}.yaml`, async () => {
    const validator = await loadValidator();
    const diagnostics = validateLayers(validator, [valuesFile(env), overlayFile(env)], env);
    expect(diagnostics.map((d) => `${d.file}:${d.line} ${d.path}: ${d.message}`)).toEqual([]);
  });

  it('the check catches a change outside the sizes', () => {
    const before = coalesce(defaults, envValues);
    const after = coalesce(before, { ...(overlay as object), mongodb: { ...(overlay as any).mongodb, metrics: { enabled: false } } }); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(changedPaths(before, after).filter((p) => !FIT_ONLY.some((re) => re.test(p)))).toEqual(['mongodb.metrics.enabled']);
  });
});
