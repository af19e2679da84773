// Every container of every render requests and limits ephemeral storage, and
// each pod's limit holds its disk-backed emptyDir volumes: the kubelet counts
// those against the pod (sum of its containers' limits, or its largest init
// container) and evicts the pod when they outgrow it.
import { describe, expect, it } from 'vitest';
import { lintTargets, describeTarget } from '../scripts/lib/lint.ts';
import { renderTarget } from '../scripts/lib/kube-checks.ts';
import { parseMemory } from '../scripts/lib/quantity.ts';
import { podSpecOf } from '../scripts/lib/render.ts';
import { readChartMeta } from '../scripts/lib/values.ts';
import { helms } from './helpers/render.ts';

interface Container {
  name: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

const targets = lintTargets().filter((t) => readChartMeta(t.chart).type !== 'library');

describe('ephemeral-storage', () => {
  it('covers the umbrella with each environment and every chart with its ci values', () => {
    expect(targets.filter((t) => t.chart === 'techshop' && /values-(dev|staging|prod)\.yaml$/.test(t.valuesFile ?? ''))).toHaveLength(3);
    expect(new Set(targets.map((t) => t.chart))).toEqual(new Set(['app', 'mongodb', 'redis', 'monitoring', 'backup', 'tracing', 'objectstore', 'logging', 'techshop']));
  });

  for (const target of targets) {
    it(`${describeTarget(target)}: every container requests and limits it; every pod's limit holds its emptyDirs`, async () => {
      const rendered = await renderTarget(helms[0]!, target);
      let pods = 0;
      for (const object of rendered.objects) {
        const spec = podSpecOf(object);
        if (!spec) continue;
        pods++;
        const where = `${object.kind}/${object.metadata.name}`;
        const containers: Container[] = spec.containers;
        const inits: Container[] = spec.initContainers ?? [];
        for (const c of [...inits, ...containers]) {
          const request = c.resources?.requests?.['ephemeral-storage'];
          const limit = c.resources?.limits?.['ephemeral-storage'];
          expect(request, `${where} ${c.name} request`).toMatch(/^\d+(Mi|Gi)$/);
          expect(limit, `${where} ${c.name} limit`).toMatch(/^\d+(Mi|Gi)$/);
          expect(parseMemory(request!), `${where} ${c.name} request <= limit`).toBeLessThanOrEqual(parseMemory(limit!));
        }
        const limitOf = (c: Container) => parseMemory(c.resources?.limits?.['ephemeral-storage'] ?? '0');
        const podLimit = Math.max(
          containers.reduce((n, c) => n + limitOf(c), 0),
          ...inits.map(limitOf),
        );
        const onDisk = (spec.volumes ?? [])
          .filter((v: { emptyDir?: { medium?: string } }) => v.emptyDir && v.emptyDir.medium !== 'Memory')
          .reduce((n: number, v: { emptyDir: { sizeLimit?: string } }) => n + parseMemory(v.emptyDir.sizeLimit ?? '0'), 0);
        expect(podLimit, `${where}: limit ${podLimit} below its emptyDirs ${onDisk}`).toBeGreaterThan(onDisk);
      }
      expect(pods).toBeGreaterThan(0);
    });
  }
});
