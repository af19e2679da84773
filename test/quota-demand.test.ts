// The quota rule's model of each component (scripts/lib/rules.ts
// workloadDemands) must match what helm actually renders: the same pods, the
// same requests and limits. Drift here would let a quota pass validation and
// then block pods in the cluster.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, type Environment } from '../scripts/lib/paths.ts';
import { podSpecOf, type K8sObject } from '../scripts/lib/render.ts';
import { parseCpu, parseMemory, resolveSurge } from '../scripts/lib/quantity.ts';
import { workloadDemands } from '../scripts/lib/rules.ts';
import { chartDefaults, coalesce, type Values } from '../scripts/lib/values.ts';
import { parse } from 'yaml';
import { helms, renderEnv } from './helpers/render.ts';

interface Totals {
  pods: number;
  requestsCpu: number;
  requestsMemory: number;
  limitsCpu: number;
  limitsMemory: number;
}

interface Container {
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } };
}

/** A pod's effective resources, as the scheduler and the quota count them: max(sum of containers, largest init container). */
function podResources(spec: { containers: Container[]; initContainers?: Container[] }): Omit<Totals, 'pods'> {
  const of = (c: Container) => ({
    requestsCpu: parseCpu(c.resources?.requests?.cpu ?? '0'),
    requestsMemory: parseMemory(c.resources?.requests?.memory ?? '0'),
    limitsCpu: parseCpu(c.resources?.limits?.cpu ?? '0'),
    limitsMemory: parseMemory(c.resources?.limits?.memory ?? '0'),
  });
  const keys = ['requestsCpu', 'requestsMemory', 'limitsCpu', 'limitsMemory'] as const;
  const sum = { requestsCpu: 0, requestsMemory: 0, limitsCpu: 0, limitsMemory: 0 };
  for (const c of spec.containers) for (const k of keys) sum[k] += of(c)[k];
  for (const init of spec.initContainers ?? []) for (const k of keys) sum[k] = Math.max(sum[k], of(init)[k]);
  return sum;
}

/** What the rendered objects can run at once at full scale: Deployments at their HPA maximum plus surge, StatefulSets at their replicas, each Job, CronJob and test pod once. */
function renderedTotals(objects: K8sObject[]): Totals {
  const totals: Totals = { pods: 0, requestsCpu: 0, requestsMemory: 0, limitsCpu: 0, limitsMemory: 0 };
  for (const object of objects) {
    const spec = podSpecOf(object);
    if (!spec) continue;
    let pods = 1;
    if (object.kind === 'Deployment' || object.kind === 'StatefulSet') {
      const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.name === object.metadata.name);
      const replicas = hpa ? hpa.spec.maxReplicas : (object.spec.replicas ?? 1);
      // Recreate stops the old pod first: no surge
      const surge = object.kind === 'Deployment' && object.spec.strategy?.type !== 'Recreate' ? resolveSurge(object.spec.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas) : 0;
      pods = replicas + surge;
    }
    const each = podResources(spec);
    totals.pods += pods;
    totals.requestsCpu += pods * each.requestsCpu;
    totals.requestsMemory += pods * each.requestsMemory;
    totals.limitsCpu += pods * each.limitsCpu;
    totals.limitsMemory += pods * each.limitsMemory;
  }
  return totals;
}

function modelTotals(env: Environment): Totals {
  const file = join(repoRoot, 'values', `values-${env}.yaml`);
  const values = coalesce(chartDefaults('techshop'), parse(readFileSync(file, 'utf8'))) as Values;
  const totals: Totals = { pods: 0, requestsCpu: 0, requestsMemory: 0, limitsCpu: 0, limitsMemory: 0 };
  for (const d of workloadDemands(values)) {
    totals.pods += d.pods;
    totals.requestsCpu += d.requestsCpu;
    totals.requestsMemory += d.requestsMemory;
    totals.limitsCpu += d.limitsCpu;
    totals.limitsMemory += d.limitsMemory;
  }
  return totals;
}

describe.each(['dev', 'staging', 'prod'] as const)('%s', (env) => {
  it('the quota model counts exactly the pods and resources helm renders', async () => {
    const objects = await renderEnv(helms[0]!, env);
    expect(modelTotals(env)).toEqual(renderedTotals(objects));
  });
});
