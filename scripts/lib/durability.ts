// Durability (issue 25, class 4): one rule, driven by declarations. Each
// chart's schema says, at a volume it can put on an emptyDir, what data that
// volume holds (`x-holds`); each environment profile says which data it keeps
// and why (`x-keeps`). From the two, every profile gets the rule "a component
// holding data this environment keeps is on a persistent volume" - for every
// chart that declares holding it, with no list of keys here.
import type { JsonSchema, SchemaSources } from './schema-source.ts';

/** One `x-holds` entry: the data a volume holds, and (umbrella paths → values) when it holds it. */
export interface Holding {
  /** umbrella key of the chart (app, mongodb, …) */
  chart: string;
  /** path of the persistence object inside the chart's values */
  path: string[];
  data: string;
  when: Record<string, unknown>;
  /** what that data is, in words (from the declaration) */
  what: string;
}

interface HoldsEntry {
  data: string;
  what?: string;
  when?: Record<string, unknown>;
}

/** Every `x-holds` of every umbrella subchart schema, by walking its properties. */
export function holdings(sources: SchemaSources, umbrellaSchemaId = 'techshop.schema.yaml'): Holding[] {
  const umbrella = sources.documents.get(umbrellaSchemaId);
  const found: Holding[] = [];
  const charts = (umbrella?.properties ?? {}) as Record<string, JsonSchema>;
  for (const [chart, ref] of Object.entries(charts)) {
    const id = typeof ref.$ref === 'string' ? ref.$ref.split('#')[0] : undefined;
    const schema = id ? sources.documents.get(id) : undefined;
    if (!schema) continue;
    const walk = (node: JsonSchema, path: string[]): void => {
      const holds = node['x-holds'] as HoldsEntry[] | undefined;
      if (Array.isArray(holds)) {
        const properties = (node.properties ?? {}) as Record<string, unknown>;
        if (!properties.enabled) throw new Error(`${id}: x-holds at ${path.join('.')} needs an enabled key (the switch between a volume and an emptyDir)`);
        for (const entry of holds) found.push({ chart, path, data: entry.data, when: entry.when ?? {}, what: entry.what ?? entry.data });
      }
      for (const [key, sub] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) {
        if (sub && typeof sub === 'object') walk(sub, [...path, key]);
      }
    };
    walk(schema, []);
  }
  return found;
}

/** A schema that holds when the value at `path` (umbrella keys) is `value`; the keys are required, as in an `if`. */
function valueAt(path: string[], value: unknown): JsonSchema {
  let node: JsonSchema = { const: value };
  for (const key of [...path].reverse()) node = { properties: { [key]: node }, required: [key] };
  return node;
}

/** A schema that constrains the value at `path` (no required keys: the coalesced values hold them). */
function constrainAt(path: string[], leaf: JsonSchema): JsonSchema {
  let node = leaf;
  for (const key of [...path].reverse()) node = { type: 'object', properties: { [key]: node } };
  return node;
}

/**
 * The profile rules of one environment: for each holding whose data the
 * profile keeps, "if the chart is on (and the declaration's conditions hold),
 * its persistence is enabled", with the reason in x-policy.
 */
export function durabilityRules(sources: SchemaSources, profile: JsonSchema, env: string): JsonSchema[] {
  const keeps = (profile['x-keeps'] ?? {}) as Record<string, string>;
  const rules: JsonSchema[] = [];
  for (const holding of holdings(sources)) {
    const reason = keeps[holding.data];
    if (!reason) continue;
    const key = [holding.chart, ...holding.path].join('.');
    const policy = `${env} keeps ${holding.what} (${reason}); ${key} holds them, and without a volume they sit on an emptyDir that is lost when the pod is deleted, evicted or rescheduled`;
    const conditions = Object.entries(holding.when).map(([path, value]) => valueAt(path.split('.'), value));
    const rule: JsonSchema = {
      // a chart that is off holds nothing
      if: valueAt([holding.chart, 'enabled'], false),
      else: conditions.length > 0 ? { if: { allOf: conditions }, then: constrainAt([holding.chart, ...holding.path, 'enabled'], { const: true, 'x-policy': policy }) } : constrainAt([holding.chart, ...holding.path, 'enabled'], { const: true, 'x-policy': policy }),
    };
    rules.push(rule);
  }
  return rules;
}
