// Starts the faults tier's own control plane (never a user's `npm run cluster`
// cluster, nor the cluster tier's): the same components with a larger fake fleet
// (FAULT_NODES kwok nodes, round-robin over three zones), kwok's simulated
// kubelet resource metrics and metrics-server behind metrics.k8s.io, so the HPA
// reads real metrics API answers. Everything started here is stopped by its
// recorded pid when the run ends, whatever the outcome.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { adminCredentials, clusterDown, clusterUp } from '../../scripts/cluster.ts';
import { clusterLayout, kubeBinDir, ZONES } from '../../scripts/lib/cluster.ts';
import { provisionBundledKubectl } from '../../scripts/lib/helm.ts';
import { freePort } from '../../scripts/lib/net.ts';
import { cacheDir } from '../../scripts/lib/paths.ts';
import { frontProxy, pointNodesAtKwok, startMetricsServer, stopRecordedMetricsServer, stopStarted, usageConfig, type Started } from './metrics-api.ts';
import { FAULT_NAMESPACES, FAULT_NODES, SCALE_USAGE } from './shape.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    clusterRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const layout = clusterLayout(join(cacheDir, 'faults-test'));
  const log = (line: string) => console.log(`[faults] ${line}`);
  const binDir = kubeBinDir();
  const kwokMetrics = join(binDir, 'kwok-metrics.yaml');
  const metricsServer = join(binDir, 'metrics-server');
  if (!existsSync(kwokMetrics) || !existsSync(metricsServer)) {
    throw new Error(`the faults tier needs ${kwokMetrics} and ${metricsServer}: run bash .ci/install-kube.sh (npm run setup -- --all does)`);
  }
  mkdirSync(layout.root, { recursive: true });
  const usage = join(layout.root, 'kwok-usage.yaml');
  writeFileSync(usage, usageConfig([{ namespace: FAULT_NAMESPACES.scale, ...SCALE_USAGE }]));

  await stopRecordedMetricsServer(layout);
  const started = performance.now();
  // The harness reads these when it starts the API server and kwok and creates the nodes; they are put back at once,
  // so nothing else in this process (another tier's setup) sees them.
  const saved = { nodes: process.env.TECHSHOP_FAKE_NODES, kwok: process.env.TECHSHOP_KWOK_CONFIG, apiserver: process.env.TECHSHOP_APISERVER_ARGS };
  process.env.TECHSHOP_FAKE_NODES = String(FAULT_NODES);
  process.env.TECHSHOP_KWOK_CONFIG = [kwokMetrics, usage].join(':');
  process.env.TECHSHOP_APISERVER_ARGS = frontProxy(layout).join(' ');
  let state;
  try {
    ({ state } = await clusterUp(layout, log));
  } finally {
    for (const [key, value] of [['TECHSHOP_FAKE_NODES', saved.nodes], ['TECHSHOP_KWOK_CONFIG', saved.kwok], ['TECHSHOP_APISERVER_ARGS', saved.apiserver]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  let metrics: Started | undefined;
  try {
    const credentials = adminCredentials(layout, state);
    const nodes = await pointNodesAtKwok(credentials);
    if (nodes !== FAULT_NODES) throw new Error(`the faults cluster has ${nodes} nodes, not ${FAULT_NODES}`);
    metrics = await startMetricsServer(layout, state, credentials, metricsServer, await freePort());
    log(`metrics-server up (pid ${metrics.pid}): v1beta1.metrics.k8s.io Available, scraping ${nodes} kwok nodes`);
  } catch (error) {
    if (metrics) await stopStarted(metrics);
    await clusterDown(layout, log);
    throw error;
  }
  log(`control plane with ${FAULT_NODES} kwok nodes in ${ZONES.length} zones and the metrics API up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  project.provide('kubeconfig', layout.kubeconfig);
  project.provide('kubectl', provisionBundledKubectl());
  project.provide('clusterRoot', layout.root);
  return async () => {
    if (metrics) {
      await stopStarted(metrics);
      log(`metrics-server stopped (pid ${metrics.pid})`);
    }
    await clusterDown(layout, log);
  };
}
