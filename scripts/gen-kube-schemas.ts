// Converts a Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json of
// the k8s.io/kubernetes module) into kubeconform's "standalone-strict" layout:
//   <out>/<kind><kindSuffix>.json, e.g. deployment-apps-v1.json, service-v1.json
// Every $ref is inlined (recursion is cut with {}), every object with
// `properties` and no `additionalProperties` gets `additionalProperties: false`,
// int-or-string becomes string|integer, Quantity becomes string|number (the API
// server accepts unquoted numbers), optional properties also accept null, and
// apiVersion/kind are pinned with `enum`.
//
// Usage: tsx scripts/gen-kube-schemas.ts <swagger.json> <out-dir>

import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export type Schema = { [key: string]: unknown };

export interface Gvk {
  group: string;
  version: string;
  kind: string;
}

export interface Swagger {
  definitions: Record<string, Schema>;
}

export interface ConvertResult {
  /** file name (no directory) -> standalone strict schema */
  files: Map<string, Schema>;
  /** file names claimed by more than one definition; the first one wins */
  collisions: string[];
}

const REF_PREFIX = '#/definitions/';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const GVK_EXT = 'x-kubernetes-group-version-kind';

/** Keywords dropped from the output: documentation and OpenAPI extensions. */
function isDroppedKeyword(key: string): boolean {
  return key === 'description' || key.startsWith('x-') || key === 'discriminator';
}

/** "apps/v1" or "v1" for a group-version-kind. */
export function apiVersionOf(gvk: Gvk): string {
  return gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
}

/** Same rule as kubeconform's registry: "-<first label of group>-<version>", or "-<version>" for core. */
export function kindSuffix(apiVersion: string): string {
  const groupParts = apiVersion.split('/');
  const first = (groupParts[0] ?? '').split('.')[0] ?? '';
  let suffix = `-${first.toLowerCase()}`;
  if (groupParts.length > 1) suffix += `-${(groupParts[1] ?? '').toLowerCase()}`;
  return suffix;
}

/** File name kubeconform looks up for a resource, e.g. "horizontalpodautoscaler-autoscaling-v2.json". */
export function schemaFileName(gvk: Gvk): string {
  return `${gvk.kind.toLowerCase()}${kindSuffix(apiVersionOf(gvk))}.json`;
}

/** kubeconform's NormalizedKubernetesVersion directory: "1.35.8" -> "v1.35.8-standalone-strict". */
export function schemaDirName(kubernetesVersion: string): string {
  const v = kubernetesVersion.replace(/^v/, '');
  return `v${v}-standalone-strict`;
}

function refName(ref: string): string {
  if (!ref.startsWith(REF_PREFIX)) throw new Error(`unsupported $ref: ${ref}`);
  return ref.slice(REF_PREFIX.length);
}

function addNull(schema: Schema): Schema {
  const t = schema.type;
  if (typeof t === 'string' && t !== 'null') return { ...schema, type: [t, 'null'] };
  if (Array.isArray(t) && !t.includes('null')) return { ...schema, type: [...t, 'null'] };
  if (Array.isArray(schema.oneOf)) {
    return { ...schema, oneOf: [...(schema.oneOf as Schema[]), { type: 'null' }] };
  }
  return schema;
}

/**
 * Inlines definitions. A result that did not need to cut a cycle does not depend
 * on the expansion stack, so it is memoised and shared.
 */
export class Expander {
  private readonly memo = new Map<string, Schema>();

  constructor(private readonly defs: Record<string, Schema>) {}

  /** Standalone, strict schema for one definition. */
  definition(name: string): Schema {
    return this.expandRef(name, []).schema;
  }

  private expandRef(name: string, stack: string[]): { schema: Schema; cut: boolean } {
    if (name === INT_OR_STRING) return { schema: { oneOf: [{ type: 'string' }, { type: 'integer' }] }, cut: false };
    if (name === QUANTITY) return { schema: { oneOf: [{ type: 'string' }, { type: 'number' }] }, cut: false };
    if (stack.includes(name)) return { schema: {}, cut: true };
    const cached = this.memo.get(name);
    if (cached) return { schema: cached, cut: false };
    const def = this.defs[name];
    if (!def) throw new Error(`unknown definition: ${name}`);
    const out = this.convert(def, [...stack, name]);
    if (!out.cut) this.memo.set(name, out.schema);
    return out;
  }

