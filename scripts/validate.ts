#!/usr/bin/env tsx
// Validates values files (default: values/*.yaml) against the schemas, their
// environment profile and the cross-field rules. Exit 1 on any error.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatDiagnostic, isError, sortDiagnostics } from './lib/diagnostics.ts';
import { chartDir, environments, umbrellaChart, valuesDir, type Environment } from './lib/paths.ts';
import { runIfMain, type Stage } from './lib/stage.ts';
import { environmentOfFile, loadValidator, validateFiles } from './lib/validate.ts';

/** Every values file the umbrella is installed with: values/*.yaml and ct's charts/techshop/ci/*-values.yaml. */
export function defaultValuesFiles(env?: Environment): string[] {
  const ciDir = join(chartDir(umbrellaChart), 'ci');
  return [
    ...readdirSync(valuesDir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(valuesDir, f)),
    ...readdirSync(ciDir).filter((f) => f.endsWith('-values.yaml')).map((f) => join(ciDir, f)),
  ]
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
  const diagnostics = sortDiagnostics(validateFiles(await loadValidator(), files, env));
  for (const d of diagnostics) log(formatDiagnostic(d));
  const errors = diagnostics.filter(isError).length;
  const ms = Math.round(performance.now() - started);
  log(`validate: ${files.length} file(s), ${errors} error(s), ${diagnostics.length - errors} warning(s) in ${ms} ms`);
  return errors > 0 ? 1 : 0;
};

await runIfMain(import.meta.url, validateStage);
