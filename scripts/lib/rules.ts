// Cross-field rules JSON Schema cannot say, over the coalesced umbrella values.
// Each rule is a pure function: values in, findings (key path + message) out.
import type { PathSegment } from './diagnostics.ts';
import { formatCpu, formatMemory, parseCpu, parseMemory, resolveSurge } from './quantity.ts';
import { isPlainObject, type Values } from './values.ts';

export interface Finding {
  path: PathSegment[];
  message: string;
  rule: string;
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
const APP_TEST_POD: Resources = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } };

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
  }
  return demands;
}

const QUOTA_CHECKS = [
  { key: 'requests.cpu', of: (d: Demand) => d.requestsCpu, parse: parseCpu, format: formatCpu },
  { key: 'requests.memory', of: (d: Demand) => d.requestsMemory, parse: parseMemory, format: formatMemory },
  { key: 'limits.cpu', of: (d: Demand) => d.limitsCpu, parse: parseCpu, format: formatCpu },
  { key: 'limits.memory', of: (d: Demand) => d.limitsMemory, parse: parseMemory, format: formatMemory },
  { key: 'pods', of: (d: Demand) => d.pods, parse: (v: string | number) => Number(v), format: String },
] as const;

/** The ResourceQuota must hold every workload at full scale, rollout surge included. */
export const quotaHoldsWorkloads: Rule = (values) => {
  const quota = values.resourceQuota as { enabled: boolean; hard: Record<string, string | number> } | undefined;
  if (!quota?.enabled) return [];
  const demands = workloadDemands(values);
  const findings: Finding[] = [];
  for (const check of QUOTA_CHECKS) {
    const hard = quota.hard[check.key];
    if (hard === undefined) continue;
    const needed = demands.reduce((sum, d) => sum + check.of(d), 0);
    const allowed = check.parse(hard);
    if (needed > allowed) {
      findings.push({
        path: ['resourceQuota', 'hard', check.key],
        rule: 'quota-capacity',
        message: `quota ${check.key} ${hard} cannot hold the release at full scale: it needs ${check.format(needed)} (${demands
          .map((d) => `${d.explain}: ${check.format(check.of(d))}`)
          .join('; ')})`,
      });
    }
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
    {
      path: ['app', 'pdb', 'minAvailable'],
      rule: 'pdb-satisfiable',
      message: `minAvailable ${pdb.minAvailable} needs more than the ${minimum} replica(s) the app may run (${
        autoscaling.enabled ? 'autoscaling.minReplicas' : 'replicaCount'
      }): such a PDB blocks every node drain, so the chart leaves it out; lower minAvailable or raise the replicas`,
    },
  ];
};

export const hpaRange: Rule = (values) => {
  const autoscaling = get(values, ['app', 'autoscaling']) as { enabled: boolean; minReplicas: number; maxReplicas: number } | undefined;
  if (!autoscaling?.enabled || autoscaling.minReplicas <= autoscaling.maxReplicas) return [];
  return [
    {
      path: ['app', 'autoscaling', 'maxReplicas'],
      rule: 'hpa-range',
      message: `maxReplicas ${autoscaling.maxReplicas} is below minReplicas ${autoscaling.minReplicas}`,
    },
  ];
};

export const rolloutCanProgress: Rule = (values) => {
  const strategy = get(values, ['app', 'strategy']) as { maxSurge: number | string; maxUnavailable: number | string } | undefined;
  if (!strategy) return [];
  const zero = (v: number | string) => v === 0 || v === '0%' || v === '0';
  if (!zero(strategy.maxSurge) || !zero(strategy.maxUnavailable)) return [];
  return [{ path: ['app', 'strategy', 'maxSurge'], rule: 'rollout', message: 'maxSurge and maxUnavailable are both 0: a rollout can never progress' }];
};

/** VPA in Auto (or Recreate/Initial) resizes pods the HPA scales on the same metrics: they fight. */
export const vpaWithHpa: Rule = (values) => {
  const app = values.app as Values | undefined;
  const vpa = app?.vpa as { enabled: boolean; updateMode: string } | undefined;
  const hpa = app?.autoscaling as { enabled: boolean } | undefined;
  if (!vpa?.enabled || !hpa?.enabled || vpa.updateMode === 'Off') return [];
  return [
    {
      path: ['app', 'vpa', 'updateMode'],
      rule: 'vpa-hpa',
      message: `updateMode ${vpa.updateMode} with the HPA on: both act on CPU and memory and fight; use "Off" (recommendations only) or turn autoscaling off`,
    },
  ];
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
      findings.push({
        path: ['app', 'connections', component, 'existingSecret'],
        rule: 'connection',
        message: `the app has no ${component}: this release does not run one, so name an existing Secret holding the connection string`,
      });
    }
  }
  return findings;
};

