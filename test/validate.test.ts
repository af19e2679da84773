// The values validator against a corpus of bad values files (one mistake
// each, test/fixtures/values/) and the good files the repository ships.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, isError, type Diagnostic } from '../scripts/lib/diagnostics.ts';
import { run } from '../scripts/lib/exec.ts';
import { repoRoot } from '../scripts/lib/paths.ts';
import { chartOfValuesFile, createValidator, environmentOfFile, loadValidator, type Validator } from '../scripts/lib/validate.ts';
import { defaultValuesFiles } from '../scripts/validate.ts';
import { CLASS_CASES, DEFAULT_NOTE, e, type Case, type Expected } from './helpers/bad-values.ts';

const fixtureDir = 'test/fixtures/values';

/** Every fixture, with every diagnostic it must give, in order. */
const FIRST_CASES: Case[] = [
  // YAML level: Helm could not read these, or reads something else than the author meant.
  { fixture: 'yaml.malformed.yaml', expected: [e('syntax', 7, 10, '', 'never closed')] },
  { fixture: 'yaml.duplicate-key.yaml', expected: [e('duplicate-key', 8, 3, 'app.replicaCount', 'first defined at 6:3')] },
  {
    fixture: 'yaml.tab-indent.yaml',
    // The second is a consequence of the first (the yaml package's own error on the next line); see the report.
    expected: [e('tab', 7, 1, '', 'tab character used for indentation')],
  },
  { fixture: 'yaml.alias-bomb.yaml', expected: [e('alias-limit', 5, 8, '', 'billion laughs')] },
  {
    fixture: 'yaml.empty.yaml',
    // An empty file means the chart defaults: a valid dev release with its own MongoDB and Redis.
    expected: [e('empty', 1, 1, '', 'file contains no values')],
  },
  { fixture: 'yaml.multi-document.yaml', expected: [e('multi-document', 11, 1, '', 'Helm reads only the first')] },
  { fixture: 'yaml.top-level-list.yaml', expected: [e('not-a-map', 2, 1, '', '(got a list)')] },

  // Schema.
  { fixture: 'values-dev.unknown-app-key.yaml', expected: [e('schema/additionalProperties', 6, 3, 'app.replicas', 'unknown key "replicas"')] },
  { fixture: 'values-dev.wrong-type.yaml', expected: [e('schema/type', 6, 3, 'app.replicaCount', 'must be integer (got "two")')] },
  { fixture: 'values-dev.memory-20GB.yaml', expected: [e('schema/pattern', 12, 7, 'app.resources.limits.memory', '(got "20GB")')] },
  { fixture: 'values-dev.bad-cpu.yaml', expected: [e('schema/pattern', 8, 7, 'app.resources.requests.cpu', '(got "half")')] },
  { fixture: 'values-dev.bad-hostname.yaml', expected: [e('schema/pattern', 8, 5, 'app.ingress.host', '(got "api_techshop.example.com")')] },
  { fixture: 'values-dev.short-digest.yaml', expected: [e('schema/pattern', 7, 5, 'app.image.digest', '"^(sha256:[a-f0-9]{64})?$"')] },
  { fixture: 'values-dev.port-out-of-range.yaml', expected: [e('schema/maximum', 6, 3, 'app.containerPort', 'must be <= 65535 (got 70000)')] },
  { fixture: 'values-dev.pull-policy.yaml', expected: [e('schema/enum', 7, 5, 'app.image.pullPolicy', 'must be one of "Always", "IfNotPresent", "Never" (got "always")')] },
  { fixture: 'values-dev.unknown-root-key.yaml', expected: [e('schema/additionalProperties', 12, 1, 'replicaCount', 'unknown key "replicaCount"')] },
  { fixture: 'values-dev.quota-unknown-key.yaml', expected: [e('schema/additionalProperties', 14, 5, 'resourceQuota.hard.cpu', 'unknown key "cpu"')] },
  { fixture: 'values-dev.negative-replicas.yaml', expected: [e('schema/minimum', 6, 3, 'app.replicaCount', 'must be >= 0 (got -1)')] },
  { fixture: 'values-dev.unknown-global-key.yaml', expected: [e('schema/additionalProperties', 4, 3, 'global.registry', 'unknown key "registry"')] },
  { fixture: 'values-dev.extra-env-name.yaml', expected: [e('schema/pattern', 7, 5, 'app.extraEnv.LOG-LEVEL', 'key name must match pattern')] },
  // An explicit null: helm's schema check rejects it; coalescing alone would drop the key
  // (slipping past the prod policy, or crashing the rules on a missing section).
  { fixture: 'values-prod.null-existing-secret.yaml', expected: [e('schema/type', 31, 5, 'app.auth.existingSecret', 'is null')] },
  { fixture: 'values-dev.null-autoscaling.yaml', expected: [e('schema/type', 6, 3, 'app.autoscaling', 'is null')] },
  { fixture: 'values-dev.hpa-target-over-100.yaml', expected: [e('schema/maximum', 7, 5, 'app.autoscaling.targetCPUUtilizationPercentage', 'must be <= 100 (got 150)')] },

  // Prod policy.
  { fixture: 'values-prod.floating-tag-stable.yaml', expected: [e('profile/prod', 14, 5, 'app.image.tag', '(got "stable") - prod policy: prod runs a pinned version')] },
  { fixture: 'values-prod.latest.yaml', expected: [e('profile/prod', 14, 5, 'app.image.tag', '(got "latest") - prod policy')] },
  { fixture: 'values-prod.tls-off.yaml', expected: [e('profile/prod', 42, 7, 'app.ingress.tls.enabled', 'prod requires TLS')] },
  { fixture: 'values-prod.ingress-off.yaml', expected: [e('profile/prod', 38, 5, 'app.ingress.enabled', 'prod serves the app through the ingress')] },
  { fixture: 'values-prod.hpa-min-2.yaml', expected: [e('profile/prod', 25, 5, 'app.autoscaling.minReplicas', 'must be >= 3 (got 2)')] },
  { fixture: 'values-prod.replicas-2-no-hpa.yaml', expected: [e('profile/prod', 23, 3, 'app.replicaCount', 'must be >= 3 (got 2)')] },
  { fixture: 'values-prod.pdb-off.yaml', expected: [e('profile/prod', 28, 5, 'app.pdb.enabled', 'PodDisruptionBudget')] },
  {
    fixture: 'values-prod.inline-jwt.yaml',
    expected: [
      e('profile/prod', 31, 5, 'app.auth.jwtSecret', 'must be empty (got "s3cr3t-in-git") - prod policy: prod never takes an inline credential'),
      e('rule/credential-source', 31, 5, 'app.auth.jwtSecret', 'not both'),
    ],
  },
  // Not in the file: reported at the deepest key that is (app:), and said so.
  { fixture: 'values-prod.missing-existing-secret.yaml', expected: [e('profile/prod', 9, 1, 'app.auth.existingSecret', 'must not be empty (got "")', DEFAULT_NOTE)] },
  { fixture: 'values-prod.quota-off.yaml', expected: [e('profile/prod', 48, 3, 'resourceQuota.enabled', 'ResourceQuota')] },
  { fixture: 'values-prod.network-policy-off.yaml', expected: [e('profile/prod', 45, 5, 'app.networkPolicy.enabled', 'isolated by NetworkPolicy')] },
  { fixture: 'values-prod.default-deny-off.yaml', expected: [e('profile/prod', 61, 3, 'networkPolicy.defaultDeny', 'denies by default')] },

  // Staging and dev policy.
  { fixture: 'values-staging.floating-tag.yaml', expected: [e('profile/staging', 8, 5, 'app.image.tag', '(got "stable") - staging policy')] },
  { fixture: 'values-staging.tls-off.yaml', expected: [e('profile/staging', 36, 7, 'app.ingress.tls.enabled', 'staging serves TLS')] },
  { fixture: 'values-staging.network-policy-off.yaml', expected: [e('profile/staging', 39, 5, 'app.networkPolicy.enabled', 'staging policy')] },
  { fixture: 'values-dev.latest-cached.yaml', expected: [e('profile/dev', 8, 5, 'app.image.pullPolicy', 'must be "Always" (got "IfNotPresent") - dev policy')] },

  // The file's name and its global.environment disagree.
  { fixture: 'values-staging.says-prod.yaml', expected: [e('environment', 3, 3, 'global.environment', 'is "prod" but the file name says staging')] },

  // Cross-field rules.
  {
    fixture: 'values-prod.quota-too-small.yaml',
    expected: [
      e('rule/quota-capacity', 50, 5, 'resourceQuota.hard["requests.cpu"]', 'quota requests.cpu 8 is below the 11220m the release needs at full scale; raise it to at least 11220m or lower the requests or the replicas. Biggest part: app 31 pods (HPA max 30 + surge 1): 7750m; the rest: redis 6 pod(s) with exporter: 1650m; mongodb 3 member(s) (mongod + bootstrap + exporter): 870m'),
      e('rule/quota-capacity', 52, 5, 'resourceQuota.hard["limits.cpu"]', 'quota limits.cpu 16 is below the 26750m the release needs'),
      e('rule/quota-capacity', 55, 5, 'resourceQuota.hard.pods', 'quota pods 40 is below the 56 the release needs at full scale; raise it to at least 56 or lower the replicas. Biggest part: app 31 pods (HPA max 30 + surge 1): 31'),
    ],
  },
  { fixture: 'values-prod.pdb-min-available-3.yaml', expected: [e('rule/pdb-satisfiable', 29, 5, 'app.pdb.minAvailable', 'minAvailable 3 needs more than the 3 replica(s)')] },
  { fixture: 'values-prod.hpa-min-over-max.yaml', expected: [e('rule/hpa-range', 26, 5, 'app.autoscaling.maxReplicas', 'maxReplicas 4 is below minReplicas 5')] },
  { fixture: 'values-prod.rollout-stuck.yaml', expected: [e('rule/rollout', 28, 5, 'app.strategy.maxSurge', 'both 0')] },
  { fixture: 'values-prod.vpa-auto-with-hpa.yaml', expected: [e('rule/vpa-hpa', 29, 5, 'app.vpa.updateMode', 'updateMode Auto with the HPA on')] },
  { fixture: 'values-prod.no-mongodb.yaml', expected: [e('rule/connection', 32, 3, 'app.connections.mongodb.existingSecret', 'the app has no mongodb', DEFAULT_NOTE)] },
  { fixture: 'values-dev.request-over-limit.yaml', expected: [e('rule/request-limit', 8, 7, 'app.resources.requests.cpu', 'app.resources.requests.cpu 300m is above app.resources.limits.cpu 200m: Kubernetes refuses a container whose request exceeds its limit')] },
  { fixture: 'values-dev.limit-over-limitrange.yaml', expected: [e('rule/limit-range', 12, 7, 'app.resources.limits.memory', 'app.resources.limits.memory 8Gi is above limitRange.max.memory 4Gi: the LimitRange admission refuses the pod')] },
  { fixture: 'values-dev.jwt-two-sources.yaml', expected: [e('rule/credential-source', 7, 5, 'app.auth.jwtSecret', 'app.auth: set either an inline value or existingSecret, not both')] },
];

