// Packages every chart into dist/: npm run package [-- --sign --key <name> [--keyring <secring>] [--passphrase-file <file>]]
// Signing happens here because a .prov signs the archive's exact bytes, and
// helm 3 archives differ in bytes on every packaging.
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveHelm } from './lib/helm.ts';
import { runIfMain, type Stage } from './lib/stage.ts';
import { packageCharts, signOptionsFrom } from './lib/package.ts';
import { chartNames, chartsDir, distDir } from './lib/paths.ts';

export const packageStage: Stage = async ({ argv, log }) => {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        sign: { type: 'boolean' },
        key: { type: 'string' },
        keyring: { type: 'string' },
        'passphrase-file': { type: 'string' },
      },
    });
    const started = performance.now();
    const helm = await resolveHelm();
    const packaged = await packageCharts({ helm: helm.path, chartsDir, charts: chartNames, outDir: distDir, sign: signOptionsFrom(values) });
    for (const c of packaged) {
      log([c.name, c.version, relative(process.cwd(), c.file), c.contentDigest, ...(c.provenance ? ['signed'] : [])].join('  '));
    }
    log(`package: ${packaged.length} chart(s) into ${relative(process.cwd(), distDir) || '.'} with helm ${helm.version} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (error) {
    log(`package: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
};

await runIfMain(import.meta.url, packageStage);
