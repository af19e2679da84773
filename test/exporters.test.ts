// The exporters against real servers, and the metric names the monitoring
// chart queries against what they really emit. redis_exporter (the tag
// images.yaml deploys, built from its Go module by .ci/install-mongo-tools.sh)
// runs with the environment the redis chart renders
// for its metrics container, against real redis-servers started from the
// rendered redis.conf: a standalone and a cluster-enabled node. Every metric
// name in the rendered alert and recording rules, the rule unit tests and the
// rendered Grafana dashboards must then be on an exporter's /metrics or listed,
// once, in charts/monitoring/files/metric-sources.yaml; every listed name must
// be used.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { assertOwnPorts } from '../scripts/lib/net.ts';
import { chartDir, repoRoot } from '../scripts/lib/paths.ts';
import { renderChart, type K8sObject } from '../scripts/lib/render.ts';
import { container, containerEnv, ensureMongoTools, MONGO_TOOLS_BIN, waitUntil } from './helpers/mongod.ts';
import { exposedNames, metricNames } from './helpers/promql.ts';
import { configMapData, ensureRedisChartDependencies, freePort, localConfig, startRedis, stopAll, type RedisNode } from './helpers/redis-server.ts';
import { helms } from './helpers/render.ts';

const REDIS_EXPORTER = join(MONGO_TOOLS_BIN, 'redis_exporter');
const PASSWORD = 'exporter-Test_pass42';
const SOURCES_FILE = join(chartDir('monitoring'), 'files', 'metric-sources.yaml');
const UNIT_TESTS = join(repoRoot, 'test', 'fixtures', 'monitoring', 'rules.test.yaml');

let work: string;
const exporters = new Set<ChildProcess>();

beforeAll(async () => {
  ensureMongoTools();
  await ensureRedisChartDependencies(helms[0]!);
  work = mkdtempSync(join(tmpdir(), 'exporters-'));
});

afterAll(async () => {
  for (const child of exporters) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  await stopAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Starts the rendered redis chart's redis-server (start.sh, redis.conf made local). */
async function startRenderedRedis(objects: K8sObject[], name: string): Promise<RedisNode> {
  const dir = mkdtempSync(join(work, `${name}-`));
  const startScript = join(dir, 'start.sh');
  writeFileSync(startScript, configMapData(objects, 'shop-redis-scripts', 'start.sh'));
  const port = await freePort();
  return startRedis({ startScript, config: localConfig(configMapData(objects, 'shop-redis-config', 'redis.conf'), { port, dir: join(dir, 'data') }), port, dir: join(dir, 'data'), password: PASSWORD });
}

/**
 * Starts redis_exporter with the rendered metrics container's environment,
 * after the rendered metrics-auth init container's script wrote its password
 * file from the Secret's file; the two addresses (redis on 127.0.0.1:6379,
 * listening on :9121) and the file paths are made local, after checking they
 * are what the chart renders.
 */
async function startRedisExporter(objects: K8sObject[], redisPort: number): Promise<string> {
  const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata?.name === 'shop-redis');
  if (!sts) throw new Error('no StatefulSet shop-redis');
  const c = container(sts, 'metrics');
  expect(c.args ?? [], 'the exporter is configured by env only').toEqual([]);
  const env = containerEnv(objects, c);
  expect(env.REDIS_ADDR).toBe('redis://127.0.0.1:6379');
  expect(env.REDIS_EXPORTER_WEB_LISTEN_ADDRESS).toBe(':9121');
  // the password reaches the exporter only through the file the init container wrote
  expect(Object.values(env)).not.toContain(PASSWORD);
  expect(env.REDIS_PASSWORD_FILE).toBe('/run/redis-exporter/passwords.json');
  const init = container(sts, 'metrics-auth');
  const initEnv = containerEnv(objects, init);
  expect(initEnv).toEqual({ REDIS_PASSWORD_FILE: '/etc/redis-auth/redis-password', REDIS_ADDR: 'redis://127.0.0.1:6379', EXPORTER_AUTH_FILE: env.REDIS_PASSWORD_FILE });
  const dir = mkdtempSync(join(work, 'exporter-auth-'));
  const script = join(dir, 'exporter-auth.sh');
  writeFileSync(script, configMapData(objects, 'shop-redis-scripts', 'exporter-auth.sh'));
  writeFileSync(join(dir, 'redis-password'), PASSWORD, { mode: 0o440 });
  const authFile = join(dir, 'passwords.json');
  const wrote = await run('bash', [script], { env: { PATH: '/usr/bin:/bin', REDIS_PASSWORD_FILE: join(dir, 'redis-password'), REDIS_ADDR: `redis://127.0.0.1:${redisPort}`, EXPORTER_AUTH_FILE: authFile } });
  expect(wrote.code, wrote.stderr).toBe(0);
  expect(JSON.parse(readFileSync(authFile, 'utf8'))).toEqual({ [`redis://127.0.0.1:${redisPort}`]: PASSWORD });
  expect(statSync(authFile).mode & 0o777).toBe(0o400);
  env.REDIS_PASSWORD_FILE = authFile;
  const listen = await freePort();
  env.REDIS_ADDR = `redis://127.0.0.1:${redisPort}`;
  env.REDIS_EXPORTER_WEB_LISTEN_ADDRESS = `127.0.0.1:${listen}`;
  const child = spawn(REDIS_EXPORTER, [], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: 'ignore' });
  exporters.add(child);
  const url = `http://127.0.0.1:${listen}/metrics`;
  const text = await waitUntil(`redis_exporter on ${listen}`, async () => {
    if (child.exitCode !== null) throw new Error(`redis_exporter exited with ${child.exitCode}`);
    const response = await fetch(url);
    const text = await response.text();
    return /^redis_up 1$/m.test(text) ? text : undefined;
  }, 30_000, 200);
  assertOwnPorts('redis_exporter', child.pid as number, [listen]);
  return text;
}

