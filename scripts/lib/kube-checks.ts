// Checks of what the charts render (the lint stage, README "lint"): strict Kubernetes
// schemas for the oldest and newest supported versions (kubeconform),
// kube-score, checkov, and our Pod Security / NetworkPolicy checks.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { run } from './exec.ts';
import type { HelmBinary } from './helm.ts';
import { cacheDir, repoRoot } from './paths.ts';
import { cachedTemplate, parseManifests, type K8sObject } from './render.ts';
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
 * with the reason: kubeconform has no schema for them, so their fields are
 * covered by the render tests and, against the CRDs' own schemas, by the
 * cluster tests (test/cluster/crds.test.ts, test/cluster/externalsecrets.test.ts).
 */
export const CRD_KINDS = ['VerticalPodAutoscaler', 'ClusterIssuer', 'ServiceMonitor', 'PrometheusRule', 'ExternalSecret', 'AuthorizationPolicy', 'PeerAuthentication'];

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
  const result = await cachedTemplate(helm, target.chart, { valuesFiles: target.valuesFile ? [target.valuesFile] : [], apiVersions: target.apiVersions ?? [] });
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

/** checkov's answer for one check on one object (`Kind.namespace.name`). */
export interface CheckovFinding {
  check: string;
  name: string;
  resource: string;
  /** the reason of a skip (checkov.io/skip<N>: <check>=<reason>), if any */
  reason?: string;
}

export interface CheckovReport extends ToolReport {
  passed: number;
  failed: CheckovFinding[];
  skipped: CheckovFinding[];
}

/** checkov's placeholder when a skip annotation carries no reason. */
const CHECKOV_NO_REASON = 'No comment provided';

export function checkovArgs(dir: string): string[] {
  // No --quiet: it drops the passed and skipped checks, which are counted and whose reasons are checked here.
  // --skip-download: offline, no guidelines fetched from the vendor.
  return ['--directory', dir, '--framework', 'kubernetes', '--output', 'json', '--compact', '--skip-download'];
}

interface CheckovJsonCheck {
  check_id: string;
  check_name: string;
  resource: string;
  file_path?: string;
  check_result?: { suppress_comment?: string };
}

/**
 * checkov's JSON report → findings per scanned file (keyed by base name). A
 * failed check is a problem; so is a skip without a written reason. Accepted
 * findings carry their reason in the chart (charts/common/templates/_checkov.tpl),
 * never on the command line.
 */
export function parseCheckov(stdout: string, files: readonly string[] = []): Map<string, Omit<CheckovReport, 'ok' | 'summary'>> {
  const json: unknown = JSON.parse(stdout);
  const reports = (Array.isArray(json) ? json : [json]) as { check_type?: string; results?: Record<string, CheckovJsonCheck[]>; summary?: { passed?: number } }[];
  const report = reports.find((r) => r.check_type === 'kubernetes') ?? (reports.length === 1 ? reports[0] : undefined);
  if (!report) throw new Error('no kubernetes report in checkov output');
  const byFile = new Map<string, Omit<CheckovReport, 'ok' | 'summary'>>();
  const entry = (c: CheckovJsonCheck) => {
    const file = basename(c.file_path ?? '');
    let e = byFile.get(file);
    if (!e) byFile.set(file, (e = { passed: 0, failed: [], skipped: [], problems: [] }));
    return e;
  };
  for (const file of files) entry({ check_id: '', check_name: '', resource: '', file_path: file });
  const finding = (c: CheckovJsonCheck): CheckovFinding => {
    const reason = c.check_result?.suppress_comment?.trim();
    return { check: c.check_id, name: c.check_name, resource: c.resource, ...(reason && reason !== CHECKOV_NO_REASON ? { reason } : {}) };
  };
  for (const c of report.results?.passed_checks ?? []) entry(c).passed++;
  for (const c of report.results?.failed_checks ?? []) {
    const f = finding(c);
    entry(c).failed.push(f);
    entry(c).problems.push(`${f.check} ${f.resource}: ${f.name}`);
  }
  for (const c of report.results?.skipped_checks ?? []) {
    const f = finding(c);
    entry(c).skipped.push(f);
    if (!f.reason) entry(c).problems.push(`${f.check} ${f.resource}: skipped without a reason (${f.name})`);
  }
  return byFile;
}

/**
 * checkov over several renders (manifests as helm prints them) in one run:
 * its start-up costs more than a render's scan. One report per render, in order.
 */
