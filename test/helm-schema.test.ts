// helm lint with a bad value fails, and names the same key the validator names,
// under both helm majors. The generated values.schema.json carries the schema and,
// behind global.environment, the profiles, so these fixtures all set it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isError } from '../scripts/lib/diagnostics.ts';
import { run } from '../scripts/lib/exec.ts';
import { helmMatrix, type HelmBinary } from '../scripts/lib/helm.ts';
import { mapLimit } from '../scripts/lib/lint.ts';
import { chartDir, repoRoot } from '../scripts/lib/paths.ts';
import { createValidator } from '../scripts/lib/validate.ts';
import { parseYamlSource } from '../scripts/lib/yaml-source.ts';

const FIXTURES = [
  // schema
  'values-dev.unknown-app-key.yaml',
  'values-dev.unknown-root-key.yaml',
  'values-dev.quota-unknown-key.yaml',
  'values-dev.wrong-type.yaml',
  'values-dev.memory-20GB.yaml',
  'values-dev.pull-policy.yaml',
  'values-dev.port-out-of-range.yaml',
  // prod profile (global.environment: prod)
  'values-prod.tls-off.yaml',
  'values-prod.replicas-2-no-hpa.yaml',
  'values-prod.missing-existing-secret.yaml',
  'values-prod.quota-off.yaml',
  'values-prod.null-existing-secret.yaml',
  'values-prod.api-server-everywhere.yaml',
];

/** `resourceQuota.hard["requests.cpu"]` → `resourceQuota.hard.requests.cpu` (helm 3 cannot tell the two apart). */
function plainPath(path: string): string {
  return path.replace(/\["([^"]*)"\]/g, '.$1').replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '');
}

const join2 = (parent: string, key: string) => (parent ? `${parent}.${key}` : key);

/**
 * Key paths helm's lint output names, dot-joined. Helm 4: `- at '/app/image/tag': ...`
 * and `at '/app': additional properties 'replicas' not allowed`; Helm 3:
 * `- app.image.tag: ...` and `- app: Additional property replicas is not allowed`.
 */
function helmPaths(output: string): Set<string> {
  const paths = new Set<string>();
  for (const line of output.split('\n')) {
    const v4 = /at '([^']*)': (.*)$/.exec(line);
    if (v4) {
      const parent = (v4[1] ?? '').split('/').filter(Boolean).join('.');
      const extra = /additional propert(?:y|ies) (.*) not allowed/.exec(v4[2] ?? '');
      if (extra) for (const m of (extra[1] ?? '').matchAll(/'([^']+)'/g)) paths.add(join2(parent, m[1] ?? ''));
      else paths.add(parent);
      continue;
    }
    const v3 = /^(?:\[ERROR\] [^:]+: )?- (\S+): (.*)$/.exec(line);
    if (v3) {
      const parent = v3[1] === '(root)' ? '' : (v3[1] ?? '');
      const extra = /^Additional property (\S+) is not allowed/.exec(v3[2] ?? '');
      paths.add(extra ? join2(parent, extra[1] ?? '') : parent);
    }
  }
  return paths;
}

describe('helmPaths', () => {
  it('reads Helm 4 and Helm 3 output alike', () => {
    expect([...helmPaths("[ERROR] values.yaml: - at '/app': additional properties 'replicas', 'x' not allowed\n  - at '/app/image/tag': 'stable' does not match")]).toEqual([
      'app.replicas',
      'app.x',
      'app.image.tag',
    ]);
    expect([...helmPaths('[ERROR] values.yaml: - app: Additional property replicas is not allowed\n- app.image.tag: Does not match pattern\n- (root): Must validate all the schemas (allOf)')]).toEqual([
      'app.replicas',
      'app.image.tag',
      '',
    ]);
  });
});

let matrix: HelmBinary[] = [];
const validated = new Map<string, string[]>();

beforeAll(async () => {
  matrix = await helmMatrix();
  const validator = createValidator();
  for (const fixture of FIXTURES) {
    const file = join('test/fixtures/values', fixture);
    const bytes = readFileSync(join(repoRoot, file));
    // helm enforces a profile only through global.environment in the file
    const value = parseYamlSource(file, bytes).value as { global?: { environment?: string } };
    if (fixture.startsWith('values-prod.')) expect(value.global?.environment, fixture).toBe('prod');
    validated.set(fixture, validator.validate(file, bytes).filter(isError).map((d) => plainPath(d.path)));
  }
});

describe.each([4, 3])('helm %d lint --strict with a bad value', (major) => {
  const results = new Map<string, { code: number; output: string }>();

  beforeAll(async () => {
    const helm = matrix.find((h) => h.major === major);
    if (!helm) throw new Error(`no helm ${major}`);
    await mapLimit(FIXTURES, 2, async (fixture) => {
      const result = await run(helm.path, ['lint', '--strict', chartDir('techshop'), '-f', join(repoRoot, 'test/fixtures/values', fixture)]);
      results.set(fixture, { code: result.code, output: `${result.stdout}\n${result.stderr}` });
    });
  });

  it.each(FIXTURES)('%s fails, naming the key the validator names', (fixture) => {
    const result = results.get(fixture);
    const keys = validated.get(fixture) ?? [];
    expect(keys.length, 'the validator reports something').toBeGreaterThan(0);
    expect(result?.code, result?.output).not.toBe(0);
    const named = helmPaths(result?.output ?? '');
    for (const key of keys) expect([...named], `helm ${major} output:\n${result?.output}`).toContain(key);
  });
});
