import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { archiveContentDigest, fileDigest } from '../scripts/lib/chart-archive.ts';
import { run } from '../scripts/lib/exec.ts';
import { helmMatrix, type HelmBinary } from '../scripts/lib/helm.ts';
import { packageCharts } from '../scripts/lib/package.ts';
import { chartNames, chartsDir, standaloneCharts, umbrellaChart } from '../scripts/lib/paths.ts';
import { readChartMeta } from '../scripts/lib/values.ts';
import {
  compareSemver,
  describeArchive,
  planOciPublish,
  publishToOci,
  publishToRepo,
  PublishConflictError,
  verifySignatures,
  type ChartToPublish,
  type RepoIndex,
} from '../scripts/lib/release.ts';
import { createThrowawayKey, type ThrowawayKey } from './helpers/gpg.ts';
import { isolatedHelmEnv, serveDirectory, startRegistry, type RunningServer } from './helpers/registry.ts';

let work: string;
let helm4: HelmBinary;
let helm3: HelmBinary;
/** The charts as they are, packaged with helm 4. */
let charts: ChartToPublish[];
/** The same sources packaged with helm 3: same content, other bytes. */
let chartsRepackaged: ChartToPublish[];
/** app 0.1.0 with a changed values.yaml (same version, different content). */
let appChanged: ChartToPublish;
/** app bumped to 0.2.0. */
let appNext: ChartToPublish;
/** Every chart of the repository, in dependency order (the library first, the umbrella last). */
const allCharts: string[] = [...chartNames];

function byName(list: ChartToPublish[], name: string): ChartToPublish {
  const found = list.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} in ${list.map((c) => c.name).join(', ')}`);
  return found;
}

function copyCharts(name: string, edit?: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(chartsDir, dir, { recursive: true });
  edit?.(dir);
  // helm 4 stamps tar entries with file mtimes, helm 3 with the current time; old mtimes keep their archives' bytes apart.
  const past = new Date('2020-01-01T00:00:00Z');
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) utimesSync(join(entry.parentPath, entry.name), past, past);
  }
  return dir;
}

function editFile(path: string, change: (text: string) => string): void {
  writeFileSync(path, change(readFileSync(path, 'utf8')));
}

async function pack(helm: HelmBinary, dir: string, names: readonly string[], out: string): Promise<ChartToPublish[]> {
  const packaged = await packageCharts({ helm: helm.path, chartsDir: dir, charts: names, outDir: join(work, out) });
  return packaged.map((c) => describeArchive(c.file));
}

/** Every file under dir with its bytes' digest. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out[join(entry.parentPath, entry.name)] = fileDigest(join(entry.parentPath, entry.name));
  }
  return out;
}

function readIndex(repoDir: string): RepoIndex {
  return parse(readFileSync(join(repoDir, 'index.yaml'), 'utf8')) as RepoIndex;
}

async function helmOk(helm: HelmBinary, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await run(helm.path, args, { env: env ?? process.env, timeoutMs: 60_000 });
  expect(result.code, `helm ${helm.major} ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'release-test-'));
  [helm4, helm3] = (await helmMatrix()) as [HelmBinary, HelmBinary];
  const plain = copyCharts('charts');
  charts = await pack(helm4, plain, chartNames, 'dist');
  chartsRepackaged = await pack(helm3, plain, chartNames, 'dist-helm3');
  const changed = copyCharts('charts-changed', (dir) => editFile(join(dir, 'app', 'values.yaml'), (t) => `${t}# changed without a version bump\n`));
  appChanged = byName(await pack(helm4, changed, ['common', 'app'], 'dist-changed'), 'app');
  const bumped = copyCharts('charts-bumped', (dir) => editFile(join(dir, 'app', 'Chart.yaml'), (t) => t.replace(/^version: 0\.1\.0$/m, 'version: 0.2.0')));
  appNext = byName(await pack(helm4, bumped, ['common', 'app'], 'dist-bumped'), 'app');
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

