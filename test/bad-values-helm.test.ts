// helm itself refuses every file of the class corpus (test/helpers/bad-values.ts),
// under both majors: through values.schema.json for what JSON Schema can say,
// through the template fail of the same rule (scripts/lib/rule-table.ts) for the
// cross-field rules, with the same message the validator gives.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { helmMatrix, type HelmBinary } from '../scripts/lib/helm.ts';
import { mapLimit } from '../scripts/lib/lint.ts';
import { chartDir, repoRoot } from '../scripts/lib/paths.ts';
import { createValidator } from '../scripts/lib/validate.ts';
import { isError } from '../scripts/lib/diagnostics.ts';
import { amtoolCheck, programChecks } from '../scripts/lib/program-checks.ts';
import { findTool } from '../scripts/lib/tools.ts';
import { OPTIONAL_APIS } from './helpers/render.ts';
import { CLASS_CASES } from './helpers/bad-values.ts';

const fixtureDir = 'test/fixtures/values';

/** What helm must say: the rule's tag and its message (the cause; the quota's breakdown may differ), or the key. */
interface Expectation {
  fixture: string;
  rules: string[];
  causes: string[];
  keys: string[];
  /** YAML-level problems: helm's parser refuses the file */
  yaml: string[];
}

const expectations: Expectation[] = [];
let matrix: HelmBinary[] = [];

