// Real redis-server processes on 127.0.0.1 for the redis chart's tests, started
// through the chart's own start.sh (so requirepass is added exactly as in the
// container). Every wait is bounded; stopAll() kills whatever is still running.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../scripts/lib/exec.ts';
import { assertOwnPorts, freePort as allocatePort } from '../../scripts/lib/net.ts';
import { findObject, type K8sObject } from '../../scripts/lib/render.ts';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_CLI = '/usr/bin/redis-cli';
export const HOST = '127.0.0.1';

const running = new Set<ChildProcess>();

/** A data key of a rendered ConfigMap. */
export function configMapData(objects: K8sObject[], name: string, key: string): string {
  const value = findObject(objects, 'ConfigMap', name).data?.[key];
  if (typeof value !== 'string') throw new Error(`ConfigMap ${name} has no key ${key}`);
  return value;
}

/** A cluster node listens on its port + 10000 for the cluster bus (redis.conf's cluster-port 0 = this default). */
export const CLUSTER_BUS_OFFSET = 10000;

/**
 * A free port whose cluster bus port (port + 10000) is free too, both from
 * the one allocator (scripts/lib/net.ts), outside the kernel's ephemeral range:
 * a bus port picked inside it lost to an outgoing connection in a CI run.
 */
export function freePort(): Promise<number> {
  return allocatePort({ beside: [CLUSTER_BUS_OFFSET] });
}

/**
 * The rendered redis.conf with only what must differ on a laptop: the port,
 * the data directory and the bind address. Fails when a line to rewrite is
 * missing, so a changed template cannot silently skip the rewrite.
 */
export function localConfig(rendered: string, options: { port: number; dir: string }): string {
  let text = rendered;
  for (const [directive, value] of [
    ['port', String(options.port)],
    ['dir', options.dir],
    ['bind', HOST],
  ] as const) {
    const pattern = new RegExp(`^${directive} .*$`, 'm');
    if (!pattern.test(text)) throw new Error(`rendered redis.conf has no "${directive}" line`);
    text = text.replace(pattern, `${directive} ${value}`);
  }
  return text;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** One redis-cli call (without -a: the password goes through REDISCLI_AUTH, as in the chart). */
export async function cli(port: number, args: string[], options: { password?: string; timeoutMs?: number } = {}): Promise<string> {
  const env = { ...process.env };
  delete env.REDISCLI_AUTH;
  if (options.password !== undefined) env.REDISCLI_AUTH = options.password;
  const result = await run(REDIS_CLI, ['--no-auth-warning', '-h', HOST, '-p', String(port), ...args], { env, timeoutMs: options.timeoutMs ?? 10_000 });
  return `${result.stdout}${result.stderr}`.replace(/\r/g, '').trim();
}

/** key:value lines of INFO / CLUSTER INFO. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([a-z_0-9]+):(.*)$/.exec(line.trim());
    if (match) out[match[1] as string] = match[2] as string;
  }
  return out;
}

export interface RedisNode {
  port: number;
  dir: string;
  pid: number;
  output: () => string;
  /** Signals the process and waits (bounded) for it to exit. */
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

export interface StartOptions {
  /** path of the chart's start.sh (extracted from the rendered ConfigMap) */
  startScript: string;
  /** the rendered redis.conf, already made local with localConfig() */
  config: string;
  port: number;
  dir: string;
  password: string;
  announceHostname?: string;
  readyTimeoutMs?: number;
}

/** Starts redis-server through start.sh and waits until an authenticated PING answers PONG. */
export async function startRedis(options: StartOptions): Promise<RedisNode> {
  mkdirSync(options.dir, { recursive: true });
  const configPath = join(options.dir, 'redis.conf');
  writeFileSync(configPath, options.config);
  // the password as the chart gives it: a file of the mounted Secret
  const passwordFile = join(options.dir, 'redis-password');
  writeFileSync(passwordFile, options.password, { mode: 0o400 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_PASSWORD_FILE: passwordFile,
    REDIS_CONFIG: configPath,
    REDIS_RUNTIME_DIR: join(options.dir, 'run'),
    REDIS_SERVER: REDIS_SERVER,
  };
  delete env.REDIS_PASSWORD;
  if (options.announceHostname) env.REDIS_ANNOUNCE_HOSTNAME = options.announceHostname;
  else delete env.REDIS_ANNOUNCE_HOSTNAME;
  const child = spawn('bash', [options.startScript], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += String(chunk)));
  child.stderr?.on('data', (chunk) => (output += String(chunk)));
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      running.delete(child);
      resolve();
    });
  });
  const node: RedisNode = {
    port: options.port,
    dir: options.dir,
    pid: child.pid as number,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (exited) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
  try {
    await waitFor(
      `redis-server on ${options.port}`,
      async () => {
        if (exited) throw new Error(`redis ${exited}:\n${output}`);
        return (await cli(options.port, ['ping'], { password: options.password, timeoutMs: 2_000 })) === 'PONG' ? true : undefined;
      },
      options.readyTimeoutMs ?? 20_000,
      100,
    );
    // nothing beside the ports handed out: the bus port of a cluster node, nothing else
    const cluster = /^cluster-enabled yes$/m.test(options.config);
    assertOwnPorts(`redis-server on ${options.port}`, node.pid, cluster ? [options.port, options.port + CLUSTER_BUS_OFFSET] : [options.port]);
  } catch (error) {
    await node.stop('SIGKILL');
    throw new Error(`${String(error)}\n--- redis output ---\n${output}`);
  }
  return node;
}

/** Kills every process started here that is still running. */
export async function stopAll(): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
          setTimeout(resolve, 5_000);
        }),
    ),
  );
  running.clear();
}

/**
 * Builds charts/redis/charts/common-*.tgz when it is missing or older than the
 * common chart, under a lock (test files run in parallel processes). The
 * global setup does this for every chart in scripts/lib/paths.ts chartNames;
 * this covers charts/redis until it is listed there.
 */
export async function ensureRedisChartDependencies(helm: { path: string }): Promise<void> {
  const { existsSync, readdirSync, rmdirSync } = await import('node:fs');
  const { repoRoot } = await import('../../scripts/lib/paths.ts');
  const chart = join(repoRoot, 'charts', 'redis');
  const common = join(repoRoot, 'charts', 'common');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  const fresh = () => {
    const dir = join(chart, 'charts');
    if (!existsSync(dir)) return false;
    const tgz = readdirSync(dir).filter((f) => /^common-.*\.tgz$/.test(f));
    return tgz.length === 1 && statSync(join(dir, tgz[0] as string)).mtimeMs >= newest(common);
  };
  if (fresh()) return;
  const lock = join(repoRoot, '.cache', 'redis-chart-deps.lock');
  mkdirSync(join(repoRoot, '.cache'), { recursive: true });
  await waitFor('the redis chart dependency lock', async () => {
    try {
      mkdirSync(lock);
      return true;
    } catch {
      return undefined;
    }
  }, 120_000, 250);
  try {
    if (fresh()) return;
    const result = await run(helm.path, ['dependency', 'build', chart, '--skip-refresh']);
    if (result.code !== 0) throw new Error(`helm dependency build charts/redis failed:\n${result.stderr}`);
  } finally {
    rmdirSync(lock);
  }
}
