// The quota rule's model of each component (scripts/lib/rules.ts
// workloadDemands) must match what helm actually renders: the same pods, the
// same requests and limits. Drift here would let a quota pass validation and
// then block pods in the cluster.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Environment } from '../scripts/lib/paths.ts';
import { podSpecOf, type K8sObject } from '../scripts/lib/render.ts';
import { parseCpu, parseMemory, resolveSurge } from '../scripts/lib/quantity.ts';
import { HELM_HISTORY_SECRETS, objectDemands, workloadDemands } from '../scripts/lib/rules.ts';
import { chartDefaults, coalesce, type Values } from '../scripts/lib/values.ts';
import { parse, stringify } from 'yaml';
import { helms, OPTIONAL_APIS, renderEnv } from './helpers/render.ts';

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
  return modelTotalsOf(coalesce(chartDefaults('techshop'), parse(readFileSync(file, 'utf8'))) as Values);
}

function modelTotalsOf(values: Values): Totals {
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

interface Counts {
  services: number;
  secrets: number;
  configmaps: number;
  persistentvolumeclaims: number;
  storage: number;
}

/** The objects a ResourceQuota counts, as rendered: StatefulSet claim templates once per replica. */
function renderedCounts(objects: K8sObject[]): Counts {
  const counts: Counts = { services: 0, secrets: 0, configmaps: 0, persistentvolumeclaims: 0, storage: 0 };
  for (const object of objects) {
    if (object.kind === 'Service') counts.services++;
    if (object.kind === 'Secret') counts.secrets++;
    if (object.kind === 'ConfigMap') counts.configmaps++;
    if (object.kind === 'PersistentVolumeClaim') {
      counts.persistentvolumeclaims++;
      counts.storage += parseMemory(object.spec.resources.requests.storage);
    }
    if (object.kind === 'StatefulSet') {
      for (const template of object.spec.volumeClaimTemplates ?? []) {
        counts.persistentvolumeclaims += object.spec.replicas ?? 1;
        counts.storage += (object.spec.replicas ?? 1) * parseMemory(template.spec.resources.requests.storage);
      }
    }
  }
  return counts;
}

function valuesOf(env: Environment): Values {
  return coalesce(chartDefaults('techshop'), parse(readFileSync(join(repoRoot, 'values', `values-${env}.yaml`), 'utf8'))) as Values;
}

describe.each(['dev', 'staging', 'prod'] as const)('%s', (env) => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderEnv(helms[0]!, env);
  });

  it('the quota model counts exactly the pods and resources helm renders', () => {
    expect(modelTotals(env)).toEqual(renderedTotals(objects));
  });

  it('the quota model counts exactly the Services, Secrets, ConfigMaps, claims and storage helm renders', () => {
    const model: Counts = { services: 0, secrets: 0, configmaps: 0, persistentvolumeclaims: 0, storage: 0 };
    const rows = objectDemands(valuesOf(env));
    // the last row is what the namespace holds besides the release: checked on its own below
    expect(rows.at(-1)?.component).toBe('namespace');
    for (const row of rows.slice(0, -1)) for (const key of Object.keys(model) as (keyof Counts)[]) model[key] += row[key];
    expect(model).toEqual(renderedCounts(objects));
  });

  it('adds the namespace: the Secrets the values name, helm history and kube-root-ca.crt', () => {
    const values = valuesOf(env);
    const named = new Set(
      [
        (values.global as any)?.mongodb?.existingSecret,
        (values.global as any)?.redis?.existingSecret,
        (values.objectstore as any).enabled === false ? '' : (values.global as any)?.objectstore?.existingSecret,
        (values.app as any).auth.existingSecret,
        (values.app as any).connections.mongodb.existingSecret,
        (values.app as any).connections.redis.existingSecret,
        (values.monitoring as any).alertmanager.existingSecret,
        (values.monitoring as any).grafana.admin.existingSecret,
        (values.backup as any).enabled === false ? '' : (values.backup as any).storage.existingSecret,
        (values.backup as any).enabled === false ? '' : (values.backup as any).restore.existingSecret,
      ].filter(Boolean),
    );
    const namespace = objectDemands(values).at(-1)!;
    expect(namespace).toMatchObject({ secrets: named.size + HELM_HISTORY_SECRETS, configmaps: 1, services: 0 });
  });
});

/** Variants that change what gets created: each override in a values file over dev's, model against render. */
const VARIANTS: Record<string, Values> = {
  'operator mode, no metrics Services': { monitoring: { mode: 'operator' }, mongodb: { metrics: { enabled: false } }, redis: { metrics: { enabled: false } } },
  'no persistence anywhere': { mongodb: { persistence: { enabled: false } }, redis: { persistence: { enabled: false } }, monitoring: { prometheus: { persistence: { enabled: false } } } },
  'existing Secrets, backups with inline keys': {
    global: { mongodb: { existingSecret: 'm' }, redis: { existingSecret: 'r' } },
    app: { auth: { existingSecret: 'a' } },
    monitoring: { grafana: { admin: { existingSecret: 'g' } } },
    backup: { enabled: true, storage: { objectstore: false, bucket: 'my-bucket', accessKeyId: 'k', secretAccessKey: 's' } },
  },
  'redis cluster with replicas, backups on an existing claim': {
    redis: { architecture: 'cluster', cluster: { masters: 3, replicasPerMaster: 1 } },
    backup: { enabled: true, storage: { objectstore: false, bucket: 'my-bucket', existingSecret: 'b' }, persistence: { existingClaim: 'claim' } },
  },
  'MinIO with an existing Secret and no volume': {
    global: { objectstore: { existingSecret: 'o' } },
    objectstore: { persistence: { enabled: false } },
  },
  'no MinIO (the backups to external S3)': {
    objectstore: { enabled: false },
    app: { objectstore: { enabled: false } },
    backup: { storage: { objectstore: false, bucket: 'my-bucket', existingSecret: 'b' } },
  },
};

describe.each(Object.keys(VARIANTS))('dev with %s', (name) => {
  it('the object model equals the render', async () => {
    const override = VARIANTS[name]!;
    const dir = mkdtempSync(join(tmpdir(), 'quota-'));
    const file = join(dir, 'override.yaml');
    writeFileSync(file, stringify(override));
    try {
      const objects = await renderEnv(helms[0]!, 'dev', { valuesFiles: [file], apiVersions: OPTIONAL_APIS });
      const values = coalesce(valuesOf('dev'), override) as Values;
      const model: Counts = { services: 0, secrets: 0, configmaps: 0, persistentvolumeclaims: 0, storage: 0 };
      for (const row of objectDemands(values).slice(0, -1)) for (const key of Object.keys(model) as (keyof Counts)[]) model[key] += row[key];
      expect(model).toEqual(renderedCounts(objects));
      expect(modelTotalsOf(values)).toEqual(renderedTotals(objects));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
