// Image pins: every image in every render is pinned and comes from the one
// list (images.yaml); the values files and Chart.yaml appVersions carry the
// same pins; Renovate's matchers (renovate.json) find every image of the list.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  belowMinimumFixed,
  imageRef,
  isPinned,
  parseImageRef,
  readImageList,
  renderedImages,
  renovateExtract,
  unpinnedImages,
  valuesImages,
  type RenovateCustomManager,
} from '../scripts/lib/images.ts';
import { renderTarget } from '../scripts/lib/kube-checks.ts';
import { describeTarget, lintTargets } from '../scripts/lib/lint.ts';
import { repoRoot } from '../scripts/lib/paths.ts';
import { readChartMeta } from '../scripts/lib/values.ts';
import { helms, renderEnv } from './helpers/render.ts';
import { RenderError, renderChart } from '../scripts/lib/render.ts';
import { loadValidator } from '../scripts/lib/validate.ts';
import { valuesFile } from '../scripts/lib/paths.ts';

const list = readImageList();
const byRepository = new Map(list.map((p) => [`${p.registry}/${p.repository}`, p]));
/** Our own image: dev follows its newest build (latest, pulled Always), as the dev profile allows. */
const OWN_IMAGE = 'app';

const repoFiles = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !/^(node_modules|\.cache|dist)(\/|$)/.test(f) && lstatSync(join(repoRoot, f), { throwIfNoEntry: false })?.isFile());
const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');

describe('the image list (images.yaml)', () => {
  it('names each image once, spelled registry/repository with a pinned version tag', () => {
    expect(list.length).toBeGreaterThanOrEqual(10);
    expect(new Set(list.map((p) => p.name)).size).toBe(list.length);
    expect(byRepository.size, 'one entry per registry/repository').toBe(list.length);
    for (const pin of list) {
      expect(pin.registry, pin.name).toBe('docker.io');
      expect(pin.tag, pin.name).toMatch(/^v?\d+\.\d+\.\d+$/);
      // official images spelled one way: library/<name>, never the short form
      if (!pin.repository.includes('/')) throw new Error(`${pin.name}: write library/${pin.repository}`);
    }
  });

  it('holds the patched versions issue 12 asks for', () => {
    const version = (name: string) => (list.find((p) => p.name === name)?.tag ?? '').replace(/^v/, '').split('.').map(Number);
    const atLeast = (name: string, min: number[]) => {
      const v = version(name);
      expect(v.slice(0, 2), name).toEqual(min.slice(0, 2)); // stays on its release line
      expect(v[2]!, name).toBeGreaterThanOrEqual(min[2]!);
    };
    atLeast('mongo', [8, 0, 17]); // CVE-2025-14847 ("MongoBleed") is fixed in 8.0.17
    atLeast('redis', [7, 2, 11]); // 7.2.11: the Lua CVEs of October 2025
    // Prometheus: below the level its advisories are fixed at (minimumFixed beside the pin), checked on every render below
    expect(list.find((p) => p.name === 'prometheus')?.minimumFixed).toBe('v3.11.3');
    atLeast('busybox', [1, 37, 0]);
  });
});

const targets = lintTargets().filter((t) => readChartMeta(t.chart).type !== 'library');

