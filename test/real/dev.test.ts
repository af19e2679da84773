// The dev profile on a real node (npm run test:real): containers really run,
// from the local images .ci/build-images.sh assembles (README "Real pods on
// this machine" says what each one really is).
//
// What the test changes in the dev values, and why:
//   app.image.tag=1.4.2, pullPolicy IfNotPresent  dev renders latest with pullPolicy Always, which asks a
//                                                  registry every start; nothing is pulled here
//   mongodb.metrics.enabled=false                  no Percona mongodb_exporter can be built here
//   the shop-grafana Deployment dropped            no Grafana image can be built here and the chart has
//                                                  no switch: a post-renderer removes the Deployment (helm 3:
//                                                  helm 4 takes post-renderers as plugins only)
//   monitoring.tests.enabled=false                 its helm test also asks Grafana (and post-renderers never
//                                                  see hooks); Prometheus and Alertmanager are checked below
//   monitoring.networkPolicy.apiServer             the API server's address, as every install names its own
//                                                  (README "Security model"): here the node's forwarder
//                                                  (GATEWAY_IP:API_PROXY_PORT), a private address the default
//                                                  excludes; without it the enforced policy keeps Prometheus
//                                                  from discovering its targets
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helmMatrix, type HelmBinary } from '../../scripts/lib/helm.ts';
import { chartDir, umbrellaChart, valuesFile } from '../../scripts/lib/paths.ts';
import { API_PROXY_PORT, GATEWAY_IP } from '../../scripts/lib/real-node.ts';
import { parseManifests, renderChart, type K8sObject } from '../../scripts/lib/render.ts';
import { proveEnforcement, removeOutsiders, runMatrix, startOutsiders, type Source } from './matrix.ts';
import { expectedLeftovers } from '../cluster/lifecycle.ts';
import {
  createRestrictedNamespace,
  deleteNamespace,
  helmCmd,
  kubectlJson,
  kubectlOk,
  namespaceObjects,
  releaseObjects,
  waitUntil,
} from '../helpers/cluster.ts';

