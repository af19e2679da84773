// Packages the charts: `helm dependency build` in dependency order, then
// `helm package` (optionally signed) into a temp dir, and only when every
// chart succeeded, the archives replace the previous ones in the output dir.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { inspectChartArchive } from './chart-archive.ts';
import { run } from './exec.ts';

export interface SignOptions {
  /** Key name (or part of the user id) in the keyring. */
  key: string;
  /** Keyring holding the secret key; helm reads only the legacy format (`gpg --export-secret-keys`). */
  keyring?: string;
  passphraseFile?: string;
}

export interface PackageOptions {
  helm: string;
  chartsDir: string;
  /** Chart directory names in dependency order (a dependency before its dependants). */
  charts: readonly string[];
  outDir: string;
  sign?: SignOptions;
  env?: NodeJS.ProcessEnv;
}

export interface PackagedChart {
  name: string;
  version: string;
  /** The archive in outDir. */
  file: string;
  contentDigest: string;
  /** The .prov next to the archive, when signed. */
  provenance?: string;
}

interface ChartYaml {
  name?: unknown;
  version?: unknown;
  dependencies?: unknown[];
}

/** The --sign/--key/--keyring/--passphrase-file flags of the scripts, checked. */
export function signOptionsFrom(values: { sign?: boolean; key?: string; keyring?: string; 'passphrase-file'?: string }): SignOptions | undefined {
  if (!values.sign) {
    if (values.key || values.keyring || values['passphrase-file']) throw new Error('--key, --keyring and --passphrase-file need --sign');
    return undefined;
  }
  if (!values.key) throw new Error('--sign needs --key <name>');
  return { key: values.key, keyring: values.keyring, passphraseFile: values['passphrase-file'] };
}

const HELM_TIMEOUT_MS = 120_000;

function helmFailure(what: string, result: { stdout: string; stderr: string }): Error {
  const detail = (result.stderr.trim() || result.stdout.trim()).replace(/^Error: /m, '');
  return new Error(`${what} failed: ${detail}`);
}

export function signArgs(sign: SignOptions | undefined): string[] {
  if (!sign) return [];
  const args = ['--sign', '--key', sign.key];
  if (sign.keyring) args.push('--keyring', sign.keyring);
  if (sign.passphraseFile) args.push('--passphrase-file', sign.passphraseFile);
  return args;
}

/** Packages into a fresh temp dir; the caller moves or removes it. */
export async function packageInto(options: PackageOptions, stageDir: string): Promise<PackagedChart[]> {
  const env = options.env ?? process.env;
  const out: PackagedChart[] = [];
  for (const chart of options.charts) {
    const dir = join(options.chartsDir, chart);
    const meta = parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as ChartYaml;
    if ((meta.dependencies ?? []).length > 0) {
      // --skip-refresh: the dependencies are file://, no need to contact configured repos.
      const built = await run(options.helm, ['dependency', 'build', '--skip-refresh', dir], { env, timeoutMs: HELM_TIMEOUT_MS });
      if (built.code !== 0) throw helmFailure(`helm dependency build ${chart}`, built);
    }
    const packaged = await run(options.helm, ['package', dir, '--destination', stageDir, ...signArgs(options.sign)], {
      env,
      timeoutMs: HELM_TIMEOUT_MS,
    });
    if (packaged.code !== 0) throw helmFailure(`helm package ${chart}`, packaged);
    const file = join(stageDir, `${String(meta.name)}-${String(meta.version)}.tgz`);
    if (!existsSync(file)) throw new Error(`helm package ${chart}: expected ${basename(file)} in its output`);
    const { metadata, contentDigest } = inspectChartArchive(file);
    const provenance = `${file}.prov`;
    if (options.sign && !existsSync(provenance)) throw new Error(`helm package --sign ${chart}: no ${basename(provenance)} written`);
    out.push({ name: metadata.name, version: metadata.version, file, contentDigest, ...(options.sign ? { provenance } : {}) });
  }
  return out;
}

/** Copy then rename, so a reader of outDir never sees a half-written archive (the stage may be on another device). */
function moveInto(file: string, outDir: string): string {
  const target = join(outDir, basename(file));
  const temp = join(outDir, `.${basename(file)}.${process.pid}.tmp`);
  copyFileSync(file, temp);
  renameSync(temp, target);
  return target;
}

/**
 * Packages every chart; on success outDir's archives (*.tgz, *.tgz.prov at its
 * top level) are exactly the new ones, so a later release does not pick up a
 * stale version. On failure outDir is untouched.
 */
export async function packageCharts(options: PackageOptions): Promise<PackagedChart[]> {
  const stageDir = mkdtempSync(join(tmpdir(), 'chart-package-'));
  try {
    const staged = await packageInto(options, stageDir);
    mkdirSync(options.outDir, { recursive: true });
    const keep = new Set(staged.flatMap((c) => [basename(c.file), ...(c.provenance ? [basename(c.provenance)] : [])]));
    for (const entry of readdirSync(options.outDir, { withFileTypes: true })) {
      if (entry.isFile() && /\.tgz(\.prov)?$/.test(entry.name) && !keep.has(entry.name)) rmSync(join(options.outDir, entry.name));
    }
    return staged.map((c) => ({
      ...c,
      file: moveInto(c.file, options.outDir),
      ...(c.provenance ? { provenance: moveInto(c.provenance, options.outDir) } : {}),
    }));
  } finally {
    rmSync(stageDir, { recursive: true, force: true });
  }
}
