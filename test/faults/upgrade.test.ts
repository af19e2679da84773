// A chart upgrade from the previous release (scripts/lib/upgrade-baseline.ts:
// the last `v*` tag, or while nothing is published the merge base with main)
// to this tree, in prod's shape: `ct install --upgrade`'s idea with the checks
// kwok allows. kwok runs no processes, so the "data" here is what outlives a
// pod on any cluster: the claims and their volumes, and the credentials.
// Documents in MongoDB and keys in Redis surviving an upgrade belong to the
// real-node tier.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { helmMatrix, type HelmBinary } from '../../scripts/lib/helm.ts';
import { run } from '../../scripts/lib/exec.ts';
import { chartDir, umbrellaChart, valuesFile } from '../../scripts/lib/paths.ts';
import { baselineFacts, chooseBaseline, extractRevision, type Baseline } from '../../scripts/lib/upgrade-baseline.ts';
import { createReadmeSecrets, freshRestrictedNamespace, helmCmd, kubectlJson, removeRelease, waitForAutoscalers, warningLines } from '../helpers/cluster.ts';
import { figure, seconds } from '../helpers/faults.ts';
import { FAULT_NAMESPACES, RELEASE } from './shape.ts';

const namespace = FAULT_NAMESPACES.upgrade;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let helm: HelmBinary;
let baseline: Baseline;
let oldTree: string;
let userSecrets: string[] = [];

/** helm dependency build of every chart of an extracted tree that has dependencies: subcharts first, the umbrella last. */
async function buildTree(root: string): Promise<void> {
  const charts = readdirSync(join(root, 'charts')).filter((name) => existsSync(join(root, 'charts', name, 'Chart.yaml')));
  const ordered = [...charts.filter((c) => c !== umbrellaChart), ...charts.filter((c) => c === umbrellaChart)];
  for (const chart of ordered) {
    const meta = parse(readFileSync(join(root, 'charts', chart, 'Chart.yaml'), 'utf8')) as { dependencies?: unknown[] };
    if (!meta.dependencies?.length) continue;
    const result = await run(helm.path, ['dependency', 'build', join(root, 'charts', chart), '--skip-refresh']);
    if (result.code !== 0) throw new Error(`helm dependency build ${chart} at ${baseline.revision} failed:\n${result.stderr.trim()}`);
  }
}

interface State {
  secrets: Record<string, Record<string, string>>;
  claims: Record<string, string>;
  /** "Kind/name" → JSON of the pod template as the server holds it. */
  templates: Record<string, string>;
  /** "Kind/name" → uids of its pods. */
  pods: Record<string, string[]>;
}

async function state(): Promise<State> {
  const secrets = await kubectlJson(['-n', namespace, 'get', 'secrets']);
  const claims = await kubectlJson(['-n', namespace, 'get', 'pvc']);
  const workloads = await kubectlJson(['-n', namespace, 'get', 'deployments,statefulsets']);
  const pods = (await kubectlJson(['-n', namespace, 'get', 'pods'])).items.filter((p: Json) => !p.metadata.deletionTimestamp && p.status.phase === 'Running');
  const result: State = { secrets: {}, claims: {}, templates: {}, pods: {} };
  for (const s of secrets.items) if (s.type !== 'helm.sh/release.v1') result.secrets[s.metadata.name] = s.data ?? {};
  for (const c of claims.items) result.claims[c.metadata.name] = `${c.metadata.uid} → ${c.spec.volumeName}`;
  for (const w of workloads.items) {
    const key = `${w.kind}/${w.metadata.name}`;
    result.templates[key] = JSON.stringify(w.spec.template);
    const selector: Record<string, string> = w.spec.selector.matchLabels;
    result.pods[key] = pods
      .filter((p: Json) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v))
      .map((p: Json) => p.metadata.uid)
      .sort();
  }
  return result;
}