const RELEASE = 'shop';
const NAMESPACE = 'dev-real';
const DEV_OVERRIDES = [
  '--set', 'app.image.tag=1.4.2', '--set', 'app.image.pullPolicy=IfNotPresent',
  '--set', 'mongodb.metrics.enabled=false', '--set', 'monitoring.tests.enabled=false',
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function clusterIP(service: string): Promise<string> {
  return (await kubectlJson(['-n', NAMESPACE, 'get', 'service', service])).spec.clusterIP;
}

/** The node reaches ClusterIPs (kube-proxy's rules); the test talks to the chart's Services as a pod would. */
async function http(url: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

function podReady(pod: Json): boolean {
  return pod.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True') ?? false;
}

describe.sequential('dev on a real node', () => {
  let helm: HelmBinary;
  let workDir: string;
  let apiServerValues: string;
  let objects: K8sObject[] = [];
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);

  beforeAll(async () => {
    const helm3 = (await helmMatrix()).find((h) => h.major === 3);
    if (!helm3) throw new Error('no helm 3 (the post-renderer needs it)');
    helm = helm3;
    workDir = mkdtempSync(join(tmpdir(), 'techshop-real-'));
    apiServerValues = join(workDir, 'api-server.yaml');
    writeFileSync(apiServerValues, JSON.stringify({ monitoring: { networkPolicy: { apiServer: { cidr: `${GATEWAY_IP}/32`, except: [], ports: [API_PROXY_PORT] } } } }));
    await createRestrictedNamespace(NAMESPACE);
  });

  afterAll(async () => {
    await removeOutsiders();
    await helmCmd(helm, ['uninstall', RELEASE, '-n', NAMESPACE, '--wait']).catch(() => {});
    await deleteNamespace(NAMESPACE);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('installs with --wait: every pod really Ready', async () => {
    const postRenderer = join(workDir, 'without-grafana.mjs');
    writeFileSync(
      postRenderer,
      [
        '#!/usr/bin/env node',
        "// Drops the Grafana Deployment (no Grafana image can be built on this machine).",
        "let input = '';",
        "process.stdin.on('data', (c) => (input += c)).on('end', () => {",
        "  const docs = input.split(/^---\\s*$/m).filter((d) => !(/^kind: Deployment\\s*$/m.test(d) && /^  name: \\S+-grafana\\s*$/m.test(d)));",
        "  process.stdout.write(docs.join('---\\n'));",
        '});',
        '',
      ].join('\n'),
    );
    chmodSync(postRenderer, 0o755);
    const install = await helmCmd(helm, [
      'install', RELEASE, chartDir(umbrellaChart), '-n', NAMESPACE, '-f', valuesFile('dev'), '-f', apiServerValues, ...DEV_OVERRIDES,
      '--post-renderer', postRenderer, '--wait', '--timeout', '10m',
    ]);
    expect(install.code, install.stderr).toBe(0);
    console.log(`[real-node] dev installed with --wait in ${seconds()} s`);
    objects = await releaseObjects(helm, RELEASE, NAMESPACE);
    expect(objects.some((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-grafana'))).toBe(false);

    const pods = (await kubectlJson(['-n', NAMESPACE, 'get', 'pods'])).items as Json[];
    expect(pods.length).toBeGreaterThanOrEqual(6);
    for (const pod of pods) {
      expect(pod.spec.nodeName, pod.metadata.name).toBe('techshop-real-node');
      expect(podReady(pod), `${pod.metadata.name} Ready`).toBe(true);
      // a real container: a containerd id and a start time the kubelet saw
      for (const status of pod.status.containerStatuses) {
        expect(status.containerID, `${pod.metadata.name}/${status.name}`).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
        expect(status.state.running?.startedAt).toBeTruthy();
      }
    }
  });

  it('passes helm test for real (the app ready through its Service, the Redis and MongoDB logins)', async () => {
    const result = await helmCmd(helm, ['test', RELEASE, '-n', NAMESPACE, '--timeout', '5m']);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/Phase:\s+Succeeded/);
    expect(result.stdout).not.toMatch(/Phase:\s+Failed/);
  });

  it('writes to MongoDB and Redis through the chart\'s Services', async () => {
    const app = await clusterIP(`${RELEASE}-app`);
    const visit = await http(`http://${app}/api/visits`, { method: 'POST' });
    expect(visit.status, visit.body).toBe(201);
    const { mongoId, redisCount } = JSON.parse(visit.body);
    expect(redisCount).toBeGreaterThanOrEqual(1);

    // Read back inside the database pods, bypassing the app.
    const redisValue = await kubectlOk([
      '-n', NAMESPACE, 'exec', `${RELEASE}-redis-0`, '-c', 'redis', '--',
      'bash', '-c', 'REDISCLI_AUTH="$(cat /etc/redis-auth/redis-password)" redis-cli --no-auth-warning GET techshop:visits',
    ]);
    expect(Number(redisValue.trim())).toBe(redisCount);
    // the app image has node and nothing else
    const uri = (await kubectlOk(['-n', NAMESPACE, 'exec', `deploy/${RELEASE}-app`, '--', 'node', '-e', 'console.log(process.env.MONGODB_URI)'])).trim();
    const local = uri.replace(/@[^/]+\//, '@127.0.0.1:27017/');
    const count = await kubectlOk([
      '-n', NAMESPACE, 'exec', `${RELEASE}-mongodb-0`, '-c', 'mongodb', '--',
      'mongosh', '--quiet', '--norc', local, '--eval', `db.visits.countDocuments({ _id: ObjectId("${mongoId}") })`,
    ]);
    expect(count.trim()).toBe('1');
  });

  it('has Prometheus scraping the app and the Redis exporter, Alertmanager ready', async () => {
    const alertmanager = await clusterIP(`${RELEASE}-alertmanager`);
    expect((await http(`http://${alertmanager}:9093/-/ready`)).status).toBe(200);
    const prometheus = await clusterIP(`${RELEASE}-prometheus`);
    let targets: Json[] = [];
    await waitUntil('Prometheus targets up', async () => {
      const res = await http(`http://${prometheus}:9090/api/v1/targets?state=active`);
      targets = JSON.parse(res.body).data.activeTargets;
      const up = (job: string) => targets.some((t) => t.labels.job === job && t.health === 'up');
      return up('techshop-app') && up('redis');
    }, 180_000);
    const query = await http(`http://${prometheus}:9090/api/v1/query?query=${encodeURIComponent('sum(http_requests_total{job="techshop-app"})')}`);
    expect(Number(JSON.parse(query.body).data.result[0]?.value?.[1] ?? 0)).toBeGreaterThan(0);
    const redisUp = await http(`http://${prometheus}:9090/api/v1/query?query=${encodeURIComponent('redis_up{job="redis"}')}`);
    expect(JSON.parse(redisUp.body).data.result[0]?.value?.[1]).toBe('1');
  });

  let outsiders: Source[] = [];

  it('passes the NetworkPolicy probe matrix: every connection succeeds exactly when the flow table admits it', async () => {
    outsiders = await startOutsiders();
    const sets = DEV_OVERRIDES.filter((_, i) => i % 2 === 1);
    const meshRender = await renderChart(helm, umbrellaChart, {
      release: RELEASE, namespace: NAMESPACE, valuesFiles: [valuesFile('dev'), apiServerValues], set: [...sets, 'global.mesh.enabled=true'],
      apiVersions: ['security.istio.io/v1/AuthorizationPolicy', 'security.istio.io/v1/PeerAuthentication'],
    });
    const state = JSON.parse(readFileSync(join(inject('clusterRoot'), 'data', 'state.json'), 'utf8'));
    const report = await runMatrix({ namespace: NAMESPACE, release: RELEASE, meshRender, outsiders, nodePorts: [state.realNode.ports.kubelet], log: console.log });
    console.log(report.lines.join('\n'));
    expect(report.controlFailures, 'pairs closed with no policy at all (nothing listens?)').toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(report.dns.viaKubeDnsUnexpected).toEqual([]);
    expect(report.dns.directAnswered).toEqual([]);
    expect(report.dns.allowedPods).toBeGreaterThan(3);
    expect(report.nodeServicesReached, 'the kubelet\'s port on the bridge address').toEqual([]);
    expect(report.sources).toBeGreaterThanOrEqual(9);
    expect(report.open).toBeGreaterThan(report.sources);
    expect(report.closed).toBeGreaterThan(report.targets);
  });

  it('really enforces: a forbidden connection is refused, and succeeds once the policies selecting its destination are deleted', async () => {
    const mongodb = await clusterIP(`${RELEASE}-mongodb`);
    const target = { name: `${RELEASE}-mongodb:27017`, address: `${mongodb}:27017`, component: 'mongodb', podPort: 27017, backends: [] };
    const labels = (await kubectlJson(['-n', NAMESPACE, 'get', 'pod', `${RELEASE}-mongodb-0`])).metadata.labels;
    const { before, after } = await proveEnforcement(NAMESPACE, outsiders[0]!, target, labels);
    expect(before).not.toMatch(/^open/);
    expect(after).toMatch(/^open/);
  });

  it('fails helm test when the app has a wrong Redis password', async () => {
    // Recreate: the old, correctly configured pod must not keep answering through the Service.
    await kubectlOk(['-n', NAMESPACE, 'patch', 'deployment', `${RELEASE}-app`, '--type=merge', '-p', '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}']);
    await kubectlOk(['-n', NAMESPACE, 'set', 'env', `deployment/${RELEASE}-app`, 'REDIS_URL=redis://:wrong-password@shop-redis:6379']);
    await waitUntil('the app not ready with the wrong password, and saying why', async () => {
      const pods = (await kubectlJson(['-n', NAMESPACE, 'get', 'pods', '-l', 'app.kubernetes.io/component=app'])).items as Json[];
      if (!(pods.length === 1 && !pods[0].metadata.deletionTimestamp && !podReady(pods[0]))) return false;
      const logs = await kubectlOk(['-n', NAMESPACE, 'logs', pods[0].metadata.name, '--tail=50']);
      return /WRONGPASS|invalid username-password/.test(logs);
    });
    const result = await helmCmd(helm, ['test', RELEASE, '-n', NAMESPACE, '--timeout', '3m']);
    expect(result.code).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/test-health/);
  });

  it('is removed by helm uninstall, down to what the chart keeps by design', async () => {
    // helm keeps test hooks (pods, their NetworkPolicies) after `helm test`, also after uninstall: listed apart.
    const hooks = await helmCmd(helm, ['get', 'hooks', RELEASE, '-n', NAMESPACE]);
    const testHooks = new Set(parseManifests(hooks.stdout).map((o) => `${o.kind}/${o.metadata.name}`));
    const result = await helmCmd(helm, ['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '5m']);
    expect(result.code, result.stderr).toBe(0);
    await waitUntil('the release\'s pods gone', async () =>
      ((await kubectlJson(['-n', NAMESPACE, 'get', 'pods'])).items as Json[]).every((p) => testHooks.has(`Pod/${p.metadata.name}`)));
    const left = (await namespaceObjects(NAMESPACE)).filter(
      (o) => o !== 'ConfigMap/kube-root-ca.crt' && o !== 'ServiceAccount/default' && !testHooks.has(o),
    );
    expect(left).toEqual(expectedLeftovers(objects).sort());
    console.log(`[real-node] whole dev test in ${seconds()} s`);
  });
});
