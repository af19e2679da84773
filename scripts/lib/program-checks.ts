// The lint stage's program checks (issue 25, class 1): every configuration a
// render gives a program is checked by that program's own validator -
// amtool check-config (Alertmanager), promtool check rules (Prometheus's rule
// files) and redis-server itself (the rendered redis.conf). A validator that
// is not installed is a setup failure (lint.ts reports it as missing), never
// a skip. `promtool check config` needs Kubernetes service discovery, which
// only the upstream promtool build has (test tier, minutes cold): the slow
// tier runs it on every environment's render (test/monitoring.test.ts), as it
// runs `otelcol validate` on every collector config (test/telemetry-programs.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.ts';
import type { K8sObject } from './render.ts';
import { findTool } from './tools.ts';

export type ProgramName = 'alertmanager' | 'prometheus-rules' | 'redis';

/** One configuration file a render gives a program. */
export interface RenderedConfig {
  /** the render (chart + values file) and the object it comes from */
  label: string;
  program: ProgramName;
  /** the ConfigMap or Secret key, e.g. alertmanager.yml */
  file: string;
  text: string;
}

export interface RenderLike {
  label: string;
  objects: readonly K8sObject[];
}

/** Which program reads a ConfigMap key: found by the file name each chart renders. */
export function programOfKey(key: string): ProgramName | undefined {
  if (key === 'alertmanager.yml') return 'alertmanager';
  if (/(^|_)rules\.ya?ml$/.test(key)) return 'prometheus-rules';
  if (key === 'redis.conf') return 'redis';
  return undefined;
}

/** Every program configuration in the renders (ConfigMaps, and Secrets' stringData). */
export function renderedConfigs(renders: readonly RenderLike[]): RenderedConfig[] {
  const configs: RenderedConfig[] = [];
  for (const render of renders) {
    for (const object of render.objects) {
      if (object.kind !== 'ConfigMap' && object.kind !== 'Secret') continue;
      const holder = object as { data?: Record<string, unknown>; stringData?: Record<string, unknown> };
      const data = (object.kind === 'Secret' ? holder.stringData : holder.data) ?? {};
      for (const [key, value] of Object.entries(data)) {
        const program = programOfKey(key);
        if (program && typeof value === 'string') {
          configs.push({ label: `${render.label}: ${object.kind}/${(object.metadata as { name?: string } | undefined)?.name ?? '?'} ${key}`, program, file: key, text: value });
        }
      }
    }
  }
  return configs;
}

export interface ProgramVerdict {
  ok: boolean;
  problems: string[];
}

async function inScratch<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const output = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);

export function amtoolCheck(amtool: string, text: string): Promise<ProgramVerdict> {
  return inScratch('amtool-', async (dir) => {
    writeFileSync(join(dir, 'alertmanager.yml'), text);
    const result = await run(amtool, ['check-config', 'alertmanager.yml'], { cwd: dir, timeoutMs: 60_000 });
    return { ok: result.code === 0, problems: result.code === 0 ? [] : output(result) };
  });
}

export function promtoolCheckRules(promtool: string, text: string): Promise<ProgramVerdict> {
  return inScratch('promtool-', async (dir) => {
    writeFileSync(join(dir, 'rules.yml'), text);
    const result = await run(promtool, ['check', 'rules', 'rules.yml'], { cwd: dir, timeoutMs: 60_000 });
    return { ok: result.code === 0, problems: result.code === 0 ? [] : output(result) };
  });
}

/**
 * redis-server reads the whole file and refuses any directive or argument it
 * does not accept (FATAL CONFIG FILE ERROR). The pod's paths and addresses are
 * pointed at a scratch directory and at no listener (port 0, loopback), so the
 * server exits right after "Configuration loaded" ("not listen anywhere"):
 * nothing is served and no data is written.
 */
export function redisConfigCheck(redisServer: string, text: string): Promise<ProgramVerdict> {
  return inScratch('redis-conf-', async (dir) => {
    let local = text;
    for (const [directive, value] of [['dir', dir], ['port', '0'], ['bind', '127.0.0.1']] as const) {
      const pattern = new RegExp(`^${directive} .*$`, 'm');
      local = pattern.test(local) ? local.replace(pattern, `${directive} ${value}`) : `${local}\n${directive} ${value}\n`;
    }
    // a unix socket would make it listen
    local = local.replace(/^unixsocket .*$/gm, '');
    writeFileSync(join(dir, 'redis.conf'), local);
    const result = await run(redisServer, [join(dir, 'redis.conf')], { cwd: dir, timeoutMs: 30_000 });
    const lines = output(result);
    const loaded = lines.some((l) => l.includes('Configuration loaded')) && !lines.some((l) => l.includes('FATAL CONFIG FILE ERROR'));
    return { ok: loaded, problems: loaded ? [] : lines.filter((l) => !/^\d+:[CM] /.test(l)).slice(0, 8) };
  });
}

/** The validator each program's configuration is checked with, as installed (upstream builds first: the deployed versions). */
export const PROGRAM_VALIDATORS: Record<ProgramName, { tools: string[]; why: string; check: (tool: string, text: string) => Promise<ProgramVerdict>; what: string }> = {
  alertmanager: { tools: ['amtool-upstream', 'amtool'], why: 'amtool, Alertmanager\'s config check', check: amtoolCheck, what: 'amtool check-config' },
  'prometheus-rules': { tools: ['promtool-upstream', 'promtool'], why: 'promtool, Prometheus\'s rule check', check: promtoolCheckRules, what: 'promtool check rules' },
  redis: { tools: ['redis-server'], why: 'redis-server, which reads the rendered redis.conf', check: redisConfigCheck, what: 'redis-server (config load)' },
};

export type ProgramLine = { ok: boolean; line: string; problems?: string[] } | { missing: string; why: string };

/** Runs every rendered configuration through its program's validator, a few at a time. */
export async function programChecks(renders: readonly RenderLike[], limit = 2, find: (name: string) => string | undefined = findTool): Promise<ProgramLine[]> {
  const configs = renderedConfigs(renders);
  const lines: ProgramLine[] = [];
  for (const [program, validator] of Object.entries(PROGRAM_VALIDATORS) as [ProgramName, (typeof PROGRAM_VALIDATORS)[ProgramName]][]) {
    const mine = configs.filter((c) => c.program === program);
    if (mine.length === 0) continue;
    const tool = validator.tools.map(find).find(Boolean);
    if (!tool) {
      lines.push({ missing: validator.what, why: validator.why });
      continue;
    }
    const verdicts: ProgramVerdict[] = new Array(mine.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(limit, mine.length) }, async () => {
        while (next < mine.length) {
          const i = next++;
          verdicts[i] = await validator.check(tool, mine[i]!.text);
        }
      }),
    );
    const failed = mine.flatMap((c, i) => (verdicts[i]!.ok ? [] : [`${c.label}:`, ...verdicts[i]!.problems.map((p) => `  ${p}`)]));
    const line = `${validator.what}: ${mine.length} rendered ${mine[0]!.file.endsWith('.conf') ? 'files' : 'configs'} over ${new Set(mine.map((c) => c.label.split(':')[0])).size} renders`;
    lines.push(failed.length === 0 ? { ok: true, line } : { ok: false, line, problems: failed });
  }
  return lines;
}
