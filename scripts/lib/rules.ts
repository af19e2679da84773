// Cross-field rules JSON Schema cannot say, over the coalesced umbrella values.
// Each rule is a pure function: values in, findings (key path + message) out.
import type { PathSegment } from './diagnostics.ts';
import { formatCpu, formatMemory, parseAmount, parseCpu, parseMemory, resolveSurge } from './quantity.ts';
import { isStrictSubset } from './cidr.ts';
import { PINNED_DIGEST, PINNED_TAG } from './images.ts';
import { umbrellaChart } from './paths.ts';
import { longestGapMinutes, parseCron } from './cron.ts';
import { ruleConstant, ruleMessage, type RuleId } from './rule-table.ts';
import { isPlainObject, type Values } from './values.ts';

export interface Finding {
  path: PathSegment[];
  message: string;
  rule: string;
  /** Another key the finding is about (the other side of a pair): reported there when the file sets it and not `path`. */
  also?: PathSegment[];
}

export type Rule = (values: Values) => Finding[];

/** What one component may run at once at full scale, pods and totals. */
export interface Demand {
  component: string;
  pods: number;
  requestsCpu: number;
  requestsMemory: number;
  limitsCpu: number;
  limitsMemory: number;
  explain: string;
}

interface Resources {
  requests: { cpu: string | number; memory: string };
  limits: { cpu: string | number; memory: string };
}

