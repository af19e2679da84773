// The lint stage's program checks (scripts/lib/program-checks.ts): which rendered
// files go to which program, and the programs' verdicts on a good and a broken
// file each (amtool, promtool and redis-server are main-tier tools: npm run setup).
import { describe, expect, it } from 'vitest';
import { amtoolCheck, programChecks, programOfKey, promtoolCheckRules, redisConfigCheck, renderedConfigs, PROGRAM_VALIDATORS } from '../scripts/lib/program-checks.ts';
import { findTool } from '../scripts/lib/tools.ts';
import type { K8sObject } from '../scripts/lib/render.ts';

const tool = (program: keyof typeof PROGRAM_VALIDATORS): string => {
  const found = PROGRAM_VALIDATORS[program].tools.map(findTool).find(Boolean);
  if (!found) throw new Error(`${PROGRAM_VALIDATORS[program].what}: not installed (npm run setup installs it)`);
  return found;
};

const configMap = (name: string, data: Record<string, string>): K8sObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data }) as K8sObject;

const REDIS_CONF = ['port 6379', 'bind * -::*', 'dir /data', 'appendonly yes', 'appendfsync everysec', 'maxmemory 320mb', 'maxmemory-policy volatile-lru', 'save 3600 1', 'rename-command FLUSHALL ""', 'cluster-enabled yes', 'cluster-config-file nodes.conf', ''].join('\n');

describe('renderedConfigs', () => {
  it('finds each program configuration by the key the charts render it under', () => {
    expect(['alertmanager.yml', 'techshop_rules.yml', 'rules.yaml', 'redis.conf', 'prometheus.yml', 'config.yaml', 'hosts'].map(programOfKey)).toEqual([
      'alertmanager', 'prometheus-rules', 'prometheus-rules', 'redis', undefined, undefined, undefined,
    ]);
    const configs = renderedConfigs([{ label: 'techshop + values-dev.yaml', objects: [configMap('shop-alertmanager', { 'alertmanager.yml': 'route: {}' }), configMap('shop-mongodb', { hosts: 'x' })] }]);
    expect(configs.map((c) => [c.label, c.program])).toEqual([['techshop + values-dev.yaml: ConfigMap/shop-alertmanager alertmanager.yml', 'alertmanager']]);
  });

  it('a validator that is not installed is reported missing (the stage fails), never skipped', async () => {
    const lines = await programChecks([{ label: 'r', objects: [configMap('a', { 'alertmanager.yml': 'x', 'redis.conf': 'port 6379' })] }], 2, () => undefined);
    expect(lines).toEqual([
      { missing: 'amtool check-config', why: PROGRAM_VALIDATORS.alertmanager.why },
      { missing: 'redis-server (config load)', why: PROGRAM_VALIDATORS.redis.why },
    ]);
  });
});

describe('the programs themselves', () => {
  it('redis-server loads a rendered redis.conf and refuses a directive argument it does not know', async () => {
    expect(await redisConfigCheck(tool('redis'), REDIS_CONF)).toEqual({ ok: true, problems: [] });
    const bad = await redisConfigCheck(tool('redis'), REDIS_CONF.replace('volatile-lru', 'volatile-lfru'));
    expect(bad.ok).toBe(false);
    expect(bad.problems.join('\n')).toMatch(/FATAL CONFIG FILE ERROR[\s\S]*maxmemory-policy volatile-lfru/);
  });

  it('promtool check rules refuses a rule whose expression does not parse', async () => {
    const rule = (expr: string) => `groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: ${JSON.stringify(expr)}\n        for: 5m\n`;
    expect((await promtoolCheckRules(tool('prometheus-rules'), rule('up == 0'))).ok).toBe(true);
    expect((await promtoolCheckRules(tool('prometheus-rules'), rule('up == = 0'))).ok).toBe(false);
  });

  it('amtool check-config refuses a duration in words', async () => {
    const config = (wait: string) => `route:\n  receiver: default\n  group_wait: ${wait}\nreceivers:\n  - name: default\n`;
    expect((await amtoolCheck(tool('alertmanager'), config('30s'))).ok).toBe(true);
    expect((await amtoolCheck(tool('alertmanager'), config('30 seconds'))).ok).toBe(false);
  });
});
