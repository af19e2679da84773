// Starts the local control plane once for the cluster tests, in its own
// directory (never a user's `npm run cluster` cluster), and stops it by its
// recorded pids when the run ends, whatever the outcome.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { clusterDown, clusterUp } from '../../scripts/cluster.ts';
import { clusterLayout } from '../../scripts/lib/cluster.ts';
import { provisionBundledKubectl } from '../../scripts/lib/helm.ts';
import { cacheDir } from '../../scripts/lib/paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    clusterRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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
