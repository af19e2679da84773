// The time budget `npm run bench` prints: tool build times from the install
// logs, each test tier's wall time from the last vitest JSON report, the steps
// of the last `.ci/run`, a cold `.ci/run` estimate from those parts, and a
// line per target.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One tool group's build: the last run's seconds and the longest recorded (a cold build). */
export interface BuildTime {
  name: string;
  last: number;
  coldest: number;
}

/**
 * .cache/tools/logs/<name>.seconds (the last run) and <name>.history
 * ("<epoch> <seconds>" per run, appended by .ci/install-tools.sh and
 * .ci/install-real-node.sh): the longest recorded run stands for a cold build.
 */
export function readBuildTimes(logs: string): BuildTime[] {
  if (!existsSync(logs)) return [];
  const names = new Set(readdirSync(logs).filter((f) => /\.(seconds|history)$/.test(f)).map((f) => f.replace(/\.(seconds|history)$/, '')));
  return [...names].sort().map((name) => {
    const read = (ext: string) => (existsSync(join(logs, `${name}.${ext}`)) ? readFileSync(join(logs, `${name}.${ext}`), 'utf8') : '');
    const history = parseHistory(read('history'));
    const last = Number(read('seconds').trim()) || history.at(-1) || 0;
    return { name, last, coldest: Math.max(last, ...history) };
  });
}

/** "<epoch> <seconds>" lines → the seconds. */
export function parseHistory(text: string): number[] {
  return text
    .split('\n')
    .map((line) => Number(line.trim().split(/\s+/)[1]))
    .filter((n) => Number.isFinite(n) && n >= 0);
}

/** The steps of the last .ci/run: "<step>\t<seconds>" lines (.cache/ci/steps.tsv). */
export function parseSteps(text: string): { step: string; seconds: number }[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [step = '', seconds = ''] = line.split('\t');
      return { step, seconds: Number(seconds) };
    })
    .filter((s) => s.step && Number.isFinite(s.seconds));
}

/** The tier of a test file path (the projects of vitest.config.ts). */
export function tierOf(file: string, slowTests: readonly string[]): string {
  if (/\/test\/cluster\//.test(file)) return 'cluster';
  if (/\/test\/faults\//.test(file)) return 'faults';
  if (/\/test\/real\//.test(file)) return 'real';
  return slowTests.some((t) => file.endsWith(`/${t}`)) ? 'slow' : 'fast';
}

/** Each tier's wall time (first file start to last file end) in a vitest JSON report. */
export function tierWalls(report: { testResults?: { name: string; startTime: number; endTime: number }[] }, slowTests: readonly string[]): Map<string, number> {
  const spans = new Map<string, { start: number; end: number }>();
  for (const file of report.testResults ?? []) {
    const tier = tierOf(file.name, slowTests);
    const span = spans.get(tier) ?? { start: Infinity, end: -Infinity };
    span.start = Math.min(span.start, file.startTime);
    span.end = Math.max(span.end, file.endTime);
    spans.set(tier, span);
  }
  return new Map([...spans].map(([tier, s]) => [tier, (s.end - s.start) / 1000]));
}

export interface ColdParts {
  /** npm ci, apt and the main tier (Go tools, pip, checkov, schemas) */
  mainTier: number;
  /** the test tier's builds, side by side: the longest one */
  testTierBuilds: number[];
  /** generate --check and the pipeline */
  checks: number;
  /** the real node's builds and images */
  realNode: number;
  /** npm test */
  tests: number;
}

/** A cold .ci/run: its steps one after another, the test tier's builds side by side (their longest). */
export function coldEstimate(parts: ColdParts): number {
  return parts.mainTier + Math.max(0, ...parts.testTierBuilds) + parts.checks + parts.realNode + parts.tests;
}

export function targetLine(name: string, value: number | undefined, limit: number, unit: string, how: string): string {
  if (value === undefined) return `target ${name} <= ${limit} ${unit}: NOT MEASURED (${how})`;
  return `target ${name} <= ${limit} ${unit}: ${value.toFixed(unit === 'x' ? 2 : unit === 's' ? 1 : 1)} ${unit} - ${value <= limit ? 'met' : 'MISSED'} (${how})`;
}
