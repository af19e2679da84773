#!/usr/bin/env tsx
// The last pipeline stage, as the seed's workflow deploys on push:
//   npm run deploy -- --env <env> [--kube-context C] [--namespace N] [--release R]
//                     [--values extra.yaml ...] [--timeout 10m] [--dry-run]
// validate → render against the live cluster → show what changes (server-side
// dry run, per object) → helm upgrade --install, rolled back on failure, --wait
// → helm test → one line of outcome.
// Refuses: invalid values; a staging or prod deploy whose values pin no cluster
// identity (global.deploy.cluster: API server URL and CA fingerprint); a kube
// context whose server or CA is not the pinned one, or is another environment's;
// prod from a tree with uncommitted changes, with a values file that is not
// committed in this repository, or with unpinned images.
//   npm run deploy -- --env <env> --print-cluster-identity [--kube-context C]
// prints the identity of the context's cluster, for global.deploy.cluster.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  clusterMismatch,
  contextIdentity,
  dirtyPaths,
  formatChanges,
  identityYaml,
  objectKey,
  summarizeChanges,
  uncommittedValuesFiles,
  unpinnedImages,
  type ClusterIdentity,
  type KubeContextInfo,
} from './lib/deploy.ts';
import { formatDiagnostic, isError } from './lib/diagnostics.ts';
import { run, type ExecResult } from './lib/exec.ts';
import { provisionBundledKubectl, resolveHelm, type HelmBinary } from './lib/helm.ts';
import { chartDir, environments, repoRoot, umbrellaChart, valuesFile, type Environment } from './lib/paths.ts';
import { buildDependencies, parseManifests, type K8sObject } from './lib/render.ts';
import { runIfMain, type Stage } from './lib/stage.ts';
import { findOnPath } from './lib/tools.ts';
import { loadValidator, validateLayers } from './lib/validate.ts';
import { FAKE_NODE_ANNOTATION } from './lib/cluster.ts';
import { PSA_RESTRICTED_LABELS } from './lib/policy.ts';

class DeployRefused extends Error {}

interface Kube {
  kubectl: string;
  context: string[];
}

async function kubectl(kube: Kube, args: string[], input?: string): Promise<ExecResult> {
  return run(kube.kubectl, [...kube.context, ...args], { input, timeoutMs: 300_000 });
}

async function contextInfo(kube: Kube): Promise<KubeContextInfo> {
  // --flatten: the CA as data, whether the kubeconfig names a file or embeds it
  const result = await kubectl(kube, ['config', 'view', '--minify', '--flatten', '-o', 'json']);
  if (result.code !== 0) throw new DeployRefused(`deploy: no usable kube context: ${result.stderr.trim()}`);
  const config = JSON.parse(result.stdout);
  const cluster = config.clusters?.[0];
  const caData: string = cluster?.cluster?.['certificate-authority-data'] ?? '';
  return {
    context: config['current-context'] ?? config.contexts?.[0]?.name ?? '',
    cluster: cluster?.name ?? '',
    server: cluster?.cluster?.server ?? '',
    caPem: Buffer.from(caData, 'base64').toString('utf8'),
    insecure: cluster?.cluster?.['insecure-skip-tls-verify'] === true,
  };
}

interface DeploySettings {
  cluster?: ClusterIdentity;
  namespace?: string;
}

/** global.deploy of the merged values files (later files win). */
function deploySettings(files: string[]): DeploySettings {
  const settings: DeploySettings = {};
  for (const file of files) {
    const deploy = parseYaml(readFileSync(file, 'utf8'))?.global?.deploy ?? {};
    if (deploy.cluster !== undefined) settings.cluster = deploy.cluster || undefined;
    if (deploy.namespace !== undefined) settings.namespace = deploy.namespace;
  }
  return settings;
}

async function helm(bin: HelmBinary, kube: Kube, args: string[]): Promise<ExecResult> {
  const contextArgs = kube.context.length ? ['--kube-context', kube.context[1] as string] : [];
  return run(bin.path, [...args, ...contextArgs], { cwd: repoRoot, timeoutMs: 3_600_000 });
}

