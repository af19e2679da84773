// The lint stage: helm lint --strict of every chart with every values file
// it is meant for, and ct lint when chart-testing is installed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from './exec.ts';
import type { HelmBinary } from './helm.ts';
import { chartDir, chartNames, environments, repoRoot, umbrellaChart, valuesFile } from './paths.ts';

export interface LintTarget {
  chart: string;
  valuesFile?: string;
  /** CRD-backed APIs the values ask for (the file's `# lint-api-versions:` line): helm template gets them as --api-versions. */
  apiVersions?: string[];
}

/**
 * A ci values file that turns on a CRD-backed object names the APIs it needs in
 * a comment line, `# lint-api-versions: group/version/Kind ...`, as one would pass
 * `--api-versions` to helm template for a cluster that serves them.
 */
export function declaredApiVersions(text: string): string[] {
  const line = /^# lint-api-versions:(.*)$/m.exec(text);
  return line ? (line[1] as string).trim().split(/\s+/).filter(Boolean) : [];
}

/** The umbrella with each environment's file; every chart with its ci/*-values.yaml; library charts alone. */
export function lintTargets(): LintTarget[] {
  const targets: LintTarget[] = [];
  for (const chart of chartNames) {
    const ciDir = join(chartDir(chart), 'ci');
    const ciFiles = existsSync(ciDir) ? readdirSync(ciDir).filter((f) => f.endsWith('-values.yaml')).sort() : [];
    if (ciFiles.length === 0) targets.push({ chart });
    for (const f of ciFiles) {
      const apiVersions = declaredApiVersions(readFileSync(join(ciDir, f), 'utf8'));
      targets.push({ chart, valuesFile: join(ciDir, f), ...(apiVersions.length ? { apiVersions } : {}) });
    }
    if (chart === umbrellaChart) for (const env of environments) targets.push({ chart, valuesFile: valuesFile(env) });
  }
  return targets;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export function describeTarget(target: LintTarget): string {
  return target.valuesFile ? `${target.chart} + ${relative(repoRoot, target.valuesFile)}` : target.chart;
}

/**
 * The verdict of one helm lint run. Helm 4 lints a template `fail` as
 * `level=INFO msg="funcMap fail" message="..."` (Helm 3: `[INFO] Fail: ...`)
 * and still reports "0 chart(s) failed" with exit code 0: such a line is a failure here,
 * whatever helm's exit code, and its message is the detail.
 */
export function lintVerdict(code: number, stdout: string, stderr: string, apiVersions: readonly string[] = []): { ok: boolean; detail: string } {
  const lines = `${stdout}\n${stderr}`.split('\n').filter((line) => !expectedApiRefusal(line, apiVersions));
  const fails = [
    ...new Set(
      lines.flatMap((line) => {
        // Helm 4: level=INFO msg="funcMap fail" message="..."; Helm 3: engine.go:NNN: [INFO] Fail: ...
        if (/msg="?funcMap fail"?/.test(line)) {
          const message = /message="((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
          return [`[ERROR] template fail: ${message ? message.replace(/\\"/g, '"') : line.trim()}`];
        }
        const v3 = /\[INFO\] Fail: (.*)$/.exec(line);
        return v3 ? [`[ERROR] template fail: ${v3[1]}`] : [];
      }),
    ),
  ];
  const problems = lines.filter((line) => /\[(ERROR|WARNING)\]|^Error/.test(line));
  const detail = [...fails, ...problems].join('\n');
  return { ok: code === 0 && fails.length === 0, detail: detail || stderr.trim() };
}

/**
 * helm lint has no --api-versions: for a target that declares the CRD-backed APIs
 * it needs, the chart's refusal of exactly those APIs (rule api-not-served) is
 * what helm lint must say, and is not a finding. The render checks then run
 * helm template with --api-versions, so every template is still rendered and checked.
 */
function expectedApiRefusal(line: string, apiVersions: readonly string[]): boolean {
  if (!line.includes('[rule api-not-served]')) return false;
  return apiVersions.some((api) => {
    const slash = api.lastIndexOf('/');
    return line.includes(`the cluster does not serve ${api.slice(0, slash)} ${api.slice(slash + 1)}.`);
  });
}

export async function helmLint(helm: HelmBinary, target: LintTarget): Promise<CheckResult> {
  const args = ['lint', '--strict', chartDir(target.chart)];
  if (target.valuesFile) args.push('--values', target.valuesFile);
  const result = await run(helm.path, args);
  return { name: `helm ${helm.version} lint ${describeTarget(target)}`, ...lintVerdict(result.code, result.stdout, result.stderr, target.apiVersions) };
}

/** Runs tasks with at most `limit` at once (2 cores here: helm is CPU-bound). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}
