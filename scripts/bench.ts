#!/usr/bin/env tsx
// Prints speed figures as ratios measured in one run (these machines are
// noisy; no timed tests). Targets: validate <= 0.5 s and >= 10x faster than
// helm's own schema check; pipeline <= 1.3x the bare helm calls it makes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './lib/exec.ts';
import { resolveHelm } from './lib/helm.ts';
import { lintTargets } from './lib/lint.ts';
import { templateArgs } from './lib/render.ts';
import { chartDir, chartNames, environments, repoRoot, umbrellaChart, valuesFile } from './lib/paths.ts';
import { defaultValuesFiles } from './validate.ts';
import { loadValidator, validateFiles } from './lib/validate.ts';

const ROUNDS = 5;

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function must(file: string, args: string[]): Promise<void> {
  const result = await run(file, args);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')}: ${result.stderr}`);
}

const helm = await resolveHelm();
const files = defaultValuesFiles();

// 0. the budget: builds, tiers, .ci/run (recorded by the scripts), test:fast (median of five), the lint stage cold and warm
{
  const { existsSync, readFileSync } = await import('node:fs');
  const { cacheDir } = await import('./lib/paths.ts');
  const { coldEstimate, parseSteps, readBuildTimes, targetLine, tierWalls } = await import('./lib/budget.ts');
  const { SLOW_TESTS } = await import('../vitest.config.ts');
  const lines: string[] = [];
  const builds = readBuildTimes(join(cacheDir, 'tools', 'logs'));
  for (const b of builds) lines.push(`build ${b.name}: last run ${b.last} s, coldest recorded ${b.coldest} s`);
  if (!builds.length) lines.push('builds: none recorded (.ci/install-tools.sh --all writes .cache/tools/logs/<name>.seconds and .history)');
  // .ci/run's steps: the last run, and per step the longest recorded (a cold run)
  const stepsFile = join(cacheDir, 'ci', 'steps.tsv');
  const historyFile = join(cacheDir, 'ci', 'steps.history');
  const last = existsSync(stepsFile) ? parseSteps(readFileSync(stepsFile, 'utf8')) : [];
  const coldest = new Map<string, number>();
  if (existsSync(historyFile)) {
    for (const line of readFileSync(historyFile, 'utf8').split('\n')) {
      const [, step, seconds] = line.split('\t');
      if (step && Number.isFinite(Number(seconds))) coldest.set(step, Math.max(coldest.get(step) ?? 0, Number(seconds)));
    }
  }
  if (last.length) lines.push(`last .ci/run: ${last.map((s) => `${s.step} ${s.seconds} s`).join(', ')}`);
  const step = (name: string) => coldest.get(name);
  const cold =
    step('setup') !== undefined
      ? coldEstimate({ mainTier: step('setup')! - Math.max(0, ...builds.map((b) => b.coldest)), testTierBuilds: builds.map((b) => b.coldest), checks: (step('generate') ?? 0) + (step('pipeline') ?? 0), realNode: step('real-node') ?? 0, tests: step('tests') ?? 0 })
      : undefined;
  if (cold !== undefined) lines.push(`cold .ci/run estimate (each step's longest recorded run; the test tier's builds side by side): ${(cold / 60).toFixed(1)} min`);
  const lastTotal = last.find((s) => s.step === 'total')?.seconds;
  const lastSetup = last.find((s) => s.step === 'setup')?.seconds;
  const warm = lastTotal !== undefined && lastSetup !== undefined && lastSetup < 120 ? lastTotal : undefined;
  // each tier's wall time in the last vitest JSON report (.ci/run writes test-results/vitest.json)
  const reportFile = join(repoRoot, 'test-results', 'vitest.json');
  let warmTests: number | undefined;
  if (existsSync(reportFile)) {
    const walls = tierWalls(JSON.parse(readFileSync(reportFile, 'utf8')), SLOW_TESTS);
    for (const [tier, seconds] of walls) lines.push(`tier ${tier}: ${seconds.toFixed(0)} s (last npm test, test-results/vitest.json)`);
    if (lastSetup !== undefined && lastSetup < 120) warmTests = last.find((s) => s.step === 'tests')?.seconds;
  }
  // test:fast, the median of five (--fast-rounds N)
  const roundsArg = process.argv.indexOf('--fast-rounds');
  const fastRounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;
  const fastMs: number[] = [];
  const vitestBin = join(repoRoot, 'node_modules', '.bin', 'vitest');
  for (let i = 0; i < fastRounds; i++) fastMs.push(await time(() => must(vitestBin, ['run', '--project', 'fast'])));
  const fast = fastMs.length ? median(fastMs) / 1000 : undefined;
  if (fastMs.length) lines.push(`test:fast: ${fastMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s; median ${fast!.toFixed(1)} s (render cache warm after the first)`);
  // the lint stage against its bare helm calls: cold (no content cache read or written) and warm (verdicts and renders reused)
  const { lintStage } = await import('./lint.ts');
  const quiet = { log: () => undefined };
  const bare = await time(async () => {
    for (const t of lintTargets()) await must(helm.path, ['lint', '--strict', chartDir(t.chart), ...(t.valuesFile ? ['--values', t.valuesFile] : [])]);
    for (const t of lintTargets().filter((x) => x.chart !== 'common')) await must(helm.path, templateArgs(t.chart, { valuesFiles: t.valuesFile ? [t.valuesFile] : [], apiVersions: t.apiVersions ?? [] }));
  });
  process.env.TECHSHOP_CONTENT_CACHE = '0';
  const lintCold = await time(() => lintStage({ argv: [], ...quiet }));
  delete process.env.TECHSHOP_CONTENT_CACHE;
  await lintStage({ argv: [], ...quiet }); // fills the cache
  const lintWarm = await time(() => lintStage({ argv: [], ...quiet }));
  lines.push(`lint stage: bare helm calls ${(bare / 1000).toFixed(1)} s; cold ${(lintCold / 1000).toFixed(1)} s = ${(lintCold / bare).toFixed(2)}x (ct lint and checkov are programs of their own beyond helm); warm ${(lintWarm / 1000).toFixed(1)} s = ${(lintWarm / bare).toFixed(2)}x`);
  lines.push(targetLine('cold .ci/run', cold === undefined ? undefined : cold / 60, 40, 'min', 'estimate from recorded parts'));
  lines.push(targetLine('warm .ci/run', warm === undefined ? undefined : warm / 60, 15, 'min', 'last .ci/run when its setup was warm'));
  lines.push(targetLine('warm npm test', warmTests === undefined ? undefined : warmTests / 60, 10, 'min', 'the tests step of a warm .ci/run'));
  lines.push(targetLine('test:fast', fast, 30, 's', `median of ${fastRounds}`));
  lines.push(targetLine('lint warm', lintWarm / bare, 1.2, 'x', 'full lint stage / its bare helm calls'));
  const { loadavg } = await import('node:os');
  lines.push(`(load average while measuring: ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  for (const line of lines) console.log(`budget: ${line}`);
  if (process.argv.includes('--budget')) process.exit(0);
}

// 1. validate (compile once + all files) against helm's schema check of the same files
const validateMs: number[] = [];
const helmSchemaMs: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  // what `npm run validate` does after node has started: load the compiled validator (cached in .cache/), read, parse, check
  validateMs.push(await time(async () => validateFiles(await loadValidator(), files)));
  // helm lint validates values against values.schema.json before anything else; this is its cheapest schema check
  helmSchemaMs.push(await time(async () => { for (const f of files) await run(helm.path, ['lint', chartDir('techshop'), '--values', f]); }));
}
const v = median(validateMs);
const h = median(helmSchemaMs);
console.log(`validate: ${files.length} files in ${v.toFixed(0)} ms (median of ${ROUNDS}; compiled validator loaded from .cache); target <= 500 ms: ${v <= 500 ? 'met' : 'MISSED'}`);
console.log(`helm schema check (helm lint per file): ${h.toFixed(0)} ms; ratio helm/validate = ${(h / v).toFixed(1)}x; target >= 10x: ${h / v >= 10 ? 'met' : 'MISSED'}`);

// 2. the pipeline's stages in-process against the bare helm calls they make
const { validateStage } = await import('./validate.ts');
const { lintStage } = await import('./lint.ts');
const silent = { log: () => undefined };
const pipelineMs: number[] = [];
const bareMs: number[] = [];
for (let i = 0; i < 3; i++) {
  pipelineMs.push(
    await time(async () => {
      if ((await validateStage({ argv: [], ...silent })) !== 0) throw new Error('validate failed');
      // helm's part of lint: the other checks (ct, kubeconform, kube-score, ...) are tools of their own, timed below
      if ((await lintStage({ argv: ['--helm-only'], ...silent })) !== 0) throw new Error('lint failed');
    }),
  );
  bareMs.push(
    await time(async () => {
      for (const chart of chartNames) if (chart !== 'common') await must(helm.path, ['dependency', 'build', chartDir(chart), '--skip-refresh']);
      for (const t of lintTargets()) await must(helm.path, ['lint', '--strict', chartDir(t.chart), ...(t.valuesFile ? ['--values', t.valuesFile] : [])]);
    }),
  );
}
const p = median(pipelineMs);
const b = median(bareMs);
console.log(`validate + lint --helm-only stages: ${p.toFixed(0)} ms; the same helm calls run bare, one after another: ${b.toFixed(0)} ms; ratio = ${(p / b).toFixed(2)}x; target <= 1.3x: ${p / b <= 1.3 ? 'met' : 'MISSED'}`);

const full = await time(async () => lintStage({ argv: [], ...silent }));
console.log(`full lint stage (helm lint, ct lint, kubeconform x2, kube-score, checkov, PSS, NetworkPolicy, actionlint; content cache warm): ${full.toFixed(0)} ms`);
// the helm calls that stage cannot do without: helm lint of every target and one helm template per render
const renderable = lintTargets().filter((t) => t.chart !== 'common');
const bareHelm = await time(async () => {
  for (const t of lintTargets()) await must(helm.path, ['lint', '--strict', chartDir(t.chart), ...(t.valuesFile ? ['--values', t.valuesFile] : [])]);
  // as the lint stage renders them: with the APIs a ci file declares (# lint-api-versions)
  for (const t of renderable) await must(helm.path, templateArgs(t.chart, { valuesFiles: t.valuesFile ? [t.valuesFile] : [], apiVersions: t.apiVersions ?? [] }));
});
console.log(
  `full lint stage / its bare helm calls (${lintTargets().length} helm lint + ${renderable.length} helm template, one after another: ${bareHelm.toFixed(0)} ms) = ${(full / bareHelm).toFixed(2)}x; target <= 1.5x: ${full / bareHelm <= 1.5 ? 'met' : 'MISSED'}`,
);
// where the rest goes: the two checkers that are programs of their own beyond helm, each alone
{
  const { checkovRenders, renderTarget } = await import('./lib/kube-checks.ts');
  const { findTool, toolPath } = await import('./lib/tools.ts');
  const ct = findTool('ct');
  const cv = findTool('checkov');
  const parts: string[] = [];
  if (ct) {
    const ctMs = await time(() => run(ct, ['lint', '--config', join(repoRoot, 'ct.yaml'), '--all'], { cwd: repoRoot, env: { ...process.env, PATH: toolPath(helm.path) } }));
    parts.push(`ct lint --all ${ctMs.toFixed(0)} ms (its own helm lint per ci values file, yamllint, yamale)`);
  }
  if (cv) {
    const texts: string[] = [];
    for (const t of renderable) texts.push((await renderTarget(helm, t)).text);
    parts.push(`checkov over ${texts.length} renders ${(await time(() => checkovRenders(cv, texts))).toFixed(0)} ms`);
  }
  console.log(`of the full lint stage, run alone: ${parts.join('; ')}`);
}

// scale: validate and the render checks over many environments (values files generated from the shipped ones)
{
  const { cpus } = await import('node:os');
  const { copyFileSync } = await import('node:fs');
  const { renderTarget, kubeconform, kubernetesVersions, kubeScore } = await import('./lib/kube-checks.ts');
  const { mapLimit } = await import('./lib/lint.ts');
  const { checkPodSecurityRestricted } = await import('./lib/policy.ts');
  const { findTool } = await import('./lib/tools.ts');
  const busy = () => cpus().reduce((n, c) => n + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
  const dir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  // the generated files repeat the shipped ones: without this, the render cache would answer them
  process.env.TECHSHOP_CONTENT_CACHE = '0';
  const validator = await loadValidator();
  const kc = findTool('kubeconform');
  const ks = findTool('kube-score');
  try {
    const generated: string[] = [];
    for (let i = 0; i < 51; i++) {
      const env = environments[i % 3]!;
      const file = join(dir, `values-${env}-${String(i).padStart(2, '0')}.yaml`);
      copyFileSync(valuesFile(env), file);
      generated.push(file);
    }
    const rows: string[] = [];
    for (const n of [6, 24, 51]) {
      const files = generated.slice(0, n);
      const v = await time(() => validateFiles(validator, files));
      const cpu0 = busy();
      const r = await time(async () => {
        const rendered = await mapLimit(files, 2, (f) => renderTarget(helm, { chart: umbrellaChart, valuesFile: f }));
        await Promise.all([
          kc ? mapLimit(rendered, 2, (x) => kubeconform(kc, x.text, kubernetesVersions().at(-1)!)) : undefined,
          ks ? mapLimit(rendered, 2, (x) => kubeScore(ks, x.text, x.target.valuesFile)) : undefined,
          Promise.resolve(rendered.map((x) => checkPodSecurityRestricted(x.objects))),
        ]);
      });
      const cores = (busy() - cpu0) / r;
      rows.push(`${n} files: validate ${v.toFixed(0)} ms (${(v / n).toFixed(1)} ms/file); render + kubeconform + kube-score + PSS ${(r / 1000).toFixed(1)} s (${(r / n).toFixed(0)} ms/file, ${cores.toFixed(2)} of ${cpus().length} cores busy)`);
    }
    for (const row of rows) console.log(`scale: ${row}`);
  } finally {
    delete process.env.TECHSHOP_CONTENT_CACHE;
    rmSync(dir, { recursive: true, force: true });
  }
}

// packaging alone
const out = mkdtempSync(join(tmpdir(), 'bench-'));
const pkg = await time(async () => { for (const c of chartNames) await must(helm.path, ['package', chartDir(c), '--destination', out]); });
rmSync(out, { recursive: true, force: true });
console.log(`bare helm package of ${chartNames.length} charts: ${pkg.toFixed(0)} ms`);

// the local control plane (warm binaries): start, install per environment, upgrade, stop
{
  const { clusterDown, clusterUp } = await import('./cluster.ts');
  const { clusterLayout } = await import('./lib/cluster.ts');
  const { provisionBundledKubectl } = await import('./lib/helm.ts');
  const { PSA_RESTRICTED_LABELS } = await import('./lib/policy.ts');
  const root = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const layout = clusterLayout(root);
  try {
    const up = await time(() => clusterUp(layout, () => {}));
    console.log(`local control plane start (etcd, kube-apiserver, controller-manager, scheduler, kwok, 6 nodes): ${(up / 1000).toFixed(1)} s`);
    const env = { ...process.env, KUBECONFIG: layout.kubeconfig };
    const kubectl = provisionBundledKubectl();
    const secretsScript = join(repoRoot, '.ci', 'create-ci-secrets.sh');
    const pathEnv = { ...env, PATH: `${join(kubectl, '..')}:${process.env.PATH}` };
    for (const name of environments) {
      const ns = `bench-${name}`;
      await run(kubectl, ['create', '-f', '-'], { env, input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: PSA_RESTRICTED_LABELS } }) });
      if (name !== 'dev') await run('bash', [secretsScript, ns], { env: pathEnv });
      const args = ['upgrade', '--install', 'shop', chartDir(umbrellaChart), '-n', ns, '-f', valuesFile(name), '--wait', '--timeout', '10m'];
      const install = await time(async () => {
        const r = await run(helm.path, args, { env });
        if (r.code !== 0) throw new Error(`install ${name}: ${r.stderr}`);
      });
      const upgrade = await time(async () => {
        const r = await run(helm.path, args, { env });
        if (r.code !== 0) throw new Error(`upgrade ${name}: ${r.stderr}`);
      });
      console.log(`${name}: helm install --wait ${(install / 1000).toFixed(1)} s, helm upgrade --wait (same values) ${(upgrade / 1000).toFixed(1)} s`);
    }
  } finally {
    await clusterDown(layout, () => {});
    rmSync(root, { recursive: true, force: true });
  }
}

// the replica-set tests on real mongod (3 → 5 → 3 members, users, restarts): one vitest run, wall time
const vitest = join(repoRoot, 'node_modules', '.bin', 'vitest');
const rs = await time(async () => must(vitest, ['run', join(repoRoot, 'test', 'mongodb-scripts.test.ts')]));
console.log(`replica-set tests on real mongod 6.0.5 (test/mongodb-scripts.test.ts, one vitest run): ${(rs / 1000).toFixed(1)} s`);
