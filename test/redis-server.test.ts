// The redis chart's rendered redis.conf, run on a real redis-server (Debian
// package) on 127.0.0.1 through the chart's own start.sh: for the dev and the
// prod values, under Helm 4 and Helm 3.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { chartDir } from '../scripts/lib/paths.ts';
import { renderChart } from '../scripts/lib/render.ts';
import { coalesce, readChartValues } from '../scripts/lib/values.ts';
import { helms } from './helpers/render.ts';
import { cli, configMapData, ensureRedisChartDependencies, freePort, localConfig, parseInfo, startRedis, stopAll, type RedisNode } from './helpers/redis-server.ts';

const PASSWORD = 'local-Test.pass_word~42';
const ciValues = (env: string) => join(chartDir('redis'), 'ci', `${env}-values.yaml`);

/** values.yaml coalesced with the ci file, as helm sees them. */
function effectiveValues(env: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  return coalesce(readChartValues('redis'), parse(readFileSync(ciValues(env), 'utf8')));
}

/** Bytes of a redis.conf size ("320mb" → 320 MiB). */
function redisBytes(size: string): number {
  const match = /^(\d+)(kb|mb|gb)?$/.exec(size);
  if (!match) throw new Error(`unexpected size ${size}`);
  const factor = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[match[2] as 'kb' | 'mb' | 'gb'] ?? 1;
  return Number(match[1]) * factor;
}

const workDir = mkdtempSync(join(tmpdir(), 'redis-server-test-'));
beforeAll(async () => {
  await ensureRedisChartDependencies(helms[0]!);
});
afterAll(async () => {
  await stopAll();
  rmSync(workDir, { recursive: true, force: true });
});

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('%s', (_label, helm) => {
  describe.each(['dev', 'prod'] as const)('%s values: rendered redis.conf on a real redis-server', (env) => {
    const values = effectiveValues(env);
    let node: RedisNode;
    let scriptsDir: string;

    beforeAll(async () => {
      const objects = await renderChart(helm, 'redis', { valuesFiles: [ciValues(env)] });
      const rendered = configMapData(objects, 'shop-redis-config', 'redis.conf');
      scriptsDir = mkdtempSync(join(workDir, `${helm.major}-${env}-scripts-`));
      for (const script of ['start.sh', 'probe.sh']) {
        writeFileSync(join(scriptsDir, script), configMapData(objects, 'shop-redis-scripts', script));
      }
      const port = await freePort();
      const dir = mkdtempSync(join(workDir, `${helm.major}-${env}-data-`));
      node = await startRedis({
        startScript: join(scriptsDir, 'start.sh'),
        config: localConfig(rendered, { port, dir }),
        port,
        dir,
        password: PASSWORD,
      });
    });

    afterAll(async () => {
      await node?.stop();
    });

    it('starts and requires the password (NOAUTH without it, WRONGPASS with a wrong one, PONG with it)', async () => {
      expect(await cli(node.port, ['ping'])).toMatch(/^NOAUTH/);
      expect(await cli(node.port, ['ping'], { password: 'not-the-password' })).toMatch(/WRONGPASS/);
      expect(await cli(node.port, ['ping'], { password: PASSWORD })).toBe('PONG');
    });

    it('persists with AOF (aof_enabled:1, appendfsync everysec)', async () => {
      const persistence = parseInfo(await cli(node.port, ['info', 'persistence'], { password: PASSWORD }));
      expect(persistence.aof_enabled).toBe('1');
      expect(await cli(node.port, ['config', 'get', 'appendfsync'], { password: PASSWORD })).toBe('appendfsync\neverysec');
      expect(await cli(node.port, ['config', 'get', 'appendonly'], { password: PASSWORD })).toBe('appendonly\nyes');
    });

    it('takes maxmemory and maxmemory-policy from values', async () => {
      expect(await cli(node.port, ['config', 'get', 'maxmemory'], { password: PASSWORD })).toBe(`maxmemory\n${redisBytes(values.config.maxmemory)}`);
      expect(await cli(node.port, ['config', 'get', 'maxmemory-policy'], { password: PASSWORD })).toBe(`maxmemory-policy\n${values.config.maxmemoryPolicy}`);
      expect(await cli(node.port, ['config', 'get', 'protected-mode'], { password: PASSWORD })).toBe('protected-mode\nyes');
    });

    it('refuses the renamed and disabled commands', async () => {
      expect(values.config.disabledCommands).toEqual(['FLUSHALL', 'FLUSHDB']);
      for (const command of values.config.disabledCommands) {
        expect(await cli(node.port, [command], { password: PASSWORD })).toMatch(/ERR unknown command/);
      }
      expect(await cli(node.port, ['debug', 'sleep', '0'], { password: PASSWORD })).toMatch(/DEBUG command not allowed/);
      expect(await cli(node.port, ['config', 'set', 'dir', '/tmp'], { password: PASSWORD })).toMatch(/protected config/);
      // CONFIG GET and the data path stay usable
      expect(await cli(node.port, ['set', 'k', 'v'], { password: PASSWORD })).toMatch(env === 'prod' ? /CLUSTERDOWN/ : /^OK$/);
    });

    it(env === 'prod' ? 'runs as a cluster node' : 'runs standalone', async () => {
      const info = parseInfo(await cli(node.port, ['info', 'cluster'], { password: PASSWORD }));
      expect(info.cluster_enabled).toBe(env === 'prod' ? '1' : '0');
    });

    it('keeps the password off the command line and in a 0600 runtime file', async () => {
      const cmdline = readFileSync(`/proc/${node.pid}/cmdline`, 'utf8').split('\0').join(' ');
      expect(cmdline).not.toContain(PASSWORD);
      const ps = await run('ps', ['-o', 'args=', '-p', String(node.pid)]);
      expect(ps.stdout).toMatch(/redis-server/);
      expect(ps.stdout).not.toContain(PASSWORD);
      const runtime = join(node.dir, 'run', 'redis.conf');
      expect(statSync(runtime).mode & 0o777).toBe(0o600);
      expect(readFileSync(runtime, 'utf8')).toContain(`requirepass "${PASSWORD}"`);
    });

    it('answers the chart probe script: ready with the password (from the mounted file, or REDISCLI_AUTH), not ready without', async () => {
      const probe = (password: string, mode: string, asFile = true) => {
        const file = join(node.dir, `probe-password-${mode}`);
        writeFileSync(file, password);
        const { REDISCLI_AUTH: _inherited, ...env } = process.env;
        const auth = asFile ? { REDISCLI_AUTH_FILE: file } : { REDISCLI_AUTH: password };
        return run('bash', [join(scriptsDir, 'probe.sh'), mode], { env: { ...env, ...auth, REDIS_PORT: String(node.port) }, timeoutMs: 15_000 });
      };
      expect((await probe(PASSWORD, 'readiness')).code).toBe(0);
      expect((await probe(PASSWORD, 'liveness')).code).toBe(0);
      expect((await probe(PASSWORD, 'readiness', false)).code).toBe(0);
      const wrong = await probe('wrong', 'readiness');
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/WRONGPASS|AUTH failed/);
    });
  });
});
