#!/usr/bin/env tsx
// May this release tag deploy to prod? The deploy workflow runs it before
// `npm run deploy -- --env prod`:
//   npm run release-tag -- --tag v1.4.0 [--main origin/main]
// Exit 0 when the tag is v<umbrella chart version at that commit>, its commit
// is on main and is the checked-out HEAD; 1 with the reasons otherwise.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { releaseTagProblems } from './lib/release-tag.ts';
import { repoRoot, umbrellaChart } from './lib/paths.ts';
import { runIfMain, type Stage } from './lib/stage.ts';

export const releaseTagStage: Stage = async ({ argv, log }) => {
  const { values } = parseArgs({ args: argv, options: { tag: { type: 'string' }, main: { type: 'string', default: 'origin/main' }, repo: { type: 'string', default: repoRoot } } });
  if (!values.tag) {
    log('usage: npm run release-tag -- --tag v<chart version> [--main origin/main]');
    return 2;
  }
  const problems = await releaseTagProblems({ repo: values.repo as string, tag: values.tag, mainRef: values.main as string, chartFile: join('charts', umbrellaChart, 'Chart.yaml') });
  for (const problem of problems) log(`release-tag: ${problem}`);
  if (problems.length) {
    log(`release-tag: refused: ${values.tag} may not deploy to prod`);
    return 1;
  }
  log(`release-tag: ${values.tag} is on ${values.main} and names the chart's version: may deploy to prod`);
  return 0;
};

await runIfMain(import.meta.url, releaseTagStage);
