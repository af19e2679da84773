// Loads schemas/ (the single source of truth) and turns it into the
// self-contained JSON Schemas helm and the validator use.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { cronPattern } from './cron.ts';
import { ruleConstant } from './rule-table.ts';
import { schemasDir } from './paths.ts';

export type JsonSchema = { [key: string]: unknown };

export interface SchemaSources {
  /** by $id (the file name relative to schemas/, e.g. "app.schema.yaml" or "profiles/prod.schema.yaml") */
  documents: Map<string, JsonSchema>;
}

export function loadSchemaSources(dir = schemasDir): SchemaSources {
  const documents = new Map<string, JsonSchema>();
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.schema.yaml')) {
        const text = readFileSync(join(dir, rel), 'utf8');
        const doc = parseDocument(text);
        if (doc.errors.length) throw new Error(`schemas/${rel}: ${doc.errors[0]?.message}`);
        const source = doc.toJS() as unknown;
        const problems = keywordProblems(source);
        if (problems.length) {
          throw new Error(problems.map((p) => `schemas/${rel}:${sourceLine(doc, text, p.path)}: ${p.path.join('.')}: ${p.problem}`).join('\n'));
        }
        documents.set(rel, withInt32Bounds(withGeneratedPatterns(source)) as JsonSchema);
      }
    }
  };
  walk('');
  return { documents };
}

/** The JSON Schema keywords (draft-07 and 2020-12) a schema object may hold; `x-…` keys are ours. */
export const SCHEMA_KEYWORDS = new Set([
  '$schema', '$id', '$ref', '$defs', '$comment', '$anchor', 'definitions',
  'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly',
  'type', 'enum', 'const', 'format', 'contentEncoding', 'contentMediaType',
  'minLength', 'maxLength', 'pattern',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'properties', 'patternProperties', 'additionalProperties', 'unevaluatedProperties', 'required',
  'minProperties', 'maxProperties', 'propertyNames', 'dependentRequired', 'dependentSchemas', 'dependencies',
  'items', 'prefixItems', 'additionalItems', 'unevaluatedItems', 'contains', 'minContains', 'maxContains', 'minItems', 'maxItems', 'uniqueItems',
  'allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else',
]);
/** Keywords whose value is one schema, a map of schemas, or a list of schemas. */
const ONE_SCHEMA = new Set(['additionalProperties', 'unevaluatedProperties', 'propertyNames', 'items', 'additionalItems', 'unevaluatedItems', 'contains', 'not', 'if', 'then', 'else']);
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** Keywords whose value must be a string. */
const STRING_KEYWORDS = new Set(['description', 'title', '$comment', 'pattern', 'format', '$ref', '$id', '$schema']);

export interface KeywordProblem {
  /** Keys from the document's root to the offending key. */
  path: string[];
  problem: string;
}

/**
 * Keys of schema objects that are no JSON Schema keyword (and no `x-` extension),
 * and descriptions (titles, patterns, …) that are not strings, in a source or a
 * generated schema. Catches YAML that parses into something else than was meant:
 * a flow mapping `{ description: a, b }` ends the description at the comma and
 * turns ` b` into a key.
 */
export function keywordProblems(node: unknown, path: string[] = []): KeywordProblem[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
  const problems: KeywordProblem[] = [];
  for (const [key, value] of Object.entries(node)) {
    const here = [...path, key];
    if (!SCHEMA_KEYWORDS.has(key) && !key.startsWith('x-')) {
      problems.push({ path: here, problem: `"${key}" is not a JSON Schema keyword (a comma or colon in an unquoted flow-mapping value? quote the value)` });
      continue;
    }
    if (STRING_KEYWORDS.has(key) && typeof value !== 'string') problems.push({ path: here, problem: `${key} must be a string` });
    if (ONE_SCHEMA.has(key)) problems.push(...keywordProblems(value, here));
    else if (SCHEMA_MAPS.has(key) && value !== null && typeof value === 'object') {
      for (const [sub, schema] of Object.entries(value)) problems.push(...keywordProblems(schema, [...here, sub]));
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      value.forEach((item, i) => problems.push(...keywordProblems(item, [...here, String(i)])));
    }
  }
  return problems;
}

/** A problem of a source file with its line (the nearest node the path reaches that has a position). */
function sourceLine(doc: Document, text: string, path: string[]): number {
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return text.slice(0, node.range[0]).split('\n').length;
  }
  return 1;
}

