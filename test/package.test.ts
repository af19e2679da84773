import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveContentDigest, contentDigest, fileDigest, readChartArchive, readTar } from '../scripts/lib/chart-archive.ts';
import { run } from '../scripts/lib/exec.ts';
import { helmMatrix, type HelmBinary } from '../scripts/lib/helm.ts';
import { packageCharts, signOptionsFrom } from '../scripts/lib/package.ts';
import { chartNames, chartsDir, standaloneCharts, umbrellaChart } from '../scripts/lib/paths.ts';
import { readChartMeta } from '../scripts/lib/values.ts';

let work: string;
let charts: string;
let helms: HelmBinary[];

/** Every file under dir with its bytes, to prove a directory was not touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out[path] = fileDigest(path);
    }
  }
  return out;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'package-test-'));
  // A copy, so dependency builds do not rewrite charts/*/charts under other tests' feet.
  charts = join(work, 'charts');
  cpSync(chartsDir, charts, { recursive: true });
  helms = await helmMatrix();
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('archive content digest', () => {
  const a = { path: 'c/a.yaml', data: Buffer.from('a: 1\n') };
  const b = { path: 'c/b.yaml', data: Buffer.from('b: 2\n') };

  it('ignores the order of the files and depends on every byte and path', () => {
    expect(contentDigest([a, b])).toBe(contentDigest([b, a]));
    expect(contentDigest([a, b])).not.toBe(contentDigest([a, { ...b, data: Buffer.from('b: 3\n') }]));
    expect(contentDigest([a, b])).not.toBe(contentDigest([a, { ...b, path: 'c/B.yaml' }]));
    expect(contentDigest([a, b])).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('reads long names from PAX and GNU tar headers', async () => {
    const dir = join(work, 'tar');
    const long = `chart/${'templates/'.repeat(8)}${'x'.repeat(60)}.yaml`;
    mkdirSync(join(dir, long, '..'), { recursive: true });
    writeFileSync(join(dir, long), 'long: true\n');
    writeFileSync(join(dir, 'chart/Chart.yaml'), 'name: chart\n');
    for (const format of ['pax', 'gnu']) {
      const tar = join(work, `t-${format}.tar`);
      const made = await run('tar', [`--format=${format}`, '-cf', tar, '-C', dir, 'chart/Chart.yaml', long]);
      expect(made.code, made.stderr).toBe(0);
      const files = readTar(readFileSync(tar));
      expect(files.map((f) => f.path)).toEqual(['chart/Chart.yaml', long]);
      expect(files[1]?.data.toString()).toBe('long: true\n');
    }
  });
});

describe('packageCharts', () => {
  it('packages every chart, and packaging again gives the same content (both helm majors)', async () => {
    const digests: Record<string, string[]> = {};
    const bytesDiffer: Record<string, boolean> = {};
    for (const helm of helms) {
      const runs = [];
      for (const round of [1, 2]) {
        const outDir = join(work, `out-${helm.major}-${round}`);
        runs.push(await packageCharts({ helm: helm.path, chartsDir: charts, charts: chartNames, outDir }));
        if (round === 1) await new Promise((r) => setTimeout(r, 1100)); // a new second for tar mtimes
      }
      const [first, second] = runs as [typeof runs[0], typeof runs[0]];
      expect(first.map((c) => `${c.name}-${c.version}`)).toEqual(chartNames.map((name) => `${name}-${readChartMeta(name).version}`));
      expect(second.map((c) => c.contentDigest)).toEqual(first.map((c) => c.contentDigest));
      for (const c of first) {
        expect(archiveContentDigest(c.file)).toBe(c.contentDigest);
        (digests[c.name] ??= []).push(c.contentDigest);
      }
      bytesDiffer[helm.major] = first.some((c, i) => fileDigest(c.file) !== fileDigest(second[i]!.file));
    }
    // helm 3 stamps tar entries with the packaging time, so only the content digest is stable.
    expect(bytesDiffer[3]).toBe(true);
    // Both majors package the same files with the same bytes.
    for (const list of Object.values(digests)) expect(new Set(list).size).toBe(1);
  });

  it('puts the subcharts into the umbrella archive', async () => {
    const files = readChartArchive(join(work, 'out-4-1', 'techshop-0.1.0.tgz')).map((f) => f.path);
    expect(files).toContain('techshop/Chart.yaml');
    expect(files).toContain('techshop/charts/app/Chart.yaml');
    expect(files).toContain('techshop/charts/common/Chart.yaml');
    // every dependency of the umbrella's Chart.yaml: every other chart of the repository but the standalone ones
    const deps = (readChartMeta(umbrellaChart).dependencies ?? []).map((d) => d.name);
    expect([...deps].sort()).toEqual(chartNames.filter((n) => n !== umbrellaChart && !standaloneCharts.includes(n)).sort());
    for (const dep of deps) expect(files).toContain(`techshop/charts/${dep}/Chart.yaml`);
  });

  it('leaves the output directory untouched when a chart fails to package', async () => {
    const broken = join(work, 'broken');
    cpSync(charts, broken, { recursive: true });
    // The umbrella is last, so the others are packaged (into the stage) before the failure.
    const chartYaml = join(broken, 'techshop', 'Chart.yaml');
    writeFileSync(chartYaml, readFileSync(chartYaml, 'utf8').replace(/^version: .*$/m, 'version: not-a-version'));
    const outDir = join(work, 'dist-broken');
    mkdirSync(join(outDir, 'repo'), { recursive: true });
    writeFileSync(join(outDir, 'app-0.0.9.tgz'), 'an older package');
    writeFileSync(join(outDir, 'repo', 'index.yaml'), 'apiVersion: v1\nentries: {}\n');
    const before = snapshot(outDir);
    const helm = helms[0]!;
    await expect(packageCharts({ helm: helm.path, chartsDir: broken, charts: chartNames, outDir })).rejects.toThrow(/helm (dependency build|package) techshop failed: .*version/);
    expect(snapshot(outDir)).toEqual(before);

    // And when it works, only the stale top-level archive goes; dist/repo is not packaging's business.
    const packaged = await packageCharts({ helm: helm.path, chartsDir: charts, charts: ['common'], outDir });
    expect(readdirSync(outDir).sort()).toEqual(['common-0.1.0.tgz', 'repo']);
    expect(packaged[0]?.file).toBe(join(outDir, 'common-0.1.0.tgz'));
    expect(readFileSync(join(outDir, 'repo', 'index.yaml'), 'utf8')).toBe('apiVersion: v1\nentries: {}\n');
  });

  it('does not create the output directory when packaging fails', async () => {
    const outDir = join(work, 'never-created');
    const helm = helms[0]!;
    await expect(packageCharts({ helm: helm.path, chartsDir: join(work, 'no-such-dir'), charts: ['app'], outDir })).rejects.toThrow();
    expect(existsSync(outDir)).toBe(false);
  });
});

describe('signing flags', () => {
  it('needs --key with --sign, and --sign with the others', () => {
    expect(signOptionsFrom({})).toBeUndefined();
    expect(signOptionsFrom({ sign: true, key: 'k', keyring: 'r' })).toEqual({ key: 'k', keyring: 'r', passphraseFile: undefined });
    expect(() => signOptionsFrom({ sign: true })).toThrow(/--key/);
    expect(() => signOptionsFrom({ key: 'k' })).toThrow(/need --sign/);
  });
});