it('orders versions by semver precedence', () => {
  const sorted = ['0.10.0', '0.2.0', '1.0.0-rc.1', '1.0.0', '1.0.0-alpha', '0.2.0-beta.2', '0.2.0-beta.10'].sort(compareSemver);
  expect(sorted).toEqual(['0.2.0-beta.2', '0.2.0-beta.10', '0.2.0', '0.10.0', '1.0.0-alpha', '1.0.0-rc.1', '1.0.0']);
});

describe('publishing to a chart repository directory', () => {
  let repo: string;
  const firstRelease = new Date('2026-01-02T03:04:05.678Z');

  beforeAll(() => {
    repo = join(work, 'repo');
  });

  it('copies the archives and writes an index.yaml that describes them', () => {
    const plan = publishToRepo(charts, repo, { now: firstRelease });
    expect(plan.add.map((c) => c.name)).toEqual(allCharts);
    const index = readIndex(repo);
    expect(index.apiVersion).toBe('v1');
    expect(index.generated).toBe(firstRelease.toISOString());
    expect(Object.keys(index.entries)).toEqual([...allCharts].sort());
    for (const chart of charts) {
      const entries = index.entries[chart.name] ?? [];
      expect(entries).toHaveLength(1);
      const entry = entries[0]!;
      const file = `${chart.name}-0.1.0.tgz`;
      expect(entry).toMatchObject({ name: chart.name, version: '0.1.0', apiVersion: 'v2', urls: [file], created: firstRelease.toISOString() });
      expect(entry.digest).toBe(fileDigest(join(repo, file)));
      expect(archiveContentDigest(join(repo, file))).toBe(chart.contentDigest);
    }
    // The umbrella's entry lists every dependency of its Chart.yaml, each subchart behind <name>.enabled.
    const declared = readChartMeta(umbrellaChart).dependencies ?? [];
    expect(declared.map((d) => d.name)).toEqual(allCharts.filter((n) => n !== umbrellaChart && !standaloneCharts.includes(n)));
    const listed = index.entries[umbrellaChart]?.[0]?.dependencies ?? [];
    expect(listed).toHaveLength(declared.length);
    for (const dep of declared) {
      const subchart = readChartMeta(dep.name).type !== 'library';
      expect(listed).toContainEqual(expect.objectContaining({ name: dep.name, version: dep.version, ...(subchart ? { condition: `${dep.alias ?? dep.name}.enabled` } : {}) }));
    }
    expect(readdirSync(repo).sort()).toEqual([...allCharts.map((n) => `${n}-0.1.0.tgz`), 'index.yaml'].sort());
  });

  it('changes nothing when the same content is published again, even in other archive bytes', () => {
    const before = snapshot(repo);
    expect(fileDigest(byName(chartsRepackaged, 'app').file)).not.toBe(fileDigest(byName(charts, 'app').file));
    for (const again of [charts, chartsRepackaged]) {
      const plan = publishToRepo(again, repo);
      expect(plan.add).toEqual([]);
      expect(plan.unchanged).toHaveLength(allCharts.length);
      expect(snapshot(repo)).toEqual(before);
    }
  });

  it('refuses a published version with different content and writes nothing, not even the other new charts', () => {
    const before = snapshot(repo);
    const published = byName(charts, 'app').contentDigest;
    let error: unknown;
    try {
      publishToRepo([appNext, appChanged], repo);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PublishConflictError);
    const message = (error as Error).message;
    expect(message).toContain('refusing to publish app 0.1.0');
    expect(message).toContain(`published ${published}`);
    expect(message).toContain(`new ${appChanged.contentDigest}`);
    expect(published).not.toBe(appChanged.contentDigest);
    expect((error as PublishConflictError).conflicts).toHaveLength(1);
    expect(snapshot(repo)).toEqual(before);
  });

  it('adds a new version next to the published ones, which keep their entries', () => {
    const before = readIndex(repo);
    const later = new Date('2026-02-03T04:05:06.789Z');
    publishToRepo([appNext], repo, { now: later });
    const index = readIndex(repo);
    expect(index.generated).toBe(later.toISOString());
    expect(index.entries.app?.map((e) => e.version)).toEqual(['0.2.0', '0.1.0']);
    expect(index.entries.app?.[1]).toEqual(before.entries.app?.[0]);
    expect(index.entries.common).toEqual(before.entries.common);
    expect(index.entries.app?.[0]?.digest).toBe(fileDigest(join(repo, 'app-0.2.0.tgz')));
  });

  describe('served over HTTP', () => {
    let server: RunningServer;

    beforeAll(async () => {
      server = await serveDirectory(repo);
    });

    afterAll(async () => {
      await server?.stop();
    });

    it.each([4, 3])('helm %i adds the repository and pulls the published archives', async (major) => {
      const helm = major === 4 ? helm4 : helm3;
      const home = mkdtempSync(join(work, `helm${major}-home-`));
      const env = isolatedHelmEnv(home);
      await helmOk(helm, ['repo', 'add', 'techshop', `http://${server.address}`], env);
      const found = JSON.parse(await helmOk(helm, ['search', 'repo', 'techshop/', '--versions', '--output', 'json'], env)) as { name: string; version: string }[];
      expect(found.map((f) => `${f.name}@${f.version}`).sort()).toEqual([...allCharts.map((n) => `techshop/${n}@0.1.0`), 'techshop/app@0.2.0'].sort());
      const dest = join(home, 'pulled');
      mkdirSync(dest);
      for (const [name, version] of [['techshop', '0.1.0'], ['app', '0.2.0']] as const) {
        await helmOk(helm, ['pull', `techshop/${name}`, '--version', version, '--destination', dest], env);
        const file = `${name}-${version}.tgz`;
        expect(fileDigest(join(dest, file))).toBe(fileDigest(join(repo, file)));
      }
    });
  });
});