/** Patterns generated from a grammar in code (`x-generated-pattern: cron`), so the schema and the parser share one source. */
const GENERATED_PATTERNS: Record<string, () => string> = {
  cron: cronPattern,
  // a pinned image tag (rule image-pinned: isPinned and common.images.image read the same constant)
  pinnedTag: () => (ruleConstant('image-pinned', 'tagPattern') as readonly string[]).map((p) => `(${p})`).join('|'),
};

function withGeneratedPatterns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withGeneratedPatterns);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'x-generated-pattern') {
      const make = GENERATED_PATTERNS[String(value)];
      if (!make) throw new Error(`x-generated-pattern: unknown grammar ${String(value)}`);
      out.pattern = make();
      out['x-grammar'] = value;
    } else {
      out[key] = withGeneratedPatterns(value);
    }
  }
  return out;
}

/** The largest int32: most Kubernetes integers (replicas, probe fields, ports, job limits) are int32, and the API server cannot even decode a larger one. */
export const INT32_MAX = 2 ** 31 - 1;

/** Kubernetes fields that are int64 (user and group ids, some durations in seconds): no int32 bound. */
const INT64_FIELDS = new Set(['runAsUser', 'runAsGroup', 'fsGroup', 'activeDeadlineSeconds', 'startingDeadlineSeconds', 'terminationGracePeriodSeconds', 'tolerationSeconds']);

/**
 * Every integer without its own maximum gets the int32 one (beside its other
 * keywords, in an allOf, so the message says int32 and not the key's own
 * x-message), except the int64 fields by name.
 */
function withInt32Bounds(node: unknown, name?: string): unknown {
  if (Array.isArray(node)) return node.map((item) => withInt32Bounds(item));
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && value !== null && typeof value === 'object') {
      out.properties = Object.fromEntries(Object.entries(value).map(([prop, sub]) => [prop, withInt32Bounds(sub, prop)]));
    } else if (key === '$defs' && value !== null && typeof value === 'object') {
      out.$defs = Object.fromEntries(Object.entries(value).map(([def, sub]) => [def, withInt32Bounds(sub, def)]));
    } else {
      out[key] = withInt32Bounds(value);
    }
  }
  const types = Array.isArray(out.type) ? out.type : [out.type];
  if (types.includes('integer') && out.maximum === undefined && !(name && INT64_FIELDS.has(name))) {
    const bound = { maximum: INT32_MAX, 'x-message': `is above ${INT32_MAX}, the largest number this Kubernetes field holds (int32)` };
    out.allOf = [...((out.allOf as unknown[] | undefined) ?? []), bound];
  }
  return out;
}

const DOCUMENT_KEYS = new Set(['$schema', '$id', '$defs', '$comment']);

function resolvePointer(doc: JsonSchema, pointer: string, ref: string): JsonSchema {
  let node: unknown = doc;
  for (const raw of pointer.split('/').filter(Boolean)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) throw new Error(`unresolvable $ref ${ref}`);
    node = (node as Record<string, unknown>)[key];
  }
  return node as JsonSchema;
}

/**
 * Inlines every $ref (to another file of schemas/ or to a local #/$defs) so
 * the result needs nothing else: helm validates it offline, inside a package.
 */
export function dereference(sources: SchemaSources, docId: string, node: unknown = sources.documents.get(docId), depth = 0, inside: ReadonlySet<string> = new Set()): unknown {
  if (depth > 64) throw new Error(`$ref nesting too deep in ${docId} (a cycle?)`);
  if (Array.isArray(node)) return node.map((item) => dereference(sources, docId, item, depth + 1, inside));
  if (node === null || typeof node !== 'object') return node;
  const input = node as JsonSchema;
  let out: JsonSchema = {};
  if (typeof input.$ref === 'string') {
    const ref = input.$ref;
    const [file, pointer = ''] = ref.split('#');
    const targetId = file ? file : docId;
    const target = sources.documents.get(targetId);
    if (!target) throw new Error(`${docId}: $ref to unknown schema ${ref}`);
    const resolvedNode = resolvePointer(target, pointer, ref);
    if (resolvedNode['x-recursive'] === true) {
      // A recursive definition (a routing tree): inlined once, its inner references to itself
      // stay local references to the root's `definitions` (recursiveDefinitions adds it)
      const name = pointer.split('/').filter(Boolean).at(-1) as string;
      RECURSIVE.set(name, { docId: targetId, pointer, ref });
      if (inside.has(name)) out = { $ref: `#/definitions/${name}` };
      else out = { ...(dereference(sources, targetId, resolvedNode, depth + 1, new Set([...inside, name])) as JsonSchema) };
    } else {
      out = { ...(dereference(sources, targetId, resolvedNode, depth + 1, inside) as JsonSchema) };
    }
  }
  for (const [key, value] of Object.entries(input)) {
    if (key === '$ref' || DOCUMENT_KEYS.has(key)) continue;
    // keys beside a $ref (a description, say) override the referenced ones
    out[key] = dereference(sources, docId, value, depth + 1, inside);
  }
  return out;
}

