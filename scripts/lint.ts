#!/usr/bin/env tsx
// The lint stage, the gate before packaging: helm lint --strict for every
// chart and values file, ct lint, then checks of the rendered objects
// (kubeconform for the oldest and newest Kubernetes, kube-score, checkov, Pod Security
// "restricted", NetworkPolicy coverage) and actionlint on the workflows.
// A missing tool is said plainly and fails the stage unless --allow-missing.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { run } from './lib/exec.ts';
import { programIdentity } from './lib/content-cache.ts';
import { helmIdentity, resolveHelm } from './lib/helm.ts';
import { actionlint, ambiguousScalars, checkovArgs, checkovPassRate, checkovRenders, kubeconform, kubeconformArgs, kubernetesVersions, kubeScore, renderTarget, type Rendered } from './lib/kube-checks.ts';
import { cachedVerdict, cachedVerdicts, helmLint, lintTargets, mapLimit, type Checker, type LintTarget } from './lib/lint.ts';
import { cacheDir, chartsDir, repoRoot } from './lib/paths.ts';
import { buildDependencies, podSpecOf, RELEASE_NAMESPACE, type K8sObject } from './lib/render.ts';
import { checkNetworkPolicyCoverage, checkPodSecurityRestricted } from './lib/policy.ts';
import { readChartMeta } from './lib/values.ts';
import { runIfMain, type Stage } from './lib/stage.ts';
import { findTool, toolPath } from './lib/tools.ts';

function forEnv(targets: LintTarget[], env: string | undefined): LintTarget[] {
  if (!env) return targets;
  return targets.filter((t) => !t.valuesFile || !/values-(dev|staging|prod)\.yaml$/.test(t.valuesFile) || t.valuesFile.endsWith(`values-${env}.yaml`));
}