const CASES: Case[] = [...FIRST_CASES, ...CLASS_CASES];

// One validator per chart for the whole file (a validator keeps no state between calls): the umbrella's
// compiled from its sources here (createValidator, seconds on a busy 2-core machine), the other charts'
// as `npm run validate` loads them (loadValidator: the compiled code kept in .cache/ by content).
const compiled = new Map<string, Validator>();
function validatorOf(chart = 'techshop'): Validator {
  const found = compiled.get(chart);
  if (!found) throw new Error(`no validator loaded for ${chart}`);
  return found;
}

let validator: Validator;
beforeAll(async () => {
  compiled.set('techshop', createValidator());
  for (const chart of new Set(['app', ...defaultValuesFiles().map((f) => chartOfValuesFile(relative(repoRoot, f)))])) {
    if (!compiled.has(chart)) compiled.set(chart, await loadValidator(chart));
  }
  validator = validatorOf();
});

function validateFixture(name: string): Diagnostic[] {
  const file = `${fixtureDir}/${name}`;
  return validator.validate(file, readFileSync(join(repoRoot, file)));
}

function brief(d: Diagnostic): Expected {
  return { rule: d.rule ?? '', line: d.line, column: d.column, path: d.path };
}

describe('bad values corpus', () => {
  it('has a table row for every fixture, at least 60 of them for the classes of issue 13', () => {
    const files = readdirSync(join(repoRoot, fixtureDir)).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).toEqual(CASES.map((c) => c.fixture).sort());
    expect(new Set(CASES.map((c) => c.fixture)).size).toBe(CASES.length);
    expect(CLASS_CASES.length).toBeGreaterThanOrEqual(60);
  });

  it.each(CASES)('$fixture', ({ fixture, expected }) => {
    const diagnostics = validateFixture(fixture);
    expect(diagnostics.map(brief)).toEqual(expected.map(({ says: _, ...rest }) => rest));
    expect(diagnostics.filter(isError)).toHaveLength(expected.length);
    diagnostics.forEach((d, i) => {
      const says = expected[i]?.says ?? [];
      for (const part of says) expect(d.message).toContain(part);
      // Only a key that is not in the file carries the note.
      expect(d.message.includes(DEFAULT_NOTE)).toBe(says.includes(DEFAULT_NOTE));
      expect(formatDiagnostic(d)).toBe(`${fixtureDir}/${fixture}:${d.line}:${d.column}  ${d.path || '(root)'}: ${d.message}`);
      expect(formatDiagnostic(d)).toMatch(/^test\/fixtures\/values\/[^:\s]+\.yaml:\d+:\d+ {2}(\S+|\S*\[".*"\]\S*): \S.*$/);
    });
  });

  it('non-UTF-8 bytes: the first bad byte, and nothing else', () => {
    const bytes = Buffer.concat([
      Buffer.from('global:\n  environment: dev\napp:\n  podAnnotations:\n    owner: caf'),
      Buffer.from([0xe9]), // Latin-1 é
      Buffer.from('\n'),
    ]);
    const diagnostics = validator.validate('values/values-dev.yaml', bytes);
    expect(diagnostics.map(brief)).toEqual([{ rule: 'encoding', line: 5, column: 15, path: '' }]);
    expect(formatDiagnostic(diagnostics[0] as Diagnostic)).toBe('values/values-dev.yaml:5:15  (root): invalid UTF-8 (byte 0xe9); save the file as UTF-8');
  });

  it('--env (the env argument) chooses the profile over the file name and global.environment', () => {
    const bytes = readFileSync(join(repoRoot, 'values/values-staging.yaml'));
    expect(validator.validate('values/values-staging.yaml', bytes)).toEqual([]);
    const asProd = validator.validate('values/values-staging.yaml', bytes, 'prod');
    expect(asProd.map(brief)).toEqual([
      // staging's backups go to its own MinIO: prod wants external S3 with keys from a Secret
      { rule: 'profile/prod', line: 90, column: 3, path: 'backup.storage.existingSecret' },
      { rule: 'profile/prod', line: 94, column: 5, path: 'backup.retention.remoteDays' },
      { rule: 'profile/prod', line: 91, column: 5, path: 'backup.storage.objectstore' },
      // MinIO takes no server-side encryption without a KMS: prod's external S3 must encrypt
      { rule: 'profile/prod', line: 90, column: 3, path: 'backup.storage.serverSideEncryption.type' },
      { rule: 'profile/prod', line: 71, column: 1, path: 'monitoring.kubeStateMetrics.enabled' },
      { rule: 'profile/prod', line: 26, column: 5, path: 'app.autoscaling.minReplicas' },
      // staging's in-cluster Jaeger, and no external backend
      { rule: 'profile/prod', line: 126, column: 3, path: 'tracing.jaeger.enabled' },
      { rule: 'profile/prod', line: 122, column: 1, path: 'tracing.exporter.endpoint' },
      { rule: 'profile/prod', line: 112, column: 3, path: 'objectstore.enabled' },
    ]);
  });
});

