// Every rule lives once: a template refuses values only through
// common.rules.fail with an id of scripts/lib/rule-table.ts, and every such
// rule has its twin in the validator (RULES, same id) or in the schema, proven
// on a fixture of the corpus. The lint stage counts helm 4's logged
// "funcMap fail" as the failure it is.
import { cpSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helmMatrix } from '../scripts/lib/helm.ts';
import { helmLint, lintVerdict, mapLimit } from '../scripts/lib/lint.ts';
import { run } from '../scripts/lib/exec.ts';
import { chartsDir, repoRoot } from '../scripts/lib/paths.ts';
import { RULE_TABLE, RULES_TEMPLATE_PATH, ruleMessage, rulesTemplate, type RuleSpec } from '../scripts/lib/rule-table.ts';
import { GENERATED_MARK } from '../scripts/lib/generate.ts';
import { CLASS_CASES } from './helpers/bad-values.ts';

function templateFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'charts' ? [] : templateFiles(path);
    return /\.(ya?ml|tpl|txt)$/.test(entry.name) && path.includes('/templates/') ? [path] : [];
  });
}

const files = templateFiles(chartsDir).map((path) => ({ path: relative(repoRoot, path), text: readFileSync(path, 'utf8') }));
/** Template code only: template comments can mention fail freely. */
const code = (text: string) => text.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '');