export const credentialsSingleSource: Rule = (values) => {
  const auth = get(values, ['app', 'auth']) as { jwtSecret?: string; existingSecret?: string } | undefined;
  if (!auth?.jwtSecret || !auth.existingSecret) return [];
  return [{ path: ['app', 'auth', 'jwtSecret'], rule: 'credential-source', message: 'set either jwtSecret or existingSecret, not both' }];
};

/** Containers must fit the namespace LimitRange max, or the API server refuses the pods. */
export const limitRangeFits: Rule = (values) => {
  const range = values.limitRange as { enabled: boolean; max: { cpu: string | number; memory: string } } | undefined;
  const limits = get(values, ['app', 'resources', 'limits']) as { cpu: string | number; memory: string } | undefined;
  if (!range?.enabled || !limits || get(values, ['app', 'enabled']) === false) return [];
  const findings: Finding[] = [];
  if (parseCpu(limits.cpu) > parseCpu(range.max.cpu)) {
    findings.push({ path: ['app', 'resources', 'limits', 'cpu'], rule: 'limit-range', message: `limit ${limits.cpu} exceeds limitRange.max.cpu ${range.max.cpu}` });
  }
  if (parseMemory(limits.memory) > parseMemory(range.max.memory)) {
    findings.push({
      path: ['app', 'resources', 'limits', 'memory'],
      rule: 'limit-range',
      message: `limit ${limits.memory} exceeds limitRange.max.memory ${range.max.memory}`,
    });
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
      findings.push({
        path: ['monitoring', 'targets', component, 'enabled'],
        rule: 'monitoring-targets',
        message: `is ${scraped} but ${component}.enabled is ${runs}: set them alike`,
      });
    }
  }
  const tracing = enabled(values, 'tracing');
  const jaeger = tracing !== undefined && get(tracing, ['jaeger', 'enabled']) === true;
  for (const [key, runs, what] of [['enabled', tracing !== undefined, 'tracing.enabled'], ['jaeger', jaeger, 'tracing.enabled and tracing.jaeger.enabled']] as const) {
    const set = get(monitoring, ['targets', 'tracing', key]) === true;
    if (set !== runs) {
      findings.push({ path: ['monitoring', 'targets', 'tracing', key], rule: 'monitoring-targets', message: `is ${set} but ${what} is ${runs}: set them alike` });
    }
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
    findings.push({ path: ['backup', 'enabled'], rule: 'backup-target', message: 'backups need this release\'s MongoDB (mongodb.enabled is false)' });
  } else if (get(backup, ['mongodb', 'architecture']) !== mongodb.architecture) {
    findings.push({
      path: ['backup', 'mongodb', 'architecture'],
      rule: 'backup-target',
      message: `is ${String(get(backup, ['mongodb', 'architecture']))} but mongodb.architecture is ${String(mongodb.architecture)}: oplog dumps and incremental backups depend on it`,
    });
  }
  if (get(backup, ['redis', 'rdbCopy', 'enabled']) === true) {
    const redis = enabled(values, 'redis');
    if (!redis || get(redis, ['networkPolicy', 'allowBackup']) !== true) {
      findings.push({
        path: ['backup', 'redis', 'rdbCopy', 'enabled'],
        rule: 'backup-target',
        message: 'the Redis RDB copy needs redis.enabled and redis.networkPolicy.allowBackup (Redis admits the backup pods only then)',
      });
    }
  }
  return findings;
};




/** Kubernetes rejects a container whose request exceeds its limit. */
export const requestsWithinLimits: Rule = (values) => {
  const resources = get(values, ['app', 'resources']) as Resources | undefined;
  if (!resources) return [];
  const findings: Finding[] = [];
  if (parseCpu(resources.requests.cpu) > parseCpu(resources.limits.cpu)) {
    findings.push({ path: ['app', 'resources', 'requests', 'cpu'], rule: 'request-limit', message: `request ${resources.requests.cpu} exceeds the limit ${resources.limits.cpu}` });
  }
  if (parseMemory(resources.requests.memory) > parseMemory(resources.limits.memory)) {
    findings.push({
      path: ['app', 'resources', 'requests', 'memory'],
      rule: 'request-limit',
      message: `request ${resources.requests.memory} exceeds the limit ${resources.limits.memory}`,
    });
  }
  return findings;
};

export const RULES: Rule[] = [
  backupMatchesDatabases,
  monitoringTargetsMatch,
  quotaHoldsWorkloads,
  pdbSatisfiable,
  hpaRange,
  rolloutCanProgress,
  vpaWithHpa,
  connectionsResolvable,
  credentialsSingleSource,
  limitRangeFits,
  requestsWithinLimits,
];

export function checkRules(values: Values, rules: Rule[] = RULES): Finding[] {
  return rules.flatMap((rule) => rule(values));
}