describe('every image in every render comes from the list', () => {
  const used = new Set<string>();

  it('renders dev, staging and prod and every chart with its ci values (helm test pods included)', () => {
    expect(targets.filter((t) => /values\/values-(dev|staging|prod)\.yaml$/.test(t.valuesFile ?? ''))).toHaveLength(3);
    expect(new Set(targets.map((t) => t.chart))).toEqual(new Set(['app', 'mongodb', 'redis', 'monitoring', 'backup', 'tracing', 'objectstore', 'logging', 'techshop']));
  });

  for (const target of targets) {
    it(describeTarget(target), async () => {
      const rendered = await renderTarget(helms[0]!, target);
      const images = renderedImages(rendered.objects);
      expect(images.length).toBeGreaterThan(0);
      expect(images.some((i) => i.object.startsWith('Pod/')), 'helm test pods are rendered too').toBe(!['app', 'backup', 'logging'].includes(target.chart));
      for (const found of images) {
        const where = `${found.object} ${found.container}: ${found.image}`;
        const ref = parseImageRef(found.image);
        expect(ref, where).toBeDefined();
        const pin = byRepository.get(`${ref!.registry}/${ref!.repository}`);
        expect(pin, `${where} is not in images.yaml`).toBeDefined();
        used.add(pin!.name);
        if (pin!.name === OWN_IMAGE && ref!.tag === 'latest') {
          expect(target.valuesFile ?? '', where).toMatch(/dev/);
          expect(found.pullPolicy, where).toBe('Always');
          continue;
        }
        expect(ref!.tag, `${where}: pinned by images.yaml`).toBe(pin!.tag);
      }
      // no deployed image below the level its known advisories are fixed at
      expect(belowMinimumFixed(rendered.objects, list)).toEqual([]);
    });
  }

  it('uses every entry of the list (no stale pins)', () => {
    expect([...used].sort()).toEqual(list.map((p) => p.name).sort());
  });

  it('fails on an image that is not in the list', () => {
    const ref = parseImageRef('docker.io/library/mongo:8.0.15')!;
    expect(byRepository.get(`${ref.registry}/${ref.repository}`)?.tag).not.toBe(ref.tag);
    expect(byRepository.get('docker.io/mongo')).toBeUndefined(); // the short spelling is not the list's
    expect(parseImageRef('mongo')).toBeUndefined(); // no registry, no tag: not pinned
  });
});

describe('values files and Chart.yaml carry the list pins', () => {
  const valuesFiles = repoFiles.filter((f) => /^charts\/[^/]+\/(values\.yaml|ci\/[^/]+-values\.yaml)$|^values\/values-[^/]+\.yaml$/.test(f));

  it('every image block names a list image and its pin (tag overrides: the pin, or latest for our own image in dev)', () => {
    let blocks = 0;
    for (const file of valuesFiles) {
      for (const image of valuesImages(parse(read(file)))) {
        blocks++;
        const where = `${file} ${image.path}`;
        // a block without a repository overrides the tag of the chart's image: only our own app's
        // (the umbrella's app.image, or the app chart's image) is overridden by environment files
        const ownOverride = image.path === 'app.image' || (image.path === 'image' && file.startsWith('charts/app/'));
        if (!image.repository) expect(ownOverride, `${where}: a tag override of a third-party image hides it from Renovate`).toBe(true);
        const pin = image.repository ? byRepository.get(`${image.registry ?? 'docker.io'}/${image.repository}`) : list.find((p) => p.name === OWN_IMAGE);
        expect(pin, `${where}: not in images.yaml`).toBeDefined();
        if (image.registry !== undefined) expect(image.registry, where).toBe(pin!.registry);
        if (image.tag === undefined) continue;
        if (pin!.name === OWN_IMAGE && image.tag === 'latest') expect(file, where).toMatch(/dev/);
        else expect(image.tag, where).toBe(pin!.tag);
      }
    }
    expect(blocks).toBeGreaterThanOrEqual(list.length);
  });

  it('the appVersion of mongodb, redis, monitoring and objectstore is their image version', () => {
    const appVersion = (chart: string) => (parse(read(`charts/${chart}/Chart.yaml`)) as { appVersion?: string }).appVersion;
    const bare = (name: string) => list.find((p) => p.name === name)!.tag.replace(/^v/, '');
    expect(appVersion('mongodb')).toBe(bare('mongo'));
    expect(appVersion('redis')).toBe(bare('redis'));
    expect(appVersion('monitoring')).toBe(bare('prometheus'));
    expect(appVersion('objectstore')).toBe(bare('minio'));
  });

  it('imageRef spells a list entry as the renders do', () => {
    expect(imageRef('mongo')).toMatch(/^docker\.io\/library\/mongo:8\.0\.\d+$/);
    expect(() => imageRef('nope')).toThrow(/no image "nope"/);
  });
});

