// Checks of what the charts render (DESIGN "checks" 3): strict Kubernetes
// schemas for the oldest and newest supported versions (kubeconform),
// kube-score, and our Pod Security / NetworkPolicy checks.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { run } from './exec.ts';
import type { HelmBinary } from './helm.ts';
import { cacheDir, repoRoot } from './paths.ts';
import { parseManifests, templateArgs, type K8sObject } from './render.ts';
import { describeTarget, type LintTarget } from './lint.ts';

/** Oldest and newest supported Kubernetes versions (also read by .ci/install-tools.sh). */
export function kubernetesVersions(): string[] {
  return readFileSync(join(repoRoot, 'tools', 'kubernetes-versions'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

/**
 * Kinds defined by CRDs: no built-in schema exists. Skipped by kubeconform,
 * with the reason: their CRDs are not vendored here, so their fields are
 * covered by the render tests instead.
 */
export const CRD_KINDS = ['VerticalPodAutoscaler', 'ClusterIssuer', 'ServiceMonitor', 'PrometheusRule'];

/** kube-score's optional tests that fit these charts. */
export const KUBE_SCORE_OPTIONAL = ['container-seccomp-profile', 'container-ports-check'];

/** Tests to ignore for a render: the global entries, plus `<env>: test` entries when the values file is that environment's. */
export function kubeScoreIgnored(valuesFile: string | undefined, text = readFileSync(join(repoRoot, 'kube-score.ignore'), 'utf8')): string[] {
  const ignored: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const scoped = /^([a-z]+):\s*(\S+)$/.exec(line);
    if (!scoped) ignored.push(line);
    else if (valuesFile && basename(valuesFile).includes(scoped[1] as string)) ignored.push(scoped[2] as string);
  }
  return ignored;
}

export interface Rendered {
  target: LintTarget;
  label: string;
  text: string;
  objects: K8sObject[];
}

export async function renderTarget(helm: HelmBinary, target: LintTarget): Promise<Rendered> {
  const args = templateArgs(target.chart, { valuesFiles: target.valuesFile ? [target.valuesFile] : [] });
  const result = await run(helm.path, args);
  if (result.code !== 0) throw new Error(`helm template ${describeTarget(target)} failed:\n${result.stderr.trim()}`);
  return { target, label: describeTarget(target), text: result.stdout, objects: parseManifests(result.stdout) };
}

export interface ToolReport {
  ok: boolean;
  summary: string;
  problems: string[];
}

interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: string;
  msg: string;
}

export function kubeconformArgs(version: string, schemaRoot = join(cacheDir, 'kube-schemas')): string[] {
  return [
    '-strict',
    '-summary',
    '-output',
    'json',
    '-kubernetes-version',
    version,
    '-schema-location',
    `${schemaRoot}/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    '-skip',
    CRD_KINDS.join(','),
    '-',
  ];
}

export async function kubeconform(bin: string, manifests: string, version: string): Promise<ToolReport & { valid: number; skipped: number }> {
  const result = await run(bin, kubeconformArgs(version), { input: manifests });
  let parsed: { resources?: KubeconformResource[]; summary?: { valid: number; invalid: number; errors: number; skipped: number } };
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    return { ok: false, summary: 'kubeconform gave no JSON', problems: [result.stderr.trim() || result.stdout.trim()], valid: 0, skipped: 0 };
  }
  const summary = parsed.summary ?? { valid: 0, invalid: 0, errors: 0, skipped: 0 };
  const problems = (parsed.resources ?? [])
    .filter((r) => r.status === 'statusInvalid' || r.status === 'statusError')
    .map((r) => `${r.kind}/${r.name}: ${r.msg}`);
  return {
    ok: result.code === 0 && problems.length === 0,
    summary: `${summary.valid} valid, ${summary.invalid} invalid, ${summary.errors} errors, ${summary.skipped} skipped (CRD kinds)`,
    problems,
    valid: summary.valid,
    skipped: summary.skipped,
  };
}

export async function kubeScore(bin: string, manifests: string, valuesFile?: string): Promise<ToolReport> {
  const args = ['score', '--output-format', 'ci'];
  for (const test of KUBE_SCORE_OPTIONAL) args.push('--enable-optional-test', test);
  for (const test of kubeScoreIgnored(valuesFile)) args.push('--ignore-test', test);
  args.push('-');
  const result = await run(bin, args, { input: manifests });
  const problems = result.stdout.split('\n').filter((line) => /^\[(CRITICAL|WARNING)\]/.test(line));
  return { ok: result.code === 0 && problems.length === 0, summary: `${problems.length} findings`, problems: problems.length ? problems : result.code !== 0 ? [result.stderr.trim()] : [] };
}

export async function actionlint(bin: string, cwd = repoRoot): Promise<ToolReport> {
  const result = await run(bin, ['-no-color'], { cwd });
  const problems = result.stdout.split('\n').filter(Boolean);
  return { ok: result.code === 0, summary: result.code === 0 ? 'workflows clean' : `${problems.length} problems`, problems };
}
