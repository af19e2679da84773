// The cross-field rules, one by one, on the umbrella's real defaults with small overrides.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../scripts/lib/paths.ts';
import {
  appTracingCollector,
  meshPeerNamespaces,
  objectstoreConsumers,
  checkRules,
  connectionsResolvable,
  credentialsSingleSource,
  externalSecretKeys,
  hpaRange,
  limitRangeFits,
  pdbSatisfiable,
  quotaHoldsWorkloads,
  requestsWithinLimits,
  rolloutCanProgress,
  RULES,
  backupMatchesDatabases,
  monitoringTargetsMatch,
  vpaWithHpa,
  vpaRange,
  ipBlockExcepts,
  imagesPinned,
  alertmanagerReferences,
  workloadDemands,
  alertmanagerNoInlineCredentials,
  backupAlertAge,
  mongodbCacheFits,
  objectDemands,
  prometheusRetentionFits,
  redisMaxmemory,
  pdbKeepsQuorum,
  quorumTolerance,
  redisClusterTolerance,
  resolveUnavailable,
  rolloutKeepsPdb,
  secretKeysDocumented,
  sharedFactsAgree,
} from '../scripts/lib/rules.ts';
import { ruleMessage } from '../scripts/lib/rule-table.ts';
import { createValidator } from '../scripts/lib/validate.ts';
import { chartDefaults, coalesce, type Values } from '../scripts/lib/values.ts';
import { parseYamlSource } from '../scripts/lib/yaml-source.ts';

const defaults = chartDefaults('techshop');

/** The app alone (the other components off), so the app arithmetic below is exact; the components have tests of their own. */
const appOnly: Values = { mongodb: { enabled: false }, redis: { enabled: false }, monitoring: { enabled: false }, backup: { enabled: false } };

function values(override: Values = {}): Values {
  return coalesce(coalesce(defaults, appOnly), override) as Values;
}

const connections = { mongodb: { existingSecret: 'techshop-connections' }, redis: { existingSecret: 'techshop-connections' } };

/** The shape of values/values-prod.yaml: 250m/256Mi requests, 500m/512Mi limits, HPA 3-10, quota 4/8Gi/8/16Gi/20 pods. */
const prodQuota = {
  enabled: true,
  hard: { 'requests.cpu': '4', 'requests.memory': '8Gi', 'limits.cpu': '8', 'limits.memory': '16Gi', pods: '20' },
};
const prodResources = { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } };

function prodLike(app: Values = {}, rest: Values = {}): Values {
  return values({
    app: coalesce({ resources: prodResources, autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 10 }, connections }, app) as Values,
    resourceQuota: prodQuota,
    ...rest,
  });
}

/** The prod quota with some hard limits changed; null removes one (as in a values file). */
function quota(hard: Record<string, string | number | null>): Values {
  return { resourceQuota: { enabled: true, hard: { ...prodQuota.hard, ...hard } } };
}

function shipped(env: string): Values {
  const file = `values/values-${env}.yaml`;
  const source = parseYamlSource(file, readFileSync(join(repoRoot, file)));
  expect(source.diagnostics).toEqual([]);
  return coalesce(defaults, source.value) as Values;
}

describe('the shipped values pass every rule', () => {
  it.each(['dev', 'staging', 'prod'])('values-%s.yaml', (env) => {
    expect(checkRules(shipped(env))).toEqual([]);
  });

  it('RULES holds every rule', () => {
    expect(RULES).toEqual(
      expect.arrayContaining([
        backupMatchesDatabases,
        monitoringTargetsMatch,
        quotaHoldsWorkloads,
        pdbSatisfiable,
        hpaRange,
        rolloutCanProgress,
        vpaWithHpa,
        vpaRange,
        ipBlockExcepts,
        imagesPinned,
        alertmanagerReferences,
        connectionsResolvable,
        credentialsSingleSource,
        externalSecretKeys,
        limitRangeFits,
        requestsWithinLimits,
        appTracingCollector,
        meshPeerNamespaces,
        objectstoreConsumers,
      ]),
    );
    expect(RULES).toHaveLength(31);
  });
});

describe('workloadDemands', () => {
  it('prod: HPA max 10 + surge 1 = 11 app pods, plus the helm test pod', () => {
    expect(workloadDemands(shipped('prod')).slice(0, 2)).toEqual([
      {
        component: 'app',
        pods: 11,
        requestsCpu: 11 * 250,
        requestsMemory: 11 * 256 * 2 ** 20,
        limitsCpu: 11 * 500,
        limitsMemory: 11 * 512 * 2 ** 20,
        explain: 'app 11 pods (HPA max 10 + surge 1)',
      },
      { component: 'app-test', pods: 1, requestsCpu: 10, requestsMemory: 16 * 2 ** 20, limitsCpu: 100, limitsMemory: 32 * 2 ** 20, explain: 'helm test (app) 1 pod' },
    ]);
  });

  it('prod counts every component the release runs', () => {
    const demands = workloadDemands(shipped('prod'));
    expect(demands.map((d) => `${d.component}:${d.pods}`)).toEqual([
      'app:11',
      'app-test:1',
      'mongodb:3',
      'mongodb-test:1',
      'redis:6',
      'redis-jobs:3',
      'backup:2',
      'backup-verify:1',
      'prometheus:1',
      'alertmanager:2',
      'grafana:2',
      'monitoring-test:1',
      'otel-collector:3',
      'tracing-test:1',
    ]);
    // a MongoDB member is mongod (500m/1Gi) + bootstrap sidecar (20m/128Mi) + exporter (20m/64Mi)
    const mongodb = demands.find((d) => d.component === 'mongodb');
    expect([mongodb?.requestsCpu, mongodb?.requestsMemory]).toEqual([3 * 540, 3 * 1216 * 2 ** 20]);
    // a Redis pod is redis (250m/256Mi) + exporter (25m/32Mi); 3 primaries x (1 + 1 replica)
    const redis = demands.find((d) => d.component === 'redis');
    expect([redis?.requestsCpu, redis?.limitsMemory]).toEqual([6 * 275, 6 * 576 * 2 ** 20]);
  });

  it('operator-mode monitoring runs no pods; a standalone MongoDB has one member and no oplog job', () => {
    const demands = workloadDemands(
      coalesce(defaults, { monitoring: { mode: 'operator' }, backup: { enabled: true, mongodb: { architecture: 'standalone' } } }) as Values,
    );
    expect(demands.map((d) => d.component)).not.toContain('prometheus');
    expect(demands.find((d) => d.component === 'mongodb')?.pods).toBe(1);
    expect(demands.find((d) => d.component === 'backup')?.explain).toBe('backup 1 job pod(s) (full)');
  });

  it('without an HPA counts replicaCount, and a percentage surge rounds up', () => {
    const [app] = workloadDemands(values({ app: { replicaCount: 5, strategy: { maxSurge: '25%' } } }));
    expect(app?.pods).toBe(5 + 2); // ceil(1.25)
    expect(app?.explain).toBe('app 7 pods (5 replicas + surge 2)');
  });

  it('a disabled app demands nothing', () => {
    expect(workloadDemands(values({ app: { enabled: false } }))).toEqual([]);
  });
});