describe('publishing to an OCI registry', () => {
  let registry: RunningServer;
  let env: NodeJS.ProcessEnv;
  let ref: string;

  /** The manifest digest a tag points at, straight from the registry API. */
  async function manifestDigest(name: string, tag: string): Promise<string | null> {
    const res = await fetch(`http://${registry.address}/v2/charts/${name}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      signal: AbortSignal.timeout(5000),
    });
    return res.ok ? res.headers.get('docker-content-digest') : null;
  }

  beforeAll(async () => {
    registry = await startRegistry();
    ref = `oci://${registry.address}/charts`;
    env = isolatedHelmEnv(mkdtempSync(join(work, 'oci-home-')));
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes every chart, and helm pulls back the same content', async () => {
    const plan = await publishToOci(charts, { helm: helm4.path, ref, plainHttp: true, env });
    expect(plan.add.map((c) => c.name)).toEqual(allCharts);
    const dest = mkdtempSync(join(work, 'oci-pulled-'));
    for (const chart of charts) {
      await helmOk(helm4, ['pull', `${ref}/${chart.name}`, '--version', chart.version, '--plain-http', '--destination', dest], env);
      expect(archiveContentDigest(join(dest, `${chart.name}-${chart.version}.tgz`))).toBe(chart.contentDigest);
    }
  });

  it('skips versions already there with the same content, refuses different content, and never overwrites', async () => {
    const tags = await Promise.all(charts.map((c) => manifestDigest(c.name, c.version)));
    expect(tags.every((t) => t?.startsWith('sha256:'))).toBe(true);

    const again = await publishToOci(chartsRepackaged, { helm: helm4.path, ref, plainHttp: true, env });
    expect(again.add).toEqual([]);
    expect(again.unchanged).toHaveLength(allCharts.length);

    const attempt = publishToOci([appNext, appChanged], { helm: helm4.path, ref, plainHttp: true, env });
    await expect(attempt).rejects.toThrow(PublishConflictError);
    await expect(attempt).rejects.toThrow(`refusing to publish app 0.1.0 to ${ref}`);
    await expect(attempt).rejects.toThrow(appChanged.contentDigest);
    await expect(attempt).rejects.toThrow(byName(charts, 'app').contentDigest);

    expect(await Promise.all(charts.map((c) => manifestDigest(c.name, c.version)))).toEqual(tags);
    expect(await manifestDigest('app', '0.2.0')).toBeNull();
  });

  it('reads the registry the same way with helm 3', async () => {
    const seen = await planOciPublish(charts, { helm: helm3.path, ref, plainHttp: true, env });
    expect(seen.unchanged).toHaveLength(allCharts.length);
    const empty = await planOciPublish(charts, { helm: helm3.path, ref: `oci://${registry.address}/elsewhere`, plainHttp: true, env });
    expect(empty.add).toHaveLength(allCharts.length);
  });

  it('stops on registry errors instead of taking them for "not published"', async () => {
    const closed = await serveDirectory(work);
    await closed.stop();
    await expect(planOciPublish(charts, { helm: helm4.path, ref: `oci://${closed.address}/charts`, plainHttp: true, env })).rejects.toThrow(/helm pull .* failed: .*(refused|connect)/);
  });
});

