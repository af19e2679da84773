// Each rendered-object check catches what it is for: a deliberately broken
// input makes it fail, the real charts pass. The tools come from
// .ci/install-tools.sh; a missing one fails the test, it never skips.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { actionlint, kubeconform, kubernetesVersions, kubeScore, kubeScoreIgnored, renderTarget } from '../scripts/lib/kube-checks.ts';
import { repoRoot, valuesFile } from '../scripts/lib/paths.ts';
import { findTool, toolPath } from '../scripts/lib/tools.ts';
import { helms } from './helpers/render.ts';

function tool(name: string): string {
  const found = findTool(name);
  if (!found) throw new Error(`${name} is not installed: run bash .ci/install-tools.sh`);
  return found;
}

const scratch = mkdtempSync(join(tmpdir(), 'kube-checks-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const deployment = (spec: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
${spec}`;
const goodSpec = `  selector:
    matchLabels: { app: x }
  template:
    metadata:
      labels: { app: x }
    spec:
      containers:
        - name: x
          image: example/x:1.0.0
`;

describe('kubeconform (strict, offline schemas)', () => {
  it('supports the oldest and newest Kubernetes versions the README states', () => {
    expect(kubernetesVersions()).toEqual(['1.29.15', '1.35.8']);
  });

  for (const version of kubernetesVersions()) {
    it(`${version}: rejects an unknown field and a wrong type, accepts the fixed object`, async () => {
      const bin = tool('kubeconform');
      const unknown = await kubeconform(bin, deployment(`  replica: 3\n${goodSpec}`), version);
      expect(unknown.ok).toBe(false);
      expect(unknown.problems.join('\n')).toMatch(/Deployment\/broken: .*additional properties 'replica' not allowed/);
      const wrongType = await kubeconform(bin, deployment(`  replicas: "3"\n${goodSpec}`), version);
      expect(wrongType.ok).toBe(false);
      expect(wrongType.problems.join('\n')).toMatch(/replicas/);
      const fixed = await kubeconform(bin, deployment(`  replicas: 3\n${goodSpec}`), version);
      expect(fixed).toMatchObject({ ok: true, valid: 1 });
    });
  }

  it('validates every object of the prod render against both versions', async () => {
    const rendered = await renderTarget(helms[0]!, { chart: 'techshop', valuesFile: valuesFile('prod') });
    for (const version of kubernetesVersions()) {
      const result = await kubeconform(tool('kubeconform'), rendered.text, version);
      expect(result.problems).toEqual([]);
      expect(result.valid).toBe(rendered.objects.length);
    }
  });
});

describe('kube-score', () => {
  it('flags a container without resources or a security context', async () => {
    const result = await kubeScore(tool('kube-score'), deployment(goodSpec));
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/\[CRITICAL\] broken.*Deployment: \(x\) (CPU|Memory) limit is not set/);
  });

  it('scopes `env:` exclusions to that environment only', () => {
    const text = 'container-image-pull-policy # why\ndev: deployment-replicas\n';
    expect(kubeScoreIgnored('values/values-dev.yaml', text)).toEqual(['container-image-pull-policy', 'deployment-replicas']);
    expect(kubeScoreIgnored('values/values-prod.yaml', text)).toEqual(['container-image-pull-policy']);
  });
});

describe('ct lint (chart-testing with our chart_schema.yaml and lintconf.yaml)', () => {
  async function ctLint(chartDir: string): Promise<{ code: number; output: string }> {
    const result = await run(
      tool('ct'),
      ['lint', '--config', join(repoRoot, 'ct.yaml'), '--chart-yaml-schema', join(repoRoot, 'chart_schema.yaml'), '--lint-conf', join(repoRoot, 'lintconf.yaml'), '--charts', chartDir],
      { cwd: scratch, env: { ...process.env, PATH: toolPath(helms[0]!.path) } },
    );
    return { code: result.code, output: `${result.stdout}\n${result.stderr}` };
  }

  it('passes the real library chart and fails a Chart.yaml that breaks the chart schema', async () => {
    const good = join(scratch, 'good', 'common');
    cpSync(join(repoRoot, 'charts', 'common'), good, { recursive: true });
    expect((await ctLint(good)).code).toBe(0);
    const bad = join(scratch, 'bad', 'common');
    cpSync(join(repoRoot, 'charts', 'common'), bad, { recursive: true });
    writeFileSync(join(bad, 'Chart.yaml'), 'apiVersion: v1\nname: common\nversion: 0.1.0\ntype: library\n');
    const result = await ctLint(bad);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/apiVersion: 'v1' not in \('v2',\)/);
  });

  it('fails values that YAML 1.1 reads differently (yamllint truthy)', async () => {
    const chart = join(scratch, 'truthy', 'common');
    cpSync(join(repoRoot, 'charts', 'common'), chart, { recursive: true });
    writeFileSync(join(chart, 'values.yaml'), 'enabled: yes\n');
    const result = await ctLint(chart);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/truthy/);
  });
});

describe('actionlint', () => {
  it('passes the repository workflows and fails a workflow with a typo', async () => {
    expect((await actionlint(tool('actionlint'))).problems).toEqual([]);
    const repo = join(scratch, 'wf');
    mkdirSync(join(repo, '.github', 'workflows'), { recursive: true });
    writeFileSync(
      join(repo, '.github', 'workflows', 'ci.yaml'),
      'on: push\njobs:\n  test:\n    run-on: ubuntu-latest\n    steps:\n      - run: echo hi\n',
    );
    // actionlint finds the project by its .git directory
    expect((await run('git', ['init', '-q', repo])).code).toBe(0);
    const result = await actionlint(tool('actionlint'), repo);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/run-on/);
  });
});
