// The redis chart's cluster bootstrap (bootstrap.sh, taken from the rendered
// scripts ConfigMap) run with bash against the prod-sized set of real
// redis-server processes on 127.0.0.1, each started with the rendered cluster
// redis.conf through the chart's start.sh. redis-cli is wrapped by a recording
// shim on PATH, so the tests see every command the script ran.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type ExecResult } from '../scripts/lib/exec.ts';
import { chartDir } from '../scripts/lib/paths.ts';
import { renderChart } from '../scripts/lib/render.ts';
import { helms } from './helpers/render.ts';
import {
  cli,
  configMapData,
  ensureRedisChartDependencies,
  freePort,
  HOST,
  localConfig,
  parseInfo,
  REDIS_CLI,
  startRedis,
  stopAll,
  waitFor,
  type RedisNode,
} from './helpers/redis-server.ts';

const PASSWORD = 'cluster-Test_pass.42';
const NODES = 6; // ci/prod-values.yaml: 3 masters x (1 + 1 replica)
const REPLICAS = 1;
const TOTAL_SLOTS = 16384;
/** What the script must never run on a cluster that exists (MEET is checked separately). */
const DESTRUCTIVE = /--cluster\s+(create|fix|rebalance|reshard|add-node|del-node)|\b(reset|flushall|flushdb|forget|addslots|addslotsrange|delslots|delslotsrange|failover|replicate|setslot)\b/i;

const workDir = mkdtempSync(join(tmpdir(), 'redis-cluster-test-'));
const shimDir = join(workDir, 'shim');
const callLog = join(workDir, 'redis-cli-calls.log');
let rendered: { config: string; bootstrap: string; start: string };

interface NodeView {
  id: string;
  role: 'master' | 'slave';
  master: string;
  slots: string[];
}

/** Each node's own line of CLUSTER NODES, keyed by node id. */
async function snapshot(nodes: RedisNode[]): Promise<Record<string, NodeView>> {
  const out: Record<string, NodeView> = {};
  for (const node of nodes) {
    const text = await cli(node.port, ['cluster', 'nodes'], { password: PASSWORD });
    const mine = text.split('\n').find((l) => l.split(' ')[2]?.includes('myself'));
    if (!mine) throw new Error(`no myself line on ${node.port}:\n${text}`);
    const [id, , flags, master, , , , , ...slots] = mine.split(' ');
    out[id as string] = { id: id as string, role: (flags as string).includes('master') ? 'master' : 'slave', master: master as string, slots };
  }
  return out;
}

function slotCount(ranges: string[]): number {
  return ranges.reduce((sum, r) => {
    const [a, b] = r.split('-').map(Number);
    return sum + ((b ?? a) as number) - (a as number) + 1;
  }, 0);
}

async function clusterInfo(node: RedisNode): Promise<Record<string, string>> {
  return parseInfo(await cli(node.port, ['cluster', 'info'], { password: PASSWORD }));
}

async function expectHealthy(nodes: RedisNode[]): Promise<Record<string, NodeView>> {
  // The script waited for this already; a short bounded wait keeps the check honest without racing gossip.
  await waitFor('cluster_state:ok on every node', async () => {
    for (const node of nodes) {
      const info = await clusterInfo(node);
      if (info.cluster_state !== 'ok' || info.cluster_slots_ok !== String(TOTAL_SLOTS) || info.cluster_known_nodes !== String(NODES)) return undefined;
    }
    return true;
  }, 30_000, 250);
  for (const node of nodes) {
    const info = await clusterInfo(node);
    expect(info.cluster_state).toBe('ok');
    expect(info.cluster_slots_assigned).toBe(String(TOTAL_SLOTS));
    expect(info.cluster_slots_ok).toBe(String(TOTAL_SLOTS));
    expect(info.cluster_known_nodes).toBe(String(NODES));
  }
  const views = await snapshot(nodes);
  const masters = Object.values(views).filter((v) => v.role === 'master');
  const replicas = Object.values(views).filter((v) => v.role === 'slave');
  expect(masters).toHaveLength(NODES / (1 + REPLICAS));
  expect(replicas).toHaveLength(NODES - masters.length);
  expect(masters.reduce((sum, m) => sum + slotCount(m.slots), 0)).toBe(TOTAL_SLOTS);
  for (const master of masters) expect(replicas.filter((r) => r.master === master.id)).toHaveLength(REPLICAS);
  return views;
}

