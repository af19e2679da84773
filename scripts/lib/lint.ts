// The lint stage: helm lint --strict of every chart with every values file
// it is meant for, and ct lint when chart-testing is installed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { contentCache, fileHash, programIdentity, sha256, treeHash, treeListing } from './content-cache.ts';
import { run } from './exec.ts';
import { helmIdentity, type HelmBinary } from './helm.ts';
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

/**
 * What a checker's verdict depends on besides its input (a render, a file):
 * the program and its configuration. Any lint checker (helm lint, ct,
 * kubeconform, kube-score, checkov, actionlint, a program's own validator) is
 * cached by describing itself so; a change to any part is another key.
 */
export interface Checker {
  /** the checker's name (also keeps two checkers' verdicts apart) */
  name: string;
  /** the program's path: its resolved path, size and mtime are part of the key */
  program?: string;
  /** the program's version, when it is not in the file (a pinned script's) */
  version?: string;
  /** arguments and other settings, as JSON */
  config?: unknown;
  /** files the checker reads besides its input, by content */
  configFiles?: readonly string[];
  /** directories it reads, by content (a chart tree) */
  configTrees?: readonly string[];
  /** big generated directories it reads, by listing (path, size, mtime) */
  configListings?: readonly string[];
}

// a checker's part of the key, computed once per Checker object (a stage hands one object many renders)
const checkerKeys = new WeakMap<Checker, unknown>();

/** The key of a checker's verdict on an input: everything the verdict depends on. */
export function verdictKey(checker: Checker, input: string): unknown {
  let part = checkerKeys.get(checker);
  if (part === undefined) {
    part = checkerPart(checker);
    checkerKeys.set(checker, part);
  }
  return { checker: part, input: sha256(input) };
}

function checkerPart(checker: Checker): unknown {
  return {
    what: 'lint verdict v1',
    name: checker.name,
    program: checker.program ? programIdentity(checker.program) : null,
    version: checker.version ?? null,
    config: checker.config ?? null,
    files: (checker.configFiles ?? []).map((f) => `${f}:${fileHash(f)}`),
    trees: (checker.configTrees ?? []).map((d) => `${d}:${treeHash(d)}`),
    listings: (checker.configListings ?? []).map((d) => `${d}:${treeListing(d)}`),
  };
}

const verdicts = contentCache<unknown>('lint');

/** Hits and misses of the verdict cache in this process (bench). */
export const verdictCacheStats = verdicts.stats;

/**
 * A checker's verdict on `input`, reused from .cache/content/lint while the
 * input, the program and its configuration are unchanged. Only verdicts that
 * `keep` accepts are stored (by default all; a checker that crashed should say no).
 */
export function cachedVerdict<T>(checker: Checker, input: string, compute: () => Promise<T>, keep?: (verdict: T) => boolean): Promise<T> {
  return verdicts.get(verdictKey(checker, input), compute as () => Promise<unknown>, keep as ((v: unknown) => boolean) | undefined) as Promise<T>;
}

/**
 * The same for a checker that takes many inputs in one run (checkov: its
 * start-up costs more than a scan): only the inputs without a stored verdict
 * go to `computeMany`, in one call; verdicts come back in input order.
 */
export async function cachedVerdicts<T>(checker: Checker, inputs: readonly string[], computeMany: (inputs: string[]) => Promise<T[]>, keep: (verdict: T) => boolean = () => true): Promise<T[]> {
  const keys = inputs.map((input) => verdictKey(checker, input));
  const found = keys.map((key) => verdicts.peek(key) as T | undefined);
  const missing = found.flatMap((v, i) => (v === undefined ? [i] : []));
  if (missing.length) {
    const computed = await computeMany(missing.map((i) => inputs[i] as string));
    missing.forEach((i, j) => {
      const verdict = computed[j] as T;
      found[i] = verdict;
      if (keep(verdict)) verdicts.put(keys[i], verdict);
    });
  }
  return found as T[];
}

export async function helmLint(helm: HelmBinary, target: LintTarget): Promise<CheckResult> {
  const args = ['lint', '--strict', chartDir(target.chart)];
  if (target.valuesFile) args.push('--values', target.valuesFile);
  const checker: Checker = { name: 'helm lint', version: helmIdentity(helm), config: args.slice(0, 2), configTrees: [chartDir(target.chart)] };
  // the input: the values file's bytes (the chart is configuration here)
  const input = target.valuesFile ? readFileSync(target.valuesFile, 'utf8') : '';
  const result = await cachedVerdict(checker, input, () => run(helm.path, args), (r) => r.code === 0);
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
