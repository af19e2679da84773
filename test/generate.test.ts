// Generated files must match what the generator writes from schemas/ now,
// and the schemas must be complete enough to generate good docs from.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chartSchema, generatedFiles, replaceTable, staleFiles, SCHEMA_OF_CHART, withoutRequired } from '../scripts/lib/generate.ts';
import { loadSchemaSources, walkProperties, type JsonSchema } from '../scripts/lib/schema-source.ts';

const sources = loadSchemaSources();

describe('generated files', () => {
  it('are up to date (run npm run generate when this fails)', () => {
    expect(staleFiles()).toEqual([]);
  });

  it('detects a stale file', () => {
    const files = generatedFiles(sources);
    const first = files[0];
    if (!first) throw new Error('nothing generated');
    expect(staleFiles([{ path: first.path, content: `${first.content} ` }])).toHaveLength(1);
  });

  it('say they are generated', () => {
    for (const file of generatedFiles(sources)) {
      const text = readFileSync(file.path, 'utf8');
      expect(text).toMatch(/GENERATED/);
    }
  });

  it('replaces only the table between the markers and refuses a README without them', () => {
    const readme = 'intro\n<!-- BEGIN GENERATED PARAMETERS: npm run generate -->\nold\n<!-- END GENERATED PARAMETERS -->\noutro\n';
    const out = replaceTable(readme, '| new |', 'README.md');
    expect(out).toBe('intro\n<!-- BEGIN GENERATED PARAMETERS: npm run generate -->\n\n| new |\n\n<!-- END GENERATED PARAMETERS -->\noutro\n');
    expect(() => replaceTable('no markers', 'x', 'README.md')).toThrow(/missing the/);
  });
});

describe('values schemas', () => {
  for (const chart of Object.keys(SCHEMA_OF_CHART)) {
    const schema = chartSchema(sources, chart);

    it(`${chart}: is self-contained (no $ref left)`, () => {
      expect(JSON.stringify(chartSchema(sources, chart, { forHelm: true }))).not.toMatch(/"\$ref"/);
    });

    it(`${chart}: gives every property a description`, () => {
      const missing = [...walkProperties(schema)].filter(([, s]) => typeof s.description !== 'string' || !s.description).map(([p]) => p);
      // tolerations items are Kubernetes' own fields
      expect(missing.filter((p) => !p.includes('tolerations'))).toEqual([]);
    });

    it(`${chart}: is strict: every object with properties forbids unknown keys`, () => {
      const loose: string[] = [];
      const visit = (node: JsonSchema, path: string): void => {
        if (node.properties && node.additionalProperties !== false) loose.push(path || '(root)');
        for (const [key, sub] of Object.entries((node.properties as Record<string, JsonSchema>) ?? {})) visit(sub, path ? `${path}.${key}` : key);
      };
      visit(schema, '');
      expect(loose).toEqual([]);
    });

    it(`${chart}: documents the defaults of values.yaml`, () => {
      const props = schema.properties as Record<string, JsonSchema>;
      const image = (chart === 'app' ? props.image : (props.app?.properties as Record<string, JsonSchema>).image) as JsonSchema;
      expect((image.properties as Record<string, JsonSchema>).repository?.default).toBe('techshop/app');
    });
  }

  it('helm gets no `required` outside if-conditions in the umbrella (it lints before merging subchart defaults)', () => {
    const stripped = withoutRequired({ required: ['a'], properties: { a: { required: ['b'] } }, if: { required: ['c'] } }) as JsonSchema;
    expect(stripped).toEqual({ properties: { a: {} }, if: { required: ['c'] } });
  });
});
