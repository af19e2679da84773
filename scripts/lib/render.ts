// helm template → parsed objects. js-yaml here: bulk parsing of what helm
// renders, where speed matters (the `yaml` package is for files people write).
import { loadAll } from 'js-yaml';
import { chartDir, chartNames } from './paths.ts';
import { contentCache, fileHash, treeHash } from './content-cache.ts';
import { run, type ExecResult } from './exec.ts';
import { helmIdentity, type HelmBinary } from './helm.ts';
import { readChartMeta } from './values.ts';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
  [key: string]: unknown;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  set?: string[];
  apiVersions?: string[];
  kubeVersion?: string;
  /** include helm test hooks (helm template renders them by default) */
  showOnly?: string[];
}

export function parseManifests(text: string): K8sObject[] {
  return (loadAll(text) as unknown[]).filter((doc): doc is K8sObject => doc !== null && typeof doc === 'object');
}

/** Namespace of every render in the checks and tests. */
export const RELEASE_NAMESPACE = 'techshop';

export function templateArgs(chart: string, options: RenderOptions = {}): string[] {
  const args = ['template', options.release ?? 'shop', chartDir(chart), '--namespace', options.namespace ?? RELEASE_NAMESPACE];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const item of options.set ?? []) args.push('--set', item);
  for (const api of options.apiVersions ?? []) args.push('--api-versions', api);
  if (options.kubeVersion) args.push('--kube-version', options.kubeVersion);
  for (const template of options.showOnly ?? []) args.push('--show-only', template);
  return args;
}

export class RenderError extends Error {}

/** helm template outputs by content: the chart tree (with its packaged dependencies), the values files' bytes, helm, the arguments. */
const renders = contentCache<ExecResult>('render');

/**
 * `helm template` of a chart under charts/, reused from .cache/content/render
 * while the chart tree, the values files, helm and the arguments are the same
 * (a failure too: its message is as deterministic as the output).
 */
export function cachedTemplate(helm: HelmBinary, chart: string, options: RenderOptions = {}): Promise<ExecResult> {
  const args = templateArgs(chart, options);
  const dir = chartDir(chart);
  const files = new Set(options.valuesFiles ?? []);
  let key: unknown;
  try {
    key = {
      what: 'helm template v1',
      helm: helmIdentity(helm),
      args: args.map((arg) => (arg === dir ? `chart:${treeHash(dir)}` : files.has(arg) ? `file:${fileHash(arg)}` : arg)),
    };
  } catch {
    // something to hash is missing (a values file that does not exist): helm says so in its own words
    return run(helm.path, args);
  }
  return renders.get(key, () => run(helm.path, args), (result) => result.code === 0 || result.stderr.length > 0);
}

export async function renderChart(helm: HelmBinary, chart: string, options: RenderOptions = {}): Promise<K8sObject[]> {
  const result = await cachedTemplate(helm, chart, options);
  if (result.code !== 0) throw new RenderError(`helm ${helm.version} template ${chart} failed:\n${result.stderr.trim()}`);
  return parseManifests(result.stdout);
}

/** `helm dependency build` for every chart with dependencies, subcharts first. */
export async function buildDependencies(helm: HelmBinary, charts: readonly string[] = chartNames): Promise<void> {
  for (const chart of charts) {
    if (!(readChartMeta(chart).dependencies ?? []).length) continue;
    const result = await run(helm.path, ['dependency', 'build', chartDir(chart), '--skip-refresh']);
    if (result.code !== 0) throw new Error(`helm dependency build ${chart} failed:\n${result.stderr.trim()}`);
  }
}

export function findObject(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} rendered; have: ${have}`);
  }
  return found;
}

export function podSpecOf(object: K8sObject): any | undefined { // eslint-disable-line @typescript-eslint/no-explicit-any
  switch (object.kind) {
    case 'Pod':
      return object.spec;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return object.spec?.template?.spec;
    case 'CronJob':
      return object.spec?.jobTemplate?.spec?.template?.spec;
    default:
      return undefined;
  }
}
