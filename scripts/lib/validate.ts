// The values validator: each values file coalesced over the chart defaults
// (what helm will see), checked against the umbrella schema, the environment
// profile and the cross-field rules. Compiled once, pure after that.
import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { formatPath, type Diagnostic, type PathSegment } from './diagnostics.ts';
import { chartSchema, profileSchema } from './generate.ts';
import { environments, umbrellaChart, type Environment } from './paths.ts';
import { checkRules } from './rules.ts';
import { loadSchemaSources, type JsonSchema } from './schema-source.ts';
import { chartDefaults, coalesce, isPlainObject, type Values } from './values.ts';
import { parseYamlSource, type YamlSource } from './yaml-source.ts';

export interface Validator {
  validate(file: string, bytes: Uint8Array, env?: Environment): Diagnostic[];
}

/** `values-prod.yaml` → prod; undefined when the name says nothing. */
export function environmentOfFile(file: string): Environment | undefined {
  const match = /(?:^|[-_.])(dev|staging|prod)(?:[-_.]|$)/.exec(basename(file).replace(/\.ya?ml$/, ''));
  return match ? (match[1] as Environment) : undefined;
}

function pointerToPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg) => (/^[0-9]+$/.test(seg) ? Number(seg) : seg));
}

/** The deepest `x-policy` along an error's schema path: why a profile rule exists. */
function policyOf(schema: JsonSchema, schemaPath: string): string | undefined {
  let node: unknown = schema;
  let policy: string | undefined;
  for (const seg of schemaPath.replace(/^#\/?/, '').split('/')) {
    if (node === null || typeof node !== 'object') break;
    const record = node as Record<string, unknown>;
    if (typeof record['x-policy'] === 'string') policy = record['x-policy'];
    node = record[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  if (node && typeof node === 'object' && typeof (node as Record<string, unknown>)['x-policy'] === 'string') {
    policy = (node as Record<string, string>)['x-policy'];
  }
  return policy;
}

function describe(error: ErrorObject, value: unknown): string {
  const got = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown key "${(error.params as { additionalProperty: string }).additionalProperty}" (not in the schema: a typo?)`;
    case 'required':
      return `missing required key "${(error.params as { missingProperty: string }).missingProperty}"`;
    case 'pattern':
      return `must match pattern "${(error.params as { pattern: string }).pattern}"${got}`;
    case 'enum':
      return `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}${got}`;
    case 'minLength':
      return (error.params as { limit: number }).limit === 1 ? `must not be empty${got}` : `${error.message}${got}`;
    case 'maxLength':
      return (error.params as { limit: number }).limit === 0 ? `must be empty${got}` : `${error.message}${got}`;
    case 'const':
      return `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}${got}`;
    default:
      return `${error.message ?? error.keyword}${got}`;
  }
}

/** Keys an error is about: an unknown key points at itself, a missing one at its parent. */
function errorPath(error: ErrorObject): PathSegment[] {
  const path = pointerToPath(error.instancePath);
  if (error.keyword === 'additionalProperties') path.push((error.params as { additionalProperty: string }).additionalProperty);
  if (error.keyword === 'propertyNames' && (error.params as { propertyName?: string }).propertyName) {
    path.push((error.params as { propertyName: string }).propertyName);
  }
  return path;
}

// Wrapper errors that only repeat what the nested errors say.
const NOISE = new Set(['if', 'anyOf', 'allOf', 'oneOf']);

export function createValidator(): Validator {
  const sources = loadSchemaSources();
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
  const schema = chartSchema(sources, umbrellaChart);
  delete schema.allOf; // profiles are checked separately, chosen by file name or --env
  const checkSchema = ajv.compile(schema);
  const profiles = new Map<Environment, { schema: JsonSchema; check: ValidateFunction }>();
  for (const env of environments) {
    const profile = profileSchema(sources, env);
    profiles.set(env, { schema: profile, check: ajv.compile(profile) });
  }
  const defaults = chartDefaults(umbrellaChart);

  return {
    validate(file, bytes, envOverride) {
      const source: YamlSource = parseYamlSource(file, bytes);
      const diagnostics: Diagnostic[] = [...source.diagnostics];
      if (source.value === undefined || !isPlainObject(source.value)) return diagnostics;
      const values = coalesce(defaults, source.value) as Values;
      const at = (path: PathSegment[], message: string, rule: string): Diagnostic => {
        const position = source.locate(path);
        const inFile = isSetInFile(source.value, path);
        return {
          file,
          line: position.line,
          column: position.column,
          path: formatPath(path),
          message: inFile ? message : `${message} [the chart default; set it in this file]`,
          rule,
        };
      };

      const schemaErrors = checkSchema(values) ? [] : (checkSchema.errors ?? []);
      for (const error of schemaErrors) {
        if (NOISE.has(error.keyword)) continue;
        diagnostics.push(at(errorPath(error), describe(error, error.keyword === 'additionalProperties' ? undefined : error.data), `schema/${error.keyword}`));
      }

      const declared = (values.global as Values | undefined)?.environment as Environment | undefined;
      const fromName = environmentOfFile(file);
      const env = envOverride ?? declared ?? fromName;
      if (declared && fromName && declared !== fromName && !envOverride) {
        diagnostics.push(at(['global', 'environment'], `is "${declared}" but the file name says ${fromName}`, 'environment'));
      }
      const profile = env ? profiles.get(env) : undefined;
      if (profile && !profile.check(values)) {
        for (const error of profile.check.errors ?? []) {
          if (NOISE.has(error.keyword)) continue;
          const policy = policyOf(profile.schema, error.schemaPath);
          const message = `${describe(error, error.data)}${policy ? ` - ${env} policy: ${policy}` : ''}`;
          diagnostics.push(at(errorPath(error), message, `profile/${env}`));
        }
      }

      // Cross-field rules assume schema-valid values.
      if (schemaErrors.length === 0) {
        for (const finding of checkRules(values)) diagnostics.push(at(finding.path, finding.message, `rule/${finding.rule}`));
      }
      return dedupe(diagnostics);
    },
  };
}

function isSetInFile(value: unknown, path: readonly PathSegment[]): boolean {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !(key in (node as object))) return false;
    node = (node as Record<string | number, unknown>)[key];
  }
  return true;
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.file}:${d.line}:${d.column}:${d.path}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function validateFiles(validator: Validator, files: string[], env?: Environment): Diagnostic[] {
  return files.flatMap((file) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? String(err);
      return [{ file: relative(process.cwd(), file), line: 1, column: 1, path: '', message: `cannot read file (${reason})`, rule: 'read' }];
    }
    return validator.validate(relative(process.cwd(), file) || file, bytes, env);
  });
}