describe('quotaHoldsWorkloads', () => {
  it('ignores a disabled quota', () => {
    expect(quotaHoldsWorkloads(prodLike({ autoscaling: { maxReplicas: 100 } }, { resourceQuota: { ...prodQuota, enabled: false } }))).toEqual([]);
  });

  it('passes the prod shape (11 pods: 2760m of 4 CPU requested, 5600m of 8 limited, 12 of 20 pods)', () => {
    expect(quotaHoldsWorkloads(prodLike())).toEqual([]);
  });

  it('HPA max 30 with the prod quota: CPU requests, CPU limits and pods overflow, memory fits', () => {
    // 31 app pods: 31*250m + 10m = 7760m > 4; 31*500m + 100m = 15600m > 8; 31 + 1 = 32 > 20.
    // Memory: 31*256Mi + 16Mi = 7952Mi <= 8Gi; 31*512Mi + 32Mi = 15904Mi <= 16Gi.
    expect(quotaHoldsWorkloads(prodLike({ autoscaling: { maxReplicas: 30 } }))).toEqual([
      {
        path: ['resourceQuota', 'hard', 'requests.cpu'],
        rule: 'quota-capacity',
        message:
          'quota requests.cpu 4 is below the 7760m the release needs at full scale; raise it to at least 7760m or lower the requests or the replicas. Biggest part: app 31 pods (HPA max 30 + surge 1): 7750m; the rest: helm test (app) 1 pod: 10m',
      },
      {
        path: ['resourceQuota', 'hard', 'limits.cpu'],
        rule: 'quota-capacity',
        message:
          'quota limits.cpu 8 is below the 15600m the release needs at full scale; raise it to at least 15600m or lower the limits or the replicas. Biggest part: app 31 pods (HPA max 30 + surge 1): 15500m; the rest: helm test (app) 1 pod: 100m',
      },
      {
        path: ['resourceQuota', 'hard', 'pods'],
        rule: 'quota-capacity',
        message: 'quota pods 20 is below the 32 the release needs at full scale; raise it to at least 32 or lower the replicas. Biggest part: app 31 pods (HPA max 30 + surge 1): 31; the rest: helm test (app) 1 pod: 1',
      },
    ]);
  });

  it('memory: 7952Mi needed does not fit 7Gi', () => {
    const findings = quotaHoldsWorkloads(prodLike({ autoscaling: { maxReplicas: 30 } }, quota({ 'requests.memory': '7Gi' })));
    expect(findings.filter((f) => f.path.includes('requests.memory')).map((f) => f.message)).toEqual([
      'quota requests.memory 7Gi is below the 7952Mi the release needs at full scale; raise it to at least 7952Mi or lower the requests or the replicas. Biggest part: app 31 pods (HPA max 30 + surge 1): 7936Mi; the rest: helm test (app) 1 pod: 16Mi',
    ]);
  });

  it('is exact at the boundary: pods = maxReplicas + ceil(surge% of max) + 1 test pod', () => {
    // maxSurge 25% of 10 = 2.5 → 3 extra pods; 10 + 3 + 1 = 14.
    const app = { autoscaling: { maxReplicas: 10 }, strategy: { maxSurge: '25%' } };
    const at = (pods: string) => quotaHoldsWorkloads(prodLike(app, quota({ pods })));
    expect(at('14')).toEqual([]);
    expect(at('13').map((f) => f.message)).toEqual([
      'quota pods 13 is below the 14 the release needs at full scale; raise it to at least 14 or lower the replicas. Biggest part: app 13 pods (HPA max 10 + surge 3): 13; the rest: helm test (app) 1 pod: 1',
    ]);
  });

  it('without an HPA uses replicaCount + surge', () => {
    const findings = quotaHoldsWorkloads(
      values({ app: { replicaCount: 4, resources: prodResources, connections }, ...quota({ 'requests.cpu': '1' }) }),
    );
    // 5 * 250m + 10m = 1260m > 1
    expect(findings.map((f) => f.message)).toEqual([
      'quota requests.cpu 1 is below the 1260m the release needs at full scale; raise it to at least 1260m or lower the requests or the replicas. Biggest part: app 5 pods (4 replicas + surge 1): 1250m; the rest: helm test (app) 1 pod: 10m',
    ]);
  });

  it('reads numeric quota values and skips keys the quota does not set', () => {
    expect(quotaHoldsWorkloads(prodLike({}, quota({ 'requests.cpu': 3, 'limits.cpu': 6, pods: 12 })))).toEqual([]);
    expect(quotaHoldsWorkloads(prodLike({}, quota({ 'requests.cpu': 2 }))).map((f) => f.path)).toEqual([['resourceQuota', 'hard', 'requests.cpu']]);
    // Only pods and CPU requests set: 100 replicas overflow just those two.
    const sparse = quota({ 'requests.memory': null, 'limits.cpu': null, 'limits.memory': null });
    expect(quotaHoldsWorkloads(prodLike({ autoscaling: { maxReplicas: 100 } }, sparse)).map((f) => f.path.at(-1))).toEqual(['requests.cpu', 'pods']);
  });
});