async function startNode(port: number, dir: string): Promise<RedisNode> {
  return startRedis({
    startScript: join(workDir, 'start.sh'),
    config: localConfig(rendered.config, { port, dir }),
    port,
    dir,
    password: PASSWORD,
    // In the pod: $(POD_NAME).<release>-redis-headless.<ns>.svc.cluster.local
    announceHostname: HOST,
  });
}

async function startSet(name: string, ports?: number[]): Promise<RedisNode[]> {
  const chosen = ports ?? (await Promise.all(Array.from({ length: NODES }, () => freePort())));
  return Promise.all(chosen.map((port, i) => startNode(port, join(workDir, name, `node-${i}`))));
}

interface BootstrapRun extends ExecResult {
  calls: string[];
}

async function bootstrap(nodes: RedisNode[], args: string[] = []): Promise<BootstrapRun> {
  writeFileSync(callLog, '');
  // As the chart runs it: the password in a file (the mounted Secret), not in the environment.
  const passwordFile = join(workDir, 'redis-password');
  writeFileSync(passwordFile, PASSWORD, { mode: 0o400 });
  const { REDISCLI_AUTH: _unset, ...inherited } = process.env;
  const result = await run('bash', [join(workDir, 'bootstrap.sh'), ...args], {
    env: {
      ...inherited,
      PATH: `${shimDir}:${process.env.PATH}`,
      REDIS_NODES: nodes.map((n) => `${HOST}:${n.port}`).join(','),
      REDISCLI_AUTH_FILE: passwordFile,
      REDIS_CLUSTER_REPLICAS: String(REPLICAS),
      REDIS_BOOTSTRAP_TIMEOUT: '60',
      REDIS_CALL_TIMEOUT: '5',
    },
    timeoutMs: 110_000,
  });
  const calls = readFileSync(callLog, 'utf8').split('\n').filter(Boolean);
  return { ...result, calls };
}

function expectNoPasswordInArgs(run: BootstrapRun) {
  expect(run.calls.length).toBeGreaterThan(0);
  for (const call of run.calls) expect(call).not.toContain(PASSWORD);
}

beforeAll(async () => {
  const helm4 = helms[0];
  if (!helm4) throw new Error('no helm');
  await ensureRedisChartDependencies(helm4);
  // Both helm majors render the same cluster config and scripts; the processes run helm 4's.
  const renders = await Promise.all(
    helms.map(async (helm) => {
      const objects = await renderChart(helm, 'redis', { valuesFiles: [join(chartDir('redis'), 'ci', 'prod-values.yaml')] });
      return {
        config: configMapData(objects, 'shop-redis-config', 'redis.conf'),
        bootstrap: configMapData(objects, 'shop-redis-scripts', 'bootstrap.sh'),
        start: configMapData(objects, 'shop-redis-scripts', 'start.sh'),
      };
    }),
  );
  rendered = renders[0] as typeof rendered;
  for (const other of renders.slice(1)) expect(other).toEqual(rendered);
  writeFileSync(join(workDir, 'bootstrap.sh'), rendered.bootstrap);
  writeFileSync(join(workDir, 'start.sh'), rendered.start);
  mkdirSync(shimDir);
  // The recording shim: one line per redis-cli invocation, then the real binary.
  writeFileSync(join(shimDir, 'redis-cli'), `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >>${JSON.stringify(callLog)}\nexec ${REDIS_CLI} "$@"\n`);
  chmodSync(join(shimDir, 'redis-cli'), 0o755);
});

afterAll(async () => {
  await stopAll();
  rmSync(workDir, { recursive: true, force: true });
});