/** Recursive definitions seen by dereference, by name. */
const RECURSIVE = new Map<string, { docId: string; pointer: string; ref: string }>();

/**
 * The `definitions` a dereferenced schema's local references need (the
 * recursive definitions, x-recursive: true), each inlined once with its
 * references to itself kept local; undefined when there are none.
 */
export function recursiveDefinitions(sources: SchemaSources, schema: unknown): JsonSchema | undefined {
  const definitions: JsonSchema = {};
  const pending = [...JSON.stringify(schema).matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)].map((m) => m[1] as string);
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (name in definitions) continue;
    const source = RECURSIVE.get(name);
    if (!source) throw new Error(`no recursive definition ${name}`);
    const target = sources.documents.get(source.docId) as JsonSchema;
    const definition = dereference(sources, source.docId, resolvePointer(target, source.pointer, source.ref), 0, new Set([name]));
    definitions[name] = definition;
    for (const m of JSON.stringify(definition).matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)) pending.push(m[1] as string);
  }
  return Object.keys(definitions).length > 0 ? definitions : undefined;
}

/** Sets `default` on every property the chart's values.yaml gives a value. */
export function withDefaults(schema: JsonSchema, defaults: unknown): JsonSchema {
  const out: JsonSchema = { ...schema };
  if (defaults === undefined) return out;
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties && defaults !== null && typeof defaults === 'object' && !Array.isArray(defaults)) {
    const next: Record<string, JsonSchema> = {};
    for (const [key, sub] of Object.entries(properties)) {
      next[key] = withDefaults(sub, (defaults as Record<string, unknown>)[key]);
    }
    out.properties = next;
    return out;
  }
  out.default = defaults;
  return out;
}

export interface ParameterRow {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** Above this many values a README names the count, not the values (the time zones: about 600). */
const LISTED_ENUM_VALUES = 12;

function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.enum) && schema.enum.length > LISTED_ENUM_VALUES) return `string (one of ${schema.enum.length} names)`;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const t = schema.type;
  return Array.isArray(t) ? t.join(' \\| ') : typeof t === 'string' ? t : 'any';
}

/** Flattens a dereferenced schema into README rows: leaves and free-form maps. */
export function parameterRows(schema: JsonSchema, prefix = ''): ParameterRow[] {
  const rows: ParameterRow[] = [];
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  for (const [key, sub] of Object.entries(properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (key === 'global' && !prefix) continue;
    if (sub.properties && sub.additionalProperties === false) {
      rows.push(...parameterRows(sub, path));
      continue;
    }
    rows.push({
      key: path,
      type: typeOf(sub),
      default: sub.default === undefined ? '' : JSON.stringify(sub.default),
      description: String(sub.description ?? ''),
    });
  }
  return rows;
}

export function parameterTable(rows: ParameterRow[]): string {
  const escape = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = ['| Key | Type | Default | Description |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    lines.push(`| \`${row.key}\` | ${row.type} | ${row.default ? `\`${escape(row.default)}\`` : ''} | ${escape(row.description)} |`);
  }
  return lines.join('\n');
}

/** Every property of every object in a schema, with its path: for "has a description" checks. */
export function* walkProperties(schema: JsonSchema, prefix = ''): Generator<[string, JsonSchema]> {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  for (const [key, sub] of Object.entries(properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    yield [path, sub];
    yield* walkProperties(sub, path);
  }
  for (const branch of ['then', 'else'] as const) {
    const sub = schema[branch] as JsonSchema | undefined;
    if (sub) yield* walkProperties(sub, prefix);
  }
}