describe('pdbSatisfiable', () => {
  it('passes minAvailable below the HPA minimum', () => {
    expect(pdbSatisfiable(prodLike({ pdb: { enabled: true, minAvailable: 2 } }))).toEqual([]);
  });

  it('flags minAvailable equal to the HPA minimum', () => {
    expect(pdbSatisfiable(prodLike({ pdb: { enabled: true, minAvailable: 3 } }))).toEqual([
      {
        path: ['app', 'pdb', 'minAvailable'],
        rule: 'pdb-satisfiable',
        message:
          'app.pdb.minAvailable 3 needs more than the 3 replica(s) the app may run (autoscaling.minReplicas): such a PDB blocks every node drain; lower minAvailable or raise the replicas',
      },
    ]);
  });

  it('without an HPA compares with replicaCount', () => {
    const findings = pdbSatisfiable(values({ app: { replicaCount: 1, pdb: { enabled: true, minAvailable: 2 } } }));
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('minAvailable 2 needs more than the 1 replica(s) the app may run (replicaCount)')]);
    expect(pdbSatisfiable(values({ app: { replicaCount: 3, pdb: { enabled: true, minAvailable: 2 } } }))).toEqual([]);
  });

  it('ignores a disabled PDB', () => {
    expect(pdbSatisfiable(values({ app: { replicaCount: 1, pdb: { enabled: false, minAvailable: 5 } } }))).toEqual([]);
  });
});

describe('hpaRange', () => {
  it('flags minReplicas above maxReplicas', () => {
    expect(hpaRange(prodLike({ autoscaling: { minReplicas: 5, maxReplicas: 4 } }))).toEqual([
      { path: ['app', 'autoscaling', 'maxReplicas'], rule: 'hpa-range', message: ruleMessage('hpa-range', { max: 4, min: 5 }) },
    ]);
  });

  it('accepts min = max, and any range while the HPA is off', () => {
    expect(hpaRange(prodLike({ autoscaling: { minReplicas: 4, maxReplicas: 4 } }))).toEqual([]);
    expect(hpaRange(values({ app: { autoscaling: { enabled: false, minReplicas: 5, maxReplicas: 4 } } }))).toEqual([]);
  });
});

describe('rolloutCanProgress', () => {
  it.each([
    [0, 0],
    ['0%', '0%'],
    [0, '0%'],
  ])('flags maxSurge %j with maxUnavailable %j', (maxSurge, maxUnavailable) => {
    expect(rolloutCanProgress(values({ app: { strategy: { maxSurge, maxUnavailable } } }))).toEqual([
      { path: ['app', 'strategy', 'maxSurge'], rule: 'rollout', message: ruleMessage('rollout', {}) },
    ]);
  });

  it.each([
    [1, 0],
    [0, 1],
    ['25%', 0],
    [0, '10%'],
  ])('accepts maxSurge %j with maxUnavailable %j', (maxSurge, maxUnavailable) => {
    expect(rolloutCanProgress(values({ app: { strategy: { maxSurge, maxUnavailable } } }))).toEqual([]);
  });
});

describe('vpaWithHpa', () => {
  it.each(['Auto', 'Recreate', 'Initial'])('flags updateMode %s with the HPA on', (updateMode) => {
    expect(vpaWithHpa(prodLike({ vpa: { enabled: true, updateMode } }))).toEqual([
      {
        path: ['app', 'vpa', 'updateMode'],
        rule: 'vpa-hpa',
        message: `app.vpa.updateMode ${updateMode} with the HPA on: both act on CPU and memory and fight; use "Off" (recommendations only) or turn autoscaling off`,
      },
    ]);
  });

  it('accepts Off with the HPA, Auto without it, and a disabled VPA', () => {
    expect(vpaWithHpa(prodLike({ vpa: { enabled: true, updateMode: 'Off' } }))).toEqual([]);
    expect(vpaWithHpa(values({ app: { vpa: { enabled: true, updateMode: 'Auto' } } }))).toEqual([]);
    expect(vpaWithHpa(prodLike({ vpa: { enabled: false, updateMode: 'Auto' } }))).toEqual([]);
  });
});

describe('vpaRange', () => {
  it('flags a maxAllowed below minAllowed, per resource, comparing quantities in any unit', () => {
    const vpa = { enabled: true, updateMode: 'Off', minAllowed: { cpu: '1500m', memory: '1Gi' }, maxAllowed: { cpu: 1, memory: '1000Mi' } };
    expect(vpaRange(values({ app: { vpa } }))).toEqual([
      { path: ['app', 'vpa', 'maxAllowed', 'cpu'], rule: 'vpa-range', message: ruleMessage('vpa-range', { resource: 'cpu', max: 1, min: '1500m' }) },
      { path: ['app', 'vpa', 'maxAllowed', 'memory'], rule: 'vpa-range', message: ruleMessage('vpa-range', { resource: 'memory', max: '1000Mi', min: '1Gi' }) },
    ]);
  });

  it('accepts min = max in different units, the chart defaults, and a disabled VPA', () => {
    expect(vpaRange(values({ app: { vpa: { enabled: true, minAllowed: { cpu: '1', memory: '1Gi' }, maxAllowed: { cpu: '1000m', memory: '1024Mi' } } } }))).toEqual([]);
    expect(vpaRange(values({ app: { vpa: { enabled: true } } }))).toEqual([]);
    expect(vpaRange(values({ app: { vpa: { enabled: false, minAllowed: { cpu: '2', memory: '2Gi' } } } }))).toEqual([]);
  });
});