describe('Renovate (renovate.json)', () => {
  const config = JSON.parse(read('renovate.json')) as {
    'helm-values'?: { enabled?: boolean };
    customManagers: RenovateCustomManager[];
    packageRules: { matchPackageNames?: string[]; enabled?: boolean; allowedVersions?: string }[];
  };
  const deps = renovateExtract(config.customManagers, repoFiles.map((path) => ({ path, text: read(path) })));

  it('finds every image of the list in images.yaml, with its pin, from the docker datasource', () => {
    for (const pin of list) {
      const found = deps.filter((d) => d.file === 'images.yaml' && d.depName === pin.repository);
      expect(found, pin.name).toEqual([{ file: 'images.yaml', depName: pin.repository, currentValue: pin.tag, datasource: 'docker' }]);
    }
    expect(deps.filter((d) => d.file === 'images.yaml')).toHaveLength(list.length);
  });

  it('finds every image block of every chart values.yaml, so one pull request bumps the list and the charts together', () => {
    for (const file of repoFiles.filter((f) => /^charts\/[^/]+\/values\.yaml$/.test(f))) {
      const blocks = valuesImages(parse(read(file))).filter((b) => b.repository);
      const found = deps.filter((d) => d.file === file);
      expect(found.map((d) => `${d.depName}:${d.currentValue}`).sort(), file).toEqual(blocks.map((b) => `${b.repository}:${b.tag}`).sort());
    }
    for (const chart of ['mongodb', 'redis', 'monitoring']) {
      const found = deps.filter((d) => d.file === `charts/${chart}/Chart.yaml`);
      expect(found, chart).toHaveLength(1);
      expect(byRepository.has(`docker.io/${found[0]!.depName}`), chart).toBe(true);
    }
  });

  it('extracts nothing that is not in the list', () => {
    expect(deps.length).toBeGreaterThan(list.length);
    for (const dep of deps) expect(byRepository.get(`docker.io/${dep.depName}`), `${dep.file} ${dep.depName}`).toBeDefined();
  });

  it('turns off the built-in helm-values manager (no duplicate updates), keeps our image and the release lines', () => {
    expect(config['helm-values']?.enabled).toBe(false);
    const rule = (name: string) => config.packageRules.find((r) => r.matchPackageNames?.includes(name));
    expect(rule('techshop/app')?.enabled).toBe(false);
    expect(new RegExp(rule('library/mongo')!.allowedVersions!.slice(1, -1)).test('8.0.21')).toBe(true);
    expect(new RegExp(rule('library/mongo')!.allowedVersions!.slice(1, -1)).test('8.2.0')).toBe(false);
    expect(new RegExp(rule('library/redis')!.allowedVersions!.slice(1, -1)).test('7.4.0')).toBe(false);
    expect(new RegExp(rule('prom/prometheus')!.allowedVersions!.slice(1, -1)).test('v3.13.6')).toBe(true);
    expect(new RegExp(rule('prom/prometheus')!.allowedVersions!.slice(1, -1)).test('0.313.6')).toBe(true);
    expect(new RegExp(rule('prom/prometheus')!.allowedVersions!.slice(1, -1)).test('v3.14.0')).toBe(false);
    expect(new RegExp(rule('prom/prometheus')!.allowedVersions!.slice(1, -1)).test('v3.5.3')).toBe(false);
  });

  it('a matcher that misses an image is caught', () => {
    const narrowed = config.customManagers.map((m) => ({ ...m, managerFilePatterns: m.managerFilePatterns.filter((p) => !p.includes('images')) }));
    const missing = renovateExtract(narrowed, [{ path: 'images.yaml', text: read('images.yaml') }]);
    expect(missing).toEqual([]);
  });
});