beforeAll(async () => {
  matrix = await helmMatrix();
  const validator = createValidator();
  for (const { fixture } of CLASS_CASES) {
    const file = `${fixtureDir}/${fixture}`;
    const diagnostics = validator.validate(file, readFileSync(join(repoRoot, file)));
    const shared = diagnostics.filter((d) => d.rule?.startsWith('rule/'));
    const schema = diagnostics.filter((d) => /^(schema|profile)\//.test(d.rule ?? ''));
    expectations.push({
      fixture,
      rules: shared.map((d) => d.rule!.slice('rule/'.length)),
      causes: shared.map((d) => d.message.replace(' [the chart default; set it in this file]', '').split('. Biggest part:')[0]!),
      // helm 3 and 4 both name the key of a schema error (for a bad key name: that name)
      keys: schema.map((d) => {
        const segments = [...d.path.matchAll(/\["((?:[^"\\]|\\.)*)"\]|([^.[\]]+)/g)].map((m) => m[1] ?? m[2] ?? '');
        return d.message.startsWith('key name') ? segments.at(-1)! : segments.filter((seg) => !/^\d+$/.test(seg)).at(-1)!;
      }),
      // (a YAML 1.1 reading is a warning beside the error it causes, not a file helm cannot parse)
      yaml: diagnostics.filter((d) => isError(d) && !d.rule?.includes('/')).map((d) => d.rule!),
    });
  }
});

describe.each([4, 3])('helm %d template refuses every bad file of the class corpus', (major) => {
  const results = new Map<string, { code: number; output: string }>();

  beforeAll(async () => {
    const helm = matrix.find((h) => h.major === major);
    if (!helm) throw new Error(`no helm ${major}`);
    await mapLimit(CLASS_CASES, 2, async ({ fixture }) => {
      const apis = OPTIONAL_APIS.flatMap((api) => ['--api-versions', api]);
      const result = await run(helm.path, ['template', 'shop', chartDir('techshop'), '-f', join(repoRoot, fixtureDir, fixture), ...apis]);
      results.set(fixture, { code: result.code, output: `${result.stdout}\n${result.stderr}` });
    });
  });

  it.each(CLASS_CASES.map((c) => c.fixture))('%s', (fixture) => {
    const result = results.get(fixture)!;
    const expected = expectations.find((x) => x.fixture === fixture)!;
    expect(result.code, result.output.slice(-2000)).not.toBe(0);
    const stderr = result.output;
    if (expected.yaml.length > 0) {
      expect(stderr).toMatch(/failed to parse/);
    } else if (expected.keys.length === 0) {
      // a cross-field rule alone: helm fails in the template, with the rule's own words (helm stops at the first)
      const i = expected.rules.findIndex((rule) => stderr.includes(`[rule ${rule}]`));
      expect(i, stderr.slice(-2000)).toBeGreaterThanOrEqual(0);
      expect(stderr.replace(/\s+/g, ' ')).toContain(expected.causes[i]!.replace(/\s+/g, ' '));
    } else {
      // the schema refuses it first, naming the key
      // (helm 4 writes the path as a JSON pointer: "/" in a key is "~1")
      for (const key of expected.keys) {
        const pointer = key.replace(/~/g, '~0').replace(/\//g, '~1');
        expect(stderr.includes(key) || stderr.includes(pointer), `${key}:\n${stderr.slice(-2000)}`).toBe(true);
      }
    }
  });
});

// Issue 25, class 1: where values shape a program's configuration, the schema carries the program's own grammar.
// For a sample of good and bad inputs, the validator (the schema and the rules, as helm enforces them) and the
// program itself (amtool check-config, the deployed version's build when installed) give the same verdict.
describe('the schema and Alertmanager agree', () => {
  const amtool = findTool('amtool-upstream') ?? findTool('amtool');
  const validator = createValidator();
  const durations: [string, boolean][] = [
    ['30s', true], ['5m', true], ['1h30m', true], ['2d', true], ['0', true], ['1w2d', true], ['250ms', true],
    ['5 minutes', false], ['30m1h', false], ['1.5h', false], ['5min', false], ['-5m', false], ['', false], ['5 m', false],
  ];
  const matchers: [string, boolean][] = [
    ['severity="critical"', true], ['team=~"db|cache"', true], ['alertname!="Watchdog"', true], ['env!~"dev.*"', true], ['a=b', true], ['a = "x"', true], ['msg="say \\"hi\\""', true],
    ['severity="critical', false], ['a="x"y"', false], ['foo bar="x"', false], ['="x"', false], ['severity', false],
  ];
  // a zero group_interval or repeat_interval: a valid duration that Alertmanager refuses there (nonZeroDuration)
  const zeroes: [string, string, boolean][] = [
    ['group_interval', '0', false], ['group_interval', '0s', false], ['repeat_interval', '0h0m', false], ['repeat_interval', '10m', true], ['group_wait', '0s', true],
  ];
  const configOf = (route: Record<string, unknown>, receivers = [{ name: 'default' }, { name: 'pager' }]) => ({ route: { receiver: 'default', routes: [{ receiver: 'pager', ...route }] }, receivers });
  const schemaSays = (config: Record<string, unknown>): boolean => {
    const text = JSON.stringify({ global: { environment: 'dev' }, monitoring: { alertmanager: { config } } });
    return validator.validate('values-dev.sample.yaml', Buffer.from(text)).filter(isError).length === 0;
  };
  const amtoolSays = async (config: Record<string, unknown>): Promise<boolean> => (await amtoolCheck(amtool!, JSON.stringify(config))).ok;

  it('amtool is installed (the lint stage runs it on every render)', () => {
    expect(amtool, 'amtool (apt prometheus-alertmanager, or .ci/install-prometheus-tools.sh)').toBeDefined();
  });

  it.each(durations)('group_wait %j: valid %s', async (duration, valid) => {
    const config = configOf({ group_wait: duration });
    expect(schemaSays(config)).toBe(valid);
    expect(await amtoolSays(config)).toBe(valid);
  });

  it.each(zeroes)('%s %j: valid %s', async (key, duration, valid) => {
    const config = configOf({ [key]: duration });
    expect(schemaSays(config)).toBe(valid);
    expect(await amtoolSays(config)).toBe(valid);
  });

  it.each(matchers)('matcher %j: valid %s', async (matcher, valid) => {
    const config = configOf({ matchers: [matcher] });
    expect(schemaSays(config)).toBe(valid);
    expect(await amtoolSays(config)).toBe(valid);
  });

  it.each([
    ['two receivers of one name', configOf({}, [{ name: 'default' }, { name: 'pager' }, { name: 'default' }]), false],
    ['a key Alertmanager does not know in a nested route', configOf({ routes: [{ receiver: 'default', repeat: '1h' }] }), false],
    ['a nested route naming an undefined receiver', configOf({ routes: [{ receiver: 'nobody' }] }), false],
    ['a three-level tree', configOf({ routes: [{ receiver: 'default', routes: [{ receiver: 'pager', group_wait: '1m' }] }] }), true],
  ] as const)('%s: valid %s', async (_, config, valid) => {
    expect(schemaSays(config as Record<string, unknown>)).toBe(valid);
    expect(await amtoolSays(config as Record<string, unknown>)).toBe(valid);
  });

  it('the lint stage reports a render whose Alertmanager config amtool refuses', async () => {
    const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-alertmanager' }, data: { 'alertmanager.yml': 'route:\n  receiver: default\n  group_wait: 5 minutes\nreceivers:\n  - name: default\n' } };
    const lines = await programChecks([{ label: 'sample', objects: [object] }]);
    expect(lines).toEqual([expect.objectContaining({ ok: false, line: 'amtool check-config: 1 rendered configs over 1 renders' })]);
  });
});
