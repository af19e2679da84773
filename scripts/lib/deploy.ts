// Pure parts of `npm run deploy`: the guards that refuse a deploy, and the
// per-object summary of what a deploy will change.
import { X509Certificate } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { run } from './exec.ts';
import type { K8sObject } from './render.ts';

// --- guards ----------------------------------------------------------------------------------

/** Paths `git status --porcelain` reports as changed or untracked ("" when the tree is clean). */
export function dirtyPaths(porcelain: string): string[] {
  return porcelain
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => line.slice(3));
}

/**
 * Values files a prod deploy may not use (empty = all fine): every file must be
 * inside the repository at `root`, tracked by git and unchanged since the last
 * commit, so that what prod runs is what the history shows. Symlinks are
 * followed: a tracked link to a file elsewhere is refused too.
 */
export async function uncommittedValuesFiles(root: string, files: string[]): Promise<string[]> {
  const top = realpathSync(root);
  const problems: string[] = [];
  for (const file of files) {
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      problems.push(`${file} (does not exist)`);
      continue;
    }
    const path = relative(top, real);
    if (path === '' || path.startsWith('..') || isAbsolute(path)) {
      problems.push(`${file} (outside the repository)`);
      continue;
    }
    if ((await run('git', ['ls-files', '--error-unmatch', '--', path], { cwd: top })).code !== 0) {
      const ignored = (await run('git', ['check-ignore', '-q', '--no-index', '--', path], { cwd: top })).code === 0;
      problems.push(`${file} (${ignored ? 'ignored by git' : 'not tracked by git'})`);
      continue;
    }
    const status = await run('git', ['status', '--porcelain', '--', path], { cwd: top });
    if (status.code !== 0 || status.stdout.trim()) problems.push(`${file} (changed since the last commit)`);
  }
  return problems;
}

// Pinned images: one definition for deploy, validate and the charts (scripts/lib/images.ts).
export { isPinned, unpinnedImages } from './images.ts';

/** What the kube context points at, as the kubeconfig says it (`kubectl config view --minify --flatten`). */
export interface KubeContextInfo {
  context: string;
  /** The kubeconfig's local name of the cluster: a label anyone can choose, never an identity. */
  cluster: string;
  server: string;
  /** PEM of the CA bundle the connection verifies the server against ("" = the system roots). */
  caPem: string;
  /** insecure-skip-tls-verify: the server proves nothing. */
  insecure: boolean;
}

/**
 * A cluster as the server proves it: its API server URL and the SHA-256 of the
 * CA certificate the connection verifies against. kubectl and helm refuse a
 * server whose certificate that CA did not sign, so a deploy whose kubeconfig
 * carries the pinned CA can only talk to a server holding a key the CA certified.
 */
export interface ClusterIdentity {
  server: string;
  caSha256: string;
}

/** Environments whose deploys need global.deploy.cluster: no deploy to them on a guess. */
export const IDENTITY_REQUIRED: readonly string[] = ['staging', 'prod'];

/** The lower-case hex SHA-256 of each certificate's DER in a PEM bundle. */
export function caFingerprints(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block).fingerprint256.replace(/:/g, '').toLowerCase());
}

/** An API server URL compared as the client dials it: scheme and host lower case, default port and trailing slash dropped. */
export function normalizeServer(server: string): string {
  try {
    const url = new URL(server);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return server;
  }
}

/** The identity a kube context would prove, or why it proves none. */
export function contextIdentity(info: KubeContextInfo): { identity?: ClusterIdentity; problem?: string } {
  if (info.insecure) return { problem: `the kube context "${info.context}" skips TLS verification (insecure-skip-tls-verify): its server proves nothing` };
  if (!info.server.startsWith('https://')) return { problem: `the kube context "${info.context}" talks to ${info.server || '(no server)'} without TLS: its server proves nothing` };
  const fingerprints = caFingerprints(info.caPem);
  if (fingerprints.length === 0) return { problem: `the kube context "${info.context}" names no CA certificate (certificate-authority or certificate-authority-data): any server a public CA certified would do` };
  if (fingerprints.length > 1) return { problem: `the kube context "${info.context}" trusts ${fingerprints.length} CA certificates (${fingerprints.map((f) => f.slice(0, 12)).join(', ')}…): a server certified by any of them would do; keep only the cluster's CA` };
  return { identity: { server: normalizeServer(info.server), caSha256: fingerprints[0] as string } };
}

/** The command that prints a cluster's identity for global.deploy.cluster. */
export function identityCommand(env: string, context?: string): string {
  return `npm run --silent deploy -- --env ${env} --print-cluster-identity${context ? ` --kube-context ${context}` : ' [--kube-context C]'}`;
}

/** The identity as the values file carries it. */
export function identityYaml(identity: ClusterIdentity): string {
  return ['global:', '  deploy:', '    cluster:', `      server: ${identity.server}`, `      caSha256: ${identity.caSha256}`, ''].join('\n');
}

/**
 * Refusal text when the kube context is not the cluster the environment's values
 * pin (undefined = fine): staging and prod must pin one; any environment refuses
 * a cluster another environment pins (a dev deploy with prod's context current).
 */