describe('signed charts', () => {
  let key: ThrowawayKey;

  beforeAll(async () => {
    key = await createThrowawayKey();
  });

  afterAll(async () => {
    await key?.cleanup();
  });

  it.each([4, 3])('helm %i signs at package time; helm verify accepts it and rejects a swapped archive', async (major) => {
    const helm = major === 4 ? helm4 : helm3;
    const out = join(work, `signed-${major}`);
    const [signed] = await packageCharts({
      helm: helm.path,
      chartsDir: join(work, 'charts'),
      charts: ['common'],
      outDir: out,
      sign: { key: key.name, keyring: key.secring },
    });
    expect(signed?.provenance).toBe(join(out, 'common-0.1.0.tgz.prov'));
    const chart = describeArchive(signed!.file);
    expect(chart.provenance).toBe(signed!.provenance);

    const verified = await helmOk(helm, ['verify', chart.file, '--keyring', key.pubring]);
    expect(verified).toContain(`Signed by: ${key.name}`);
    await verifySignatures([chart], { helm: helm.path, keyring: key.pubring, key: key.name });
    await verifySignatures([chart], { helm: helm.path, keyring: key.pubring, key: key.fingerprint });
    await expect(verifySignatures([chart], { helm: helm.path, keyring: key.pubring, key: 'Someone Else' })).rejects.toThrow(/signed by .* not by Someone Else/);
    await expect(verifySignatures([byName(charts, 'app')], { helm: helm.path, keyring: key.pubring })).rejects.toThrow(/app 0.1.0 .* is not signed/);

    // Same files, other bytes (recompressed): the signature covers the archive bytes, so this must fail.
    const tampered = join(work, `tampered-${major}`);
    mkdirSync(tampered);
    writeFileSync(join(tampered, 'common-0.1.0.tgz'), gzipSync(gunzipSync(readFileSync(chart.file)), { level: 1 }));
    expect(archiveContentDigest(join(tampered, 'common-0.1.0.tgz'))).toBe(chart.contentDigest);
    copyFileSync(chart.provenance!, join(tampered, 'common-0.1.0.tgz.prov'));
    const rejected = await run(helm.path, ['verify', join(tampered, 'common-0.1.0.tgz'), '--keyring', key.pubring]);
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toMatch(/sha256 sum does not match|mismatch/i);
    await expect(verifySignatures([describeArchive(join(tampered, 'common-0.1.0.tgz'))], { helm: helm.path, keyring: key.pubring })).rejects.toThrow(/helm verify failed/);
  });

  // The release workflow's publish job signs the archives its read-only build job packaged
  // (.ci/sign-charts.sh): the same provenance helm writes, accepted by both helm majors.
  it('.ci/sign-charts.sh signs archives packaged elsewhere as helm would; helm 3 and 4 verify them and reject a swapped archive', async () => {
    const out = join(work, 'signed-by-script');
    const packaged = await packageCharts({ helm: helm4.path, chartsDir: join(work, 'charts'), charts: ['common', 'app'], outDir: out });
    expect(packaged.map((c) => c.provenance ?? null)).toEqual([null, null]);
    const passphrase = join(work, 'empty-passphrase');
    writeFileSync(passphrase, '');
    const env = {
      ...process.env,
      GNUPGHOME: join(dirname(key.secring), 'h'),
      SIGNING_KEY_NAME: key.name,
      SIGNING_PASSPHRASE_FILE: passphrase,
      SIGNING_PUBRING: key.pubring,
      HELM_BIN: helm4.path,
    };
    const signed = await run('bash', [join(chartsDir, '..', '.ci', 'sign-charts.sh'), out], { env, timeoutMs: 120_000 });
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toContain('sign-charts: app-0.1.0.tgz signed and verified');
    for (const helm of [helm3, helm4]) {
      for (const name of ['common-0.1.0.tgz', 'app-0.1.0.tgz']) {
        expect(await helmOk(helm, ['verify', join(out, name), '--keyring', key.pubring])).toContain(`Signed by: ${key.name}`);
      }
    }
    // the provenance names the archive's own metadata and hash, as helm package --sign writes them
    const prov = readFileSync(join(out, 'app-0.1.0.tgz.prov'), 'utf8');
    expect(prov).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n/);
    expect(prov).toContain(`files:\n  app-0.1.0.tgz: sha256:${fileDigest(join(out, 'app-0.1.0.tgz')).replace(/^sha256:/, '')}\n`);
    await verifySignatures([describeArchive(join(out, 'app-0.1.0.tgz'))], { helm: helm4.path, keyring: key.pubring, key: key.name });
    // a swapped archive under the same provenance fails, and the script refuses an empty directory
    copyFileSync(join(out, 'app-0.1.0.tgz'), join(out, 'common-0.1.0.tgz'));
    expect((await run(helm4.path, ['verify', join(out, 'common-0.1.0.tgz'), '--keyring', key.pubring])).code).not.toBe(0);
    const empty = join(work, 'nothing-to-sign');
    mkdirSync(empty);
    const none = await run('bash', [join(chartsDir, '..', '.ci', 'sign-charts.sh'), empty], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('sign-charts: no chart archives in');
  });

  it('publishes the .prov next to the archive, and helm pull --verify accepts it over HTTP', async () => {
    const chart = describeArchive(join(work, 'signed-4', 'common-0.1.0.tgz'));
    const repo = join(work, 'signed-repo');
    publishToRepo([chart], repo);
    expect(existsSync(join(repo, 'common-0.1.0.tgz.prov'))).toBe(true);
    const server = await serveDirectory(repo);
    try {
      const env = isolatedHelmEnv(mkdtempSync(join(work, 'verify-home-')));
      await helmOk(helm4, ['repo', 'add', 'signed', `http://${server.address}`], env);
      const dest = mkdtempSync(join(work, 'verified-'));
      const out = await helmOk(helm4, ['pull', 'signed/common', '--version', '0.1.0', '--verify', '--keyring', key.pubring, '--destination', dest], env);
      expect(out).toContain(`Signed by: ${key.name}`);
    } finally {
      await server.stop();
    }
  });

  it('pushes the .prov with the chart, and helm pull --verify accepts it from the registry', async () => {
    const chart = describeArchive(join(work, 'signed-4', 'common-0.1.0.tgz'));
    const registry = await startRegistry();
    try {
      const env = isolatedHelmEnv(mkdtempSync(join(work, 'verify-oci-home-')));
      const ref = `oci://${registry.address}/signed`;
      await publishToOci([chart], { helm: helm4.path, ref, plainHttp: true, env });
      const dest = mkdtempSync(join(work, 'verified-oci-'));
      const out = await helmOk(helm4, ['pull', `${ref}/common`, '--version', '0.1.0', '--plain-http', '--verify', '--keyring', key.pubring, '--destination', dest], env);
      expect(out).toContain(`Signed by: ${key.name}`);
      expect(readdirSync(dest).sort()).toEqual(['common-0.1.0.tgz', 'common-0.1.0.tgz.prov']);
    } finally {
      await registry.stop();
    }
  });
});
