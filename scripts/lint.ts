#!/usr/bin/env tsx
// helm lint --strict for every chart and values file, then ct lint (when
// chart-testing is installed; its absence is reported, not hidden).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { run } from './lib/exec.ts';
import { resolveHelm } from './lib/helm.ts';
import { describeTarget, helmLint, lintTargets, mapLimit } from './lib/lint.ts';
import { repoRoot } from './lib/paths.ts';
import { buildDependencies } from './lib/render.ts';
import { runIfMain, type Stage } from './lib/stage.ts';
import { findTool, toolPath } from './lib/tools.ts';

export const lintStage: Stage = async ({ argv, log }) => {
  const { values: options } = parseArgs({ args: argv, options: { env: { type: 'string' }, 'no-ct': { type: 'boolean' } } });
  const helm = await resolveHelm();
  await buildDependencies(helm);
  const targets = lintTargets().filter((t) => !options.env || !t.valuesFile || !/values-(dev|staging|prod)\.yaml$/.test(t.valuesFile) || t.valuesFile.endsWith(`values-${options.env}.yaml`));
  const results = await mapLimit(targets, 2, (t) => helmLint(helm, t));
  let failed = 0;
  for (const result of results) {
    log(`${result.ok ? 'ok  ' : 'FAIL'} ${result.name}`);
    if (!result.ok) {
      failed++;
      log(result.detail.replace(/^/gm, '     '));
    }
  }
  log(`helm lint: ${targets.length} chart/values combinations, ${failed} failed (${new Set(targets.map((t) => t.chart)).size} charts)`);

  if (!options['no-ct']) {
    const ct = findTool('ct');
    if (!ct) {
      log('ct lint: NOT RUN - chart-testing is not installed (bash .ci/install-tools.sh installs it)');
    } else {
      const result = await run(ct, ['lint', '--config', join(repoRoot, 'ct.yaml'), '--all'], {
        cwd: repoRoot,
        env: { ...process.env, PATH: toolPath(helm.path) },
      });
      const ok = result.code === 0;
      log(`ct lint: ${ok ? 'passed' : 'FAILED'}`);
      if (!ok) {
        failed++;
        log(`${result.stdout}\n${result.stderr}`.trim().replace(/^/gm, '     '));
      }
    }
  }
  void describeTarget;
  return failed > 0 ? 1 : 0;
};

await runIfMain(import.meta.url, lintStage);
