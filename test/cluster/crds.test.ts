// The charts' CRD-backed objects (cert-manager ClusterIssuer, VPA,
// ServiceMonitor, PrometheusRule, Istio's AuthorizationPolicy and
// PeerAuthentication) on a real API server: refused with the fix while the CRDs
// are absent, accepted by the server's CRD schemas once the CRDs (from the
// projects' Go modules, tools/kube/crds → .cache/kube/crds) are installed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmMatrix, type HelmBinary } from '../../scripts/lib/helm.ts';
import { cacheDir, chartDir, repoRoot, umbrellaChart, valuesFile } from '../../scripts/lib/paths.ts';
import { freshRestrictedNamespace, helmCmd, kubectl, kubectlJson, kubectlOk, liveObjects, releaseObjects, removeRelease, warningLines } from '../helpers/cluster.ts';

const NAMESPACE = 'crds-dev';
const CRD_DIR = join(cacheDir, 'kube', 'crds');
const OPTIONAL = ['--set', 'app.vpa.enabled=true', '--set', 'app.clusterIssuer.create=true', '--set', 'monitoring.mode=operator'];
/** The mesh, with the standalone monitoring its flows name (Prometheus' identity). */
const MESH = ['--set', 'global.mesh.enabled=true'];
/** The CRD files tools/kube/crds names (column 4, or the file's own name), as .ci/install-kube.sh stores them. */
const CRD_FILES = readFileSync(join(repoRoot, 'tools', 'kube', 'crds'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() && !line.startsWith('#'))
  .map((line) => {
    const [, , file, name] = line.trim().split(/\s+/);
    return name ?? file!.split('/').pop()!;
  });
let helm: HelmBinary;

beforeAll(async () => {
  [helm] = (await helmMatrix()) as [HelmBinary];
  await freshRestrictedNamespace(NAMESPACE);
});
afterAll(() => removeRelease(helm, 'shop', NAMESPACE));

describe.sequential('CRD-backed objects', () => {
  it('are refused, naming the missing API and the fix, while the cluster lacks their CRDs; nothing is created', async () => {
    for (const [flag, pattern] of [
      ['app.vpa.enabled=true', /app\.vpa\.enabled: the cluster does not serve autoscaling\.k8s\.io\/v1 VerticalPodAutoscaler\. Install the Vertical Pod Autoscaler/],
      ['app.clusterIssuer.create=true', /app\.clusterIssuer\.create: the cluster does not serve cert-manager\.io\/v1 ClusterIssuer\. Install cert-manager/],
      ['monitoring.mode=operator', /monitoring\.mode=operator: the cluster does not serve monitoring\.coreos\.com\/v1 (ServiceMonitor|PrometheusRule)\. Install the Prometheus operator/],
      ['global.mesh.enabled=true', /global\.mesh\.enabled: the cluster does not serve security\.istio\.io\/v1 (AuthorizationPolicy|PeerAuthentication)\. Install Istio \(its CRDs\) first, or turn global\.mesh\.enabled off/],
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
    // Every CRD tools/kube/crds lists but the External Secrets ones, which are
    // test/cluster/externalsecrets.test.ts's (it first proves their absence).
    expect(CRD_FILES).toEqual(expect.arrayContaining(['cert-manager.io_clusterissuers.yaml', 'vpa-v1-crd-gen.yaml', 'istio.io_crds.yaml']));
    for (const file of CRD_FILES.filter((f) => !f.startsWith('external-secrets.io_'))) {
      expect(existsSync(join(CRD_DIR, file)), `${file}: run bash .ci/install-kube.sh`).toBe(true);
      // istio.io_crds.yaml is one multi-document file holding every istio.io CRD; kubectl applies each document
      await kubectlOk(['apply', '--server-side', '-f', join(CRD_DIR, file)]);
    }
    for (const crd of [
      'clusterissuers.cert-manager.io',
      'verticalpodautoscalers.autoscaling.k8s.io',
      'servicemonitors.monitoring.coreos.com',
      'prometheusrules.monitoring.coreos.com',
      'authorizationpolicies.security.istio.io',
      'peerauthentications.security.istio.io',
    ]) {
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

  it('the mesh (global.mesh.enabled): its AuthorizationPolicies and PeerAuthentication pass the Istio CRDs\' validation', async () => {
    // upgrade the release above into the mesh (standalone monitoring: the flows name its Prometheus)
    const result = await helmCmd(helm, ['upgrade', 'shop', chartDir(umbrellaChart), '-n', NAMESPACE, '-f', valuesFile('dev'), ...MESH, '--wait', '--timeout', '10m']);
    expect(result.code, result.stderr).toBe(0);
    expect(warningLines(result.stderr)).toEqual([]);
    const objects = await releaseObjects(helm, 'shop', NAMESPACE);
    const policies = objects.filter((o) => o.kind === 'AuthorizationPolicy');
    expect(policies.length).toBeGreaterThan(5);
    expect(objects.filter((o) => o.kind === 'PeerAuthentication').length).toBe(1);
    const live = await liveObjects(objects, NAMESPACE);
    expect(live.length).toBe(objects.length);
    // read back from the server: the STRICT mode and a principal rule as sent
    const pa = await kubectlJson(['-n', NAMESPACE, 'get', 'peerauthentications.security.istio.io', 'shop-mesh']);
    expect(pa.spec.mtls.mode).toBe('STRICT');
    const ap = await kubectlJson(['-n', NAMESPACE, 'get', 'authorizationpolicies.security.istio.io', 'shop-mongodb']);
    expect(ap.spec.rules[0].from[0].source.principals).toEqual([`cluster.local/ns/${NAMESPACE}/sa/shop-app`]);
    // and the server's CRD schema really validates: an AuthorizationPolicy Istio would refuse is refused here too
    const bad = JSON.stringify({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'refused', namespace: NAMESPACE },
      spec: { action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/x/sa/y'], serviceAccounts: ['x/y'] } }] }] },
    });
    const refused = await kubectl(['apply', '--dry-run=server', '-f', '-'], bad);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Cannot set serviceAccounts with namespaces or principals');
  });
});