beforeAll(async () => {
  [helm] = (await helmMatrix()) as [HelmBinary];
  baseline = chooseBaseline(baselineFacts());
  oldTree = mkdtempSync(join(tmpdir(), 'techshop-upgrade-from-'));
  extractRevision(baseline.revision, oldTree);
  await buildTree(oldTree);
  await freshRestrictedNamespace(namespace);
  // The user's Secrets, made once by the script the README names (today's: a superset of what the old chart needs).
  userSecrets = await createReadmeSecrets(namespace);
});

afterAll(async () => {
  if (helm) await removeRelease(helm, RELEASE, namespace);
  if (oldTree) rmSync(oldTree, { recursive: true, force: true });
});

describe.sequential('prod: upgrade from the previous release to this tree', () => {
  it('installs the previous release, upgrades: no immutable-field error, claims and credentials kept, only changed workloads roll', async () => {
    const installed = performance.now();
    const install = await helmCmd(helm, ['install', RELEASE, join(oldTree, 'charts', umbrellaChart), '-n', namespace, '-f', join(oldTree, 'values', 'values-prod.yaml'), '--wait', '--timeout', '10m']);
    expect(install.code, `install of ${baseline.revision}: ${install.stderr}`).toBe(0);
    await waitForAutoscalers(namespace);
    const installTime = performance.now() - installed;
    const before = await state();
    expect(Object.keys(before.claims).length, 'claims of the previous release').toBeGreaterThan(0);

    const started = performance.now();
    const upgrade = await helmCmd(helm, ['upgrade', RELEASE, chartDir(umbrellaChart), '-n', namespace, '-f', valuesFile('prod'), '--wait', '--timeout', '10m']);
    const upgradeTime = performance.now() - started;
    expect(upgrade.stderr).not.toMatch(/field is immutable|Forbidden: updates to statefulset spec/);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    expect(warningLines(upgrade.stderr)).toEqual([]);
    await waitForAutoscalers(namespace);
    const after = await state();

    // Claims: the same objects bound to the same volumes (a claim re-created would be an empty volume).
    for (const [name, identity] of Object.entries(before.claims)) expect(after.claims[name], `claim ${name}`).toBe(identity);
    // Credentials: the user's Secrets byte for byte; every Secret of the previous release still there.
    for (const name of userSecrets) expect(after.secrets[name], `Secret ${name}`).toEqual(before.secrets[name]);
    for (const name of Object.keys(before.secrets)) expect(after.secrets[name], `Secret ${name} after the upgrade`).toBeDefined();
    const changedSecrets = Object.keys(before.secrets).filter((name) => JSON.stringify(before.secrets[name]) !== JSON.stringify(after.secrets[name]));
    // Pods: only workloads whose pod template changed may have replaced theirs.
    const changed = Object.keys(before.templates).filter((key) => before.templates[key] !== after.templates[key]);
    const rolled = Object.keys(before.pods).filter((key) => (before.pods[key] ?? []).some((uid) => !(after.pods[key] ?? []).includes(uid)));
    const restartedPods = Object.keys(before.pods).reduce((n, key) => n + (before.pods[key] ?? []).filter((uid) => !(after.pods[key] ?? []).includes(uid)).length, 0);
    figure('upgrade', {
      from: `${baseline.revision.slice(0, 12)} (${baseline.why})`,
      workloadsWithChangedTemplate: `${changed.length}${changed.length ? ` [${changed.join(' ')}]` : ''}`,
      workloadsRolled: `${rolled.length}${rolled.length ? ` [${rolled.join(' ')}]` : ''}`,
      podsRestarted: restartedPods,
      claimsKept: `${Object.keys(before.claims).length}/${Object.keys(before.claims).length}`,
      secretsChanged: `${changedSecrets.length}${changedSecrets.length ? ` [${changedSecrets.join(' ')}]` : ''}`,
      installTime: seconds(installTime),
      upgradeTime: seconds(upgradeTime),
    });
    expect(rolled.filter((key) => !changed.includes(key))).toEqual([]);
    expect(changedSecrets.filter((name) => userSecrets.includes(name))).toEqual([]);
  });
});