  /** Converts one schema node (OpenAPI v2 subset used by Kubernetes). */
  convert(node: Schema, stack: string[] = []): { schema: Schema; cut: boolean } {
    let cut = false;
    if (typeof node.$ref === 'string') return this.expandRef(refName(node.$ref), stack);
    if (node.format === 'int-or-string') {
      return { schema: { oneOf: [{ type: 'string' }, { type: 'integer' }] }, cut: false };
    }
    const out: Schema = {};
    for (const [key, value] of Object.entries(node)) {
      if (isDroppedKeyword(key)) continue;
      if (key === 'properties' && value && typeof value === 'object') {
        const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
        const props: Record<string, Schema> = {};
        for (const [prop, sub] of Object.entries(value as Record<string, Schema>)) {
          const r = this.convert(sub, stack);
          cut ||= r.cut;
          props[prop] = required.has(prop) ? r.schema : addNull(r.schema);
        }
        out.properties = props;
      } else if ((key === 'items' || key === 'additionalProperties') && value && typeof value === 'object') {
        const r = this.convert(value as Schema, stack);
        cut ||= r.cut;
        out[key] = r.schema;
      } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
        out[key] = value.map((sub: Schema) => {
          const r = this.convert(sub, stack);
          cut ||= r.cut;
          return r.schema;
        });
      } else {
        out[key] = value;
      }
    }
    if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
    return { schema: out, cut };
  }
}

/** Pins apiVersion and kind of a top-level resource schema. */
export function pinGvk(schema: Schema, gvk: Gvk): Schema {
  const props = schema.properties as Record<string, Schema> | undefined;
  if (!props) return schema;
  const pinned = { ...props };
  if (pinned.apiVersion) pinned.apiVersion = { ...pinned.apiVersion, enum: [apiVersionOf(gvk)] };
  if (pinned.kind) pinned.kind = { ...pinned.kind, enum: [gvk.kind] };
  return { ...schema, properties: pinned };
}

/** All resource schemas of a swagger document, keyed by kubeconform file name. */
export function convertSwagger(swagger: Swagger): ConvertResult {
  const expander = new Expander(swagger.definitions);
  const files = new Map<string, Schema>();
  const collisions: string[] = [];
  for (const name of Object.keys(swagger.definitions).sort()) {
    const def = swagger.definitions[name];
    const gvks = (def?.[GVK_EXT] as Gvk[] | undefined) ?? [];
    if (gvks.length === 0) continue;
    const base = expander.definition(name);
    for (const gvk of gvks) {
      const file = schemaFileName(gvk);
      if (files.has(file)) {
        collisions.push(`${file} (${name})`);
        continue;
      }
      files.set(file, { $schema: 'http://json-schema.org/draft-04/schema#', ...pinGvk(base, gvk) });
    }
  }
  return { files, collisions };
}

/** Writes the schemas into `outDir`, replacing any previous JSON files there. */
export function writeSchemas(result: ConvertResult, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (f.endsWith('.json')) rmSync(join(outDir, f));
  for (const [file, schema] of result.files) writeFileSync(join(outDir, file), JSON.stringify(schema));
}

function main(argv: string[]): void {
  const [swaggerPath, outDir] = argv;
  if (!swaggerPath || !outDir) {
    console.error('usage: tsx scripts/gen-kube-schemas.ts <swagger.json> <out-dir>');
    process.exit(2);
  }
  const swagger = JSON.parse(readFileSync(swaggerPath, 'utf8')) as Swagger;
  const result = convertSwagger(swagger);
  writeSchemas(result, outDir);
  for (const c of result.collisions) console.error(`warning: duplicate schema file name skipped: ${c}`);
  console.log(`${result.files.size} schemas written to ${outDir}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
