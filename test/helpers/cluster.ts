// Talking to the local control plane from the cluster tests: kubectl and helm
// with the test cluster's kubeconfig, PSA-restricted namespaces, snapshots of
// what an upgrade must not change.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { inject } from 'vitest';
import { run, type ExecResult } from '../../scripts/lib/exec.ts';
import type { HelmBinary } from '../../scripts/lib/helm.ts';
import { parseManifests, type K8sObject } from '../../scripts/lib/render.ts';
import { repoRoot } from '../../scripts/lib/paths.ts';
import { PSA_RESTRICTED_LABELS } from '../../scripts/lib/policy.ts';

export function clusterEnv(): NodeJS.ProcessEnv {
  const kubectl = inject('kubectl');
  return { ...process.env, KUBECONFIG: inject('kubeconfig'), PATH: [dirname(kubectl), process.env.PATH ?? ''].join(delimiter) };
}

export async function kubectl(args: string[], input?: string): Promise<ExecResult> {
  return run(inject('kubectl'), args, { env: clusterEnv(), input, timeoutMs: 300_000 });
}

export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function kubectlJson(args: string[]): Promise<any> {
  return JSON.parse(await kubectlOk([...args, '-o', 'json']));
}

export async function helmCmd(helm: HelmBinary, args: string[]): Promise<ExecResult> {
  return run(helm.path, args, { env: clusterEnv(), cwd: repoRoot, timeoutMs: 900_000 });
}

/**
 * Server-side warnings helm printed (deprecations, PSA warn mode, ...): the
 * API server's Warning headers, which client-go logs from its warnings.go
 * (klog: level W in older client-go such as helm 3's, level I with a
 * "Warning: " prefix in newer ones such as helm 4's), or which a warning
 * writer prints as "Warning: ..." lines. Client-side logs that merely contain
 * the word, such as the informer's "Warning: watch ended with error" when
 * helm's wait cancels its watch, are not server warnings.
 */
export function warningLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^[IW]\d{4} .* warnings\.go:\d+\] |^Warning: /.test(line));
}

/** A fresh namespace enforcing the restricted Pod Security profile. */
export async function createRestrictedNamespace(name: string): Promise<void> {
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: PSA_RESTRICTED_LABELS } };
  await kubectlOk(['create', '-f', '-'], JSON.stringify(namespace));
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}

/** A test file's namespace, made anew (restricted) before its tests; what an earlier run left is gone first. */
export async function freshRestrictedNamespace(name: string): Promise<void> {
  await deleteNamespace(name);
  await waitUntil(`namespace ${name} gone`, async () => (await kubectl(['get', 'namespace', name])).code !== 0);
  await createRestrictedNamespace(name);
}

/** After a test file: its release uninstalled and its namespace deleted. */
export async function removeRelease(helm: HelmBinary, release: string, namespace: string): Promise<void> {
  await helmCmd(helm, ['uninstall', release, '-n', namespace, '--ignore-not-found']);
  await deleteNamespace(namespace);
}

