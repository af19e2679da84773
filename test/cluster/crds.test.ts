// The charts' CRD-backed objects (cert-manager ClusterIssuer, VPA,
// ServiceMonitor, PrometheusRule) on a real API server: refused with the fix
// while the CRDs are absent, accepted by the server's CRD schemas once the CRDs
// (from the projects' Go modules, .cache/kube/crds) are installed.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmMatrix, type HelmBinary } from '../../scripts/lib/helm.ts';
import { cacheDir, chartDir, repoRoot, umbrellaChart, valuesFile } from '../../scripts/lib/paths.ts';
import { createRestrictedNamespace, deleteNamespace, helmCmd, kubectl, kubectlJson, kubectlOk, liveObjects, releaseObjects, waitUntil } from '../helpers/cluster.ts';

const NAMESPACE = 'crds-dev';
const CRD_DIR = join(cacheDir, 'kube', 'crds');
const OPTIONAL = ['--set', 'app.vpa.enabled=true', '--set', 'app.clusterIssuer.create=true', '--set', 'monitoring.mode=operator'];
let helm: HelmBinary;

beforeAll(async () => {
  [helm] = (await helmMatrix()) as [HelmBinary];
  await deleteNamespace(NAMESPACE);
  await waitUntil('namespace gone', async () => (await kubectl(['get', 'namespace', NAMESPACE])).code !== 0);
  await createRestrictedNamespace(NAMESPACE);
});
afterAll(async () => {
  await helmCmd(helm, ['uninstall', 'shop', '-n', NAMESPACE, '--ignore-not-found']);
  await deleteNamespace(NAMESPACE);
});

describe.sequential('CRD-backed objects', () => {
  it('are refused, naming the missing API and the fix, while the cluster lacks their CRDs; nothing is created', async () => {
    for (const [flag, pattern] of [
      ['app.vpa.enabled=true', /app\.vpa\.enabled: the cluster does not serve autoscaling\.k8s\.io\/v1 VerticalPodAutoscaler\. Install the Vertical Pod Autoscaler/],
      ['app.clusterIssuer.create=true', /app\.clusterIssuer\.create: the cluster does not serve cert-manager\.io\/v1 ClusterIssuer\. Install cert-manager/],
      ['monitoring.mode=operator', /monitoring\.mode=operator: the cluster does not serve monitoring\.coreos\.com\/v1 (ServiceMonitor|PrometheusRule)\. Install the Prometheus operator/],
    ] as const) {
      const result = await helmCmd(helm, ['install', 'shop', chartDir(umbrellaChart), '-n', NAMESPACE, '-f', valuesFile('dev'), '--set', flag]);
      expect(result.code, flag).not.toBe(0);
      expect(result.stderr, flag).toMatch(pattern);
    }
    const releases = await helmCmd(helm, ['list', '-n', NAMESPACE, '-a', '-q']);
    expect(releases.stdout.trim()).toBe('');
    expect((await kubectlJson(['-n', NAMESPACE, 'get', 'deployments,statefulsets'])).items).toEqual([]);
  });

  it('are created and accepted by the server once the CRDs are installed', async () => {
    // The cache holds every CRD tools/kube/crds lists; this file installs its four
    // (the External Secrets ones are test/cluster/externalsecrets.test.ts's, which
    // first proves their absence).
    const files = readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'));
    const listed = readFileSync(join(repoRoot, 'tools', 'kube', 'crds'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => basename(l.trim().split(/\s+/)[2] as string));
    expect(files.sort()).toEqual(listed.sort());
    const own = ['cert-manager.io_clusterissuers.yaml', 'monitoring.coreos.com_prometheusrules.yaml', 'monitoring.coreos.com_servicemonitors.yaml', 'vpa-v1-crd-gen.yaml'];
    expect(files).toEqual(expect.arrayContaining(own));
    for (const file of own) await kubectlOk(['apply', '--server-side', '-f', join(CRD_DIR, file)]);
    for (const crd of ['clusterissuers.cert-manager.io', 'verticalpodautoscalers.autoscaling.k8s.io', 'servicemonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com']) {
      await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crd}`]);
    }
    const result = await helmCmd(helm, ['install', 'shop', chartDir(umbrellaChart), '-n', NAMESPACE, '-f', valuesFile('dev'), ...OPTIONAL, '--wait', '--timeout', '10m']);
    expect(result.code, result.stderr).toBe(0);
    const objects = await releaseObjects(helm, 'shop', NAMESPACE);
    const kinds = objects.map((o) => o.kind);
    expect(kinds).toContain('VerticalPodAutoscaler');
    expect(kinds).toContain('ClusterIssuer');
    expect(kinds.filter((k) => k === 'ServiceMonitor').length).toBeGreaterThan(0);
    expect(kinds).toContain('PrometheusRule');
    const live = await liveObjects(objects, NAMESPACE);
    expect(live.length).toBe(objects.length);
  });
});