describe('environmentOfFile', () => {
  it.each([
    ['values/values-prod.yaml', 'prod'],
    ['values-staging.yml', 'staging'],
    ['charts/techshop/ci/dev-values.yaml', 'dev'],
    ['test/fixtures/values/values-prod.floating-tag-stable.yaml', 'prod'],
    ['test/fixtures/values/values-staging.says-prod.yaml', 'staging'],
    ['prod_values.yaml', 'prod'],
    ['values.prod.yaml', 'prod'],
    ['test/fixtures/values/yaml.empty.yaml', undefined],
    ['values/production.yaml', undefined],
    ['values/devices.yaml', undefined],
    ['prod/values.yaml', undefined],
  ])('%s → %s', (file, env) => {
    expect(environmentOfFile(file)).toBe(env);
  });

  it('gives every profile fixture the environment its name starts with', () => {
    for (const { fixture } of CASES) {
      const named = /^values-(dev|staging|prod)\./.exec(fixture)?.[1];
      expect(environmentOfFile(fixture), fixture).toBe(named);
    }
  });
});

describe('good values files', () => {
  // Everything the validate stage checks by default: values/*.yaml and every chart's ct values.
  const shipped = defaultValuesFiles().map((f) => relative(repoRoot, f));

  it('covers the environment files and the ct values of every chart with a schema', () => {
    for (const env of ['dev', 'staging', 'prod']) expect(shipped).toContain(`values/values-${env}.yaml`);
    for (const chart of ['app', 'mongodb', 'redis', 'techshop']) {
      expect(shipped).toContain(`charts/${chart}/ci/dev-values.yaml`);
      expect(shipped).toContain(`charts/${chart}/ci/prod-values.yaml`);
    }
  });

  it.each(shipped)('%s: no diagnostics at all (against its own chart: %s)', (file) => {
    const chart = chartOfValuesFile(file);
    const diagnostics = validatorOf(chart).validate(file, readFileSync(join(repoRoot, file)));
    expect(diagnostics.map(formatDiagnostic)).toEqual([]);
  });

  it('validates a subchart ci file against that chart alone (no umbrella profile or rules)', () => {
    expect(chartOfValuesFile('charts/app/ci/prod-values.yaml')).toBe('app');
    expect(chartOfValuesFile('charts/techshop/ci/prod-values.yaml')).toBe('techshop');
    expect(chartOfValuesFile('values/values-prod.yaml')).toBe('techshop');
    const bad = validatorOf('app').validate('charts/app/ci/bad-values.yaml', Buffer.from('replicas: 3\n'));
    expect(bad.map((d) => `${d.rule} ${d.path} ${d.line}:${d.column}`)).toEqual(['schema/additionalProperties replicas 1:1']);
  });
});

