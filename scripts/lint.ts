#!/usr/bin/env tsx
// The lint stage, the gate before packaging: helm lint --strict for every
// chart and values file, ct lint, then checks of the rendered objects
// (kubeconform for the oldest and newest Kubernetes, kube-score, checkov, Pod Security
// "restricted", NetworkPolicy coverage) and actionlint on the workflows.
// A missing tool is said plainly and fails the stage unless --allow-missing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { run } from './lib/exec.ts';
import { resolveHelm } from './lib/helm.ts';
import { actionlint, checkovPassRate, checkovRenders, kubeconform, kubernetesVersions, kubeScore, renderTarget } from './lib/kube-checks.ts';
import { helmLint, lintTargets, mapLimit, type LintTarget } from './lib/lint.ts';
import { repoRoot } from './lib/paths.ts';
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

  // 2. ct lint (yamllint, yamale against chart_schema.yaml, version checks, helm lint with ci values)
  if (!options['no-ct']) {
    const ct = findTool('ct');
    if (!ct) missing('ct lint', 'chart-testing');
    else {
      const result = await run(ct, ['lint', '--config', join(repoRoot, 'ct.yaml'), '--all'], { cwd: repoRoot, env: { ...process.env, PATH: toolPath(helm.path) } });
      const charts = (result.stdout.match(/^ [✔✖]/gmu) ?? []).length;
      report(result.code === 0, `ct lint --all: ${charts || 'all'} charts`, `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => /Error|✖|error/.test(l)));
    }
  }

  // 3. rendered objects
  const renderable = targets.filter((t) => readChartMeta(t.chart).type !== 'library');
  const rendered = await mapLimit(renderable, 2, (t) => renderTarget(helm, t));
  const objectCount = rendered.reduce((n, r) => n + r.objects.length, 0);
  const kc = findTool('kubeconform');
  if (!kc) missing('kubeconform', 'strict Kubernetes schemas');
  else {
    for (const version of kubernetesVersions()) {
      let valid = 0;
      let skipped = 0;
      for (const r of rendered) {
        const result = await kubeconform(kc, r.text, version);
        valid += result.valid;
        skipped += result.skipped;
        if (!result.ok) report(false, `kubeconform ${version} ${r.label}`, result.problems);
      }
      report(true, `kubeconform -strict, Kubernetes ${version}: ${valid} objects valid, ${skipped} CRD objects skipped, over ${rendered.length} renders`);
    }
  }
  const ks = findTool('kube-score');
  if (!ks) missing('kube-score', 'policy linter');
  else {
    let findings = 0;
    for (const r of rendered) {
      const result = await kubeScore(ks, r.text, r.target.valuesFile);
      findings += result.problems.length;
      if (!result.ok) report(false, `kube-score ${r.label}`, result.problems);
    }
    if (findings === 0) report(true, `kube-score: ${objectCount} objects in ${rendered.length} renders, no findings (exclusions in kube-score.ignore)`);
  }
  const cv = findTool('checkov');
  if (!cv) missing('checkov', 'security scanner');
  else {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    let clean = true;
    const results = await checkovRenders(cv, rendered.map((r) => r.text));
    rendered.forEach((r, i) => {
      const result = results[i]!;
      passed += result.passed;
      failed += result.failed.length;
      skipped += result.skipped.length;
      if (!result.ok) {
        clean = false;
        report(false, `checkov ${r.label}`, result.problems);
      }
    });
    if (clean) {
      report(true, `checkov: ${rendered.length} renders, ${passed} checks passed (${checkovPassRate(passed, failed).toFixed(1)} %), ${skipped} accepted with their reason (charts/common/templates/_checkov.tpl)`);
    }
  }
  const podTemplates = rendered.reduce((n, r) => n + r.objects.filter((o) => podSpecOf(o)).length, 0);
  for (const [name, check] of [
    ['Pod Security Standards (restricted) + readOnlyRootFilesystem', (objects: K8sObject[]) => checkPodSecurityRestricted(objects)],
    ['NetworkPolicy coverage (ingress and egress)', (objects: K8sObject[]) => checkNetworkPolicyCoverage(objects, { releaseNamespace: RELEASE_NAMESPACE })],
  ] as const) {
    const problems = rendered.flatMap((r) => check(r.objects).map((f) => `${r.label}: ${f.object} ${f.rule}: ${f.message}`));
    report(problems.length === 0, `${name}: ${podTemplates} pod templates in ${rendered.length} renders`, problems);
  }

  // 4. workflows
  if (existsSync(join(repoRoot, '.github', 'workflows'))) {
    const al = findTool('actionlint');
    if (!al) missing('actionlint', 'workflow linter');
    else {
      const result = await actionlint(al);
      report(result.ok, `actionlint: ${result.summary}`, result.problems);
    }
  }
  log(`lint: ${failed === 0 ? 'passed' : `${failed} check(s) failed`}`);
  return failed > 0 ? 1 : 0;
};

await runIfMain(import.meta.url, lintStage);
