// Starts the control plane with a real node (npm run cluster -- up --real-node)
// in its own directory for the real-node tests, and stops it by its recorded
// pids when the run ends, whatever the outcome. Only one real node can run on
// a machine: a user's `up --real-node` cluster must be down first.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { clusterDown, clusterUp } from '../../scripts/cluster.ts';
import { clusterLayout } from '../../scripts/lib/cluster.ts';
import { provisionBundledKubectl } from '../../scripts/lib/helm.ts';
import { cacheDir } from '../../scripts/lib/paths.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const layout = clusterLayout(join(cacheDir, 'real-node-test'));
  const log = (line: string) => console.log(`[real-node] ${line}`);
  const started = performance.now();
  await clusterUp(layout, log, { realNode: true });
  log(`control plane and real node up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  project.provide('kubeconfig', layout.kubeconfig);
  project.provide('kubectl', provisionBundledKubectl());
  project.provide('clusterRoot', layout.root);
  return async () => {
    await clusterDown(layout, log);
  };
}
