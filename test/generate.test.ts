// Generated files must match what the generator writes from schemas/ now,
// and the schemas must be complete enough to generate good docs from.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartSchema, generatedFiles, replaceTable, staleFiles, SCHEMA_OF_CHART, withoutRequired } from '../scripts/lib/generate.ts';
import { keywordProblems, loadSchemaSources, walkProperties, type JsonSchema } from '../scripts/lib/schema-source.ts';
import { umbrellaChart } from '../scripts/lib/paths.ts';
import { chartDefaults, readChartMeta } from '../scripts/lib/values.ts';

const sources = loadSchemaSources();

/** Each chart's main image repository in its values.yaml, at that path. */
const IMAGE_REPOSITORY_DEFAULT: Record<string, { path: string[]; repository: string }> = {
  app: { path: ['image', 'repository'], repository: 'techshop/app' },
  mongodb: { path: ['image', 'repository'], repository: 'library/mongo' },
  redis: { path: ['image', 'repository'], repository: 'library/redis' },
  monitoring: { path: ['prometheus', 'image', 'repository'], repository: 'prom/prometheus' },
  backup: { path: ['images', 'mongodb', 'repository'], repository: 'library/mongo' },
  tracing: { path: ['collector', 'image', 'repository'], repository: 'otel/opentelemetry-collector-contrib' },
  objectstore: { path: ['image', 'repository'], repository: 'bitnamilegacy/minio' },
  logging: { path: ['agent', 'image', 'repository'], repository: 'otel/opentelemetry-collector-contrib' },
};

function valueAt(values: unknown, path: string[]): unknown {
  let node = values;
  for (const key of path) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

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

describe('schema keywords', () => {
  // An unquoted comma inside a flow mapping ({ description: a, b }) ends the
  // description and makes " b" a key: JSON Schema ignores unknown keys, so only
  // this check sees the cut description and the bogus keyword.
  it('every generated schema holds only JSON Schema keywords, and every description is a string', () => {
    const schemas = generatedFiles(sources).filter((f) => f.path.endsWith('values.schema.json'));
    expect(schemas.length).toBeGreaterThanOrEqual(Object.keys(SCHEMA_OF_CHART).length);
    for (const file of schemas) {
      const problems = keywordProblems(JSON.parse(file.content)).map((p) => `${p.path.join('.')}: ${p.problem}`);
      expect(problems, file.path).toEqual([]);
    }
  });

  it('finds a bogus keyword and a description that is not a string, at any depth', () => {
    const schema = { properties: { a: { description: 'Exporter user (clusterMonitor', 'read on local).': null }, b: { items: { description: 7 } } }, allOf: [{ then: { properties: { c: { x: 1 } } } }] };
    expect(keywordProblems(schema).map((p) => p.path.join('.'))).toEqual(['properties.a.read on local).', 'properties.b.items.description', 'allOf.0.then.properties.c.x']);
  });

  it('refuses a source schema whose flow mapping splits a description, with file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'schemas-'));
    try {
      writeFileSync(join(dir, 'x.schema.yaml'), 'type: object\nproperties:\n  user: { description: Exporter user (clusterMonitor, read on local)., type: string }\n');
      expect(() => loadSchemaSources(dir)).toThrow(/schemas\/x\.schema\.yaml:3: properties\.user\.read on local\)\.: "read on local\)\." is not a JSON Schema keyword/);
      writeFileSync(join(dir, 'x.schema.yaml'), 'type: object\nproperties:\n  user: { description: "Exporter user (clusterMonitor, read on local).", type: string }\n');
      expect(loadSchemaSources(dir).documents.get('x.schema.yaml')).toEqual({ type: 'object', properties: { user: { description: 'Exporter user (clusterMonitor, read on local).', type: 'string' } } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('values schemas', () => {
  for (const chart of Object.keys(SCHEMA_OF_CHART)) {
    const schema = chartSchema(sources, chart);

    it(`${chart}: is self-contained (no $ref left but local ones to its own definitions, the recursive routing tree)`, () => {
      const schema = chartSchema(sources, chart, { forHelm: true });
      const refs = [...JSON.stringify(schema).matchAll(/"\$ref":"([^"]*)"/g)].map((m) => m[1] as string);
      for (const ref of refs) {
        expect(ref).toMatch(/^#\/definitions\/[A-Za-z]+$/);
        expect((schema.definitions as Record<string, unknown>)[ref.split('/').at(-1) as string]).toBeDefined();
      }
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
      // The umbrella documents each subchart's default under the dependency's key.
      const checks: { path: string[]; repository: string }[] = [];
      const own = IMAGE_REPOSITORY_DEFAULT[chart];
      if (own) checks.push(own);
      if (chart === umbrellaChart) {
        for (const dep of readChartMeta(chart).dependencies ?? []) {
          if (readChartMeta(dep.name).type === 'library') continue;
          const sub = IMAGE_REPOSITORY_DEFAULT[dep.name];
          if (!sub) throw new Error(`no image default expected for dependency ${dep.name}`);
          checks.push({ path: [dep.alias ?? dep.name, ...sub.path], repository: sub.repository });
        }
      }
      expect(checks.length).toBeGreaterThan(0);
      for (const { path, repository } of checks) {
        let node: JsonSchema | undefined = schema;
        for (const key of path) node = (node?.properties as Record<string, JsonSchema> | undefined)?.[key];
        expect(node?.default, path.join('.')).toBe(repository);
        // and the value really is the chart's values.yaml default (the subchart's for the umbrella)
        expect(valueAt(chartDefaults(chart), path), path.join('.')).toBe(repository);
      }
    });
  }

  it('helm gets no `required` outside if-conditions in the umbrella (it lints before merging subchart defaults)', () => {
    const stripped = withoutRequired({ required: ['a'], properties: { a: { required: ['b'] } }, if: { required: ['c'] } }) as JsonSchema;
    expect(stripped).toEqual({ properties: { a: {} }, if: { required: ['c'] } });
  });
});
