#!/usr/bin/env tsx
// validate → lint → package → release, stopping at the first failing stage
// with that stage's exit code. A live task list shows progress and timings.
import { parseArgs } from 'node:util';
import { Listr } from 'listr2';
import { environments, type Environment } from './lib/paths.ts';
import { runIfMain, type Stage } from './lib/stage.ts';
import { lintStage } from './lint.ts';
import { validateStage } from './validate.ts';

export interface StageEntry {
  name: string;
  load: () => Promise<Stage>;
  argv: (env: Environment | undefined) => string[];
}

const envArgs = (env: Environment | undefined): string[] => (env ? ['--env', env] : []);

export const STAGES: StageEntry[] = [
  { name: 'validate', load: async () => validateStage, argv: envArgs },
  { name: 'lint', load: async () => lintStage, argv: envArgs },
  { name: 'package', load: async () => (await import('./package.ts')).packageStage, argv: () => [] },
  { name: 'release', load: async () => (await import('./release.ts')).releaseStage, argv: () => [] },
];

export interface StageOutcome {
  name: string;
  code: number;
  ms: number;
  output: string[];
}

export const pipelineStage: Stage = async ({ argv, log }) => {
  const { values: options } = parseArgs({ args: argv, options: { env: { type: 'string' }, verbose: { type: 'boolean' } } });
  const env = options.env as Environment | undefined;
  if (env && !environments.includes(env)) {
    log(`--env must be one of ${environments.join(', ')} (got ${env})`);
    return 2;
  }
  return runStages(STAGES, env, log, Boolean(options.verbose));
};

/** Runs the stages in order under a live task list; the first failure stops it with that stage's exit code. */
export async function runStages(stages: StageEntry[], env: Environment | undefined, log: (line: string) => void, verbose = false): Promise<number> {
  const outcomes: StageOutcome[] = [];
  const started = performance.now();
  const tasks = new Listr(
    stages.map((entry) => ({
      title: entry.name,
      task: async (_ctx: unknown, task: { title: string; output: string }) => {
        const t0 = performance.now();
        const output: string[] = [];
        const stage = await entry.load();
        const code = await stage({
          argv: entry.argv(env),
          log: (line) => {
            output.push(line);
            task.output = line;
          },
        });
        const ms = Math.round(performance.now() - t0);
        outcomes.push({ name: entry.name, code, ms, output });
        const summary = output.at(-1) ?? '';
        task.title = `${entry.name} (${(ms / 1000).toFixed(2)} s) ${summary}`;
        if (code !== 0) throw new Error(`${entry.name} failed with exit code ${code}`);
      },
      rendererOptions: { persistentOutput: false },
    })),
    { exitOnError: true, concurrent: false, rendererOptions: { collapseErrors: false } },
  );
  try {
    await tasks.run();
  } catch {
    // reported below with the failing stage's own output
  }
  const failed = outcomes.find((o) => o.code !== 0);
  if (failed || verbose) {
    for (const o of failed ? [failed] : outcomes) {
      log(`--- ${o.name} output ---`);
      for (const line of o.output) log(line);
    }
  }
  const total = ((performance.now() - started) / 1000).toFixed(2);
  log(`pipeline: ${outcomes.map((o) => `${o.name} ${o.code === 0 ? 'ok' : `FAILED (${o.code})`} ${(o.ms / 1000).toFixed(2)} s`).join(', ')}; total ${total} s`);
  if (failed) return failed.code;
  if (outcomes.length < stages.length) return 1;
  return 0;
}

await runIfMain(import.meta.url, pipelineStage);