describe('ipBlockExcepts', () => {
  const egress = (cidr: string, except: string[]) => values({ app: { networkPolicy: { externalEgress: { cidr, except } } } });

  it('flags each except that is not a strict subset of its cidr, at its index', () => {
    expect(ipBlockExcepts(egress('10.0.0.0/8', ['10.96.0.0/12', '192.168.0.0/16', '10.0.0.0/8']))).toEqual([
      {
        path: ['app', 'networkPolicy', 'externalEgress', 'except', 1],
        rule: 'ipblock-except',
        message: ruleMessage('ipblock-except', { path: 'app.networkPolicy.externalEgress', index: 1, except: '192.168.0.0/16', cidr: '10.0.0.0/8' }),
      },
      // the same range is no strict subset either
      {
        path: ['app', 'networkPolicy', 'externalEgress', 'except', 2],
        rule: 'ipblock-except',
        message: ruleMessage('ipblock-except', { path: 'app.networkPolicy.externalEgress', index: 2, except: '10.0.0.0/8', cidr: '10.0.0.0/8' }),
      },
    ]);
  });

  it('passes the chart defaults and every shipped environment', () => {
    expect(ipBlockExcepts(values())).toEqual([]);
  });

  it('skips what is switched off (the NetworkPolicy is not rendered)', () => {
    expect(ipBlockExcepts(values({ app: { networkPolicy: { enabled: false, externalEgress: { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] } } } }))).toEqual([]);
  });
});

describe('alertmanagerReferences', () => {
  const withConfig = (config: Values) => values({ monitoring: { enabled: true, alertmanager: { config } } });

  it('finds undefined receivers and time intervals anywhere in the routing tree, depth first', () => {
    const config = {
      route: {
        receiver: 'default',
        routes: [
          { receiver: 'pager', routes: [{ receiver: 'default', mute_time_intervals: ['nights', 'weekends'] }] },
          { active_time_intervals: ['office'] },
        ],
      },
      receivers: [{ name: 'default' }, { name: 'chat' }],
      time_intervals: [{ name: 'nights' }],
    };
    expect(alertmanagerReferences(withConfig(config)).map((f) => [f.path.join('.'), f.message])).toEqual([
      ['monitoring.alertmanager.config.route.routes.0.receiver', ruleMessage('alertmanager-reference', { path: 'route.routes[0].receiver', kind: 'receiver', name: 'pager', list: 'receivers', known: 'default, chat' })],
      ['monitoring.alertmanager.config.route.routes.0.routes.0.mute_time_intervals.1', ruleMessage('alertmanager-reference', { path: 'route.routes[0].routes[0].mute_time_intervals[1]', kind: 'time interval', name: 'weekends', list: 'time_intervals', known: 'nights' })],
      ['monitoring.alertmanager.config.route.routes.1.active_time_intervals.0', ruleMessage('alertmanager-reference', { path: 'route.routes[1].active_time_intervals[0]', kind: 'time interval', name: 'office', list: 'time_intervals', known: 'nights' })],
    ]);
  });

  it('passes the chart default and a disabled monitoring', () => {
    expect(alertmanagerReferences(values({ monitoring: { enabled: true } }))).toEqual([]);
    expect(alertmanagerReferences(values({ monitoring: { enabled: false, alertmanager: { config: { route: { receiver: 'nobody' } } } } }))).toEqual([]);
  });
});

describe('connectionsResolvable', () => {
  it('the chart defaults name neither database', () => {
    expect(connectionsResolvable(values())).toEqual([
      {
        path: ['app', 'connections', 'mongodb', 'existingSecret'],
        rule: 'connection',
        message: 'the app has no mongodb: this release does not run one, so name an existing Secret holding the connection string in app.connections.mongodb.existingSecret',
      },
      {
        path: ['app', 'connections', 'redis', 'existingSecret'],
        rule: 'connection',
        message: 'the app has no redis: this release does not run one, so name an existing Secret holding the connection string in app.connections.redis.existingSecret',
      },
    ]);
  });

  it('flags only the missing one', () => {
    const findings = connectionsResolvable(values({ app: { connections: { redis: { existingSecret: 'r' } } } }));
    expect(findings.map((f) => f.path)).toEqual([['app', 'connections', 'mongodb', 'existingSecret']]);
  });

  it('accepts existing Secrets, an in-release chart, or a disabled app', () => {
    expect(connectionsResolvable(values({ app: { connections } }))).toEqual([]);
    expect(
      connectionsResolvable({ ...values({ app: { connections: { redis: { existingSecret: 'r' } } } }), mongodb: { enabled: true } }),
    ).toEqual([]);
    expect(connectionsResolvable(values({ app: { enabled: false } }))).toEqual([]);
  });
});

describe('credentialsSingleSource', () => {
  it('flags jwtSecret together with existingSecret', () => {
    expect(credentialsSingleSource(values({ app: { auth: { jwtSecret: 'x', existingSecret: 'y' } } }))).toEqual([
      { path: ['app', 'auth', 'jwtSecret'], rule: 'credential-source', message: ruleMessage('credential-source', { path: 'app.auth', source: 'existingSecret' }) },
    ]);
  });

  it('accepts either alone, or neither (a generated secret)', () => {
    expect(credentialsSingleSource(values({ app: { auth: { jwtSecret: 'x' } } }))).toEqual([]);
    expect(credentialsSingleSource(values({ app: { auth: { existingSecret: 'y' } } }))).toEqual([]);
    expect(credentialsSingleSource(values())).toEqual([]);
  });
});

describe('limitRangeFits', () => {
  const limits = (cpu: string | number, memory: string) => values({ app: { resources: { limits: { cpu, memory } } } });

  it('flags limits above the LimitRange max (defaults: 2 CPU, 4Gi)', () => {
    expect(limitRangeFits(limits('2500m', '8Gi'))).toEqual([
      { path: ['app', 'resources', 'limits', 'cpu'], rule: 'limit-range', message: ruleMessage('limit-range', { path: 'app.resources', resource: 'cpu', limit: '2500m', max: '2' }) },
      { path: ['app', 'resources', 'limits', 'memory'], rule: 'limit-range', message: ruleMessage('limit-range', { path: 'app.resources', resource: 'memory', limit: '8Gi', max: '4Gi' }) },
    ]);
  });

  it('accepts limits equal to the max, and anything when the LimitRange is off or the app disabled', () => {
    expect(limitRangeFits(limits(2, '4096Mi'))).toEqual([]);
    expect(limitRangeFits({ ...limits('8', '64Gi'), limitRange: { enabled: false, max: { cpu: '1', memory: '1Gi' } } })).toEqual([]);
    expect(limitRangeFits(values({ app: { enabled: false, resources: { limits: { cpu: '8', memory: '64Gi' } } } }))).toEqual([]);
  });

  it('compares decimal and binary units by bytes (5G > 4Gi)', () => {
    expect(limitRangeFits(limits('1', '5G')).map((f) => f.message)).toEqual([expect.stringMatching(/^app\.resources\.limits\.memory 5G is above limitRange\.max\.memory 4Gi: /)]);
  });

  it('covers every container of every component (the MongoDB exporter, Grafana, ...)', () => {
    const findings = limitRangeFits(
      coalesce(defaults, { mongodb: { metrics: { resources: { limits: { memory: '5Gi' } } } }, monitoring: { grafana: { resources: { limits: { cpu: '3' } } } } }) as Values,
    );
    expect(findings.map((f) => f.path.join('.'))).toEqual(['mongodb.metrics.resources.limits.memory', 'monitoring.grafana.resources.limits.cpu']);
    expect(limitRangeFits(limits('1', '4G'))).toEqual([]);
  });
});

