// The pipeline stops at the first failing stage, with its exit code, and a
// failed run leaves nothing in dist/.
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { repoRoot } from '../scripts/lib/paths.ts';
import { runStages, STAGES, type StageEntry } from '../scripts/pipeline.ts';

const fake = (name: string, code: number, calls: string[]): StageEntry => ({
  name,
  argv: () => [],
  load: async () => async ({ log }) => {
    calls.push(name);
    log(`${name} says hello`);
    return code;
  },
});

describe('runStages', () => {
  it('runs every stage in order when all pass', async () => {
    const calls: string[] = [];
    const lines: string[] = [];
    const code = await runStages([fake('a', 0, calls), fake('b', 0, calls)], undefined, (l) => lines.push(l));
    expect(code).toBe(0);
    expect(calls).toEqual(['a', 'b']);
    expect(lines.at(-1)).toMatch(/^pipeline: a ok .* b ok .*total/);
  });

  it('stops at the first failure and returns its exit code, showing its output', async () => {
    const calls: string[] = [];
    const lines: string[] = [];
    const code = await runStages([fake('validate', 0, calls), fake('lint', 3, calls), fake('package', 0, calls)], 'prod', (l) => lines.push(l));
    expect(code).toBe(3);
    expect(calls).toEqual(['validate', 'lint']);
    expect(lines).toContain('lint says hello');
    expect(lines.at(-1)).toMatch(/lint FAILED \(3\)/);
  });

  it('is validate, lint, package, release', () => {
    expect(STAGES.map((s) => s.name)).toEqual(['validate', 'lint', 'package', 'release']);
  });
});

describe('npm run pipeline on a copy of the repository', () => {
  const copy = mkdtempSync(join(tmpdir(), 'pipeline-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('fails in validate on a bad prod values file, with exit 1, and writes no dist/', async () => {
    for (const dir of ['charts', 'schemas', 'scripts', 'values', 'tools']) cpSync(join(repoRoot, dir), join(copy, dir), { recursive: true });
    for (const file of ['package.json', 'tsconfig.json', 'ct.yaml', 'lintconf.yaml', 'chart_schema.yaml', 'kube-score.ignore']) {
      cpSync(join(repoRoot, file), join(copy, file));
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
    writeFileSync(join(copy, 'values', 'values-prod.yaml'), 'global:\n  environment: prod\napp:\n  image:\n    tag: stable\n');
    const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
    const result = await run(tsx, [join(copy, 'scripts', 'pipeline.ts'), '--env', 'prod'], { cwd: copy, env: { ...process.env, CI: 'true' } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/values-prod\.yaml:5:5 {2}app\.image\.tag: image docker\.io\/techshop\/app:stable is not pinned/);
    expect(result.stdout).toMatch(/pipeline: validate FAILED \(1\)/);
    expect(result.stdout).not.toMatch(/lint ok/);
    expect(existsSync(join(copy, 'dist'))).toBe(false);
  });
});