export async function checkovRenders(bin: string, manifests: readonly string[]): Promise<CheckovReport[]> {
  const dir = mkdtempSync(join(tmpdir(), 'checkov-'));
  try {
    const files = manifests.map((text, i) => {
      const file = `render-${i}.yaml`;
      writeFileSync(join(dir, file), text);
      return file;
    });
    const result = await run(bin, checkovArgs(dir), { env: { ...process.env, LOG_LEVEL: 'ERROR' } });
    let parsed: ReturnType<typeof parseCheckov>;
    try {
      parsed = parseCheckov(result.stdout, files);
    } catch (error) {
      const problems = [`checkov gave no report: ${(error as Error).message}`, result.stderr.trim()].filter(Boolean);
      return files.map(() => ({ ok: false, summary: 'checkov gave no report', problems, passed: 0, failed: [], skipped: [] }));
    }
    const failedAnywhere = [...parsed.values()].some((r) => r.failed.length > 0);
    return files.map((file) => {
      const r = parsed.get(file)!;
      // Exit 1 = failed checks (listed); anything else non-zero is checkov failing.
      const crashed = result.code !== 0 && !failedAnywhere;
      const problems = crashed ? [...r.problems, `checkov exited ${result.code}: ${result.stderr.trim()}`] : r.problems;
      return {
        ...r,
        ok: problems.length === 0 && r.passed + r.failed.length + r.skipped.length > 0,
        summary: `${r.passed} passed, ${r.failed.length} failed, ${r.skipped.length} skipped with a reason in the chart`,
        problems: r.passed + r.failed.length + r.skipped.length > 0 ? problems : [...problems, 'checkov checked nothing in this render'],
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** checkov over one render. */
export async function checkov(bin: string, manifests: string): Promise<CheckovReport> {
  return (await checkovRenders(bin, [manifests]))[0]!;
}

/** checkov's pass percentage as it counts it: passed / (passed + failed); skipped checks are in neither. */
export function checkovPassRate(passed: number, failed: number): number {
  return passed + failed === 0 ? 100 : (100 * passed) / (passed + failed);
}

export async function actionlint(bin: string, cwd = repoRoot): Promise<ToolReport> {
  const result = await run(bin, ['-no-color'], { cwd });
  const problems = result.stdout.split('\n').filter(Boolean);
  return { ok: result.code === 0, summary: result.code === 0 ? 'workflows clean' : `${problems.length} problems`, problems };
}

/** A plain (unquoted) scalar that YAML 1.1 and YAML 1.2 readers take differently. */
export interface AmbiguousScalar {
  line: number;
  text: string;
  why: string;
}

/**
 * Plain scalars of a rendered manifest that YAML 1.1 readers (helm, kubectl,
 * the API server's sigs.k8s.io/yaml) and YAML 1.2 readers (js-yaml, many
 * GitOps tools) read differently: a leading-zero integer (octal 0555 = 365 in
 * 1.1, decimal 555 in 1.2, which the API server then refuses as a file mode)
 * and yes/no/on/off/y/n (booleans in 1.1, strings in 1.2). Block scalars
 * (scripts, config files) are text and skipped.
 */
export function ambiguousScalars(text: string): AmbiguousScalar[] {
  const found: AmbiguousScalar[] = [];
  const lines = text.split('\n');
  let blockIndent = -1;
  lines.forEach((line, i) => {
    const indent = line.length - line.trimStart().length;
    if (blockIndent >= 0) {
      if (line.trim() === '' || indent > blockIndent) return;
      blockIndent = -1;
    }
    const match = /^(\s*)(?:-\s+)*(?:(?:"[^"]*"|'[^']*'|[^\s#'"][^#]*?):(?:\s+|$))?(.*?)\s*(?:\s#.*)?$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) return;
    const value = (match[2] ?? '').trim();
    if (/^[|>][-+0-9]*$/.test(value)) {
      blockIndent = indent;
      return;
    }
    if (/^[-+]?0[0-9]+$/.test(value)) found.push({ line: i + 1, text: line.trim(), why: `${value} is octal to YAML 1.1 readers (helm, the API server) and decimal to YAML 1.2 readers; write it in decimal` });
    else if (/^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(value)) found.push({ line: i + 1, text: line.trim(), why: `${value} is a boolean to YAML 1.1 readers and a string to YAML 1.2 readers; quote it or write true/false` });
  });
  return found;
}
