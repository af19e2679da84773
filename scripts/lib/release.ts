// Publishes packaged charts to a chart repository directory (archives +
// index.yaml) and to OCI registries. A published version is never replaced:
// the same content is a no-op, different content is refused before anything
// is written.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { archiveContentDigest, fileDigest, inspectChartArchive } from './chart-archive.ts';
import { run } from './exec.ts';

export interface ChartToPublish {
  name: string;
  version: string;
  file: string;
  contentDigest: string;
  metadata: Record<string, unknown>;
  /** `<file>.prov` when it exists. */
  provenance?: string;
}

export interface Conflict {
  name: string;
  version: string;
  target: string;
  published: string;
  candidate: string;
}

export class PublishConflictError extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super(conflicts.map(formatConflict).join('\n'));
    this.name = 'PublishConflictError';
  }
}

export function formatConflict(c: Conflict): string {
  return `refusing to publish ${c.name} ${c.version} to ${c.target}: that version is already published with different content (published ${c.published}, new ${c.candidate}); bump the chart version`;
}

export function describeArchive(file: string): ChartToPublish {
  const { metadata, contentDigest } = inspectChartArchive(file);
  const provenance = `${file}.prov`;
  return {
    name: metadata.name,
    version: metadata.version,
    file,
    contentDigest,
    metadata,
    ...(existsSync(provenance) ? { provenance } : {}),
  };
}

/** The packaged charts at the top level of a directory (what scripts/package.ts wrote). */
export function packagedCharts(dir: string): ChartToPublish[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.tgz'))
    .sort()
    .map((name) => describeArchive(join(dir, name)));
}

// ---- semver ordering for index entries ----

function parseSemver(v: string): { core: number[]; pre: string[] } {
  const [main = '', ...rest] = v.replace(/^v/, '').split('+')[0]!.split('-');
  return { core: main.split('.').map((n) => Number(n) || 0), pre: rest.length ? rest.join('-').split('.') : [] };
}