describe('metric name extraction', () => {
  it('finds the metrics of an expression, not functions, labels, variables, strings or numbers', () => {
    expect(metricNames('sum by (namespace) (rate(http_requests_total{job="a",status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05')).toEqual(['http_requests_total']);
    expect(metricNames('(max by (namespace, member_idx) (label_replace(mongodb_x{job="m"}, "member_idx", "$1", "name", "(.+)")) == 0) or absent(up{job="m"})')).toEqual(['mongodb_x', 'up']);
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(h_bucket{namespace=~"$namespace"}[$__rate_interval]))) * 1e3')).toEqual(['h_bucket']);
    expect(metricNames('a / on (namespace) group_left (owner) b unless c offset 5m and time() - d > 3600')).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('exporters against real servers; every queried metric name exists', () => {
  const emitted = new Map<string, Set<string>>();
  let monitoring: K8sObject[];

  beforeAll(async () => {
    const [helm] = helms;
    if (!helm) throw new Error('no helm');
    const redisValues = join(work, 'redis-values.json');
    writeFileSync(redisValues, JSON.stringify({ global: { redis: { existingSecret: '' } }, auth: { password: PASSWORD } }));
    let standalone: K8sObject[];
    let cluster: K8sObject[];
    [standalone, cluster, monitoring] = await Promise.all([
      renderChart(helm, 'redis', { valuesFiles: [join(chartDir('redis'), 'ci', 'dev-values.yaml'), redisValues] }),
      renderChart(helm, 'redis', { valuesFiles: [join(chartDir('redis'), 'ci', 'prod-values.yaml'), redisValues] }),
      // every rule group: kube-state-metrics and kubelet series scraped
      renderChart(helm, 'monitoring', { valuesFiles: [join(chartDir('monitoring'), 'ci', 'prod-values.yaml')] }),
    ]);
    const [standaloneNode, clusterNode] = await Promise.all([startRenderedRedis(standalone, 'standalone'), startRenderedRedis(cluster, 'cluster')]);
    const [a, b] = await Promise.all([startRedisExporter(standalone, standaloneNode.port), startRedisExporter(cluster, clusterNode.port)]);
    emitted.set('redis standalone', exposedNames(a));
    emitted.set('redis cluster node', exposedNames(b));
  });

  it('redis_exporter reads a real standalone and a real cluster node with the rendered password', () => {
    const standalone = emitted.get('redis standalone')!;
    const cluster = emitted.get('redis cluster node')!;
    for (const names of [standalone, cluster]) {
      for (const name of ['redis_up', 'redis_memory_used_bytes', 'redis_memory_max_bytes', 'redis_connected_clients']) expect(names).toContain(name);
    }
    expect(cluster).toContain('redis_cluster_state');
    expect(standalone).not.toContain('redis_cluster_state');
  });

  it('every metric in the rules, the rule unit tests and the dashboards is an exporter\'s or listed once in metric-sources.yaml, and every listed one is used', () => {
    const used = new Map<string, string[]>(); // name -> where
    const note = (expr: string, where: string) => {
      for (const name of metricNames(expr)) used.set(name, [...(used.get(name) ?? []), where]);
    };
    // rendered rules (alert and recording)
    const ruleFiles = monitoring.flatMap((o) => Object.entries((o as { data?: Record<string, string> }).data ?? {}).filter(([key]) => key.endsWith('_rules.yml')));
    expect(ruleFiles.length).toBeGreaterThan(0);
    for (const [, text] of ruleFiles) {
      for (const group of (load(text) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }).groups) {
        for (const rule of group.rules) note(rule.expr, `rule ${rule.alert ?? rule.record}`);
      }
    }
    // rendered dashboards
    const dashboards = monitoring.filter((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'shop-grafana-dashboards');
    expect(dashboards).toHaveLength(1);
    for (const [file, json] of Object.entries((dashboards[0] as { data: Record<string, string> }).data)) {
      const dashboard = JSON.parse(json);
      for (const panel of dashboard.panels ?? []) for (const target of panel.targets ?? []) note(target.expr, `dashboard ${file}`);
      for (const variable of dashboard.templating?.list ?? []) {
        const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
        // label_values(<selector>, <label>): the selector's metric
        const selector = /^label_values\((.+), *[A-Za-z_]+\)$/.exec(query ?? '')?.[1];
        if (variable.type === 'query') note(selector ?? query ?? '', `dashboard ${file} variable`);
      }
    }
    // the promtool rule unit tests: their input series must be the real names too
    const unit = load(readFileSync(UNIT_TESTS, 'utf8')) as { tests: { input_series?: { series: string }[]; promql_expr_test?: { expr: string }[] }[] };
    for (const test of unit.tests) {
      for (const input of test.input_series ?? []) note(input.series, 'rules.test.yaml');
      for (const e of test.promql_expr_test ?? []) note(e.expr, 'rules.test.yaml');
    }

    const sources = load(readFileSync(SOURCES_FILE, 'utf8')) as Record<string, string[]>;
    const listed = new Map<string, string>();
    for (const [source, names] of Object.entries(sources)) {
      for (const name of names) {
        expect(listed.has(name), `${name} is listed under ${listed.get(name)} and ${source}`).toBe(false);
        listed.set(name, source);
      }
    }
    const fromExporters = new Set([...emitted.values()].flatMap((s) => [...s]));
    const unknown = [...used].filter(([name]) => !fromExporters.has(name) && !listed.has(name)).map(([name, where]) => `${name} (${[...new Set(where)].join(', ')})`);
    expect(unknown, 'queried but emitted by no exporter run here and not in metric-sources.yaml').toEqual([]);
    const unused = [...listed.keys()].filter((name) => !used.has(name));
    expect(unused, 'listed in metric-sources.yaml but queried nowhere').toEqual([]);
    const listedButEmitted = [...listed.keys()].filter((name) => fromExporters.has(name));
    expect(listedButEmitted, 'emitted by an exporter: remove from metric-sources.yaml').toEqual([]);
    // the redis series the chart queries are all proven here
    expect([...used.keys()].filter((n) => n.startsWith('redis_')).every((n) => fromExporters.has(n))).toBe(true);
  });
});