describe('requestsWithinLimits', () => {
  const resources = (requests: Values, limits: Values) => values({ app: { resources: { requests, limits } } });

  it('flags a request above its limit, per resource', () => {
    expect(requestsWithinLimits(resources({ cpu: '300m', memory: '1Gi' }, { cpu: '200m', memory: '512Mi' }))).toEqual([
      { path: ['app', 'resources', 'requests', 'cpu'], rule: 'request-limit', message: 'app.resources.requests.cpu 300m is above app.resources.limits.cpu 200m: Kubernetes refuses a container whose request exceeds its limit; lower the request or raise the limit' },
      { path: ['app', 'resources', 'requests', 'memory'], rule: 'request-limit', message: 'app.resources.requests.memory 1Gi is above app.resources.limits.memory 512Mi: Kubernetes refuses a container whose request exceeds its limit; lower the request or raise the limit' },
    ]);
  });

  it('accepts requests equal to limits, in any notation', () => {
    expect(requestsWithinLimits(resources({ cpu: 0.5, memory: '1024Mi' }, { cpu: '500m', memory: '1Gi' }))).toEqual([]);
  });

  it('1.5 cores is more than 1000m', () => {
    expect(requestsWithinLimits(resources({ cpu: '1.5', memory: '128Mi' }, { cpu: '1000m', memory: '256Mi' })).map((f) => f.message)).toEqual([
      expect.stringMatching(/^app\.resources\.requests\.cpu 1\.5 is above app\.resources\.limits\.cpu 1000m: /),
    ]);
  });
});

describe('checkRules', () => {
  it('runs every rule and concatenates the findings', () => {
    const bad = prodLike({
      autoscaling: { minReplicas: 5, maxReplicas: 4 },
      strategy: { maxSurge: 0, maxUnavailable: 0 },
      auth: { jwtSecret: 'x', existingSecret: 'y' },
    });
    expect(checkRules(bad).map((f) => f.rule)).toEqual(['hpa-range', 'rollout', 'credential-source']);
  });
});

describe('monitoringTargetsMatch', () => {
  it('accepts targets that follow the databases', () => {
    expect(monitoringTargetsMatch(coalesce(defaults, {}) as Values)).toEqual([]);
    expect(monitoringTargetsMatch(coalesce(defaults, { redis: { enabled: false }, monitoring: { targets: { redis: { enabled: false } } } }) as Values)).toEqual([]);
  });

  it('flags a target whose database is off, and a database nobody scrapes', () => {
    expect(monitoringTargetsMatch(coalesce(defaults, { redis: { enabled: false } }) as Values)).toEqual([
      { path: ['monitoring', 'targets', 'redis', 'enabled'], rule: 'monitoring-targets', message: ruleMessage('monitoring-targets', { component: 'redis', scraped: 'true', runs: 'false' }) },
    ]);
    expect(monitoringTargetsMatch(coalesce(defaults, { monitoring: { targets: { mongodb: { enabled: false } } } }) as Values)).toEqual([
      { path: ['monitoring', 'targets', 'mongodb', 'enabled'], rule: 'monitoring-targets', message: ruleMessage('monitoring-targets', { component: 'mongodb', scraped: 'false', runs: 'true' }) },
    ]);
  });
});

describe('backupMatchesDatabases', () => {
  const withBackup = (override: Values): Values => coalesce(defaults, coalesce({ backup: { enabled: true } }, override)) as Values;

  it('accepts a backup that matches the MongoDB architecture', () => {
    expect(backupMatchesDatabases(withBackup({}))).toEqual([]);
    expect(backupMatchesDatabases(coalesce(defaults, {}) as Values)).toEqual([]); // backup off
  });

  it('flags an architecture mismatch, a missing MongoDB and an RDB copy Redis would refuse', () => {
    expect(backupMatchesDatabases(withBackup({ mongodb: { architecture: 'replicaset', replicaCount: 3 } }))).toEqual([
      {
        path: ['backup', 'mongodb', 'architecture'],
        rule: 'backup-target',
        message: ruleMessage('backup-target', { problem: 'backup.mongodb.architecture is standalone but mongodb.architecture is replicaset (oplog dumps and incremental backups depend on it)' }),
      },
    ]);
    expect(backupMatchesDatabases(withBackup({ mongodb: { enabled: false } }))[0]?.message).toBe(
      ruleMessage('backup-target', { problem: "backups need this release's MongoDB (mongodb.enabled is false)" }),
    );
    expect(backupMatchesDatabases(withBackup({ backup: { redis: { rdbCopy: { enabled: true } } } }))[0]?.path).toEqual([
      'backup',
      'redis',
      'rdbCopy',
      'enabled',
    ]);
    expect(
      backupMatchesDatabases(withBackup({ backup: { redis: { rdbCopy: { enabled: true } } }, redis: { networkPolicy: { allowBackup: true } } })),
    ).toEqual([]);
  });
});

/** The umbrella's defaults with everything on (dev-like), small overrides per test. */
function full(override: Values = {}): Values {
  return coalesce(defaults, override) as Values;
}

