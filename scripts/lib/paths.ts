import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const chartsDir = join(repoRoot, 'charts');
export const valuesDir = join(repoRoot, 'values');
export const schemasDir = join(repoRoot, 'schemas');
export const distDir = join(repoRoot, 'dist');
export const cacheDir = join(repoRoot, '.cache');
export const umbrellaChart = 'techshop';
/** Charts in dependency order: the library first, the umbrella last. */
export const chartNames = ['common', 'app', 'mongodb', 'redis', 'monitoring', 'backup', 'tracing', 'objectstore', 'logging', 'techshop'] as const;
export type ChartName = (typeof chartNames)[number];
/** Charts installed on their own, not umbrella dependencies (the log agent: once per cluster, its own namespace). */
export const standaloneCharts: readonly string[] = ['logging'];
export const environments = ['dev', 'staging', 'prod'] as const;
export type Environment = (typeof environments)[number];

export function chartDir(name: string): string {
  return join(chartsDir, name);
}

export function valuesFile(env: Environment): string {
  return join(valuesDir, `values-${env}.yaml`);
}