/** The Secrets staging and prod need, created by the script the README tells users to run. */
export async function createReadmeSecrets(namespace: string): Promise<string[]> {
  const result = await run('bash', [join(repoRoot, '.ci', 'create-ci-secrets.sh'), namespace], { env: clusterEnv(), timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`create-ci-secrets.sh failed: ${result.stderr}`);
  const secrets = await kubectlJson(['-n', namespace, 'get', 'secrets']);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return secrets.items.map((s: any) => s.metadata.name as string);
}

/** The objects of a release's manifest (a revision of it), as stored by helm. */
export async function releaseObjects(helm: HelmBinary, release: string, namespace: string, revision?: number): Promise<K8sObject[]> {
  const args = ['get', 'manifest', release, '-n', namespace, ...(revision ? ['--revision', String(revision)] : [])];
  const result = await helmCmd(helm, args);
  if (result.code !== 0) throw new Error(`helm get manifest failed: ${result.stderr}`);
  return parseManifests(result.stdout);
}

/** Every object of a manifest as the server has it; throws naming the first missing one. */
export async function liveObjects(objects: K8sObject[], namespace: string): Promise<K8sObject[]> {
  const dir = mkdtempSync(join(tmpdir(), 'techshop-live-'));
  try {
    const file = join(dir, 'manifest.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    const result = await kubectl(['-n', namespace, 'get', '-f', file, '-o', 'json']);
    if (result.code !== 0) throw new Error(`objects of the release missing on the server: ${result.stderr}`);
    const parsed = JSON.parse(result.stdout);
    return parsed.kind === 'List' ? parsed.items : [parsed];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ReleaseSnapshot {
  /** Secret name → data (base64 as stored). */
  secrets: Record<string, Record<string, string>>;
  /** "Kind/name" → metadata.generation of every workload: a changed spec bumps it. */
  generations: Record<string, number>;
  /** "Kind/name" → pod template annotations (checksums). */
  templateAnnotations: Record<string, Record<string, string>>;
}

const WORKLOAD_KINDS = ['deployments', 'statefulsets', 'daemonsets', 'cronjobs'];

export async function snapshot(namespace: string): Promise<ReleaseSnapshot> {
  const secrets = await kubectlJson(['-n', namespace, 'get', 'secrets']);
  const workloads = await kubectlJson(['-n', namespace, 'get', WORKLOAD_KINDS.join(',')]);
  const result: ReleaseSnapshot = { secrets: {}, generations: {}, templateAnnotations: {} };
  for (const secret of secrets.items) {
    // helm's own release records change on every revision by design
    if (secret.type === 'helm.sh/release.v1') continue;
    result.secrets[secret.metadata.name] = secret.data ?? {};
  }
  for (const workload of workloads.items) {
    const key = `${workload.kind}/${workload.metadata.name}`;
    result.generations[key] = workload.metadata.generation;
    const template = workload.kind === 'CronJob' ? workload.spec.jobTemplate.spec.template : workload.spec.template;
    result.templateAnnotations[key] = template.metadata?.annotations ?? {};
  }
  return result;
}

/** Workloads whose generation differs between two snapshots. */
export function changedWorkloads(before: ReleaseSnapshot, after: ReleaseSnapshot): string[] {
  const keys = new Set([...Object.keys(before.generations), ...Object.keys(after.generations)]);
  return [...keys].filter((k) => before.generations[k] !== after.generations[k]).sort();
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Kinds `helm uninstall` may leave behind, listed to see exactly what remains. */
export const LEFTOVER_KINDS = [
  'deployments', 'statefulsets', 'daemonsets', 'replicasets', 'jobs', 'cronjobs', 'pods', 'services', 'persistentvolumeclaims',
  'secrets', 'configmaps', 'serviceaccounts', 'roles', 'rolebindings', 'networkpolicies', 'resourcequotas', 'limitranges',
  'poddisruptionbudgets', 'ingresses', 'horizontalpodautoscalers',
];

export async function namespaceObjects(namespace: string): Promise<string[]> {
  const list = await kubectlJson(['-n', namespace, 'get', LEFTOVER_KINDS.join(',')]);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return list.items.map((o: any) => `${o.kind}/${o.metadata.name}`).sort();
}

/**
 * Waits until every HorizontalPodAutoscaler has scaled its Deployment into its
 * range: with autoscaling on, the chart leaves spec.replicas to the HPA, which
 * raises a fresh Deployment from 1 to minReplicas (a generation bump of its own).
 */
export async function waitForAutoscalers(namespace: string): Promise<void> {
  await waitUntil(`autoscalers in ${namespace} at their minimum`, async () => {
    const hpas = await kubectlJson(['-n', namespace, 'get', 'horizontalpodautoscalers']);
    for (const hpa of hpas.items) {
      const target = await kubectlJson(['-n', namespace, 'get', 'deployment', hpa.spec.scaleTargetRef.name]);
      if ((target.spec.replicas ?? 1) < (hpa.spec.minReplicas ?? 1)) return false;
    }
    return true;
  });
}