// four independent processes: side by side (each is mostly tsx starting up)
describe.concurrent('scripts/validate.ts (CLI)', () => {
  const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
  const cli = (...args: string[]) => run(tsx, ['scripts/validate.ts', ...args], { cwd: repoRoot });

  it('exits 0 on the shipped values files (the default set: values/*.yaml and the umbrella ci values)', async () => {
    const result = await cli();
    expect(result.stdout).toMatch(new RegExp(`^validate: ${defaultValuesFiles().length} file\\(s\\), 0 error\\(s\\), 0 warning\\(s\\) in \\d+ ms$`, 'm'));
    expect(result.code).toBe(0);
  });

  it('exits 1 and prints every error of every file in one run', async () => {
    const bad = ['values-prod.quota-too-small.yaml', 'values-dev.memory-20GB.yaml', 'yaml.duplicate-key.yaml', 'values-staging.says-prod.yaml'];
    const result = await cli('values/values-prod.yaml', ...bad.map((f) => `${fixtureDir}/${f}`), 'charts/techshop/ci/dev-values.yaml');
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n');
    const expected = bad
      .flatMap((fixture) => validateFixture(fixture))
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column))
      .map(formatDiagnostic);
    expect(expected).toHaveLength(6);
    expect(lines.slice(0, -1)).toEqual(expected);
    expect(lines.at(-1)).toMatch(/^validate: 6 file\(s\), 6 error\(s\), 0 warning\(s\) in \d+ ms$/);
  });

  it('exits 2 on an unknown --env', async () => {
    const result = await cli('--env', 'production');
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('--env must be one of dev, staging, prod');
  });

  it('--env prod applies the prod profile to a staging file', async () => {
    const result = await cli('--env', 'prod', 'values/values-staging.yaml');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('values/values-staging.yaml:26:5  app.autoscaling.minReplicas: must be >= 3 (got 2) - prod policy');
  });
});