describe('rendered cluster redis.conf', () => {
  it('enables cluster mode with nodes.conf on the data volume and hostname endpoints', () => {
    expect(rendered.config).toMatch(/^cluster-enabled yes$/m);
    expect(rendered.config).toMatch(/^cluster-config-file nodes\.conf$/m); // relative to dir /data: on the PVC
    expect(rendered.config).toMatch(/^dir \/data$/m);
    expect(rendered.config).toMatch(/^cluster-preferred-endpoint-type hostname$/m);
    expect(rendered.config).not.toMatch(/requirepass|masterauth/);
  });
});

describe('bootstrap.sh on 6 redis-server processes (3 masters, 1 replica each)', () => {
  let nodes: RedisNode[];
  let created: Record<string, NodeView>;

  beforeAll(async () => {
    nodes = await startSet('main');
  });

  it('creates the cluster: cluster_state:ok, 16384 slots, 3 masters and 3 replicas', async () => {
    const first = await bootstrap(nodes);
    expect(first.code, first.stderr).toBe(0);
    expect(first.calls.filter((c) => /--cluster create/.test(c))).toHaveLength(1);
    expectNoPasswordInArgs(first);
    created = await expectHealthy(nodes);
    // each node announces the hostname start.sh gave it
    const line = (await cli(nodes[0]!.port, ['cluster', 'nodes'], { password: PASSWORD })).split('\n')[0] as string;
    expect(line.split(' ')[1]).toMatch(new RegExp(`^${HOST.replace(/\./g, '\\.')}:\\d+@\\d+,${HOST.replace(/\./g, '\\.')}$`));
    // a cluster client follows MOVED redirects between the nodes
    for (let k = 0; k < 10; k++) expect(await cli(nodes[0]!.port, ['-c', 'set', `key:${k}`, `v${k}`], { password: PASSWORD })).toBe('OK');
    for (let k = 0; k < 10; k++) expect(await cli(nodes[5]!.port, ['-c', 'get', `key:${k}`], { password: PASSWORD })).toBe(`v${k}`);
  });

  it('changes nothing when run again: same node ids, roles and slots; no destructive command, no MEET', async () => {
    const again = await bootstrap(nodes);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/cluster exists and is ok; nothing to do/);
    expect(again.calls.filter((c) => DESTRUCTIVE.test(c))).toEqual([]);
    expect(again.calls.filter((c) => /\bmeet\b/i.test(c))).toEqual([]);
    expectNoPasswordInArgs(again);
    expect(await snapshot(nodes)).toEqual(created);
  });

  it('leaves the cluster ok after a node is killed and restarts with its nodes.conf', async () => {
    const victim = 1;
    const { port, dir } = nodes[victim]!;
    await nodes[victim]!.stop('SIGKILL');
    nodes[victim] = await startNode(port, dir);
    const after = await bootstrap(nodes);
    expect(after.code, after.stderr).toBe(0);
    expect(after.calls.filter((c) => DESTRUCTIVE.test(c))).toEqual([]);
    const views = await expectHealthy(nodes);
    expect(Object.keys(views).sort()).toEqual(Object.keys(created).sort());
    expect(await cli(nodes[victim]!.port, ['-c', 'get', 'key:3'], { password: PASSWORD })).toBe('v3');
  });

  it('re-introduces the nodes with CLUSTER MEET when every node comes back on a new address', async () => {
    // The pods-all-got-new-IPs case: every address in every nodes.conf is stale.
    const dirs = nodes.map((n) => n.dir);
    await Promise.all(nodes.map((n) => n.stop('SIGTERM')));
    const ports = await Promise.all(dirs.map(() => freePort()));
    nodes = await Promise.all(dirs.map((dir, i) => startNode(ports[i] as number, dir)));
    // every node still knows its peers only at their old ports: it cannot find them alone
    for (const node of nodes) {
      const peers = (await cli(node.port, ['cluster', 'nodes'], { password: PASSWORD })).split('\n').filter((l) => !l.includes('myself'));
      expect(peers).toHaveLength(NODES - 1);
      for (const peer of peers) expect(ports.some((p) => peer.includes(`:${p}@`))).toBe(false);
    }
    const healed = await bootstrap(nodes);
    expect(healed.code, healed.stderr).toBe(0);
    expect(healed.calls.filter((c) => /\bcluster meet\b/i.test(c)).length).toBeGreaterThan(0);
    expect(healed.calls.filter((c) => DESTRUCTIVE.test(c))).toEqual([]);
    const views = await expectHealthy(nodes);
    expect(views).toEqual(created); // same ids, roles, masters and slots
    expect(await cli(nodes[2]!.port, ['-c', 'get', 'key:7'], { password: PASSWORD })).toBe('v7');
    const settled = await bootstrap(nodes);
    expect(settled.stderr).toMatch(/nothing to do/);
  });

  afterAll(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop('SIGKILL')));
  });
});

