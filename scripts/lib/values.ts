// Values as Helm sees them: chart defaults coalesced with the user's file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { chartDir } from './paths.ts';

export type Values = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Values {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Helm's coalescing: maps merge key by key, anything else in `override`
 * replaces the default, and an explicit null removes the key.
 */
export function coalesce(defaults: unknown, override: unknown): unknown {
  if (override === undefined) return structuredClone(defaults);
  if (!isPlainObject(defaults) || !isPlainObject(override)) return structuredClone(override);
  const out: Values = structuredClone(defaults);
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else out[key] = coalesce(out[key], value);
  }
  return out;
}

export interface ChartDependency {
  name: string;
  alias?: string;
  condition?: string;
  repository?: string;
  version?: string;
}

export interface ChartMeta {
  name: string;
  version: string;
  type?: string;
  dependencies?: ChartDependency[];
}

export function readChartMeta(chart: string): ChartMeta {
  return parse(readFileSync(join(chartDir(chart), 'Chart.yaml'), 'utf8')) as ChartMeta;
}

export function readChartValues(chart: string): Values {
  const parsed = parse(readFileSync(join(chartDir(chart), 'values.yaml'), 'utf8')) as unknown;
  return isPlainObject(parsed) ? parsed : {};
}

/** A chart's defaults including its application subcharts' defaults under their keys. */
export function chartDefaults(chart: string): Values {
  const own = readChartValues(chart);
  const merged: Values = {};
  for (const dep of readChartMeta(chart).dependencies ?? []) {
    if (readChartMeta(dep.name).type === 'library') continue;
    merged[dep.alias ?? dep.name] = chartDefaults(dep.name);
  }
  return coalesce(merged, own) as Values;
}