export const lintStage: Stage = async ({ argv, log }) => {
  const { values: options } = parseArgs({
    args: argv,
    options: { env: { type: 'string' }, 'no-ct': { type: 'boolean' }, 'helm-only': { type: 'boolean' }, 'allow-missing': { type: 'boolean' } },
  });
  const helm = await resolveHelm();
  await buildDependencies(helm);
  const targets = forEnv(lintTargets(), options.env);
  let failed = 0;
  const report = (ok: boolean, line: string, problems: string[] = []): void => {
    log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
    if (!ok) {
      failed++;
      for (const p of problems) log(`       ${p}`);
    }
  };
  const missing = (tool: string, why: string): void => {
    log(`${options['allow-missing'] ? 'skip' : 'FAIL'} ${tool}: NOT RUN - not installed (${why}; bash .ci/install-tools.sh installs it)`);
    if (!options['allow-missing']) failed++;
  };

  // 1. helm lint
  const lints = await mapLimit(targets, 2, (t) => helmLint(helm, t));
  for (const r of lints) report(r.ok, r.name, r.detail.split('\n').filter(Boolean));
  log(`helm lint: ${targets.length} chart/values combinations over ${new Set(targets.map((t) => t.chart)).size} charts, ${lints.filter((r) => !r.ok).length} failed`);
  if (options['helm-only']) return failed > 0 ? 1 : 0;

  // Checks after helm lint run side by side and buffer their report lines, printed in a fixed order:
  // ct lint (its own helm processes) beside the renders; the checkers of the renders beside each other,
  // each handed the same render (one helm template per chart/values pair).
  type Line = { ok: boolean; line: string; problems?: string[] } | { missing: string; why: string };
  const ok = (line: string): Line => ({ ok: true, line });
  const bad = (line: string, problems: string[]): Line => ({ ok: false, line, problems });

  // 2. ct lint (yamllint, yamale against chart_schema.yaml, version checks, helm lint with ci values)
  const ctLint = async (): Promise<Line[]> => {
    if (options['no-ct']) return [];
    const ct = findTool('ct');
    if (!ct) return [{ missing: 'ct lint', why: 'chart-testing' }];
    const args = ['lint', '--config', join(repoRoot, 'ct.yaml'), '--all'];
    // ct reads every chart, its configuration files, and runs helm, yamllint and yamale of the project's tool chain
    const companions = ['yamllint', 'yamale'].map((tool) => findTool(tool)).filter((p): p is string => Boolean(p));
    const checker: Checker = {
      name: 'ct lint',
      program: ct,
      version: [helmIdentity(helm), ...companions.map((p) => programIdentity(p))].join(' '),
      config: args,
      configFiles: ['ct.yaml', 'lintconf.yaml', 'chart_schema.yaml'].map((f) => join(repoRoot, f)),
      configTrees: [chartsDir],
    };
    const result = await cachedVerdict(checker, '', () => run(ct, args, { cwd: repoRoot, env: { ...process.env, PATH: toolPath(helm.path) } }), (r) => r.code === 0);
    const charts = (result.stdout.match(/^ [✔✖]/gmu) ?? []).length;
    const line = `ct lint --all: ${charts || 'all'} charts`;
    return [result.code === 0 ? ok(line) : bad(line, `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => /Error|✖|error/.test(l)))];
  };

  // 3. rendered objects
  const renderedChecks = async (): Promise<Line[]> => {
    const renderable = targets.filter((t) => readChartMeta(t.chart).type !== 'library');
    const rendered = await mapLimit(renderable, 2, (t) => renderTarget(helm, t));
    const objectCount = rendered.reduce((n, r) => n + r.objects.length, 0);

    const kubeconformChecks = async (): Promise<Line[]> => {
      const kc = findTool('kubeconform');
      if (!kc) return [{ missing: 'kubeconform', why: 'strict Kubernetes schemas' }];
      const lines: Line[] = [];
      for (const version of kubernetesVersions()) {
        const checker: Checker = { name: 'kubeconform', program: kc, config: kubeconformArgs(version), configListings: [join(cacheDir, 'kube-schemas')] };
        const results = await mapLimit(rendered, 2, (r) => cachedVerdict(checker, r.text, () => kubeconform(kc, r.text, version), (v) => v.ok));
        results.forEach((result, i) => {
          if (!result.ok) lines.push(bad(`kubeconform ${version} ${rendered[i]!.label}`, result.problems));
        });
        const valid = results.reduce((n, r) => n + r.valid, 0);
        const skipped = results.reduce((n, r) => n + r.skipped, 0);
        lines.push(ok(`kubeconform -strict, Kubernetes ${version}: ${valid} objects valid, ${skipped} CRD objects skipped, over ${rendered.length} renders`));
      }
      return lines;
    };
    const kubeScoreChecks = async (): Promise<Line[]> => {
      const ks = findTool('kube-score');
      if (!ks) return [{ missing: 'kube-score', why: 'policy linter' }];
      // kube-score.ignore decides the ignored tests per values file: the file's name is configuration
      const checker = (r: Rendered): Checker => ({ name: 'kube-score', program: ks, config: { valuesFile: r.target.valuesFile ? basename(r.target.valuesFile) : null }, configFiles: [join(repoRoot, 'kube-score.ignore')] });
      const results = await mapLimit(rendered, 2, (r) => cachedVerdict(checker(r), r.text, () => kubeScore(ks, r.text, r.target.valuesFile), (v) => v.ok));
      const lines: Line[] = [];
      results.forEach((result, i) => {
        if (!result.ok) lines.push(bad(`kube-score ${rendered[i]!.label}`, result.problems));
      });
      const findings = results.reduce((n, r) => n + r.problems.length, 0);
      if (findings === 0) lines.push(ok(`kube-score: ${objectCount} objects in ${rendered.length} renders, no findings (exclusions in kube-score.ignore)`));
      return lines;
    };
    const checkovChecks = async (): Promise<Line[]> => {
      const cv = findTool('checkov');
      if (!cv) return [{ missing: 'checkov', why: 'security scanner' }];
      let passed = 0;
      let failedChecks = 0;
      let skipped = 0;
      const lines: Line[] = [];
      // one checkov run for the renders without a stored verdict
      const checker: Checker = { name: 'checkov', program: cv, config: checkovArgs('<dir>') };
      const results = await cachedVerdicts(checker, rendered.map((r) => r.text), (texts) => checkovRenders(cv, texts), (v) => v.ok);
      rendered.forEach((r, i) => {
        const result = results[i]!;
        passed += result.passed;
        failedChecks += result.failed.length;
        skipped += result.skipped.length;
        if (!result.ok) lines.push(bad(`checkov ${r.label}`, result.problems));
      });
      if (lines.length === 0) {
        lines.push(ok(`checkov: ${rendered.length} renders, ${passed} checks passed (${checkovPassRate(passed, failedChecks).toFixed(1)} %), ${skipped} accepted with their reason (charts/common/templates/_checkov.tpl)`));
      }
      return lines;
    };
    const policyChecks = async (): Promise<Line[]> => {
      const podTemplates = rendered.reduce((n, r) => n + r.objects.filter((o) => podSpecOf(o)).length, 0);
      const lines: Line[] = [];
      const scalars = rendered.flatMap((r) => ambiguousScalars(r.text).map((s) => `${r.label}: line ${s.line} \`${s.text}\`: ${s.why}`));
      const scalarLine = `YAML scalars read alike by YAML 1.1 and 1.2 readers: ${rendered.length} renders`;
      lines.push(scalars.length === 0 ? ok(scalarLine) : bad(scalarLine, scalars));
      for (const [name, check] of [
        ['Pod Security Standards (restricted) + readOnlyRootFilesystem', (objects: K8sObject[]) => checkPodSecurityRestricted(objects)],
        ['NetworkPolicy coverage (ingress and egress)', (objects: K8sObject[]) => checkNetworkPolicyCoverage(objects, { releaseNamespace: RELEASE_NAMESPACE })],
      ] as const) {
        const problems = rendered.flatMap((r) => check(r.objects).map((f) => `${r.label}: ${f.object} ${f.rule}: ${f.message}`));
        const line = `${name}: ${podTemplates} pod templates in ${rendered.length} renders`;
        lines.push(problems.length === 0 ? ok(line) : bad(line, problems));
      }
      return lines;
    };
    const groups = await Promise.all([kubeconformChecks(), kubeScoreChecks(), checkovChecks(), policyChecks()]);
    return groups.flat();
  };

  // 4. workflows
  const workflowChecks = async (): Promise<Line[]> => {
    if (!existsSync(join(repoRoot, '.github', 'workflows'))) return [];
    const al = findTool('actionlint');
    if (!al) return [{ missing: 'actionlint', why: 'workflow linter' }];
    const checker: Checker = { name: 'actionlint', program: al, configTrees: [join(repoRoot, '.github')] };
    const result = await cachedVerdict(checker, '', () => actionlint(al), (v) => v.ok);
    return [result.ok ? ok(`actionlint: ${result.summary}`) : bad(`actionlint: ${result.summary}`, result.problems)];
  };

  const sections = await Promise.all([ctLint(), renderedChecks(), workflowChecks()]);
  for (const line of sections.flat()) {
    if ('missing' in line) missing(line.missing, line.why);
    else report(line.ok, line.line, line.problems ?? []);
  }
  log(`lint: ${failed === 0 ? 'passed' : `${failed} check(s) failed`}`);
  return failed > 0 ? 1 : 0;
};

await runIfMain(import.meta.url, lintStage);