describe('template fails', () => {
  it('finds the templates (sanity)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.map((f) => f.path)).toContain(RULES_TEMPLATE_PATH);
  });

  it('call fail only inside the generated common.rules.fail', () => {
    // The two checks of the cluster's state (an asked-for object whose CRD the cluster does not
    // serve, a claim size the live StatefulSet cannot take) are rules of the table too, of kind
    // 'cluster': no validator can see them (test/cluster/crds.test.ts and lifecycle.ts prove them on a real server).
    const raw = files.filter((f) => f.path !== RULES_TEMPLATE_PATH && /(^|[\s({|])fail\s/.test(code(f.text)));
    expect(raw.map((f) => f.path)).toEqual([]);
  });

  it('name only rules of the table, and every rule of the table is used by a template', () => {
    const used = new Set<string>();
    for (const f of files) for (const m of code(f.text).matchAll(/include "common\.rules\.fail" \(dict "rule" "([^"]+)"/g)) used.add(m[1]!);
    for (const m of files.flatMap((f) => [...code(f.text).matchAll(/include "common\.rules\.constants" "([^"]+)"/g)])) used.add(m[1]!);
    expect([...used].filter((id) => !(id in RULE_TABLE))).toEqual([]);
    expect(Object.keys(RULE_TABLE).filter((id) => !used.has(id))).toEqual([]);
  });

  it('the generated helper says it is generated and is what the table gives', () => {
    const generated = files.find((f) => f.path === RULES_TEMPLATE_PATH)!;
    expect(generated.text).toBe(rulesTemplate(GENERATED_MARK));
    expect(generated.text).toContain('GENERATED');
  });
});

describe.each(Object.entries(RULE_TABLE) as [string, RuleSpec][])('rule %s has a twin', (id, spec) => {
  it(spec.twin === 'rule' ? 'in the validator, shown on a fixture helm refuses too' : spec.twin === 'schema' ? 'in the schema, shown on a fixture' : 'or says why it depends on the live cluster', () => {
    if (spec.twin === 'rule') {
      // test/validate.test.ts proves the validator reports it; test/bad-values-helm.test.ts that helm fails with its tag
      const cases = CLASS_CASES.filter((c) => c.expected.some((x) => x.rule === `rule/${id}`));
      expect(cases.length, `no fixture for rule/${id}`).toBeGreaterThan(0);
    } else if (spec.twin === 'cluster') {
      // depends on the live cluster: tested where one is (test/render-app.test.ts with --api-versions, test/cluster/)
      expect(spec.cluster, 'a cluster rule says why validate cannot check it').toMatch(/\S/);
    } else {
      expect(spec.schemaKeys?.length).toBeGreaterThan(0);
      const all = CLASS_CASES.flatMap((c) => c.expected).filter((x) => x.rule.startsWith('schema/'));
      expect(spec.schemaKeys!.some((key) => all.some((x) => x.path === key)), `no schema fixture at ${spec.schemaKeys}`).toBe(true);
    }
  });
});

describe('ruleMessage', () => {
  it('gives, for every rule, exactly the text the template fails with (helm 4, the generated common.rules.fail)', async () => {
    const [helm] = await helmMatrix();
    const dir = mkdtempSync(join(tmpdir(), 'rule-messages-'));
    try {
      mkdirSync(join(dir, 'charts'));
      cpSync(join(chartsDir, 'common'), join(dir, 'charts', 'common'), { recursive: true });
      writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: messages\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: "*"\n');
      mkdirSync(join(dir, 'templates'));
      // one chart, the template text from values through tpl: every rule rendered by the same helper
      // (written once: rewriting it while a parallel helm reads it would hand that helm an empty file)
      writeFileSync(join(dir, 'templates', 'x.yaml'), '{{- tpl .Values.template . -}}\n');
      const ids = Object.keys(RULE_TABLE) as (keyof typeof RULE_TABLE)[];
      const outcomes = await mapLimit(ids, 2, async (id) => {
        const names = [...new Set([...(RULE_TABLE[id] as RuleSpec).message.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]!))];
        const args = Object.fromEntries(names.map((name) => [name, `${name}-value`]));
        const template = `{{- include "common.rules.fail" (dict "rule" "${id}" "args" (dict ${names.map((n) => `"${n}" "${n}-value"`).join(' ')})) -}}\n`;
        const file = join(dir, `values-${id}.yaml`);
        writeFileSync(file, `template: ${JSON.stringify(template)}\n`);
        const result = await run(helm!.path, ['template', 'x', dir, '-f', file]);
        return { id, expected: `${ruleMessage(id, args)} [rule ${id}]`, stderr: result.stderr };
      });
      for (const { id, expected, stderr } of outcomes) expect(stderr, id).toContain(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fills arguments and constants as the template does', () => {
    expect(ruleMessage('redis-maxmemory', { maxmemory: '450mb', limit: '512Mi' })).toMatch(/^redis\.config\.maxmemory 450mb is above 80% of redis\.resources\.limits\.memory 512Mi: /);
  });
});

describe('lint verdict', () => {
  it('a logged "funcMap fail" fails, whatever helm exit code and summary say', () => {
    const stdout = '==> Linting charts/techshop\n[INFO] Chart.yaml: icon is recommended\n\n1 chart(s) linted, 0 chart(s) failed\n';
    const stderr = 'level=INFO msg="funcMap fail" message="redis.config.maxmemory 900mb is above 80% [rule redis-maxmemory]"\n';
    expect(lintVerdict(0, stdout, stderr)).toEqual({ ok: false, detail: '[ERROR] template fail: redis.config.maxmemory 900mb is above 80% [rule redis-maxmemory]' });
    expect(lintVerdict(0, stdout, '').ok).toBe(true);
    expect(lintVerdict(0, stdout, 'engine.go:227: [INFO] Fail: mongodb.wiredTigerCacheSizeGB 2 is above [rule mongodb-cache]\n')).toEqual({
      ok: false,
      detail: '[ERROR] template fail: mongodb.wiredTigerCacheSizeGB 2 is above [rule mongodb-cache]',
    });
    expect(lintVerdict(1, '[ERROR] templates/: x\n', '').ok).toBe(false);
  });

  it('helm lint of a file only a template fail refuses is a failed lint, under both majors', async () => {
    const file = join(repoRoot, 'test/fixtures/values/values-dev.redis-maxmemory-over-80.yaml');
    for (const helm of await helmMatrix()) {
      const result = await helmLint(helm, { chart: 'techshop', valuesFile: file });
      expect(result.ok, `helm ${helm.major}: ${result.detail}`).toBe(false);
      expect(result.detail).toContain('[rule redis-maxmemory]');
    }
  });
});
