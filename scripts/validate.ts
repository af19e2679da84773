#!/usr/bin/env tsx
// Validates values files (default: values/*.yaml) against the schemas, their
// environment profile and the cross-field rules. Exit 1 on any error.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatDiagnostic, isError, sortDiagnostics } from './lib/diagnostics.ts';
import { chartDir, environments, valuesDir, type Environment } from './lib/paths.ts';
import { runIfMain, type Stage } from './lib/stage.ts';
import { SCHEMA_OF_CHART } from './lib/generate.ts';
import { chartOfValuesFile, environmentOfFile, loadValidator, validateFiles, type Validator } from './lib/validate.ts';

/** Every values file: values/*.yaml and each chart's ci/*-values.yaml (ct's). */
export function defaultValuesFiles(env?: Environment): string[] {
  const ciFiles = Object.keys(SCHEMA_OF_CHART).flatMap((chart) => {
    const ciDir = join(chartDir(chart), 'ci');
    return existsSync(ciDir) ? readdirSync(ciDir).filter((f) => f.endsWith('-values.yaml')).map((f) => join(ciDir, f)) : [];
  });
  return [...readdirSync(valuesDir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(valuesDir, f)), ...ciFiles]
    .filter((f) => !env || environmentOfFile(f) === env)
    .sort();
}

export const validateStage: Stage = async ({ argv, log }) => {
  const { values: options, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { env: { type: 'string' } } });
  const env = options.env as Environment | undefined;
  if (env && !environments.includes(env)) {
    log(`--env must be one of ${environments.join(', ')} (got ${env})`);
    return 2;
  }
  const started = performance.now();
  const files = positionals.length ? positionals : defaultValuesFiles(env);
  const validators = new Map<string, Validator>();
  for (const chart of new Set(files.map(chartOfValuesFile))) validators.set(chart, await loadValidator(chart));
  const diagnostics = sortDiagnostics(validateFiles((chart) => validators.get(chart) as Validator, files, env));
  for (const d of diagnostics) log(formatDiagnostic(d));
  const errors = diagnostics.filter(isError).length;
  const ms = Math.round(performance.now() - started);
  log(`validate: ${files.length} file(s), ${errors} error(s), ${diagnostics.length - errors} warning(s) in ${ms} ms`);
  return errors > 0 ? 1 : 0;
};

await runIfMain(import.meta.url, validateStage);