export function clusterMismatch(
  env: string,
  expected: ClusterIdentity | undefined,
  actual: KubeContextInfo,
  otherEnvironments: Record<string, ClusterIdentity | undefined> = {},
  requiredFor: readonly string[] = IDENTITY_REQUIRED,
): string | undefined {
  const { identity, problem } = contextIdentity(actual);
  if (!expected && requiredFor.includes(env)) {
    return (
      `${env} deploys need the identity of their cluster in global.deploy.cluster (server and caSha256), and no values file sets it. ` +
      `From a kube context you have checked is the ${env} cluster, print it with\n  ${identityCommand(env, actual.context || undefined)}\n` +
      `and put it into values/values-${env}.yaml (committed: it is what a deploy trusts)`
    );
  }
  if (expected) {
    if (!identity) return `${problem}; global.deploy.cluster pins ${expected.server} (CA sha256 ${expected.caSha256})`;
    const where = `the kube context "${actual.context}" (cluster "${actual.cluster}") points at ${identity.server} with CA sha256 ${identity.caSha256}`;
    if (normalizeServer(expected.server) !== identity.server) return `${where}, but global.deploy.cluster says ${env} deploys to ${expected.server}`;
    if (expected.caSha256.toLowerCase() !== identity.caSha256) return `${where}, but global.deploy.cluster says ${env}'s cluster has the CA with sha256 ${expected.caSha256}`;
    return undefined;
  }
  // No pin for this environment: still never one another environment pins.
  if (identity) {
    for (const [other, pinned] of Object.entries(otherEnvironments)) {
      if (other === env || !pinned) continue;
      if (normalizeServer(pinned.server) === identity.server && pinned.caSha256.toLowerCase() === identity.caSha256) {
        return `the kube context "${actual.context}" points at ${other}'s cluster (${identity.server}, as global.deploy.cluster of ${other} pins it), not a ${env} cluster`;
      }
    }
  }
  return undefined;
}

// --- change summary --------------------------------------------------------------------------------

export type ChangeKind = 'created' | 'changed' | 'deleted' | 'unchanged';

export interface ObjectChange {
  kind: ChangeKind;
  object: string;
  /** Dotted paths of the fields that change (changed objects only). */
  fields: string[];
}

export function objectKey(object: K8sObject): string {
  return `${object.kind}/${object.metadata?.name}`;
}

/** Fields the server owns or bumps on every write: not changes anybody asked for. */
const IGNORED_PATHS = [
  /^metadata\.(managedFields|resourceVersion|generation|creationTimestamp|uid|selfLink)(\.|$)/,
  /^metadata\.annotations\.(meta\.helm\.sh\/|deployment\.kubernetes\.io\/revision|kubectl\.kubernetes\.io\/last-applied-configuration)/,
  /^metadata\.labels\.helm\.sh\/chart$/,
  /^status(\.|$)/,
];

/** Leaf paths whose values differ between two JSON documents (arrays compared by index). */
export function changedPaths(before: unknown, after: unknown, prefix = ''): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObject = (v: unknown) => typeof v === 'object' && v !== null;
  if (!isObject(before) || !isObject(after) || Array.isArray(before) !== Array.isArray(after)) return [prefix || '(root)'];
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((key) => changedPaths(a[key], b[key], prefix ? `${prefix}.${key}` : key));
}

/**
 * What a deploy does to each object: rendered but not live → created; live
 * (in the release's current manifest) but no longer rendered → deleted; both →
 * the fields the server-side dry run changes, or unchanged.
 */
export function summarizeChanges(
  rendered: K8sObject[],
  live: Map<string, K8sObject>,
  dryRun: Map<string, K8sObject>,
  releaseObjects: string[],
): ObjectChange[] {
  const changes: ObjectChange[] = [];
  const renderedKeys = new Set(rendered.map(objectKey));
  for (const object of rendered) {
    const key = objectKey(object);
    const current = live.get(key);
    if (!current) {
      changes.push({ kind: 'created', object: key, fields: [] });
      continue;
    }
    const merged = dryRun.get(key) ?? object;
    const fields = changedPaths(current, merged).filter((path) => !IGNORED_PATHS.some((re) => re.test(path)));
    changes.push({ kind: fields.length ? 'changed' : 'unchanged', object: key, fields });
  }
  for (const key of releaseObjects) {
    if (!renderedKeys.has(key)) changes.push({ kind: 'deleted', object: key, fields: [] });
  }
  return changes;
}

export function formatChanges(changes: ObjectChange[], maxFields = 6): string[] {
  const order: ChangeKind[] = ['created', 'changed', 'deleted'];
  const lines: string[] = [];
  for (const kind of order) {
    for (const change of changes.filter((c) => c.kind === kind)) {
      const sign = kind === 'created' ? '+' : kind === 'deleted' ? '-' : '~';
      const more = change.fields.length > maxFields ? `, … ${change.fields.length - maxFields} more` : '';
      const fields = change.fields.length ? `: ${change.fields.slice(0, maxFields).join(', ')}${more}` : '';
      lines.push(`  ${sign} ${change.object}${fields}`);
    }
  }
  const count = (kind: ChangeKind) => changes.filter((c) => c.kind === kind).length;
  lines.push(`changes: ${count('created')} created, ${count('changed')} changed, ${count('deleted')} deleted, ${count('unchanged')} unchanged`);
  return lines;
}