async function objectsByKey(kube: Kube, namespace: string, objects: K8sObject[], args: string[], dir: string, name: string): Promise<Map<string, K8sObject>> {
  const map = new Map<string, K8sObject>();
  if (!objects.length) return map;
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  const result = await kubectl(kube, ['-n', namespace, ...args, '-f', file, '-o', 'json']);
  if (result.code !== 0) throw new DeployRefused(`deploy: kubectl ${args[0]} failed: ${result.stderr.trim()}`);
  if (!result.stdout.trim()) return map;
  const parsed = JSON.parse(result.stdout);
  for (const item of parsed.kind === 'List' ? parsed.items : [parsed]) map.set(objectKey(item), item);
  return map;
}

export const deployStage: Stage = async ({ argv, log }) => {
  const { values: options } = parseArgs({
    args: argv,
    options: {
      env: { type: 'string' },
      'kube-context': { type: 'string' },
      namespace: { type: 'string' },
      release: { type: 'string', default: 'shop' },
      values: { type: 'string', multiple: true, default: [] },
      timeout: { type: 'string', default: '10m' },
      'dry-run': { type: 'boolean', default: false },
      'print-cluster-identity': { type: 'boolean', default: false },
    },
  });
  const env = options.env as Environment | undefined;
  if (!env || !environments.includes(env)) {
    log(`usage: npm run deploy -- --env ${environments.join('|')} [--kube-context C] [--namespace N] [--release R] [--values F]... [--timeout 10m] [--dry-run]`);
    return 2;
  }
  const started = performance.now();
  const files = [valuesFile(env), ...(options.values as string[])];
  const release = options.release as string;
  const kube: Kube = {
    kubectl: findOnPath('kubectl') ?? provisionBundledKubectl(),
    context: options['kube-context'] ? ['--context', options['kube-context'] as string] : [],
  };
  try {
    if (options['print-cluster-identity']) {
      const info = await contextInfo(kube);
      const { identity, problem } = contextIdentity(info);
      if (!identity) throw new DeployRefused(`deploy: no identity to print: ${problem}`);
      // only the YAML on stdout: it goes into the values file as it is
      process.stdout.write(identityYaml(identity));
      return 0;
    }
    // 1. validate
    const validator = await loadValidator(umbrellaChart);
    // validated as helm will layer them: the environment's file, then each --values file over it
    const diagnostics = validateLayers(validator, files, env);
    for (const d of diagnostics) log(formatDiagnostic(d));
    if (diagnostics.some(isError)) throw new DeployRefused(`deploy: refused: the values do not validate (${diagnostics.filter(isError).length} error(s) above)`);

    // 2. where to: the cluster the values pin, proven by its server URL and CA
    const settings = deploySettings(files);
    const info = await contextInfo(kube);
    const others = Object.fromEntries(environments.filter((e) => e !== env).map((e) => [e, deploySettings([valuesFile(e)]).cluster]));
    const mismatch = clusterMismatch(env, settings.cluster, info, others);
    if (mismatch) throw new DeployRefused(`deploy: refused: ${mismatch}`);
    const namespace = (options.namespace as string | undefined) ?? (settings.namespace || 'techshop');

    // prod only from what the history shows: a clean tree, every values file committed in it
    if (env === 'prod') {
      const status = await run('git', ['status', '--porcelain'], { cwd: repoRoot });
      const dirty = status.code === 0 ? dirtyPaths(status.stdout) : ['(not a git checkout)'];
      if (dirty.length) throw new DeployRefused(`deploy: refused: prod deploys only from a committed tree; uncommitted: ${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ', …' : ''}`);
      const uncommitted = await uncommittedValuesFiles(repoRoot, files);
      if (uncommitted.length) throw new DeployRefused(`deploy: refused: prod deploys only values files committed in this repository; not: ${uncommitted.join(', ')}`);
    }

    // 3. render against the live cluster (lookup sees the live Secrets)
    const bin = await resolveHelm();
    await buildDependencies(bin);
    const chart = chartDir(umbrellaChart);
    const valueArgs = files.flatMap((f) => ['-f', f]);
    const preview = await helm(bin, kube, ['upgrade', '--install', release, chart, '-n', namespace, ...valueArgs, '--dry-run=server', '-o', 'json']);
    if (preview.code !== 0) throw new DeployRefused(`deploy: refused: the chart does not render for ${env}:\n${preview.stderr.trim()}`);
    const rendered = parseManifests(JSON.parse(preview.stdout).manifest ?? '');

    if (env === 'prod') {
      const unpinned = unpinnedImages(rendered);
      if (unpinned.length) throw new DeployRefused(`deploy: refused: prod runs pinned images only; unpinned: ${unpinned.join(', ')}`);
    }

    // 4. what changes
    const dir = mkdtempSync(join(tmpdir(), 'techshop-deploy-'));
    let changeLines: string[];
    try {
      const namespaceExists = (await kubectl(kube, ['get', 'namespace', namespace])).code === 0;
      const live = namespaceExists ? await objectsByKey(kube, namespace, rendered, ['get', '--ignore-not-found'], dir, 'live') : new Map<string, K8sObject>();
      const existing = rendered.filter((o) => live.has(objectKey(o)));
      // A field manager of its own: applied as helm's manager, the preview would drop the
      // ownership annotations helm adds on top of the rendered manifest and report them all as changes.

      const merged = await objectsByKey(kube, namespace, existing, ['apply', '--server-side', '--dry-run=server', '--force-conflicts', '--field-manager=techshop-deploy-preview'], dir, 'merged');
      const current = await helm(bin, kube, ['get', 'manifest', release, '-n', namespace]);
      const releaseKeys = current.code === 0 ? parseManifests(current.stdout).map(objectKey) : [];
      changeLines = formatChanges(summarizeChanges(rendered, live, merged, releaseKeys));
      log(`deploy: ${env} → ${info.context} (${info.server}), namespace ${namespace}, release ${release}`);
      for (const line of changeLines) log(line);
      if (!namespaceExists && !options['dry-run']) {
        // A namespace the deploy creates enforces the restricted Pod Security profile, like the ones the README asks for.
        const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: PSA_RESTRICTED_LABELS } };
        const created = await kubectl(kube, ['create', '-f', '-'], JSON.stringify(ns));
        if (created.code !== 0) throw new DeployRefused(`deploy: cannot create namespace ${namespace}: ${created.stderr.trim()}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const summary = (changeLines.at(-1) ?? '').replace(/^changes: /, '');
    if (options['dry-run']) {
      log(`deploy: dry run: ${env} ${release}@${namespace} would change ${summary} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      return 0;
    }

    // 5. upgrade, rolled back on failure
    const rollback = bin.major >= 4 ? '--rollback-on-failure' : '--atomic';
    const upgrade = await helm(bin, kube, ['upgrade', '--install', release, chart, '-n', namespace, ...valueArgs, rollback, '--wait', '--timeout', options.timeout as string, '-o', 'json']);
    if (upgrade.code !== 0) {
      log(upgrade.stderr.trim());
      log(`deploy: FAILED: ${env} ${release}@${namespace} did not roll out and was rolled back (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      return 1;
    }
    const revision = JSON.parse(upgrade.stdout).version;

    // 6. helm test, where containers really run
    const nodes = await kubectl(kube, ['get', 'nodes', '-o', 'json']);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const items: any[] = nodes.code === 0 ? JSON.parse(nodes.stdout).items : [];
    let testOutcome: string;
    if (items.length && items.every((n) => n.metadata?.annotations?.[FAKE_NODE_ANNOTATION] === 'fake')) {
      testOutcome = 'helm test skipped (kwok nodes run no containers: a result would prove nothing)';
    } else {
      const test = await helm(bin, kube, ['test', release, '-n', namespace, '--timeout', options.timeout as string]);
      if (test.code !== 0) {
        log(test.stdout.trim());
        log(test.stderr.trim());
        log(`deploy: FAILED: ${env} ${release}@${namespace} revision ${revision} deployed, but helm test failed`);
        return 1;
      }
      testOutcome = 'helm test passed';
    }
    log(`deploy: ${env} ${release}@${namespace} revision ${revision} deployed (${summary}); ${testOutcome}; ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (error) {
    if (error instanceof DeployRefused) {
      log(error.message);
      return 1;
    }
    throw error;
  }
};

await runIfMain(import.meta.url, deployStage);