describe('requestsWithinLimits: every container of every component', () => {
  it.each([
    ['mongodb', 'resources'],
    ['mongodb', 'metrics', 'resources'],
    ['mongodb', 'bootstrap', 'resources'],
    ['mongodb', 'tests', 'resources'],
    ['redis', 'metrics', 'resources'],
    ['redis', 'cluster', 'bootstrap', 'resources'],
    ['monitoring', 'prometheus', 'resources'],
    ['monitoring', 'grafana', 'resources'],
  ])('%s.%s...', (...path) => {
    const override: Values = {};
    let node = override;
    for (const key of path) node = (node[key] = {}) as Values;
    Object.assign(node, { requests: { memory: '3Gi' }, limits: { memory: '1Gi' } });
    const findings = requestsWithinLimits(full(override));
    expect(findings.map((f) => f.path.join('.'))).toEqual([[...path, 'requests', 'memory'].join('.')]);
    expect(findings[0]?.message).toMatch(new RegExp(`^${path.join('\\.')}\\.requests\\.memory 3Gi is above ${path.join('\\.')}\\.limits\\.memory 1Gi`));
  });

  it('skips a disabled component (helm renders nothing of it)', () => {
    expect(requestsWithinLimits(full({ backup: { enabled: false, resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } } }))).toEqual([]);
  });
});

describe('the other shared rules', () => {
  it('redis maxmemory: at most 80 % of the memory limit (redis units: mb = MiB, m = MB)', () => {
    const at = (maxmemory: string, limit: string) => redisMaxmemory(full({ redis: { config: { maxmemory }, resources: { limits: { memory: limit } } } }));
    expect(at('409mb', '512Mi')).toEqual([]);
    expect(at('410mb', '512Mi').map((f) => f.rule)).toEqual(['redis-maxmemory']);
    expect(at('429m', '512Mi')).toEqual([]); // 429e6 bytes < 0.8 * 512 MiB
  });

  it('mongodb cache: at most half the memory limit', () => {
    const at = (cache: number, limit: string) => mongodbCacheFits(full({ mongodb: { wiredTigerCacheSizeGB: cache, resources: { limits: { memory: limit } } } }));
    expect(at(0.5, '1Gi')).toEqual([]);
    expect(at(0.75, '1Gi')[0]?.message).toMatch(/^mongodb\.wiredTigerCacheSizeGB 0\.75 is above 50% of mongodb\.resources\.limits\.memory 1Gi/);
  });

  it('prometheus retention.size: at most 90 % of the volume, in powers of 1024', () => {
    const at = (size: string, volume: string) => prometheusRetentionFits(full({ monitoring: { prometheus: { retention: { size }, persistence: { size: volume } } } }));
    expect(at('18GB', '20Gi')).toEqual([]);
    expect(at('19GB', '20Gi').map((f) => f.path.join('.'))).toEqual(['monitoring.prometheus.retention.size']);
    expect(at('', '1Gi')).toEqual([]);
  });

  it('backup alert age: above the longest gap between full backups', () => {
    const at = (schedule: string, hours: number) => backupAlertAge(full({ backup: { enabled: true, schedule }, monitoring: { alerts: { backup: { maxAgeHours: hours } } } }));
    expect(at('0 2 * * *', 26)).toEqual([]);
    expect(at('0 2 * * *', 24)[0]?.message).toContain('(every 1440 minutes at most)');
    expect(at('0 2 * * 0', 26)[0]?.message).toContain('(every 10080 minutes at most)'); // weekly
    expect(at('0 */6 * * *', 7)).toEqual([]);
    expect(at('0 2 * * 1-5', 26)[0]?.message).toContain('(every 4320 minutes at most)'); // Friday to Monday
  });

  it('alertmanager: inline credentials anywhere in a receiver, and global ones', () => {
    const config = {
      global: { slack_api_url: 'https://hooks.slack.com/x', resolve_timeout: '5m' },
      receivers: [{ name: 'oncall', webhook_configs: [{ url: 'https://x', http_config: { basic_auth: { password: 'p' } } }] }],
    };
    const findings = alertmanagerNoInlineCredentials(full({ monitoring: { alertmanager: { config } } }));
    expect(findings.map((f) => f.path.join('.'))).toEqual([
      'monitoring.alertmanager.config.global.slack_api_url',
      'monitoring.alertmanager.config.receivers.0.webhook_configs.0.http_config.basic_auth.password',
      'monitoring.alertmanager.config.receivers.0.webhook_configs.0.url',
    ]);
    expect(findings[2]?.message).toContain('config.receivers[0].webhook_configs[0].url is an inline credential');
  });
});

describe('quota object counts', () => {
  it('the staging failure seen on a real API server: 11 Services against services 10 (15 with the collector, Jaeger and MinIO), cause first', () => {
    const staging = shipped('staging');
    const hard = (staging.resourceQuota as { hard: Record<string, string> }).hard;
    const findings = quotaHoldsWorkloads({ ...staging, resourceQuota: { enabled: true, hard: { ...hard, services: '10' } } });
    expect(findings).toEqual([
      {
        path: ['resourceQuota', 'hard', 'services'],
        rule: 'quota-capacity',
        message: expect.stringMatching(/^quota services 10 is below the 15 the release needs at full scale; raise it to at least 15 /),
      },
    ]);
  });

  it('counts the Secrets the values name and helm\'s release history', () => {
    const staging = shipped('staging');
    const namespace = objectDemands(staging).at(-1);
    // techshop-app-secrets, -mongodb, -redis, -objectstore, -grafana-admin, and 10 revisions of the release
    expect(namespace).toMatchObject({ component: 'namespace', secrets: 15, configmaps: 1 });
  });
});

