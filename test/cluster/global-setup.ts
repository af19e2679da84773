// Starts the local control plane once for the cluster tests, in its own
// directory (never a user's `npm run cluster` cluster), and stops it by its
// recorded pids when the run ends, whatever the outcome.
// TECHSHOP_TEST_KUBECONFIG points the same tests at another cluster (kind in
// the GitHub workflow); then nothing is started or stopped here.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { clusterDown, clusterUp } from '../../scripts/cluster.ts';
import { clusterLayout } from '../../scripts/lib/cluster.ts';
import { provisionBundledKubectl } from '../../scripts/lib/helm.ts';
import { cacheDir } from '../../scripts/lib/paths.ts';
import { findOnPath } from '../../scripts/lib/tools.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    clusterRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.TECHSHOP_TEST_KUBECONFIG;
  if (external) {
    project.provide('kubeconfig', external);
    project.provide('kubectl', findOnPath('kubectl') ?? provisionBundledKubectl());
    project.provide('clusterRoot', '');
    return undefined;
  }
  const layout = clusterLayout(join(cacheDir, 'cluster-test'));
  const log = (line: string) => console.log(`[cluster-tests] ${line}`);
  await clusterUp(layout, log);
  project.provide('kubeconfig', layout.kubeconfig);
  project.provide('kubectl', provisionBundledKubectl());
  project.provide('clusterRoot', layout.root);
  return async () => {
    await clusterDown(layout, log);
  };
}
