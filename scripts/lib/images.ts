// The one list of container images the charts run (images.yaml), what the
// renders and values files use of it, and what Renovate's regex managers
// (renovate.json) would extract from the repository's files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './paths.ts';
import { podSpecOf, type K8sObject } from './render.ts';
import { ruleConstant } from './rule-table.ts';

/** A pinned tag (full version, or a vendor's full-version form) and a digest: the one definition (rule image-pinned). */
export const PINNED_TAG = new RegExp((ruleConstant('image-pinned', 'tagPattern') as readonly string[]).map((p) => `(${p})`).join('|'));
export const PINNED_DIGEST = new RegExp((ruleConstant('image-pinned', 'digestPattern') as readonly string[]).map((p) => `(${p})`).join('|'));

/**
 * An image reference (registry/repository:tag, …@sha256:…) pinned to what runs:
 * a digest, or a tag that is a full version. mongo:8, redis:7.2, grafana:12,
 * latest and stable float (the registry moves them), so they are not.
 */
export function isPinned(ref: string): boolean {
  const at = ref.indexOf('@');
  if (at >= 0) return PINNED_DIGEST.test(ref.slice(at + 1));
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.indexOf(':', lastSlash + 1);
  return colon >= 0 && PINNED_TAG.test(ref.slice(colon + 1));
}

/** The distinct images of rendered pod templates that are not pinned (sorted). */
export function unpinnedImages(objects: K8sObject[]): string[] {
  return [...new Set(renderedImages(objects).map((i) => i.image))].filter((image) => !isPinned(image)).sort();
}

export interface ImagePin {
  name: string;
  registry: string;
  repository: string;
  tag: string;
  /** The lowest version free of the advisories recorded beside the pin (images.yaml), when there are any. */
  minimumFixed?: string;
}

export const imageListFile = join(repoRoot, 'images.yaml');

export function readImageList(text = readFileSync(imageListFile, 'utf8')): ImagePin[] {
  const doc = parse(text) as { images?: Record<string, { registry?: unknown; repository?: unknown; tag?: unknown; minimumFixed?: unknown }> };
  return Object.entries(doc.images ?? {}).map(([name, pin]) => {
    for (const key of ['registry', 'repository', 'tag'] as const) {
      if (typeof pin[key] !== 'string' || !pin[key]) throw new Error(`images.yaml: ${name}.${key} must be a non-empty string`);
    }
    const out: ImagePin = { name, registry: pin.registry as string, repository: pin.repository as string, tag: pin.tag as string };
    if (pin.minimumFixed !== undefined) {
      if (typeof pin.minimumFixed !== 'string' || !parseVersion(pin.minimumFixed)) throw new Error(`images.yaml: ${name}.minimumFixed must be a version (major.minor.patch), got ${String(pin.minimumFixed)}`);
      if (compareVersions(pin.tag as string, pin.minimumFixed) < 0) throw new Error(`images.yaml: ${name}.tag ${pin.tag} is below its minimumFixed ${pin.minimumFixed}`);
      out.minimumFixed = pin.minimumFixed;
    }
    return out;
  });
}

/** major.minor.patch of a tag (a "v" prefix and a -suffix allowed), undefined for any other tag. */
export function parseVersion(tag: string): [number, number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(tag);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** <0, 0, >0 as version a is below, equal to, above b (both major.minor.patch). */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  if (!x || !y) throw new Error(`not a version: ${x ? b : a}`);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/**
 * Rendered images of a list entry with a minimumFixed that run below it (or
 * cannot be shown to be at or above it: a bare digest, a tag that is no version).
 */
export function belowMinimumFixed(objects: K8sObject[], list: ImagePin[] = readImageList()): string[] {
  const findings: string[] = [];
  for (const found of renderedImages(objects)) {
    const ref = parseImageRef(found.image);
    if (!ref) continue;
    const pin = list.find((p) => p.registry === ref.registry && p.repository === ref.repository);
    if (!pin?.minimumFixed) continue;
    const ok = ref.tag !== undefined && parseVersion(ref.tag) !== undefined && compareVersions(ref.tag, pin.minimumFixed) >= 0;
    if (!ok) findings.push(`${found.object} ${found.container}: ${found.image} is below ${pin.name}'s minimumFixed ${pin.minimumFixed} (images.yaml)`);
  }
  return findings;
}

/** registry/repository:tag of a list entry. */
export function imageRef(name: string, list: ImagePin[] = readImageList()): string {
  const pin = list.find((p) => p.name === name);
  if (!pin) throw new Error(`no image "${name}" in images.yaml`);
  return `${pin.registry}/${pin.repository}:${pin.tag}`;
}

export interface RenderedImage {
  object: string;
  container: string;
  image: string;
  pullPolicy?: string;
}

/** Every container and init container image of every pod template in a render. */
export function renderedImages(objects: K8sObject[]): RenderedImage[] {
  const found: RenderedImage[] = [];
  for (const object of objects) {
    const spec = podSpecOf(object);
    if (!spec) continue;
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])] as { name: string; image: string; imagePullPolicy?: string }[]) {
      found.push({ object: `${object.kind}/${object.metadata.name}`, container: c.name, image: c.image, pullPolicy: c.imagePullPolicy });
    }
  }
  return found;
}