describe('prod runs pinned images only (one definition: isPinned, rule image-pinned)', () => {
  it('accepts a full version or a digest and refuses floating tags, major-only and major.minor tags', () => {
    for (const ref of ['docker.io/library/mongo:8.0.20', 'docker.io/prom/prometheus:v3.5.3', 'docker.io/library/redis:7.2.14-alpine', 'registry.local:5000/app:v2.0.0', `docker.io/library/mongo@sha256:${'a'.repeat(64)}`, `docker.io/library/mongo:8@sha256:${'b'.repeat(64)}`, 'quay.io/minio/minio:RELEASE.2025-07-23T15-54-02Z']) {
      expect(isPinned(ref), ref).toBe(true);
    }
    for (const ref of ['docker.io/library/mongo:8', 'docker.io/library/redis:7.2', 'docker.io/grafana/grafana:12', 'techshop/app:latest', 'techshop/app:stable', 'techshop/app', 'registry.local:5000/app', 'docker.io/library/mongo:8.0', 'docker.io/library/mongo@sha256:short', 'quay.io/minio/minio:RELEASE.2025-07-23']) {
      expect(isPinned(ref), ref).toBe(false);
    }
  });

  it('every image the prod release renders is pinned', async () => {
    const objects = await renderEnv(helms[0]!, 'prod');
    expect(renderedImages(objects).length).toBeGreaterThan(8);
    expect(unpinnedImages(objects)).toEqual([]);
  });

  // any image block, not a list of keys: the exporter, a backup tool, the helm test image
  for (const [key, ref] of [['mongodb.image.tag', 'docker.io/library/mongo:8'], ['redis.metrics.image.tag', 'docker.io/oliver006/redis_exporter:v1.67'], ['monitoring.grafana.image.tag', 'docker.io/grafana/grafana:12'], ['backup.images.awsCli.tag', 'docker.io/amazon/aws-cli:2'], ['monitoring.tests.image.tag', 'docker.io/library/busybox:1.37']] as const) {
    const tag = ref.slice(ref.lastIndexOf(':') + 1);
    it(`refuses ${key}=${tag} in prod: validate and helm (the template) alike`, async () => {
      const doc = parse(readFileSync(valuesFile('prod'), 'utf8')) as Record<string, any>;
      const path = key.split('.');
      let node = doc;
      for (const k of path.slice(0, -1)) node = node[k] ??= {};
      node[path.at(-1)!] = tag;
      const dir = mkdtempSync(join(tmpdir(), 'pinned-'));
      try {
        const file = join(dir, 'values-prod.yaml');
        writeFileSync(file, stringify(doc));
        const render = renderChart(helms[0]!, 'techshop', { valuesFiles: [file] });
        await expect(render).rejects.toBeInstanceOf(RenderError);
        // the profile's schema (the keys it lists) or the template's fail (every image)
        await expect(render).rejects.toThrow(new RegExp(`image ${ref.replace(/[.]/g, '\\.')} is not pinned.*\\[rule image-pinned\\]|${path.slice(1).join('/')}.*(pattern|prod runs a pinned version)`, 's'));
        const diagnostics = (await loadValidator()).validate('values/values-prod.yaml', readFileSync(file));
        const pinned = diagnostics.filter((d) => d.rule === 'rule/image-pinned');
        expect(pinned.map((d) => d.path), JSON.stringify(diagnostics)).toEqual([key]);
        expect(pinned[0]!.message).toContain(`image ${ref} is not pinned`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('minimumFixed: no deployed image below the level its advisories are fixed at', () => {
  it('finds a Prometheus below v3.11.3 in a render (3.5.1: CVE-2026-42151, CVE-2026-42154, two UI XSS), and not the pin', async () => {
    for (const [tag, below] of [['v3.5.1', true], ['v3.11.2', true], ['v3.11.3', false], ['v3.13.5', false]] as const) {
      const objects = await renderChart(helms[0]!, 'monitoring', { set: [`prometheus.image.tag=${tag}`] });
      const found = belowMinimumFixed(objects, list);
      expect(found.length > 0, `${tag}: ${found.join('; ')}`).toBe(below);
      if (below) expect(found[0]).toContain(`docker.io/prom/prometheus:${tag} is below prometheus's minimumFixed v3.11.3`);
    }
    // a digest alone cannot show its version: it is not taken as fixed
    const digest = await renderChart(helms[0]!, 'monitoring', { set: [`prometheus.image.digest=sha256:${'c'.repeat(64)}`] });
    expect(belowMinimumFixed(digest, list)).toHaveLength(1);
  });

  it('images.yaml refuses a pin below its own minimumFixed, and a minimumFixed that is no version', () => {
    const entry = (tag: string, minimumFixed: string) => `images:\n  prometheus:\n    registry: docker.io\n    repository: prom/prometheus\n    tag: "${tag}"\n    minimumFixed: "${minimumFixed}"\n`;
    expect(readImageList(entry('v3.13.5', 'v3.11.3'))[0]?.minimumFixed).toBe('v3.11.3');
    expect(() => readImageList(entry('v3.5.1', 'v3.11.3'))).toThrow(/tag v3\.5\.1 is below its minimumFixed v3\.11\.3/);
    expect(() => readImageList(entry('v3.13.5', '3.11'))).toThrow(/minimumFixed must be a version/);
  });
});