describe('bootstrap.sh refuses unsafe states', () => {
  let nodes: RedisNode[] = [];

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  });

  it('with --no-create, leaves a fresh set of nodes alone', async () => {
    nodes = await startSet('fresh');
    const result = await bootstrap(nodes, ['--no-create']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/creation is disabled/);
    expect(result.calls.filter((c) => DESTRUCTIVE.test(c) || /\bmeet\b/i.test(c))).toEqual([]);
    for (const node of nodes) expect((await clusterInfo(node)).cluster_known_nodes).toBe('1');
  });

  it('refuses to create when one node already holds slots (exit 2, nothing changed)', async () => {
    expect(await cli(nodes[0]!.port, ['cluster', 'addslotsrange', '0', '99'], { password: PASSWORD })).toBe('OK');
    const result = await bootstrap(nodes);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/REFUSING: partially set up/);
    expect(result.calls.filter((c) => DESTRUCTIVE.test(c) || /\bmeet\b/i.test(c))).toEqual([]);
    expect((await clusterInfo(nodes[0]!)).cluster_slots_assigned).toBe('100');
    for (const node of nodes.slice(1)) expect((await clusterInfo(node)).cluster_slots_assigned).toBe('0');
  });

  it('refuses when half of the nodes already form a cluster and the rest are empty', async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    nodes = await startSet('partial');
    // three masters created by hand, outside the script
    const made = await run(REDIS_CLI, ['--cluster', 'create', ...nodes.slice(0, 3).map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      env: { ...process.env, REDISCLI_AUTH: PASSWORD },
      timeoutMs: 60_000,
    });
    expect(made.code, made.stdout).toBe(0);
    await waitFor('the 3-node cluster', async () => ((await clusterInfo(nodes[0]!)).cluster_state === 'ok' ? true : undefined), 30_000);
    const before = await snapshot(nodes.slice(0, 3));
    const result = await bootstrap(nodes);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/REFUSING: partially set up: 3 empty node/);
    expect(result.calls.filter((c) => DESTRUCTIVE.test(c) || /\bmeet\b/i.test(c))).toEqual([]);
    expect(await snapshot(nodes.slice(0, 3))).toEqual(before);
    for (const node of nodes.slice(3)) expect((await clusterInfo(node)).cluster_known_nodes).toBe('1');
  });

  it('refuses to merge nodes of two different clusters', async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    nodes = await startSet('two-clusters');
    for (const group of [nodes.slice(0, 3), nodes.slice(3)]) {
      const made = await run(REDIS_CLI, ['--cluster', 'create', ...group.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
        env: { ...process.env, REDISCLI_AUTH: PASSWORD },
        timeoutMs: 60_000,
      });
      expect(made.code, made.stdout).toBe(0);
    }
    const result = await bootstrap(nodes);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/different clusters; not merging them/);
    expect(result.calls.filter((c) => DESTRUCTIVE.test(c) || /\bmeet\b/i.test(c))).toEqual([]);
    for (const node of nodes) expect((await clusterInfo(node)).cluster_known_nodes).toBe('3');
  });
});