describe('the schema patterns generated or written for Kubernetes syntax', () => {
  const schema = createValidator();
  const check = (yaml: string) => schema.validate('values/values-dev.yaml', Buffer.from(`global:\n  environment: dev\n${yaml}`)).map((d) => d.path);
  it('accepts real dates, February 29 only in leap years', () => {
    const at = (t: string) => check(`backup:\n  restore:\n    pointInTime: "${t}"\n`).filter((p) => p === 'backup.restore.pointInTime');
    expect(at('2024-02-29T10:30:00Z')).toEqual([]);
    expect(at('2000-02-29T00:00:00Z')).toEqual([]);
    expect(at('2100-02-29T00:00:00Z')).toEqual(['backup.restore.pointInTime']);
    expect(at('2025-02-29T00:00:00Z')).toEqual(['backup.restore.pointInTime']);
    expect(at('2025-04-31T00:00:00Z')).toEqual(['backup.restore.pointInTime']);
    expect(at('2025-12-31T23:59:59Z')).toEqual([]);
  });

  it('accepts the schedules Kubernetes takes', () => {
    for (const schedule of ['0 2 * * *', '*/15 * * * *', '0 0 1 JAN *', '0 0 * * mon-fri', '5,35 1-5/2 ? * 7', '@weekly', '00 02 * * *']) {
      expect(check(`backup:\n  schedule: "${schedule}"\n`), schedule).toEqual([]);
    }
  });

  it('accepts IPv4 and IPv6 ranges with their prefix lengths', () => {
    // except: [] because the default excepts (private IPv4 ranges) must lie inside the cidr (rule ipblock-except)
    for (const cidr of ['0.0.0.0/0', '10.0.0.0/8', '255.255.255.255/32', '2001:db8::/32', '::/0', 'fd00::1/128']) {
      expect(check(`app:\n  networkPolicy:\n    externalEgress:\n      cidr: "${cidr}"\n      except: []\n`), cidr).toEqual([]);
    }
  });

  it('refuses a cidr that leaves the default excepts outside it, pointing at the inherited default', () => {
    // 10.0.0.0/8 itself (not a strict subset), 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16
    expect(check('app:\n  networkPolicy:\n    externalEgress:\n      cidr: "10.0.0.0/8"\n')).toEqual([0, 1, 2, 3].map((i) => `app.networkPolicy.externalEgress.except[${i}]`));
  });
});

describe('limitRangeFits: the LimitRange itself', () => {
  it('refuses defaultRequest above default and default above max, as the API server does', () => {
    const at = (limitRange: Values) => limitRangeFits(full({ limitRange }));
    expect(at({})).toEqual([]);
    expect(at({ defaultRequest: { memory: '1Gi' } }).map((f) => f.path.join('.'))).toEqual(['limitRange.defaultRequest.memory']);
    expect(at({ default: { cpu: '3' } }).map((f) => f.path.join('.'))).toEqual(['limitRange.default.cpu']);
    expect(at({ enabled: false, default: { cpu: '3' } })).toEqual([]);
  });
});

describe('externalSecretKeys', () => {
  const external = (credentials: Record<string, unknown>, extra: Values = {}): Values =>
    coalesce(shipped('dev'), coalesce({ global: { secrets: { provider: 'externalSecrets', externalSecrets: { store: { name: 'vault' }, credentials } } } }, extra)) as Values;
  const all = {
    mongodb: Object.fromEntries(['mongodb-root-password', 'mongodb-password', 'mongodb-metrics-password', 'mongodb-backup-password', 'mongodb-replica-set-key'].map((k) => [k, { remotePath: 'techshop/mongodb' }])),
    redis: { 'redis-password': { remotePath: 'techshop/redis' } },
    app: { 'jwt-secret': { remotePath: 'techshop/app' } },
    grafana: { 'admin-user': { remotePath: 'techshop/grafana' }, 'admin-password': { remotePath: 'techshop/grafana' } },
    objectstore: Object.fromEntries(['access-key-id', 'secret-access-key', 'app-access-key-id', 'app-secret-access-key', 'backup-access-key-id', 'backup-secret-access-key'].map((k) => [k, { remotePath: 'techshop/minio' }])),
  };

  it('checks nothing with the default provider', () => {
    expect(externalSecretKeys(shipped('dev'))).toEqual([]);
  });

  it('names every key a running component reads that is not mapped, at its credential', () => {
    const findings = externalSecretKeys(external({}));
    expect(findings.map((f) => f.message.split(':')[0])).toEqual([
      ...Object.keys(all.mongodb).map((k) => `global.secrets.externalSecrets.credentials.mongodb maps no ${k}`),
      'global.secrets.externalSecrets.credentials.redis maps no redis-password',
      'global.secrets.externalSecrets.credentials.app maps no jwt-secret',
      'global.secrets.externalSecrets.credentials.grafana maps no admin-user',
      'global.secrets.externalSecrets.credentials.grafana maps no admin-password',
      // dev runs MinIO
      ...Object.keys(all.objectstore).map((k) => `global.secrets.externalSecrets.credentials.objectstore maps no ${k}`),
    ]);
    expect(findings[0]).toEqual({
      path: ['global', 'secrets', 'externalSecrets', 'credentials', 'mongodb'],
      rule: 'external-secret-keys',
      message: ruleMessage('external-secret-keys', { credential: 'mongodb', key: 'mongodb-root-password', keys: Object.keys(all.mongodb).join(', ') }),
    });
  });

  it('accepts every key mapped; a component that does not run needs none', () => {
    expect(externalSecretKeys(external(all))).toEqual([]);
    const { grafana: _, ...rest } = all;
    expect(externalSecretKeys(external(rest, { monitoring: { enabled: false } }))).toEqual([]);
  });

  it('the backup keys are optional (an IAM role), but mapped at all, both are needed', () => {
    expect(externalSecretKeys(external(all, { backup: { enabled: true } }))).toEqual([]);
    const half = externalSecretKeys(external({ ...all, backup: { 'access-key-id': { remotePath: 'techshop/s3' } } }, { backup: { enabled: true } }));
    expect(half.map((f) => f.message.split(':')[0])).toEqual(['global.secrets.externalSecrets.credentials.backup maps no secret-access-key']);
  });

  it('an inline credential beside ExternalSecrets is a second source (credential-source)', () => {
    expect(credentialsSingleSource(external(all, { redis: { auth: { password: 'inline' } } }))).toEqual([
      { path: ['redis', 'auth', 'password'], rule: 'credential-source', message: ruleMessage('credential-source', { path: 'redis.auth.password', source: 'global.secrets.provider externalSecrets' }) },
    ]);
  });
});

