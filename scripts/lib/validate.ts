// The values validator: each values file coalesced over its chart's defaults
// (what helm will see) and checked against that chart's schema; the
// umbrella's files also against their environment profile and the
// cross-field rules. Compiled once (and cached), pure after that.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { basename, join, relative } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import * as standalone from 'ajv/dist/standalone/index.js';
import { formatPath, type Diagnostic, type PathSegment } from './diagnostics.ts';
import { chartSchema, profileSchema } from './generate.ts';
import { cacheDir, chartsDir, environments, repoRoot, schemasDir, umbrellaChart, type Environment } from './paths.ts';
import { cronProblem } from './cron.ts';
import { checkRules, rulesOf, type Rule } from './rules.ts';
import { loadSchemaSources, type JsonSchema } from './schema-source.ts';
import { chartDefaults, coalesce, isPlainObject, type Values } from './values.ts';
import { parseYamlSource, type YamlSource } from './yaml-source.ts';

export interface Validator {
  /**
   * One values file over the chart defaults; with `underlay` (the merged
   * values of files given before it, as `helm -f a -f b` layers them), over
   * those too. Positions point into this file.
   */
  validate(file: string, bytes: Uint8Array, env?: Environment, underlay?: Values): Diagnostic[];
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

const X_MESSAGE_KEYWORDS = new Set(['not', 'const', 'enum', 'maxItems', 'minLength', 'maxLength', 'multipleOf', 'minimum', 'maximum', 'pattern']);

/**
 * The text a scalar was written as, from its line in the file: what the user
 * meant before helm read it as a number or boolean ("0755", "1.10", "yes").
 */
export function writtenScalar(text: string, line: number, column: number): string | undefined {
  const rest = text.split(/\r?\n/)[line - 1]?.slice(column - 1);
  if (rest === undefined) return undefined;
  // `key: value` (the position of a map entry is its key), or the value itself
  const entry = /^(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s:#'"][^:#]*?)\s*:(?:\s+|$)(.*)$/.exec(rest);
  const raw = (entry ? entry[1]! : rest).replace(/\s+#.*$/, '').replace(/\s*[,}\]].*$/, '').trim();
  return raw === '' ? undefined : raw;
}

/**
 * A non-string where Kubernetes needs a string (x-kube-string): what helm
 * would render instead, and the quoted form to write.
 */
export function kubeStringMessage(value: unknown, written: string | undefined): string {
  if (typeof value !== 'number' && typeof value !== 'boolean') return `is ${Array.isArray(value) ? 'a list' : 'a map'}, but Kubernetes stores a string here (got ${JSON.stringify(value)})`;
  const rendered = typeof value === 'number' ? goFloat(value) : String(value);
  const source = written ?? rendered;
  const reads = source !== rendered ? `helm reads ${source} as ${rendered}` : `helm passes it on as ${typeof value === 'number' ? 'a number through float64 (1.10 renders as 1.1, 1000000 as 1e+06)' : 'a boolean'}`;
  return `is ${typeof value === 'number' ? 'a number' : 'a boolean'} in YAML, but Kubernetes stores a string here and ${reads}: write ${JSON.stringify(source)}`;
}

/** How helm prints a number it read from values: Go's %v of a float64 (shortest digits, exponent form from 1e+06 and below 1e-04). */
export function goFloat(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  const [mantissa = '', exponent = '0'] = n.toExponential().split('e');
  const exp = Number(exponent);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

function describe(error: ErrorObject, value: unknown, written?: string): string {
  const parent = error.parentSchema as Record<string, unknown> | undefined;
  // a number or boolean where a string belongs (a map value Kubernetes stores as text, an image tag, a name):
  // what helm would read, and the quoted form to write
  const expected = (error.params as { type?: string | string[] }).type;
  const wantsString = parent?.['x-kube-string'] === true || expected === 'string';
  if (error.keyword === 'type' && wantsString && (typeof value === 'number' || typeof value === 'boolean')) return kubeStringMessage(value, written);
  // A rule the schema states with not/const/multipleOf says what it means in x-message.
  const own = (error.parentSchema as Record<string, unknown> | undefined)?.['x-message'];
  if (typeof own === 'string' && X_MESSAGE_KEYWORDS.has(error.keyword)) {
    const got = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
    return (error as { propertyName?: string }).propertyName !== undefined ? `key name ${JSON.stringify(value)} ${own}` : `${own}${got}`;
  }
  if ((error as { propertyName?: string }).propertyName !== undefined) return `key name ${describeValue(error, value)}`;
  return describeValue(error, value);
}

function describeValue(error: ErrorObject, value: unknown): string {
  const got = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown key "${(error.params as { additionalProperty: string }).additionalProperty}" (not in the schema: a typo?)`;
    case 'required':
      return `missing required key "${(error.params as { missingProperty: string }).missingProperty}"`;
    case 'pattern': {
      const schema = (error.parentSchema ?? {}) as Record<string, unknown>;
      if (schema['x-grammar'] === 'cron' && typeof value === 'string') return `is not a schedule Kubernetes accepts: ${cronProblem(value)}${got}`;
      const pattern = (error.params as { pattern: string }).pattern;
      // a long generated pattern says less than the description it implements
      if (pattern.length > 60 && typeof schema.description === 'string') return `must be ${schema.description.replace(/^An? /, 'a ')}${got}`;
      return `must match pattern "${pattern}"${got}`;
    }
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
  // A key-name error (inside propertyNames) is about the key, not the map holding it.
  const propertyName = (error as { propertyName?: string }).propertyName;
  if (propertyName !== undefined) path.push(propertyName);
  return path;
}

// Wrapper errors that only repeat what the nested errors say.
const NOISE = new Set(['if', 'anyOf', 'allOf', 'oneOf', 'propertyNames']);

interface ValidatorParts {
  /** cross-field rules of this chart's values (rulesOf) */
  rules: Rule[];
  checkSchema: ValidateFunction;
  profiles: Map<Environment, { schema: JsonSchema; check: ValidateFunction }>;
  defaults: Values;
}

interface ValidatorSources {
  schema: JsonSchema;
  profiles: Record<string, JsonSchema>;
  defaults: Values;
}

/**
 * The umbrella's values get the schema, the environment profile and the
 * cross-field rules; a subchart's own values (its ci/ files) get its schema.
 */
function validatorSources(chart: string): ValidatorSources {
  const sources = loadSchemaSources();
  const schema = chartSchema(sources, chart);
  delete schema.allOf; // profiles are checked separately, chosen by file name or --env
  const profiles: Record<string, JsonSchema> = {};
  if (chart === umbrellaChart) for (const env of environments) profiles[env] = profileSchema(sources, env);
  return { schema, profiles, defaults: chartDefaults(chart) };
}

const AJV_OPTIONS = { allErrors: true, strict: false, verbose: true } as const;

/** Compiles the schemas in memory: what tests use, and the fallback of loadValidator. */
export function createValidator(chart: string = umbrellaChart): Validator {
  const { schema, profiles, defaults } = validatorSources(chart);
  const ajv = new Ajv(AJV_OPTIONS);
  const compiled = new Map<Environment, { schema: JsonSchema; check: ValidateFunction }>();
  for (const [env, profile] of Object.entries(profiles)) compiled.set(env as Environment, { schema: profile, check: ajv.compile(profile) });
  return makeValidator({ checkSchema: ajv.compile(schema), profiles: compiled, defaults, rules: rulesOf(chart) });
}

/** Everything the compiled validator depends on; a change to any of them recompiles it. */
function cacheKey(chart: string): string {
  const hash = createHash('sha256').update(chart).update('\0');
  const inputs: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else inputs.push(path);
    }
  };
  walk(schemasDir);
  // code the schemas are generated from (the cron grammar) and the rule table
  for (const file of ['cron.ts', 'rule-table.ts', 'durability.ts', 'generate.ts', 'schema-source.ts']) if (existsSync(join(repoRoot, 'scripts', 'lib', file))) inputs.push(join(repoRoot, 'scripts', 'lib', file));
  for (const chart of readdirSync(chartsDir)) {
    for (const file of ['Chart.yaml', 'values.yaml']) {
      const path = join(chartsDir, chart, file);
      if (existsSync(path)) inputs.push(path);
    }
  }
  for (const path of inputs.sort()) hash.update(path).update('\0').update(readFileSync(path)).update('\0');
  hash.update(JSON.stringify(AJV_OPTIONS)).update(readFileSync(join(repoRoot, 'node_modules', 'ajv', 'package.json')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The validator, compiled once per change of its inputs: ajv's standalone
 * code is cached in .cache/validator/, so a warm run skips parsing the
 * schema sources and compiling them (most of validate's time).
 */
export async function loadValidator(chart: string = umbrellaChart): Promise<Validator> {
  const dir = join(cacheDir, 'validator', `${chart}-${cacheKey(chart)}`);
  const modulePath = join(dir, 'validators.mjs');
  const metaPath = join(dir, 'meta.json');
  if (existsSync(modulePath) && existsSync(metaPath)) {
    try {
      const compiled = (await import(pathToFileURL(modulePath).href)) as Record<string, ValidateFunction>;
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Omit<ValidatorSources, 'schema'>;
      const profiles = new Map<Environment, { schema: JsonSchema; check: ValidateFunction }>();
      for (const [env, profile] of Object.entries(meta.profiles)) profiles.set(env as Environment, { schema: profile, check: compiled[`profile_${env}`] as ValidateFunction });
      if (compiled.values) return makeValidator({ checkSchema: compiled.values, profiles, defaults: meta.defaults, rules: rulesOf(chart) });
    } catch {
      // a broken cache entry is rebuilt below
    }
  }
  const { schema, profiles, defaults } = validatorSources(chart);
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  ajv.addSchema(schema, 'values');
  const refs: Record<string, string> = { values: 'values' };
  for (const [env, profile] of Object.entries(profiles)) {
    ajv.addSchema(profile, `profile_${env}`);
    refs[`profile_${env}`] = `profile_${env}`;
  }
  // CommonJS default export: a function on `default` (or the module itself, by loader)
  const standaloneCode = ((standalone as unknown as { default?: unknown }).default ?? standalone) as (a: Ajv, r: Record<string, string>) => string;
  // ajv's ESM output still calls require() for its runtime helpers
  const code = `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${standaloneCode(ajv, refs)}`;
  mkdirSync(dir, { recursive: true });
  const write = (path: string, content: string): void => {
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, content);
    renameSync(temp, path);
  };
  write(modulePath, code);
  write(metaPath, JSON.stringify({ profiles, defaults }));
  const compiledProfiles = new Map<Environment, { schema: JsonSchema; check: ValidateFunction }>();
  for (const [env, profile] of Object.entries(profiles)) compiledProfiles.set(env as Environment, { schema: profile, check: ajv.getSchema(`profile_${env}`) as ValidateFunction });
  return makeValidator({ checkSchema: ajv.getSchema('values') as ValidateFunction, profiles: compiledProfiles, defaults, rules: rulesOf(chart) });
}

function makeValidator({ checkSchema, profiles, defaults, rules }: ValidatorParts): Validator {
  return {
    validate(file, bytes, envOverride, underlay) {
      const source: YamlSource = parseYamlSource(file, bytes);
      const diagnostics: Diagnostic[] = [...source.diagnostics];
      if (source.value === undefined || !isPlainObject(source.value)) return diagnostics;
      const base = underlay ? (coalesce(defaults, underlay) as Values) : defaults;
      const values = coalesce(base, source.value) as Values;
      const notInFile = underlay ? ' [set by an earlier values file or the chart default]' : ' [the chart default; set it in this file]';
      const at = (path: PathSegment[], message: string, rule: string): Diagnostic => {
        const position = source.locate(path);
        const inFile = isSetInFile(source.value, path);
        return {
          file,
          line: position.line,
          column: position.column,
          path: formatPath(path),
          message: inFile ? message : `${message}${notInFile}`,
          rule,
        };
      };

      // helm checks the file itself against the schema too, where null matches no type; coalescing
      // would drop the key silently (and with it, say, the section a prod policy checks).
      const nulls = nullPaths(source.value, []);
      for (const path of nulls) {
        diagnostics.push(at(path, 'is null, which the schema (and helm lint) rejects; delete the key to keep the chart default', 'schema/type'));
      }
      const schemaErrors = checkSchema(values) ? [] : (checkSchema.errors ?? []);
      let text: string | undefined;
      const written = (path: PathSegment[]): string | undefined => {
        if (!isSetInFile(source.value, path)) return undefined;
        text ??= Buffer.from(bytes).toString('utf8');
        const position = source.locate(path);
        return writtenScalar(text, position.line, position.column);
      };
      for (const error of schemaErrors) {
        if (NOISE.has(error.keyword)) continue;
        const path = errorPath(error);
        const quoted = error.keyword === 'type' ? written(path) : undefined;
        diagnostics.push(at(path, describe(error, error.keyword === 'additionalProperties' ? undefined : error.data, quoted), `schema/${error.keyword}`));
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
      if (rules.length > 0 && schemaErrors.length === 0 && nulls.length === 0) {
        for (const finding of checkRules(values, rules)) {
          // a pair: at the side this file sets (the consumer's copy, else the provider's value)
          const path = finding.also && !isSetInFile(source.value, finding.path) && isSetInFile(source.value, finding.also) ? finding.also : finding.path;
          diagnostics.push(at(path, finding.message, `rule/${finding.rule}`));
        }
      }
      return dedupe(diagnostics);
    },
  };
}

function nullPaths(value: unknown, path: PathSegment[]): PathSegment[][] {
  if (value === null) return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => nullPaths(item, [...path, i]));
  if (isPlainObject(value)) return Object.entries(value).flatMap(([key, item]) => nullPaths(item, [...path, key]));
  return [];
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

/** Which chart a values file is for: a chart's own ci/ files are its values; anything else is the umbrella's. */
export function chartOfValuesFile(file: string): string {
  const match = /(?:^|[\\/])charts[\\/]([^\\/]+)[\\/]ci[\\/][^\\/]+$/.exec(file);
  return match?.[1] ?? umbrellaChart;
}

export function validateFiles(validatorFor: Validator | ((chart: string) => Validator), files: string[], env?: Environment): Diagnostic[] {
  return files.flatMap((file) => {
    const validator = typeof validatorFor === 'function' ? validatorFor(chartOfValuesFile(file)) : validatorFor;
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

/**
 * Values files layered as helm layers `-f a -f b`: the first over the chart
 * defaults, each later one over the merged values before it. Each file's
 * problems are reported at its own lines.
 */
export function validateLayers(validator: Validator, files: string[], env?: Environment): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  let underlay: Values | undefined;
  for (const file of files) {
    const name = relative(process.cwd(), file) || file;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      diagnostics.push({ file: name, line: 1, column: 1, path: '', message: `cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, rule: 'read' });
      continue;
    }
    diagnostics.push(...validator.validate(name, bytes, env, underlay));
    const value = parseYamlSource(name, bytes).value;
    if (isPlainObject(value)) underlay = underlay ? (coalesce(underlay, value) as Values) : (value as Values);
  }
  return diagnostics;
}