/** Splits registry/repository:tag or registry/repository@digest (the registry is the part before the first "/" when it has a dot). */
export function parseImageRef(ref: string): { registry: string; repository: string; tag?: string; digest?: string } | undefined {
  const match = /^([a-z0-9.-]+\.[a-z]+(?::\d+)?)\/([a-z0-9._/-]+?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref);
  if (!match || (!match[3] && !match[4])) return undefined;
  return { registry: match[1] as string, repository: match[2] as string, ...(match[3] ? { tag: match[3] } : {}), ...(match[4] ? { digest: match[4] } : {}) };
}

export interface ValuesImage {
  path: string;
  registry?: string;
  repository?: string;
  tag?: string;
  digest?: string;
}

/** Every image block in a values tree: an object with a repository or a tag beside pullPolicy/digest/registry. */
export function valuesImages(values: unknown, path: string[] = []): ValuesImage[] {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return [];
  const node = values as Record<string, unknown>;
  const isImage = (path.at(-1) === 'image' || path.at(-2) === 'images') && ('repository' in node || 'tag' in node);
  if (isImage) {
    const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
    return [{ path: path.join('.'), registry: str(node.registry), repository: str(node.repository), tag: str(node.tag), ...(node.digest ? { digest: str(node.digest) } : {}) }];
  }
  return Object.entries(node).flatMap(([key, child]) => valuesImages(child, [...path, key]));
}

export interface RenovateCustomManager {
  customType: string;
  description?: string;
  managerFilePatterns: string[];
  matchStrings: string[];
  datasourceTemplate?: string;
  extractVersionTemplate?: string;
}

export interface RenovateDep {
  file: string;
  depName: string;
  currentValue: string;
  datasource?: string;
}

/** A Renovate pattern ("/regex/" or a glob we do not use) as a RegExp. */
export function renovatePattern(pattern: string): RegExp {
  const match = /^\/(.*)\/([a-z]*)$/.exec(pattern);
  if (!match) throw new Error(`only /regex/ file patterns are used here, got ${pattern}`);
  return new RegExp(match[1] as string, match[2]);
}

/**
 * What Renovate's regex managers extract from the given files: each manager's
 * matchStrings applied (global, as Renovate does) to every file its
 * managerFilePatterns select.
 */
export function renovateExtract(managers: RenovateCustomManager[], files: { path: string; text: string }[]): RenovateDep[] {
  const deps: RenovateDep[] = [];
  for (const manager of managers) {
    if (manager.customType !== 'regex') continue;
    const patterns = manager.managerFilePatterns.map(renovatePattern);
    for (const file of files) {
      if (!patterns.some((p) => p.test(file.path))) continue;
      for (const matchString of manager.matchStrings) {
        for (const m of file.text.matchAll(new RegExp(matchString, 'g'))) {
          const groups = m.groups ?? {};
          if (!groups.depName || !groups.currentValue) continue;
          deps.push({ file: file.path, depName: groups.depName, currentValue: groups.currentValue, datasource: groups.datasource ?? manager.datasourceTemplate });
        }
      }
    }
  }
  return deps;
}