/** Semver precedence (build metadata ignored); negative when a < b. */
export function compareSemver(a: string, b: string): number {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa.core[i] ?? 0) - (pb.core[i] ?? 0);
    if (d !== 0) return d;
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length;
  for (let i = 0; i < Math.max(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i];
    const y = pb.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

// ---- chart repository directory ----

export interface IndexEntry {
  name: string;
  version: string;
  urls: string[];
  digest: string;
  created: string;
  [key: string]: unknown;
}

export interface RepoIndex {
  apiVersion: string;
  entries: Record<string, IndexEntry[]>;
  generated: string;
  [key: string]: unknown;
}

export const INDEX_FILE = 'index.yaml';

export function readRepoIndex(repoDir: string): RepoIndex | undefined {
  const path = join(repoDir, INDEX_FILE);
  if (!existsSync(path)) return undefined;
  const parsed = parse(readFileSync(path, 'utf8')) as Partial<RepoIndex> | null;
  if (!parsed || typeof parsed !== 'object') throw new Error(`${path}: not a chart repository index`);
  return { ...parsed, apiVersion: parsed.apiVersion ?? 'v1', entries: parsed.entries ?? {}, generated: parsed.generated ?? '' };
}

export function findEntry(index: RepoIndex | undefined, name: string, version: string): IndexEntry | undefined {
  return index?.entries[name]?.find((e) => String(e.version) === version);
}

export interface RepoPlan {
  repoDir: string;
  add: ChartToPublish[];
  unchanged: ChartToPublish[];
  conflicts: Conflict[];
}

/** Decides per chart: new, already there with the same content, or a conflict. Reads only. */
export function planRepoPublish(charts: readonly ChartToPublish[], repoDir: string, index = readRepoIndex(repoDir)): RepoPlan {
  const plan: RepoPlan = { repoDir, add: [], unchanged: [], conflicts: [] };
  for (const chart of charts) {
    const entry = findEntry(index, chart.name, chart.version);
    if (!entry) {
      plan.add.push(chart);
      continue;
    }
    const publishedFile = join(repoDir, basename(entry.urls?.[0] ?? `${chart.name}-${chart.version}.tgz`));
    let same: boolean;
    let published: string;
    if (existsSync(publishedFile)) {
      published = archiveContentDigest(publishedFile);
      same = published === chart.contentDigest;
    } else {
      // Only the index is here (archives hosted elsewhere): compare archive bytes.
      published = `sha256:${entry.digest} (archive bytes; the archive is not in the directory)`;
      same = entry.digest === fileDigest(chart.file);
    }
    if (same) plan.unchanged.push(chart);
    else plan.conflicts.push({ name: chart.name, version: chart.version, target: repoDir, published, candidate: chart.contentDigest });
  }
  return plan;
}

export function indexEntry(chart: ChartToPublish, created: string, baseUrl?: string): IndexEntry {
  const file = basename(chart.file);
  return {
    ...chart.metadata,
    name: chart.name,
    version: chart.version,
    urls: [baseUrl ? `${baseUrl.replace(/\/+$/, '')}/${file}` : file],
    created,
    digest: fileDigest(chart.file),
  };
}

/** The index with the new entries added (newest version first per chart, as helm sorts). */
export function mergeIndex(index: RepoIndex | undefined, entries: readonly IndexEntry[], generated: string): RepoIndex {
  const merged: Record<string, IndexEntry[]> = {};
  for (const [name, list] of Object.entries(index?.entries ?? {})) merged[name] = [...list];
  for (const entry of entries) (merged[entry.name] ??= []).push(entry);
  for (const list of Object.values(merged)) list.sort((a, b) => compareSemver(String(b.version), String(a.version)));
  return { ...(index ?? {}), apiVersion: index?.apiVersion ?? 'v1', entries: merged, generated };
}

/** Keys sorted at every level, like helm's own index.yaml; no line folding. */
export function renderIndex(index: RepoIndex): string {
  return stringify(index, { sortMapEntries: true, lineWidth: 0 });
}

function writeAtomically(path: string, data: string | Buffer): void {
  const temp = join(path, '..', `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(temp, data);
  renameSync(temp, path);
}

function copyAtomically(from: string, dir: string): void {
  const temp = join(dir, `.${basename(from)}.${process.pid}.tmp`);
  copyFileSync(from, temp);
  renameSync(temp, join(dir, basename(from)));
}

/**
 * Copies the new archives (and .prov files) in, then replaces index.yaml in one
 * rename. Writes nothing when there is nothing new, so `generated` stays.
 */
export function applyRepoPlan(plan: RepoPlan, options: { baseUrl?: string; now?: Date } = {}): void {
  if (plan.conflicts.length > 0) throw new PublishConflictError(plan.conflicts);
  if (plan.add.length === 0) return;
  mkdirSync(plan.repoDir, { recursive: true });
  for (const chart of plan.add) {
    copyAtomically(chart.file, plan.repoDir);
    if (chart.provenance) copyAtomically(chart.provenance, plan.repoDir);
  }
  const now = (options.now ?? new Date()).toISOString();
  const entries = plan.add.map((c) => indexEntry(c, now, options.baseUrl));
  writeAtomically(join(plan.repoDir, INDEX_FILE), renderIndex(mergeIndex(readRepoIndex(plan.repoDir), entries, now)));
}

/** The repository's Artifact Hub metadata, beside index.yaml. */
export const REPO_METADATA_FILE = 'artifacthub-repo.yml';

/**
 * Copies artifacthub-repo.yml into the repository directory when its content
 * differs from the published one (Artifact Hub reads it from the repository's
 * root URL); true when it wrote.
 */
export function publishRepoMetadata(metadataFile: string, repoDir: string): boolean {
  const target = join(repoDir, REPO_METADATA_FILE);
  if (existsSync(target) && readFileSync(target, 'utf8') === readFileSync(metadataFile, 'utf8')) return false;
  mkdirSync(repoDir, { recursive: true });
  const temp = join(repoDir, `.${REPO_METADATA_FILE}.${process.pid}.tmp`);
  copyFileSync(metadataFile, temp);
  renameSync(temp, target);
  return true;
}

export function publishToRepo(charts: readonly ChartToPublish[], repoDir: string, options: { baseUrl?: string; now?: Date } = {}): RepoPlan {
  const plan = planRepoPublish(charts, repoDir);
  applyRepoPlan(plan, options);
  return plan;
}

// ---- OCI registry ----

export interface OciOptions {
  helm: string;
  /** oci://host[:port]/path; a chart lands at <ref>/<name>:<version>. */
  ref: string;
  plainHttp?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface OciPlan {
  ref: string;
  add: ChartToPublish[];
  unchanged: ChartToPublish[];
  conflicts: Conflict[];
}

const HELM_TIMEOUT_MS = 120_000;

export function checkOciRef(ref: string): string {
  if (!/^oci:\/\/[^/\s]+(\/[^\s]*)?$/.test(ref)) throw new Error(`--oci expects oci://host[:port]/path, got ${ref}`);
  return ref.replace(/\/+$/, '');
}

function tlsArgs(options: OciOptions): string[] {
  return options.plainHttp ? ['--plain-http'] : [];
}

/** Pulls <ref>/<name>:<version> into destDir; undefined when the registry has no such version. */
export async function pullOciChart(options: OciOptions, name: string, version: string, destDir: string): Promise<string | undefined> {
  const ref = `${checkOciRef(options.ref)}/${name}`;
  const result = await run(options.helm, ['pull', ref, '--version', version, '--destination', destDir, ...tlsArgs(options)], {
    env: options.env ?? process.env,
    timeoutMs: HELM_TIMEOUT_MS,
  });
  if (result.code !== 0) {
    // Only "no such tag/repository" means unpublished; anything else (auth, network) must stop the release.
    if (/: not found\b|manifest unknown|name unknown/i.test(result.stderr)) return undefined;
    throw new Error(`helm pull ${ref} --version ${version} failed: ${result.stderr.trim().replace(/^Error: /, '')}`);
  }
  const file = join(destDir, `${name}-${version}.tgz`);
  if (!existsSync(file)) throw new Error(`helm pull ${ref} --version ${version}: expected ${basename(file)}`);
  return file;
}

export async function planOciPublish(charts: readonly ChartToPublish[], options: OciOptions): Promise<OciPlan> {
  const ref = checkOciRef(options.ref);
  const plan: OciPlan = { ref, add: [], unchanged: [], conflicts: [] };
  const scratch = mkdtempSync(join(tmpdir(), 'oci-check-'));
  try {
    for (const chart of charts) {
      const pulled = await pullOciChart(options, chart.name, chart.version, mkdtempSync(join(scratch, 'c-')));
      if (!pulled) plan.add.push(chart);
      else {
        const published = archiveContentDigest(pulled);
        if (published === chart.contentDigest) plan.unchanged.push(chart);
        else plan.conflicts.push({ name: chart.name, version: chart.version, target: ref, published, candidate: chart.contentDigest });
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return plan;
}

/** helm push uploads `<archive>.prov` too when it sits next to the archive. */
export async function applyOciPlan(plan: OciPlan, options: OciOptions): Promise<void> {
  if (plan.conflicts.length > 0) throw new PublishConflictError(plan.conflicts);
  for (const chart of plan.add) {
    const result = await run(options.helm, ['push', chart.file, plan.ref, ...tlsArgs(options)], {
      env: options.env ?? process.env,
      timeoutMs: HELM_TIMEOUT_MS,
    });
    if (result.code !== 0) throw new Error(`helm push ${basename(chart.file)} ${plan.ref} failed: ${result.stderr.trim().replace(/^Error: /, '')}`);
  }
}

export async function publishToOci(charts: readonly ChartToPublish[], options: OciOptions): Promise<OciPlan> {
  const plan = await planOciPublish(charts, options);
  await applyOciPlan(plan, options);
  return plan;
}

// ---- provenance ----

/**
 * `helm verify` for each chart; with `key`, the signer's user id or
 * fingerprint must contain it, so a chart signed by some other key is refused.
 */
export async function verifySignatures(
  charts: readonly ChartToPublish[],
  options: { helm: string; keyring?: string; key?: string; env?: NodeJS.ProcessEnv },
): Promise<void> {
  const problems: string[] = [];
  for (const chart of charts) {
    const label = `${chart.name} ${chart.version} (${basename(chart.file)})`;
    if (!chart.provenance) {
      problems.push(`${label} is not signed: package it with --sign`);
      continue;
    }
    const args = ['verify', chart.file, ...(options.keyring ? ['--keyring', options.keyring] : [])];
    const result = await run(options.helm, args, { env: options.env ?? process.env, timeoutMs: HELM_TIMEOUT_MS });
    if (result.code !== 0) {
      problems.push(`${label}: helm verify failed: ${result.stderr.trim().replace(/^Error: /, '')}`);
      continue;
    }
    const signer = /Signed by: (.*)/.exec(result.stdout)?.[1] ?? '';
    const fingerprint = /Fingerprint: (\S+)/.exec(result.stdout)?.[1] ?? '';
    if (options.key && !signer.includes(options.key) && !fingerprint.toUpperCase().endsWith(options.key.toUpperCase())) {
      problems.push(`${label} is signed by ${signer} (${fingerprint}), not by ${options.key}`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