function get(values: unknown, path: readonly PathSegment[]): unknown {
  let node = values;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

function demandOf(component: string, pods: number, resources: Resources, explain: string): Demand {
  return {
    component,
    pods,
    requestsCpu: pods * parseCpu(resources.requests.cpu),
    requestsMemory: pods * parseMemory(resources.requests.memory),
    limitsCpu: pods * parseCpu(resources.limits.cpu),
    limitsMemory: pods * parseMemory(resources.limits.memory),
    explain,
  };
}

function sumResources(parts: (Resources | undefined)[]): Resources {
  const total = { rc: 0, rm: 0, lc: 0, lm: 0 };
  for (const r of parts) {
    if (!r) continue;
    total.rc += parseCpu(r.requests.cpu);
    total.rm += parseMemory(r.requests.memory);
    total.lc += parseCpu(r.limits.cpu);
    total.lm += parseMemory(r.limits.memory);
  }
  return {
    requests: { cpu: `${total.rc}m`, memory: String(total.rm) },
    limits: { cpu: `${total.lc}m`, memory: String(total.lm) },
  };
}

function enabled(values: Values, component: string): Values | undefined {
  const chart = values[component];
  return isPlainObject(chart) && chart.enabled !== false ? chart : undefined;
}

/** The pods of the helm test hooks; counted as running beside everything at full scale. */
const APP_TEST_POD: Resources = {
  requests: { cpu: `${ruleConstant('quota-capacity', 'testPodRequestsMillicores') as number}m`, memory: String(ruleConstant('quota-capacity', 'testPodRequestsBytes')) },
  limits: { cpu: `${ruleConstant('quota-capacity', 'testPodLimitsMillicores') as number}m`, memory: String(ruleConstant('quota-capacity', 'testPodLimitsBytes')) },
};

/**
 * Full-scale demand of every workload the umbrella can run, from the same
 * values the templates use (test/quota-demand.test.ts checks it against what
 * helm renders). StatefulSets roll one pod at a time, so they have no surge.
 */
export function workloadDemands(values: Values): Demand[] {
  const demands: Demand[] = [];
  const app = enabled(values, 'app');
  if (app) {
    const autoscaling = app.autoscaling as { enabled: boolean; maxReplicas: number };
    const replicas = autoscaling.enabled ? autoscaling.maxReplicas : (app.replicaCount as number);
    const strategy = app.strategy as { maxSurge: number | string };
    const surge = resolveSurge(strategy.maxSurge, replicas);
    const why = autoscaling.enabled ? `HPA max ${replicas}` : `${replicas} replicas`;
    demands.push(demandOf('app', replicas + surge, app.resources as Resources, `app ${replicas + surge} pods (${why} + surge ${surge})`));
    demands.push(demandOf('app-test', 1, APP_TEST_POD, 'helm test (app) 1 pod'));
  }
  const mongodb = enabled(values, 'mongodb');
  if (mongodb) {
    const members = mongodb.replicaCount as number;
    const metrics = mongodb.metrics as { enabled: boolean; resources: Resources };
    const pod = sumResources([
      mongodb.resources as Resources,
      (mongodb.bootstrap as { resources: Resources }).resources,
      metrics.enabled ? metrics.resources : undefined,
    ]);
    demands.push(demandOf('mongodb', members, pod, `mongodb ${members} member(s) (mongod + bootstrap${metrics.enabled ? ' + exporter' : ''})`));
    demands.push(demandOf('mongodb-test', 1, (mongodb.tests as { resources: Resources }).resources, 'helm test (mongodb) 1 pod'));
  }
  const redis = enabled(values, 'redis');
  if (redis) {
    const cluster = redis.cluster as { masters: number; replicasPerMaster: number; bootstrap: { resources: Resources }; reconcile: { enabled: boolean } };
    const isCluster = redis.architecture === 'cluster';
    const pods = isCluster ? cluster.masters * (1 + cluster.replicasPerMaster) : 1;
    const metrics = redis.metrics as { enabled: boolean; resources: Resources };
    const pod = sumResources([redis.resources as Resources, metrics.enabled ? metrics.resources : undefined]);
    demands.push(demandOf('redis', pods, pod, `redis ${pods} pod(s)${metrics.enabled ? ' with exporter' : ''}`));
    // the bootstrap Job and the reconcile CronJob (cluster) and the helm test pod use the bootstrap resources
    const helpers = 1 + (isCluster ? 1 + (cluster.reconcile.enabled ? 1 : 0) : 0);
    demands.push(demandOf('redis-jobs', helpers, cluster.bootstrap.resources, `redis helper pods ${helpers} (test${isCluster ? ', bootstrap' : ''}${isCluster && cluster.reconcile.enabled ? ', reconcile' : ''})`));
  }
  const backup = enabled(values, 'backup');
  if (backup) {
    const resources = backup.resources as Resources;
    const verify = backup.verify as { enabled: boolean; resources: Resources };
    const incremental = (backup.incremental as { enabled: boolean }).enabled && (backup.mongodb as { architecture: string }).architecture === 'replicaset';
    const restore = (backup.restore as { enabled: boolean }).enabled;
    const jobs = 1 + (incremental ? 1 : 0) + (restore ? 1 : 0);
    demands.push(demandOf('backup', jobs, resources, `backup ${jobs} job pod(s) (full${incremental ? ', oplog' : ''}${restore ? ', restore' : ''})`));
    if (verify.enabled) {
      const bigger = parseCpu(verify.resources.limits.cpu) >= parseCpu(resources.limits.cpu) ? verify.resources : resources;
      demands.push(demandOf('backup-verify', 1, bigger, 'backup verify 1 pod'));
    }
  }
  const monitoring = enabled(values, 'monitoring');
  if (monitoring && monitoring.mode !== 'operator') {
    const part = (name: string): Resources => (monitoring[name] as { resources: Resources }).resources;
    demands.push(demandOf('prometheus', 1, part('prometheus'), 'prometheus 1 pod (StatefulSet, no surge)'));
    demands.push(demandOf('alertmanager', 2, part('alertmanager'), 'alertmanager 2 pods (1 + surge 1)'));
    demands.push(demandOf('grafana', 2, part('grafana'), 'grafana 2 pods (1 + surge 1)'));
    demands.push(demandOf('monitoring-test', 1, APP_TEST_POD, 'helm test (monitoring) 1 pod'));
  }
  const tracing = enabled(values, 'tracing');
  if (tracing) {
    const collector = tracing.collector as { replicaCount: number; resources: Resources };
    const jaeger = tracing.jaeger as { enabled: boolean; resources: Resources };
    demands.push(demandOf('otel-collector', collector.replicaCount + 1, collector.resources, `otel-collector ${collector.replicaCount} + surge 1 pod(s)`));
    if (jaeger.enabled) demands.push(demandOf('jaeger', 1, jaeger.resources, 'jaeger 1 pod (Recreate, no surge)'));
    if (get(tracing, ['tests', 'enabled']) === true) demands.push(demandOf('tracing-test', 1, APP_TEST_POD, 'helm test (tracing) 1 pod'));
  }
  const objectstore = enabled(values, 'objectstore');
  if (objectstore) {
    demands.push(demandOf('objectstore', 1, objectstore.resources as Resources, 'objectstore 1 pod (StatefulSet, no surge)'));
    // the bucket Job (post-install/post-upgrade hook) and the helm test pod use the bucketJob resources
    demands.push(demandOf('objectstore-jobs', 2, (objectstore.bucketJob as { resources: Resources }).resources, 'objectstore helper pods 2 (buckets, test)'));
  }
  return demands;
}

/** What the release creates of each kind a ResourceQuota counts, per component. */
export interface ObjectDemand {
  component: string;
  services: number;
  secrets: number;
  configmaps: number;
  persistentvolumeclaims: number;
  /** bytes of PVC storage requests */
  storage: number;
  explain: string;
}

/** Helm keeps each revision of a release as a Secret in its namespace: `helm upgrade --history-max` defaults to 10. */
export const HELM_HISTORY_SECRETS = ruleConstant('quota-capacity', 'helmHistory') as number;

/**
 * Objects the release creates, from the same values the templates read
 * (test/quota-demand.test.ts proves it against helm's render), plus what
 * the namespace holds besides: the Secrets the values name (created by you
 * first), helm's release history, and the kube-root-ca.crt ConfigMap every
 * namespace gets.
 */
export function objectDemands(values: Values): ObjectDemand[] {
  const demands: ObjectDemand[] = [];
  const add = (component: string, counts: Partial<Omit<ObjectDemand, 'component' | 'explain'>>, explain: string) =>
    demands.push({ component, services: 0, secrets: 0, configmaps: 0, persistentvolumeclaims: 0, storage: 0, ...counts, explain });
  // `count` volume claims, each of the size at `path` (a PVC per pod, or one)
  const claims = (count: number, chart: Values, path: string[]) => ({
    persistentvolumeclaims: count,
    storage: count ? count * parseMemory(get(chart, path) as string) : 0,
  });
  const existing = new Set<string>();
  const named = (name: unknown) => {
    if (typeof name === 'string' && name) existing.add(name);
    return Boolean(name);
  };
  const app = enabled(values, 'app');
  if (app) {
    const generated = !named(get(app, ['auth', 'existingSecret']));
    named(get(app, ['connections', 'mongodb', 'existingSecret']));
    named(get(app, ['connections', 'redis', 'existingSecret']));
    add('app', { services: 1, secrets: generated ? 1 : 0 }, 'app');
  }
  const mongodb = enabled(values, 'mongodb');
  if (mongodb) {
    const generated = !named(get(values, ['global', 'mongodb', 'existingSecret']));
    const metrics = get(mongodb, ['metrics', 'enabled']) === true;
    const persistent = get(mongodb, ['persistence', 'enabled']) === true;
    const members = mongodb.replicaCount as number;
    add(
      'mongodb',
      {
        services: 2 + (metrics ? 1 : 0),
        secrets: generated ? 1 : 0,
        configmaps: 2,
        ...claims(persistent ? members : 0, mongodb, ['persistence', 'size']),
      },
      'mongodb',
    );
  }
  const redis = enabled(values, 'redis');
  if (redis) {
    const generated = !named(get(values, ['global', 'redis', 'existingSecret']));
    const metrics = get(redis, ['metrics', 'enabled']) === true;
    const persistent = get(redis, ['persistence', 'enabled']) === true;
    const cluster = redis.cluster as { masters: number; replicasPerMaster: number };
    const pods = redis.architecture === 'cluster' ? cluster.masters * (1 + cluster.replicasPerMaster) : 1;
    add(
      'redis',
      {
        services: 2 + (metrics ? 1 : 0),
        secrets: generated ? 1 : 0,
        configmaps: 3,
        ...claims(persistent ? pods : 0, redis, ['persistence', 'size']),
      },
      'redis',
    );
  }
  const monitoring = enabled(values, 'monitoring');
  if (monitoring) {
    named(get(monitoring, ['alertmanager', 'existingSecret']));
    if (monitoring.mode === 'standalone') {
      const generated = !named(get(monitoring, ['grafana', 'admin', 'existingSecret']));
      const persistent = get(monitoring, ['prometheus', 'persistence', 'enabled']) === true;
      add(
        'monitoring',
        {
          services: 4,
          secrets: generated ? 1 : 0,
          configmaps: 4,
          ...claims(persistent ? 1 : 0, monitoring, ['prometheus', 'persistence', 'size']),
        },
        'monitoring (Prometheus, Alertmanager, Grafana)',
      );
    } else {
      add('monitoring', { configmaps: 1 }, 'monitoring (operator mode: the dashboards ConfigMap)');
    }
  }
  const backup = enabled(values, 'backup');
  if (backup) {
    const storage = backup.storage as { existingSecret: string; accessKeyId: string; secretAccessKey: string };
    const inline = !named(storage.existingSecret) && (Boolean(storage.accessKeyId || storage.secretAccessKey) || externalCredentials(values).includes('backup'));
    named(get(backup, ['restore', 'existingSecret']));
    const claim = !get(backup, ['persistence', 'existingClaim']);
    add(
      'backup',
      {
        secrets: inline ? 1 : 0,
        configmaps: 1,
        ...claims(claim ? 1 : 0, backup, ['persistence', 'size']),
      },
      'backup',
    );
  }
  const tracing = enabled(values, 'tracing');
  if (tracing) {
    const jaeger = get(tracing, ['jaeger', 'enabled']) === true;
    const badger = jaeger && get(tracing, ['jaeger', 'storage', 'type']) === 'badger';
    add(
      'tracing',
      {
        services: jaeger ? 2 : 1,
        configmaps: jaeger ? 2 : 1,
        ...claims(badger ? 1 : 0, tracing, ['jaeger', 'storage', 'size']),
      },
      jaeger ? 'tracing (collector, Jaeger)' : 'tracing (collector)',
    );
  }
  const objectstore = enabled(values, 'objectstore');
  if (objectstore) {
    const generated = !named(get(values, ['global', 'objectstore', 'existingSecret']));
    const persistent = get(objectstore, ['persistence', 'enabled']) === true;
    add(
      'objectstore',
      {
        services: 2,
        secrets: generated ? 1 : 0,
        configmaps: 2,
        ...claims(persistent ? 1 : 0, objectstore, ['persistence', 'size']),
      },
      'objectstore',
    );
  }
  add('namespace', { secrets: existing.size + HELM_HISTORY_SECRETS, configmaps: 1 }, `the namespace (${existing.size} existing Secret(s) the values name, ${HELM_HISTORY_SECRETS} helm release revisions, kube-root-ca.crt)`);
  return demands;
}

interface QuotaCheck {
  key: string;
  amount: (values: Values) => { part: string; amount: number }[];
  parse: (v: string | number) => number;
  format: (n: number) => string;
}

const count = (v: string | number) => Number(v);

function byPods(of: (d: Demand) => number) {
  return (values: Values) => workloadDemands(values).map((d) => ({ part: d.explain, amount: of(d) }));
}

function byObjects(of: (d: ObjectDemand) => number) {
  return (values: Values) => objectDemands(values).map((d) => ({ part: d.explain, amount: of(d) }));
}

const QUOTA_CHECKS: QuotaCheck[] = [
  { key: 'requests.cpu', amount: byPods((d) => d.requestsCpu), parse: parseCpu, format: formatCpu },
  { key: 'requests.memory', amount: byPods((d) => d.requestsMemory), parse: parseMemory, format: formatMemory },
  { key: 'limits.cpu', amount: byPods((d) => d.limitsCpu), parse: parseCpu, format: formatCpu },
  { key: 'limits.memory', amount: byPods((d) => d.limitsMemory), parse: parseMemory, format: formatMemory },
  { key: 'pods', amount: byPods((d) => d.pods), parse: count, format: String },
  { key: 'services', amount: byObjects((d) => d.services), parse: count, format: String },
  { key: 'secrets', amount: byObjects((d) => d.secrets), parse: count, format: String },
  { key: 'configmaps', amount: byObjects((d) => d.configmaps), parse: count, format: String },
  { key: 'persistentvolumeclaims', amount: byObjects((d) => d.persistentvolumeclaims), parse: count, format: String },
  { key: 'requests.storage', amount: byObjects((d) => d.storage), parse: parseMemory, format: formatMemory },
];

/**
 * The ResourceQuota must hold every workload at full scale (rollout surge,
 * jobs and test pods included) and every object the release creates: the
 * API server refuses whatever goes over. The message says the cause first
 * (needed vs allowed, the biggest part), then the rest.
 */
export const quotaHoldsWorkloads: Rule = (values) => {
  const quota = values.resourceQuota as { enabled: boolean; hard: Record<string, string | number> } | undefined;
  if (!quota?.enabled) return [];
  const findings: Finding[] = [];
  for (const check of QUOTA_CHECKS) {
    const hard = quota.hard[check.key];
    if (hard === undefined) continue;
    const parts = check.amount(values).filter((p) => p.amount > 0).sort((a, b) => b.amount - a.amount);
    const needed = parts.reduce((sum, p) => sum + p.amount, 0);
    const allowed = check.parse(hard);
    if (needed <= allowed) continue;
    const [biggest, ...rest] = parts;
    const fixes = ruleConstant('quota-capacity', 'fixes') as Record<string, string>;
    findings.push(
      shared('quota-capacity', ['resourceQuota', 'hard', check.key], {
        key: check.key,
        hard,
        needed: check.format(needed),
        fix: fixes[check.key] ?? '',
        biggest: `${biggest?.part}: ${check.format(biggest?.amount ?? 0)}`,
        rest: rest.length ? `; the rest: ${rest.map((p) => `${p.part}: ${check.format(p.amount)}`).join('; ')}` : '',
      }),
    );
  }
  return findings;
};

/** A PDB that the minimum replica count cannot satisfy is either useless or blocks every drain. */
export const pdbSatisfiable: Rule = (values) => {
  const app = values.app as Values | undefined;
  const pdb = app?.pdb as { enabled: boolean; minAvailable: number } | undefined;
  if (!app || !pdb?.enabled) return [];
  const autoscaling = app.autoscaling as { enabled: boolean; minReplicas: number };
  const minimum = autoscaling.enabled ? autoscaling.minReplicas : (app.replicaCount as number);
  if (pdb.minAvailable < minimum) return [];
  return [
    shared('pdb-satisfiable', ['app', 'pdb', 'minAvailable'], {
      minAvailable: pdb.minAvailable,
      minimum,
      source: autoscaling.enabled ? 'autoscaling.minReplicas' : 'replicaCount',
    }),
  ];
};

/** Members that may go while a majority stays: a replica set of n elects and acknowledges majority writes with floor(n/2)+1. */
export function quorumTolerance(members: number): number {
  return Math.floor((members - 1) / 2);
}

/**
 * What a node drain may take at once without losing the topology's quorum
 * (issue 25, class 3): a MongoDB replica set keeps its majority; a Redis
 * cluster keeps one pod of every shard (a primary or the replica that takes
 * over) and a majority of its primaries (which vote the failover).
 */
export function redisClusterTolerance(masters: number, replicasPerMaster: number): number | undefined {
  if (replicasPerMaster < 1) return undefined; // a shard of one pod goes down with any drain; the PDB's minimum (1) is all it can say
  return Math.min(replicasPerMaster, quorumTolerance(masters));
}

export const pdbKeepsQuorum: Rule = (values) => {
  const findings: Finding[] = [];
  const mongodb = enabled(values, 'mongodb');
  const mongoPdb = mongodb?.pdb as { enabled: boolean; maxUnavailable: number } | undefined;
  const members = mongodb?.replicaCount as number;
  if (mongodb?.architecture === 'replicaset' && mongoPdb?.enabled && members > 1 && mongoPdb.maxUnavailable > quorumTolerance(members)) {
    findings.push(
      shared('pdb-quorum', ['mongodb', 'pdb', 'maxUnavailable'], {
        path: 'mongodb.pdb.maxUnavailable',
        max: mongoPdb.maxUnavailable,
        what: `of the ${members} replica set members (mongodb.replicaCount)`,
        needs: `the replica set needs ${Math.floor(members / 2) + 1} of them up to keep a primary and acknowledge majority writes`,
        tolerable: quorumTolerance(members),
        topology: 'mongodb.replicaCount',
      }),
    );
  }
  const redis = enabled(values, 'redis');
  const redisPdb = redis?.pdb as { enabled: boolean; maxUnavailable: number } | undefined;
  const cluster = redis?.cluster as { masters: number; replicasPerMaster: number } | undefined;
  if (redis?.architecture === 'cluster' && redisPdb?.enabled && cluster) {
    const tolerable = redisClusterTolerance(cluster.masters, cluster.replicasPerMaster);
    if (tolerable !== undefined && redisPdb.maxUnavailable > tolerable) {
      findings.push(
        shared('pdb-quorum', ['redis', 'pdb', 'maxUnavailable'], {
          path: 'redis.pdb.maxUnavailable',
          max: redisPdb.maxUnavailable,
          what: `of the ${cluster.masters * (1 + cluster.replicasPerMaster)} Redis pods`,
          needs:
            redisPdb.maxUnavailable > cluster.replicasPerMaster
              ? `a primary and its ${cluster.replicasPerMaster} replica(s) (redis.cluster.replicasPerMaster) may then go together, and their slots go offline`
              : `${redisPdb.maxUnavailable} primaries may then go together, and a failover needs a majority of the ${cluster.masters} primaries (redis.cluster.masters) up to vote`,
          tolerable,
          topology: 'redis.cluster.replicasPerMaster or redis.cluster.masters',
        }),
      );
    }
  }
  return findings;
};

/** A rollout's unavailable pods: an absolute count, or a percentage of the replicas rounded down (as Kubernetes does for maxUnavailable). */
export function resolveUnavailable(maxUnavailable: number | string, replicas: number): number {
  if (typeof maxUnavailable === 'number') return maxUnavailable;
  const match = /^([0-9]+)%$/.exec(maxUnavailable);
  return match ? Math.floor((Number(match[1]) * replicas) / 100) : Number(maxUnavailable);
}

/** A rollout must not take the app below what its PDB promises (the Deployment controller does not read PDBs). */
export const rolloutKeepsPdb: Rule = (values) => {
  const app = enabled(values, 'app');
  const pdb = app?.pdb as { enabled: boolean; minAvailable: number } | undefined;
  if (!app || !pdb?.enabled) return [];
  const autoscaling = app.autoscaling as { enabled: boolean; minReplicas: number };
  const replicas = autoscaling.enabled ? autoscaling.minReplicas : (app.replicaCount as number);
  if (pdb.minAvailable >= replicas) return []; // pdb-satisfiable says that
  const maxUnavailable = (app.strategy as { maxUnavailable: number | string }).maxUnavailable;
  const down = resolveUnavailable(maxUnavailable, replicas);
  if (replicas - down >= pdb.minAvailable) return [];
  return [
    shared('rollout-availability', ['app', 'strategy', 'maxUnavailable'], {
      maxUnavailable,
      down,
      replicas,
      source: autoscaling.enabled ? 'autoscaling.minReplicas' : 'replicaCount',
      left: replicas - down,
      minAvailable: pdb.minAvailable,
      tolerable: replicas - pdb.minAvailable,
    }),
  ];
};

/** A dotted key path (no dots inside keys) as path segments. */
function segments(path: string): string[] {
  return path.split('.');
}

/** Off: its chart is off, or an `enabled` beside the key (not the key itself) is false. */
function switchedOff(values: Values, path: string[]): boolean {
  if (!enabled(values, path[0] as string)) return true;
  return path.at(-1) !== 'enabled' && get(values, [...path.slice(0, -1), 'enabled']) === false;
}

/**
 * Facts two charts each carry (rule-table shared-fact): the consumer's copy
 * must equal the provider's value while both sides are on.
 */
export const sharedFactsAgree: Rule = (values) => {
  const facts = ruleConstant('shared-fact', 'facts') as Readonly<Record<string, string>>;
  const why = ruleConstant('shared-fact', 'why') as Readonly<Record<string, string>>;
  const findings: Finding[] = [];
  for (const [consumer, provider] of Object.entries(facts)) {
    const consumerPath = segments(consumer);
    if (switchedOff(values, consumerPath)) continue;
    const literal = /^[0-9]+$/.test(provider);
    if (!literal && switchedOff(values, segments(provider))) continue;
    const got = get(values, consumerPath);
    const want = literal ? provider : get(values, segments(provider));
    if (got === undefined || want === undefined || String(got) === String(want)) continue;
    findings.push({
      also: literal ? undefined : segments(provider),
      ...shared('shared-fact', consumerPath, {
        consumer,
        got: String(got),
        provider: literal ? 'the port its chart fixes' : provider,
        want: String(want),
        why: why[consumer] ?? '',
      }),
    });
  }
  return findings;
};

/** A key read from another chart's own Secret must be one that Secret holds (its documented keys). */
export const secretKeysDocumented: Rule = (values) => {
  const backup = enabled(values, 'backup');
  const restore = backup?.restore as { enabled: boolean; existingSecret: string; passwordKey: string } | undefined;
  if (!restore?.enabled || restore.existingSecret || !enabled(values, 'mongodb')) return [];
  const keys = (ruleConstant('external-secret-keys', 'keys') as Readonly<Record<string, readonly string[]>>).mongodb ?? [];
  if (keys.includes(restore.passwordKey)) return [];
  return [
    shared('secret-key', ['backup', 'restore', 'passwordKey'], {
      path: 'backup.restore.passwordKey',
      key: restore.passwordKey,
      owner: 'mongodb',
      source: 'backup.restore.existingSecret',
      keys: keys.join(', '),
    }),
  ];
};

export const hpaRange: Rule = (values) => {
  const autoscaling = get(values, ['app', 'autoscaling']) as { enabled: boolean; minReplicas: number; maxReplicas: number } | undefined;
  if (!autoscaling?.enabled || autoscaling.minReplicas <= autoscaling.maxReplicas) return [];
  return [shared('hpa-range', ['app', 'autoscaling', 'maxReplicas'], { max: autoscaling.maxReplicas, min: autoscaling.minReplicas })];
};

export const rolloutCanProgress: Rule = (values) => {
  const strategy = get(values, ['app', 'strategy']) as { maxSurge: number | string; maxUnavailable: number | string } | undefined;
  if (!strategy) return [];
  const zero = (v: number | string) => v === 0 || v === '0%' || v === '0';
  if (!zero(strategy.maxSurge) || !zero(strategy.maxUnavailable)) return [];
  return [shared('rollout', ['app', 'strategy', 'maxSurge'], {})];
};

/** VPA in Auto (or Recreate/Initial) resizes pods the HPA scales on the same metrics: they fight. */
export const vpaWithHpa: Rule = (values) => {
  const app = values.app as Values | undefined;
  const vpa = app?.vpa as { enabled: boolean; updateMode: string } | undefined;
  const hpa = app?.autoscaling as { enabled: boolean } | undefined;
  if (!vpa?.enabled || !hpa?.enabled || vpa.updateMode === 'Off') return [];
  return [shared('vpa-hpa', ['app', 'vpa', 'updateMode'], { mode: vpa.updateMode })];
};

/**
 * Every NetworkPolicy ipBlock of the values ({cidr, except} anywhere, outside
 * what is switched off): the API server refuses an except that is not a strict
 * subset of its cidr (common.ipBlock.render checks each one it renders).
 */
export const ipBlockExcepts: Rule = (values) => {
  const findings: Finding[] = [];
  const walk = (node: Values, path: PathSegment[]): void => {
    if (node.enabled === false) return;
    if (typeof node.cidr === 'string' && Array.isArray(node.except)) {
      node.except.forEach((except, index) => {
        if (typeof except === 'string' && !isStrictSubset(except, node.cidr as string)) {
          findings.push(shared('ipblock-except', [...path, 'except', index], { path: path.join('.'), index, except, cidr: node.cidr as string }));
        }
      });
    }
    for (const [key, value] of Object.entries(node)) if (isPlainObject(value)) walk(value, [...path, key]);
  };
  walk(values, []);
  return findings;
};

/**
 * prod runs pinned images only: every image block of the values ({repository,
 * tag, digest} under a key "image" or in a map "images"), outside what is
 * switched off, has a digest or a full-version tag (the one definition in
 * scripts/lib/images.ts; common.images.image checks each image it renders).
 */
export const imagesPinned: Rule = (values) => {
  if ((values.global as Values | undefined)?.environment !== 'prod') return [];
  const findings: Finding[] = [];
  const walk = (node: Values, path: PathSegment[]): void => {
    if (node.enabled === false) return;
    const isImage = (path.at(-1) === 'image' || path.at(-2) === 'images') && ('repository' in node || 'tag' in node);
    if (isImage) {
      const digest = node.digest ? String(node.digest) : '';
      const tag = node.tag === undefined || node.tag === null ? '' : String(node.tag);
      if (digest ? !PINNED_DIGEST.test(digest) : !PINNED_TAG.test(tag)) {
        const name = [node.registry, node.repository].filter(Boolean).join('/');
        findings.push(shared('image-pinned', [...path, digest ? 'digest' : 'tag'], { image: digest ? `${name}@${digest}` : `${name}:${tag}` }));
      }
      return;
    }
    for (const [key, value] of Object.entries(node)) if (isPlainObject(value)) walk(value, [...path, key]);
  };
  walk(values, []);
  return findings;
};

/** The VPA admission controller refuses a maxAllowed below minAllowed, resource by resource. */
export const vpaRange: Rule = (values) => {
  const vpa = get(values, ['app', 'vpa']) as { enabled: boolean; minAllowed?: Values; maxAllowed?: Values } | undefined;
  if (!vpa?.enabled || !vpa.minAllowed || !vpa.maxAllowed) return [];
  const findings: Finding[] = [];
  for (const resource of ['cpu', 'memory'] as const) {
    const min = vpa.minAllowed[resource] as string | number | undefined;
    const max = vpa.maxAllowed[resource] as string | number | undefined;
    if (min === undefined || max === undefined) continue;
    if (parseAmount(resource, max) < parseAmount(resource, min)) findings.push(shared('vpa-range', ['app', 'vpa', 'maxAllowed', resource], { resource, max, min }));
  }
  return findings;
};

/** The app needs a MongoDB and a Redis: this release's chart, or an existing Secret with the URL. */
export const connectionsResolvable: Rule = (values) => {
  const app = values.app as Values | undefined;
  if (!app || app.enabled === false) return [];
  const findings: Finding[] = [];
  for (const component of ['mongodb', 'redis'] as const) {
    const inRelease = enabled(values, component) !== undefined;
    const existing = get(app, ['connections', component, 'existingSecret']);
    if (!inRelease && !existing) {
      findings.push(shared('connection', ['app', 'connections', component, 'existingSecret'], { component }));
    }
  }
  return findings;
};

/** Every container's limits must fit the namespace LimitRange max, or the API server refuses the pods (common.rules.withinLimitRange). */
export const limitRangeFits: Rule = (values) => {
  const range = values.limitRange as { enabled: boolean; max: { cpu: string | number; memory: string } } | undefined;
  if (!range?.enabled) return [];
  const findings: Finding[] = [];
  const amounts = range as unknown as Record<string, Record<string, string | number>>;
  for (const [lower, upper] of [['defaultRequest', 'default'], ['default', 'max']] as const) {
    for (const resource of ['cpu', 'memory'] as const) {
      const value = amounts[lower]?.[resource];
      const bound = amounts[upper]?.[resource];
      if (value === undefined || bound === undefined) continue;
      if (parseAmount(resource, value) > parseAmount(resource, bound)) findings.push(shared('limit-range-order', ['limitRange', lower, resource], { lower, upper, resource, value, bound }));
    }
  }
  for (const { path, pair } of resourcePairs(values)) {
    for (const resource of ['cpu', 'memory'] as const) {
      const limit = pair.limits[resource] as string | number | undefined;
      if (limit === undefined) continue;
      if (parseAmount(resource, limit) > parseAmount(resource, range.max[resource])) {
        findings.push(shared('limit-range', [...path, 'limits', resource], { path: path.join('.'), resource, limit, max: range.max[resource] }));
      }
    }
  }
  return findings;
};

/**
 * Monitoring scrapes MongoDB and Redis only when this release runs them (a
 * subchart cannot see its siblings): a target without its database would
 * fire "down" forever, a database without its target would go unwatched.
 */
export const monitoringTargetsMatch: Rule = (values) => {
  const monitoring = enabled(values, 'monitoring');
  if (!monitoring) return [];
  const findings: Finding[] = [];
  for (const component of ['mongodb', 'redis'] as const) {
    const scraped = get(monitoring, ['targets', component, 'enabled']) === true;
    const runs = enabled(values, component) !== undefined;
    if (scraped !== runs) {
      findings.push(shared('monitoring-targets', ['monitoring', 'targets', component, 'enabled'], { component, scraped: String(scraped), runs: String(runs) }));
    }
  }
  // the collector's scrape job and alerts (charts/tracing)
  const scraped = get(monitoring, ['targets', 'tracing', 'enabled']) === true;
  const runs = enabled(values, 'tracing') !== undefined;
  if (scraped !== runs) {
    findings.push(shared('monitoring-targets', ['monitoring', 'targets', 'tracing', 'enabled'], { component: 'tracing', scraped: String(scraped), runs: String(runs) }));
  }
  return findings;
};

/** The backup chart cannot see the mongodb and redis charts' values: what it assumes of them must hold. */
export const backupMatchesDatabases: Rule = (values) => {
  const backup = enabled(values, 'backup');
  if (!backup) return [];
  const findings: Finding[] = [];
  const mongodb = enabled(values, 'mongodb');
  if (!mongodb) {
    findings.push(shared('backup-target', ['backup', 'enabled'], { problem: "backups need this release's MongoDB (mongodb.enabled is false)" }));
  } else if (get(backup, ['mongodb', 'architecture']) !== mongodb.architecture) {
    findings.push(
      shared('backup-target', ['backup', 'mongodb', 'architecture'], {
        problem: `backup.mongodb.architecture is ${String(get(backup, ['mongodb', 'architecture']))} but mongodb.architecture is ${String(mongodb.architecture)} (oplog dumps and incremental backups depend on it)`,
      }),
    );
  }
  if (get(backup, ['redis', 'rdbCopy', 'enabled']) === true) {
    const redis = enabled(values, 'redis');
    if (!redis || get(redis, ['networkPolicy', 'allowBackup']) !== true) {
      findings.push(
        shared('backup-target', ['backup', 'redis', 'rdbCopy', 'enabled'], {
          problem: 'the Redis RDB copy needs redis.enabled and redis.networkPolicy.allowBackup (Redis admits the backup pods only then)',
        }),
      );
    }
  }
  return findings;
};




const COMPONENTS = ['app', 'mongodb', 'redis', 'monitoring', 'backup', 'tracing', 'objectstore'] as const;

function shared(id: RuleId, path: PathSegment[], args: Record<string, string | number>): Finding {
  return { path, rule: id, message: ruleMessage(id, args) };
}

/**
 * Kubernetes refuses a container whose request exceeds its limit: every
 * requests/limits pair of every enabled component (every container), as
 * common.rules.requestsWithinLimits walks them in the templates.
 */
export const requestsWithinLimits: Rule = (values) => {
  const findings: Finding[] = [];
  for (const { path, pair } of resourcePairs(values)) {
    for (const resource of ['cpu', 'memory'] as const) {
      const request = pair.requests[resource] as string | number | undefined;
      const limit = pair.limits[resource] as string | number | undefined;
      if (request === undefined || limit === undefined) continue;
      if (parseAmount(resource, request) > parseAmount(resource, limit)) {
        findings.push(shared('request-limit', [...path, 'requests', resource], { path: path.join('.'), resource, request, limit }));
      }
    }
  }
  return findings;
};

/** Every requests/limits pair of every enabled component (every container), in the order the templates walk them (sorted keys). */
function resourcePairs(values: Values): { path: string[]; pair: { requests: Values; limits: Values } }[] {
  const pairs: { path: string[]; pair: { requests: Values; limits: Values } }[] = [];
  const walk = (node: Values, path: string[]): void => {
    for (const key of Object.keys(node).sort()) {
      const value = node[key];
      if (!isPlainObject(value)) continue;
      if (isPlainObject(value.requests) && isPlainObject(value.limits)) pairs.push({ path: [...path, key], pair: { requests: value.requests, limits: value.limits } });
      else walk(value, [...path, key]);
    }
  };
  for (const component of COMPONENTS) {
    const chart = enabled(values, component);
    if (chart) walk(chart, [component]);
  }
  return pairs;
}

/** True when global.secrets.provider is externalSecrets: every chart's credentials come from ExternalSecrets (common.externalSecrets.enabled). */
export function externalSecretsOn(values: Values): boolean {
  return get(values, ['global', 'secrets', 'provider']) === 'externalSecrets';
}

/** One source per credential: an inline value beside an existingSecret or an ExternalSecret (common.secrets.checkSingleSource). */
export const credentialsSingleSource: Rule = (values) => {
  const findings: Finding[] = [];
  const external = externalSecretsOn(values);
  const check = (component: string, label: string, inlinePath: PathSegment[], existing: unknown): void => {
    if (!enabled(values, component)) return;
    if (!get(values, inlinePath) || !(existing || external)) return;
    findings.push(shared('credential-source', inlinePath, { path: label, source: existing ? 'existingSecret' : 'global.secrets.provider externalSecrets' }));
  };
  check('app', 'app.auth', ['app', 'auth', 'jwtSecret'], get(values, ['app', 'auth', 'existingSecret']));
  check('backup', 'backup.storage', ['backup', 'storage', 'accessKeyId'], get(values, ['backup', 'storage', 'existingSecret']));
  const mongoSecret = get(values, ['global', 'mongodb', 'existingSecret']);
  for (const key of ['rootPassword', 'password', 'metricsPassword', 'backupPassword', 'replicaSetKey']) {
    check('mongodb', `mongodb.auth.${key}`, ['mongodb', 'auth', key], mongoSecret);
  }
  if (enabled(values, 'monitoring')?.mode === 'standalone') {
    check('monitoring', 'monitoring.grafana.admin', ['monitoring', 'grafana', 'admin', 'password'], get(values, ['monitoring', 'grafana', 'admin', 'existingSecret']));
  }
  check('redis', 'redis.auth.password', ['redis', 'auth', 'password'], get(values, ['global', 'redis', 'existingSecret']));
  return findings;
};

/**
 * With global.secrets.provider externalSecrets, each credential a running
 * component reads is an ExternalSecret that must map every key its consumers
 * read (common.externalSecrets.secret). The backup's S3 keys are optional (an
 * IAM role needs none): mapped at all, both are needed.
 */
export const externalSecretKeys: Rule = (values) => {
  if (!externalSecretsOn(values)) return [];
  const keys = ruleConstant('external-secret-keys', 'keys') as Record<string, readonly string[]>;
  const credentials = (get(values, ['global', 'secrets', 'externalSecrets', 'credentials']) ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const needed = externalCredentials(values);
  const findings: Finding[] = [];
  for (const credential of needed) {
    const mapped = credentials[credential] ?? {};
    for (const key of keys[credential] ?? []) {
      if (mapped[key] !== undefined) continue;
      findings.push(shared('external-secret-keys', ['global', 'secrets', 'externalSecrets', 'credentials', credential], { credential, key, keys: (keys[credential] ?? []).join(', ') }));
    }
  }
  return findings;
};

/** The credentials that get an ExternalSecret (the charts' externalsecret.yaml templates decide the same). */
export function externalCredentials(values: Values): string[] {
  if (!externalSecretsOn(values)) return [];
  const out: string[] = [];
  if (enabled(values, 'mongodb')) out.push('mongodb');
  if (enabled(values, 'redis')) out.push('redis');
  if (enabled(values, 'app')) out.push('app');
  if (enabled(values, 'monitoring')?.mode === 'standalone') out.push('grafana');
  const backupKeys = get(values, ['global', 'secrets', 'externalSecrets', 'credentials', 'backup']);
  if (enabled(values, 'backup') && isPlainObject(backupKeys) && Object.keys(backupKeys).length > 0) out.push('backup');
  if (enabled(values, 'objectstore')) out.push('objectstore');
  return out;
}

/** Bytes of a redis.conf size (k/m/g powers of 1000, kb/mb/gb of 1024) or a Kubernetes quantity, as redis.bytes reads them. */
export function parseRedisBytes(size: string | number): number {
  const match = /^([0-9.]+)(kb|mb|gb|k|m|g)$/i.exec(String(size));
  if (!match) return parseMemory(size);
  const factors: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30 };
  return Number(match[1]) * (factors[(match[2] as string).toLowerCase()] as number);
}

/** redis counts only its dataset against maxmemory: the rest of the limit is for buffers and fork copy-on-write. */
export const redisMaxmemory: Rule = (values) => {
  const redis = enabled(values, 'redis');
  if (!redis) return [];
  const maxmemory = get(redis, ['config', 'maxmemory']) as string;
  const limit = get(redis, ['resources', 'limits', 'memory']) as string;
  const percent = ruleConstant('redis-maxmemory', 'percent') as number;
  if (parseRedisBytes(maxmemory) <= (parseMemory(limit) * percent) / 100) return [];
  return [shared('redis-maxmemory', ['redis', 'config', 'maxmemory'], { maxmemory, limit })];
};

/** The WiredTiger cache is only part of what mongod holds in memory. */
export const mongodbCacheFits: Rule = (values) => {
  const mongodb = enabled(values, 'mongodb');
  if (!mongodb) return [];
  const cache = mongodb.wiredTigerCacheSizeGB as number;
  const limit = get(mongodb, ['resources', 'limits', 'memory']) as string;
  const percent = ruleConstant('mongodb-cache', 'percent') as number;
  if (cache * 2 ** 30 <= (parseMemory(limit) * percent) / 100) return [];
  return [shared('mongodb-cache', ['mongodb', 'wiredTigerCacheSizeGB'], { cache, limit })];
};

/** Prometheus sizes (retention.size) are powers of 1024: KB, MB, GB, ... */
export function parsePrometheusBytes(size: string): number {
  const match = /^([0-9]+)(B|KB|MB|GB|TB|PB|EB)$/.exec(size);
  if (!match) throw new Error(`not a Prometheus size: ${size}`);
  const power = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'].indexOf(match[2] as string);
  return Number(match[1]) * 1024 ** power;
}

/** Prometheus' size-based retention does not count the WAL and head block: it must leave room on the volume. */
export const prometheusRetentionFits: Rule = (values) => {
  const monitoring = enabled(values, 'monitoring');
  if (!monitoring || monitoring.mode !== 'standalone') return [];
  const size = get(monitoring, ['prometheus', 'retention', 'size']) as string;
  if (!size) return [];
  const volume = get(monitoring, ['prometheus', 'persistence', 'size']) as string;
  const percent = ruleConstant('prometheus-retention-size', 'percent') as number;
  if (parsePrometheusBytes(size) <= (parseMemory(volume) * percent) / 100) return [];
  return [shared('prometheus-retention-size', ['monitoring', 'prometheus', 'retention', 'size'], { size, volume })];
};

/** The backup-age alert must outlast the longest gap between two full backups, or it fires between healthy runs. */
export const backupAlertAge: Rule = (values) => {
  const backup = enabled(values, 'backup');
  const monitoring = enabled(values, 'monitoring');
  if (!backup || !monitoring) return [];
  const schedule = backup.schedule as string;
  const hours = get(monitoring, ['alerts', 'backup', 'maxAgeHours']) as number;
  let gap: number;
  try {
    gap = longestGapMinutes(parseCron(schedule));
  } catch {
    return []; // the schema reports the schedule itself
  }
  if (hours * 60 > gap) return [];
  return [shared('backup-alert-age', ['monitoring', 'alerts', 'backup', 'maxAgeHours'], { hours, schedule, gap: gap === Infinity ? -1 : gap })];
};

/** The collector's memory_limiter needs its spike limit below its hard limit (otelcol validate refuses it otherwise). */
export const collectorMemoryLimiter: Rule = (values) => {
  const tracing = enabled(values, 'tracing');
  const limiter = get(tracing, ['collector', 'memoryLimiter']) as { limitPercentage?: number; spikeLimitPercentage?: number } | undefined;
  if (!tracing || limiter?.limitPercentage === undefined || limiter.spikeLimitPercentage === undefined) return [];
  if (limiter.spikeLimitPercentage < limiter.limitPercentage) return [];
  return [shared('collector-memory-limiter', ['tracing', 'collector', 'memoryLimiter', 'spikeLimitPercentage'], { spike: limiter.spikeLimitPercentage, limit: limiter.limitPercentage })];
};

/** The environment's promised backup cadence (seed 003): no gap between two runs longer than it allows. */
export const backupCadence: Rule = (values) => {
  const backup = enabled(values, 'backup');
  const env = get(values, ['global', 'environment']);
  if (!backup || typeof env !== 'string') return [];
  const limits = ruleConstant('backup-cadence', 'maxGapMinutes') as Readonly<Record<string, string>>;
  const promises = ruleConstant('backup-cadence', 'promises') as Readonly<Record<string, string>>;
  const findings: Finding[] = [];
  for (const [key, max] of Object.entries(limits)) {
    const [forEnv, path] = key.split(':') as [string, string];
    if (forEnv !== env) continue;
    const segments = path.split('.');
    if (segments.length > 2 && get(values, [...segments.slice(0, -1), 'enabled']) === false) continue;
    const schedule = get(values, segments);
    if (typeof schedule !== 'string') continue;
    let gap: number;
    try {
      gap = longestGapMinutes(parseCron(schedule));
    } catch {
      continue; // the schema reports the schedule itself
    }
    if (gap <= Number(max)) continue;
    findings.push(shared('backup-cadence', segments, { path, schedule, gap: gap === Infinity ? -1 : gap, env, promise: promises[key] ?? '', max }));
  }
  return findings;
};

/** Alertmanager receivers take their secrets as files from alertmanager.existingSecret, never inline (monitoring.alertmanagerConfig). */
/**
 * Every receiver and time interval the routing tree names (the root and every
 * child route, depth first) must be defined, or Alertmanager refuses the whole
 * config (monitoring.checkRoute walks the same tree in the template).
 */
export const alertmanagerReferences: Rule = (values) => {
  const monitoring = enabled(values, 'monitoring');
  const config = get(monitoring, ['alertmanager', 'config']);
  if (!monitoring || !isPlainObject(config) || !isPlainObject(config.route)) return [];
  const namesOf = (list: unknown) => (Array.isArray(list) ? list.filter(isPlainObject).map((item) => String(item.name)) : []);
  const receivers = namesOf(config.receivers);
  const intervals = namesOf(config.time_intervals);
  const base: PathSegment[] = ['monitoring', 'alertmanager', 'config'];
  const findings: Finding[] = [];
  const missing = (path: PathSegment[], label: string, name: string, kind: string, list: string, known: string[]) =>
    findings.push(shared('alertmanager-reference', [...base, ...path], { path: label, kind, name, list, known: known.join(', ') || '(none)' }));
  const walk = (route: Values, path: PathSegment[], label: string): void => {
    if (typeof route.receiver === 'string' && !receivers.includes(route.receiver)) missing([...path, 'receiver'], `${label}.receiver`, route.receiver, 'receiver', 'receivers', receivers);
    for (const key of ['mute_time_intervals', 'active_time_intervals']) {
      const names = Array.isArray(route[key]) ? (route[key] as unknown[]) : [];
      names.forEach((name, i) => {
        if (!intervals.includes(String(name))) missing([...path, key, i], `${label}.${key}[${i}]`, String(name), 'time interval', 'time_intervals', intervals);
      });
    }
    const children = Array.isArray(route.routes) ? route.routes : [];
    children.forEach((child: unknown, i: number) => {
      if (isPlainObject(child)) walk(child, [...path, 'routes', i], `${label}.routes[${i}]`);
    });
  };
  walk(config.route, ['route'], 'route');
  return findings;
};

/** Alertmanager refuses two receivers (or time intervals) of one name. */
export const alertmanagerUniqueNames: Rule = (values) => {
  const monitoring = enabled(values, 'monitoring');
  const config = get(monitoring, ['alertmanager', 'config']);
  if (!monitoring || !isPlainObject(config)) return [];
  const findings: Finding[] = [];
  for (const list of ['receivers', 'time_intervals']) {
    const items = Array.isArray(config[list]) ? (config[list] as unknown[]) : [];
    const first = new Map<string, number>();
    items.forEach((item, index) => {
      if (!isPlainObject(item)) return;
      const name = String(item.name);
      const seen = first.get(name);
      if (seen === undefined) first.set(name, index);
      else findings.push(shared('alertmanager-duplicate-name', ['monitoring', 'alertmanager', 'config', list, index, 'name'], { list, index, name, first: seen }));
    });
  }
  return findings;
};

export const alertmanagerNoInlineCredentials: Rule = (values) => {
  const monitoring = enabled(values, 'monitoring');
  const config = get(monitoring, ['alertmanager', 'config']);
  if (!monitoring || !isPlainObject(config)) return [];
  const globalKeys = ruleConstant('alertmanager-inline-credential', 'globalKeys') as readonly string[];
  const receiverKeys = ruleConstant('alertmanager-inline-credential', 'receiverKeys') as readonly string[];
  const base: PathSegment[] = ['monitoring', 'alertmanager', 'config'];
  const findings: Finding[] = [];
  for (const key of Object.keys(isPlainObject(config.global) ? config.global : {}).sort()) {
    if (globalKeys.includes(key)) findings.push(shared('alertmanager-inline-credential', [...base, 'global', key], { path: `global.${key}`, key }));
  }
  const walk = (node: Values, path: PathSegment[], label: string): void => {
    for (const key of Object.keys(node).sort()) {
      const value = node[key];
      if (isPlainObject(value)) walk(value, [...path, key], `${label}.${key}`);
      else if (receiverKeys.includes(key)) findings.push(shared('alertmanager-inline-credential', [...path, key], { path: `${label}.${key}`, key }));
    }
  };
  const receivers = Array.isArray(config.receivers) ? config.receivers : [];
  receivers.forEach((receiver: unknown, i: number) => {
    if (!isPlainObject(receiver)) return;
    for (const kind of Object.keys(receiver).sort()) {
      const configs = receiver[kind];
      if (!Array.isArray(configs)) continue;
      configs.forEach((item: unknown, j: number) => {
        if (isPlainObject(item)) walk(item, [...base, 'receivers', i, kind, j], `receivers[${i}].${kind}[${j}]`);
      });
    }
  });
  return findings;
};

/** The app's static files and the backups in this release's MinIO need it to run (charts/objectstore). */
export const objectstoreConsumers: Rule = (values) => {
  if (enabled(values, 'objectstore')) return [];
  const findings: Finding[] = [];
  if (enabled(values, 'app') && get(values, ['app', 'objectstore', 'enabled']) === true) {
    findings.push(shared('objectstore-consumer', ['app', 'objectstore', 'enabled'], { path: 'app.objectstore.enabled', fix: 'turn app.objectstore.enabled off' }));
  }
  if (enabled(values, 'backup') && get(values, ['backup', 'storage', 'objectstore']) === true) {
    findings.push(
      shared('objectstore-consumer', ['backup', 'storage', 'objectstore'], {
        path: 'backup.storage.objectstore',
        fix: 'set it false and name an external bucket (backup.storage.bucket, existingSecret)',
      }),
    );
  }
  return findings;
};

/** The app's default OTLP endpoint is this release's collector: it must run (charts/tracing). */
export const appTracingCollector: Rule = (values) => {
  const app = enabled(values, 'app');
  if (!app || get(app, ['tracing', 'enabled']) !== true || get(app, ['tracing', 'endpoint'])) return [];
  return enabled(values, 'tracing') ? [] : [shared('tracing-collector', ['app', 'tracing', 'enabled'], {})];
};

/**
 * In the mesh, each peer from values that a flow admits (charts/<chart>/templates/_flows.tpl) becomes an
 * AuthorizationPolicy source: its namespace must be nameable (kubernetes.io/metadata.name), or, for a
 * peer whose empty selector means this namespace, left empty (common.flows.source).
 */
export const meshPeerNamespaces: Rule = (values) => {
  if (get(values, ['global', 'mesh', 'enabled']) !== true) return [];
  const peers = ruleConstant('mesh-peer-namespace', 'peers') as Record<string, string>;
  const findings: Finding[] = [];
  for (const [key, empty] of Object.entries(peers)) {
    const [chart, ...rest] = key.split('.') as [string, ...string[]];
    const values_ = enabled(values, chart);
    if (!values_ || get(values_, ['networkPolicy', 'enabled']) === false) continue;
    const selector = get(values_, [...rest, 'namespaceSelector']);
    const labels = isPlainObject(selector) ? selector : {};
    if (typeof labels['kubernetes.io/metadata.name'] === 'string' && labels['kubernetes.io/metadata.name'] !== '') continue;
    if (Object.keys(labels).length === 0 && empty === 'this') continue;
    findings.push(shared('mesh-peer-namespace', [chart, ...rest, 'namespaceSelector'], { path: key }));
  }
  return findings;
};

export const RULES: Rule[] = [
  meshPeerNamespaces,
  appTracingCollector,
  objectstoreConsumers,
  backupMatchesDatabases,
  monitoringTargetsMatch,
  quotaHoldsWorkloads,
  pdbSatisfiable,
  hpaRange,
  rolloutCanProgress,
  rolloutKeepsPdb,
  pdbKeepsQuorum,
  sharedFactsAgree,
  secretKeysDocumented,
  vpaWithHpa,
  vpaRange,
  ipBlockExcepts,
  imagesPinned,
  connectionsResolvable,
  credentialsSingleSource,
  externalSecretKeys,
  limitRangeFits,
  requestsWithinLimits,
  redisMaxmemory,
  mongodbCacheFits,
  prometheusRetentionFits,
  backupAlertAge,
  alertmanagerReferences,
  alertmanagerNoInlineCredentials,
  alertmanagerUniqueNames,
  backupCadence,
  collectorMemoryLimiter,
];

/**
 * The rules a chart's own values get: the umbrella all of them; the logging
 * chart (installed on its own, never under the umbrella) those of its shape.
 */
export function rulesOf(chart: string): Rule[] {
  if (chart === umbrellaChart) return RULES;
  if (chart === 'logging') return [ipBlockExcepts, imagesPinned];
  return [];
}

export function checkRules(values: Values, rules: Rule[] = RULES): Finding[] {
  return rules.flatMap((rule) => rule(values));
}
