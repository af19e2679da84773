// checkov over what the charts render: every finding is either fixed or
// accepted with its reason, written once in charts/common/templates/_checkov.tpl.
// checkov comes from .ci/install-tools.sh; a missing one fails, never skips.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { checkov, checkovPassRate, checkovRenders, parseCheckov, renderTarget } from '../scripts/lib/kube-checks.ts';
import { environments, repoRoot, valuesFile } from '../scripts/lib/paths.ts';
import { findTool } from '../scripts/lib/tools.ts';
import { helms } from './helpers/render.ts';

function tool(name: string): string {
  const found = findTool(name);
  if (!found) throw new Error(`${name} is not installed: run bash .ci/install-tools.sh`);
  return found;
}

/** The reason table as the chart defines it: reason name → {check id → reason}. */
function reasonTable(): Record<string, Record<string, string>> {
  const text = readFileSync(join(repoRoot, 'charts', 'common', 'templates', '_checkov.tpl'), 'utf8');
  const body = /\{\{- define "common\.checkov\.reasons" -\}\}\n([\s\S]*?)\{\{- end -\}\}/.exec(text);
  if (!body) throw new Error('common.checkov.reasons not found');
  return load(body[1] as string) as Record<string, Record<string, string>>;
}

const brokenPod = (annotations: string) => `apiVersion: v1
kind: Pod
metadata:
  name: broken
  namespace: techshop
${annotations}spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    seccompProfile: { type: RuntimeDefault }
  containers:
    - name: x
      image: example/x@sha256:${'a'.repeat(64)}
      imagePullPolicy: Always
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        runAsNonRoot: true
        runAsUser: 10001
        capabilities: { drop: [ALL] }
      resources:
        requests: { cpu: 10m, memory: 16Mi }
        limits: { cpu: 100m, memory: 32Mi }
      env:
        - name: PASSWORD
          valueFrom:
            secretKeyRef: { name: s, key: password }
`;

describe('checkov', () => {
  it('reports a Secret in an env var and missing probes: the check can fail', async () => {
    const result = await checkov(tool('checkov'), brokenPod(''));
    expect(result.ok).toBe(false);
    const failed = result.failed.map((f) => f.check);
    expect(failed).toEqual(expect.arrayContaining(['CKV_K8S_35', 'CKV_K8S_8', 'CKV_K8S_9']));
    expect(result.problems.join('\n')).toMatch(/CKV_K8S_35 Pod\.techshop\.broken: Prefer using secrets as files/);
  });

  it('refuses a skip without a reason, accepts one with a reason', async () => {
    const bare = await checkov(tool('checkov'), brokenPod('  annotations:\n    checkov.io/skip1: CKV_K8S_35\n'));
    expect(bare.problems).toContain('CKV_K8S_35 Pod.techshop.broken: skipped without a reason (Prefer using secrets as files over secrets as environment variables)');
    const reasoned = await checkov(tool('checkov'), brokenPod('  annotations:\n    checkov.io/skip1: CKV_K8S_35=a reason\n'));
    expect(reasoned.skipped).toEqual([expect.objectContaining({ check: 'CKV_K8S_35', reason: 'a reason' })]);
    expect(reasoned.failed.map((f) => f.check)).not.toContain('CKV_K8S_35');
  });

  it('parses a report per scanned file and counts the pass rate as checkov does', () => {
    const pass = (file: string) => ({ check_id: 'CKV_K8S_1', check_name: 'x', resource: 'Pod.a.b', file_path: `/${file}` });
    const parsed = parseCheckov(JSON.stringify({ check_type: 'kubernetes', results: { passed_checks: [pass('a.yaml'), pass('a.yaml')], failed_checks: [], skipped_checks: [] } }), ['a.yaml', 'b.yaml']);
    expect(parsed.get('a.yaml')).toEqual({ passed: 2, failed: [], skipped: [], problems: [] });
    expect(parsed.get('b.yaml')).toEqual({ passed: 0, failed: [], skipped: [], problems: [] });
    expect(checkovPassRate(887, 44)).toBeCloseTo(95.27, 2);
  });

  it('scans several renders in one run and reports each apart; an empty render is a failure, not a pass', async () => {
    const [broken, empty] = await checkovRenders(tool('checkov'), [brokenPod(''), '# nothing\n']);
    expect(broken!.failed.map((f) => f.check)).toContain('CKV_K8S_35');
    expect(empty!.ok).toBe(false);
    expect(empty!.problems).toContain('checkov checked nothing in this render');
  });

  it('every reason in the table names a checkov check and contains no "=" (checkov splits on it)', () => {
    const table = reasonTable();
    expect(Object.keys(table).length).toBeGreaterThan(0);
    for (const [name, checks] of Object.entries(table)) {
      for (const [check, reason] of Object.entries(checks)) {
        expect(check, name).toMatch(/^CKV_K8S_\d+$/);
        expect(reason, `${name} ${check}`).not.toContain('=');
        expect(reason.length, `${name} ${check}`).toBeGreaterThan(20);
      }
    }
  });

  for (const env of environments) {
    it(`${env}: nothing unjustified; every accepted finding carries a reason from the one table`, async () => {
      const rendered = await renderTarget(helms[0]!, { chart: 'techshop', valuesFile: valuesFile(env) });
      const result = await checkov(tool('checkov'), rendered.text);
      expect(result.problems).toEqual([]);
      expect(result.failed).toEqual([]);
      const known = new Set(Object.values(reasonTable()).flatMap((checks) => Object.entries(checks).map(([c, r]) => `${c}=${r}`)));
      for (const skip of result.skipped) expect(known, `${skip.resource} ${skip.check}`).toContain(`${skip.check}=${skip.reason}`);
      // The findings issue 13 names as real are fixed, not skipped.
      const skippedChecks = new Set(result.skipped.map((s) => `${s.check} ${s.resource}`));
      for (const workload of ['StatefulSet.techshop.shop-mongodb', 'StatefulSet.techshop.shop-redis']) {
        expect(skippedChecks).not.toContain(`CKV_K8S_8 ${workload}`);
        expect(skippedChecks).not.toContain(`CKV_K8S_9 ${workload}`);
      }
      expect(skippedChecks).not.toContain('CKV_K8S_35 Deployment.techshop.shop-grafana');
      expect(result.passed).toBeGreaterThan(800);
    });
  }
});
