// Publishes the charts in dist/ (written by scripts/package.ts):
//   npm run release [-- --repo-dir <dir>] [--url <base url>]
//                   [--oci oci://host:port/path [--plain-http]]
//                   [--sign [--key <name>] [--keyring <path>]]
// Without --oci it publishes to the chart repository directory dist/repo;
// with --oci to the registry only, unless --repo-dir is given too. Every
// target is checked before anything is written. --sign does not sign (that
// happens in package, over the exact archive published): it refuses charts
// without a .prov that `helm verify` accepts, signed by --key if given.
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveHelm } from './lib/helm.ts';
import { distDir, repoRoot } from './lib/paths.ts';
import { runIfMain, type Stage } from './lib/stage.ts';
import {
  applyOciPlan,
  applyRepoPlan,
  formatConflict,
  packagedCharts,
  planOciPublish,
  planRepoPublish,
  publishRepoMetadata,
  REPO_METADATA_FILE,
  verifySignatures,
  type OciOptions,
} from './lib/release.ts';

async function release(argv: string[], log: (line: string) => void): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'repo-dir': { type: 'string' },
      url: { type: 'string' },
      oci: { type: 'string' },
      'plain-http': { type: 'boolean' },
      sign: { type: 'boolean' },
      key: { type: 'string' },
      keyring: { type: 'string' },
      // Accepted so package and release can be given the same signing flags.
      'passphrase-file': { type: 'string' },
    },
  });
  if (!values.sign && (values.key || values.keyring)) throw new Error('--key and --keyring need --sign');
  if (values['plain-http'] && !values.oci) throw new Error('--plain-http needs --oci');

  const charts = packagedCharts(distDir);
  if (charts.length === 0) throw new Error(`no packaged charts in ${relative(process.cwd(), distDir) || '.'}: run npm run package first`);
  const helm = (await resolveHelm()).path;
  if (values.sign) await verifySignatures(charts, { helm, keyring: values.keyring, key: values.key });

  const repoDir = values['repo-dir'] ?? (values.oci ? undefined : join(distDir, 'repo'));
  const oci: OciOptions | undefined = values.oci ? { helm, ref: values.oci, plainHttp: values['plain-http'] } : undefined;
  const repoPlan = repoDir ? planRepoPublish(charts, repoDir) : undefined;
  const ociPlan = oci ? await planOciPublish(charts, oci) : undefined;
  const conflicts = [...(repoPlan?.conflicts ?? []), ...(ociPlan?.conflicts ?? [])];
  const shown = (target: string): string => (target.startsWith('oci://') ? target : relative(process.cwd(), target) || '.');
  if (conflicts.length > 0) throw new Error(`nothing published:\n${conflicts.map((c) => formatConflict({ ...c, target: shown(c.target) })).join('\n')}`);

  if (repoPlan) {
    applyRepoPlan(repoPlan, { baseUrl: values.url });
    const target = shown(repoPlan.repoDir);
    for (const c of repoPlan.add) log(`${c.name}  ${c.version}  ${target}  published  ${c.contentDigest}`);
    for (const c of repoPlan.unchanged) log(`${c.name}  ${c.version}  ${target}  unchanged  ${c.contentDigest}`);
    if (publishRepoMetadata(join(repoRoot, REPO_METADATA_FILE), repoPlan.repoDir)) log(`${REPO_METADATA_FILE}  ${target}  published`);
  }
  if (ociPlan && oci) {
    await applyOciPlan(ociPlan, oci);
    for (const c of ociPlan.add) log(`${c.name}  ${c.version}  ${ociPlan.ref}  pushed  ${c.contentDigest}`);
    for (const c of ociPlan.unchanged) log(`${c.name}  ${c.version}  ${ociPlan.ref}  unchanged  ${c.contentDigest}`);
  }
  const added = (repoPlan?.add.length ?? 0) + (ociPlan?.add.length ?? 0);
  const unchanged = (repoPlan?.unchanged.length ?? 0) + (ociPlan?.unchanged.length ?? 0);
  log(`release: ${added} published, ${unchanged} already there with the same content`);
}

export const releaseStage: Stage = async ({ argv, log }) => {
  try {
    await release(argv, log);
    return 0;
  } catch (error) {
    log(`release: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
};

await runIfMain(import.meta.url, releaseStage);