describe('availability invariants (issue 25, class 3)', () => {
  it('a replica set of n keeps its majority through floor((n-1)/2) members down', () => {
    expect([1, 2, 3, 4, 5, 7].map(quorumTolerance)).toEqual([0, 0, 1, 1, 2, 3]);
  });

  it('a Redis cluster keeps a pod of every shard and a majority of primaries', () => {
    expect(redisClusterTolerance(3, 1)).toBe(1);
    expect(redisClusterTolerance(3, 2)).toBe(1); // two primaries down leave one of three: no majority to vote
    expect(redisClusterTolerance(5, 2)).toBe(2);
    expect(redisClusterTolerance(7, 1)).toBe(1);
    expect(redisClusterTolerance(3, 0)).toBeUndefined(); // every shard is one pod: the PDB's minimum is all it can say
  });

  it('pdbKeepsQuorum: passes the chart defaults and staging (3 primaries, no replicas), flags each topology past its tolerance', () => {
    const on = (override: Values) => coalesce(defaults, override) as Values;
    expect(pdbKeepsQuorum(on({ mongodb: { architecture: 'replicaset', replicaCount: 5, pdb: { maxUnavailable: 2 } } }))).toEqual([]);
    expect(pdbKeepsQuorum(on({ redis: { architecture: 'cluster', cluster: { masters: 3, replicasPerMaster: 0 }, pdb: { maxUnavailable: 1 } } }))).toEqual([]);
    // a standalone has no quorum (and no PDB); a disabled chart no pods
    expect(pdbKeepsQuorum(on({ mongodb: { architecture: 'standalone', replicaCount: 1, pdb: { maxUnavailable: 4 } } }))).toEqual([]);
    expect(pdbKeepsQuorum(on({ mongodb: { enabled: false, architecture: 'replicaset', replicaCount: 3, pdb: { maxUnavailable: 2 } } }))).toEqual([]);
    const flagged = pdbKeepsQuorum(on({ mongodb: { architecture: 'replicaset', replicaCount: 3, pdb: { maxUnavailable: 2 } }, redis: { architecture: 'cluster', cluster: { masters: 3, replicasPerMaster: 1 }, pdb: { maxUnavailable: 2 } } }));
    expect(flagged.map((f) => f.path.join('.'))).toEqual(['mongodb.pdb.maxUnavailable', 'redis.pdb.maxUnavailable']);
    expect(flagged[0]?.message).toContain('needs 2 of them up');
  });

  it('resolveUnavailable rounds a percentage down, as the Deployment controller does', () => {
    expect([resolveUnavailable('25%', 3), resolveUnavailable('50%', 3), resolveUnavailable('100%', 3), resolveUnavailable(2, 3)]).toEqual([0, 1, 3, 2]);
  });

  it('rolloutKeepsPdb: a rollout may take down what the PDB spares, no more', () => {
    const app = (strategy: Values) => values({ app: { connections, replicaCount: 4, autoscaling: { enabled: false }, pdb: { enabled: true, minAvailable: 2 }, strategy } });
    expect(rolloutKeepsPdb(app({ maxSurge: 1, maxUnavailable: 2 }))).toEqual([]);
    expect(rolloutKeepsPdb(app({ maxSurge: 1, maxUnavailable: '50%' }))).toEqual([]);
    expect(rolloutKeepsPdb(app({ maxSurge: 1, maxUnavailable: 3 })).map((f) => f.message)).toEqual([
      ruleMessage('rollout-availability', { maxUnavailable: 3, down: 3, replicas: 4, source: 'replicaCount', left: 1, minAvailable: 2, tolerable: 2 }),
    ]);
    expect(rolloutKeepsPdb(app({ maxSurge: 1, maxUnavailable: '75%' }))).toHaveLength(1);
  });
});

describe('facts two charts carry (issue 25, class 2)', () => {
  const on = (override: Values) => coalesce(defaults, override) as Values;

  it('every fact names keys that exist in the umbrella defaults, and the defaults agree', async () => {
    const { ruleConstant } = await import('../scripts/lib/rule-table.ts');
    const facts = ruleConstant('shared-fact', 'facts') as Record<string, string>;
    const at = (path: string) => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], defaults);
    for (const [consumer, provider] of Object.entries(facts)) {
      expect(at(consumer), consumer).not.toBeUndefined();
      if (!/^[0-9]+$/.test(provider)) expect(at(provider), provider).not.toBeUndefined();
    }
    expect(sharedFactsAgree(on({ tracing: { enabled: true }, monitoring: { targets: { tracing: { enabled: true, jaeger: true } } } }))).toEqual([]);
  });

  it('a mismatch names both keys; a side that is off is not compared', () => {
    const moved = sharedFactsAgree(on({ app: { containerPort: 8080 } }));
    expect(moved.map((f) => [f.path.join('.'), f.also?.join('.')])).toEqual([['monitoring.targets.app.port', 'app.containerPort']]);
    expect(moved[0]?.message).toContain('monitoring.targets.app.port is 3000 but app.containerPort is 8080');
    expect(sharedFactsAgree(on({ app: { containerPort: 8080 }, monitoring: { targets: { app: { enabled: false } } } }))).toEqual([]);
    expect(sharedFactsAgree(on({ app: { containerPort: 8080 }, monitoring: { enabled: false } }))).toEqual([]);
    expect(sharedFactsAgree(on({ mongodb: { enabled: false, metrics: { port: 9300 } } }))).toEqual([]);
    expect(sharedFactsAgree(on({ monitoring: { targets: { redis: { port: 9122 } } } })).map((f) => f.path.join('.'))).toEqual(['monitoring.targets.redis.port']);
  });

  it('secretKeysDocumented: a restore reading the mongodb chart Secret names one of its keys', () => {
    const restore = (r: Values) => on({ backup: { enabled: true, restore: { enabled: true, archive: 'mongodb-full-20250131T020000Z.archive.gz', ...r } } });
    expect(secretKeysDocumented(restore({ passwordKey: 'mongodb-root-password' }))).toEqual([]);
    expect(secretKeysDocumented(restore({ passwordKey: 'root-password', existingSecret: 'my-restore' }))).toEqual([]);
    expect(secretKeysDocumented(restore({ passwordKey: 'root-password' })).map((f) => f.path.join('.'))).toEqual(['backup.restore.passwordKey']);
  });
});
