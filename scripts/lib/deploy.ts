// Pure parts of `npm run deploy`: the guards that refuse a deploy, and the
// per-object summary of what a deploy will change.
import type { K8sObject } from './render.ts';

// --- guards ----------------------------------------------------------------------------------

/** Paths `git status --porcelain` reports as changed or untracked ("" when the tree is clean). */
export function dirtyPaths(porcelain: string): string[] {
  return porcelain
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => line.slice(3));
}

// Pinned images: one definition for deploy, validate and the charts (scripts/lib/images.ts).
export { isPinned, unpinnedImages } from './images.ts';

export interface KubeContextInfo {
  context: string;
  cluster: string;
  server: string;
}

/**
 * Refusal text when the kube context points at another cluster than the
 * environment names (undefined = fine). Matches the kubeconfig cluster name
 * or the API server URL.
 */
export function clusterMismatch(expected: string | undefined, actual: KubeContextInfo): string | undefined {
  if (!expected) return undefined;
  if (expected === actual.cluster || expected === actual.server) return undefined;
  return `the kube context "${actual.context}" points at cluster "${actual.cluster}" (${actual.server}), but global.deploy.cluster says this environment deploys to "${expected}"`;
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
