// Prod's shape under voluntary and involuntary disruption on 30 kwok nodes in
// three zones (real scheduler, controllers, eviction API and disruption
// controller; kwok makes a scheduled pod Ready at once and runs nothing):
//   drain   kubectl drain of every node carrying an app or MongoDB pod, one after
//           another, then evictions of every app pod at once: the eviction API
//           keeps the app at its PDB's minAvailable and MongoDB at a majority;
//   zone    a whole zone cordoned and its pods deleted: the app keeps
//           minAvailable, the replacements land in the two other zones; after
//           the zone returns, what a rollout restart does to the spread.
// Every figure is printed on one `FIGURE` line (README "Faults and figures").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmMatrix, type HelmBinary } from '../../scripts/lib/helm.ts';
import { chartDir, umbrellaChart, valuesFile } from '../../scripts/lib/paths.ts';
import { createReadmeSecrets, freshRestrictedNamespace, helmCmd, kubectl, kubectlJson, kubectlOk, removeRelease, waitForAutoscalers, waitUntil } from '../helpers/cluster.ts';
import { kubeRequest } from '../../scripts/lib/kube-api.ts';
import { drainEvictions, faultCredentials, figure, isReadyPod, ReadyWatch, seconds, type Group } from '../helpers/faults.ts';
import { ZONES } from '../../scripts/lib/cluster.ts';
import { FAULT_NAMESPACES, FAULT_NODES, RELEASE } from './shape.ts';

const namespace = FAULT_NAMESPACES.prod;
const ZONE_LABEL = 'topology.kubernetes.io/zone';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let helm: HelmBinary;
let app: Group;
let mongodb: Group;
let minAvailable: number;
let majority: number;
let appReplicas: number;
let members: number;
let watch: ReadyWatch;
const nodeZone = new Map<string, string>();

async function pods(): Promise<Json[]> {
  return (await kubectlJson(['-n', namespace, 'get', 'pods'])).items;
}

function selectorArg(selector: Record<string, string>): string {
  return Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
}

/** Waits until the app and MongoDB have every replica Ready again; returns how long that took. */
async function allReady(): Promise<number> {
  const started = performance.now();
  await waitUntil('app and MongoDB fully Ready', async () => watch.of(app.name).ready >= appReplicas && watch.of(mongodb.name).ready >= members, 300_000);
  return performance.now() - started;
}

async function uncordonAll(): Promise<void> {
  const nodes = (await kubectlJson(['get', 'nodes'])).items.filter((n: Json) => n.spec.unschedulable).map((n: Json) => n.metadata.name);
  if (nodes.length) await kubectlOk(['uncordon', ...nodes]);
}

beforeAll(async () => {
  [helm] = (await helmMatrix()) as [HelmBinary];
  await freshRestrictedNamespace(namespace);
  await createReadmeSecrets(namespace);
  const result = await helmCmd(helm, ['install', RELEASE, chartDir(umbrellaChart), '-n', namespace, '-f', valuesFile('prod'), '--wait', '--timeout', '10m']);
  expect(result.code, result.stderr).toBe(0);
  await waitForAutoscalers(namespace);
  // What the chart asks for, read back from the server: the PDBs' selectors and numbers, the replica counts.
  const appPdb = await kubectlJson(['-n', namespace, 'get', 'pdb', `${RELEASE}-app`]);
  const mongoPdb = await kubectlJson(['-n', namespace, 'get', 'pdb', `${RELEASE}-mongodb`]);
  const deployment = await kubectlJson(['-n', namespace, 'get', 'deployment', `${RELEASE}-app`]);
  const statefulSet = await kubectlJson(['-n', namespace, 'get', 'statefulset', `${RELEASE}-mongodb`]);
  app = { name: 'app', selector: appPdb.spec.selector.matchLabels };
  mongodb = { name: 'mongodb', selector: mongoPdb.spec.selector.matchLabels };
  minAvailable = appPdb.spec.minAvailable;
  appReplicas = deployment.spec.replicas;
  members = statefulSet.spec.replicas;
  majority = Math.floor(members / 2) + 1;
  // The MongoDB PDB must not allow going below a majority: maxUnavailable 1 of 3.
  expect(members - mongoPdb.spec.maxUnavailable).toBeGreaterThanOrEqual(majority);
  for (const node of (await kubectlJson(['get', 'nodes'])).items) nodeZone.set(node.metadata.name, node.metadata.labels[ZONE_LABEL]);
  expect(nodeZone.size).toBe(FAULT_NODES);
  watch = new ReadyWatch(faultCredentials(), namespace, [app, mongodb]);
  await watch.start();
  expect(watch.of(app.name).ready).toBe(appReplicas);
  expect(watch.of(mongodb.name).ready).toBe(members);
});

afterAll(async () => {
  watch?.stop();
  await uncordonAll().catch(() => undefined);
  if (helm) await removeRelease(helm, RELEASE, namespace);
});

describe.sequential('prod on 30 kwok nodes in 3 zones', () => {
  it('drain: every node carrying an app or MongoDB pod, one after another, never below minAvailable or a majority', async () => {
    const before = await pods();
    const claimsBefore = await kubectlJson(['-n', namespace, 'get', 'pvc', '-l', selectorArg(mongodb.selector)]);
    const targets = [...new Set(before.filter((p) => p.spec.nodeName && (matches(p, app) || matches(p, mongodb))).map((p) => p.spec.nodeName as string))].sort();
    // No node, no fault: the test fails rather than passing without a drain.
    expect(targets.length, 'nodes carrying app or MongoDB pods').toBeGreaterThan(0);
    watch.reset();
    const evicted: string[] = [];
    const refused: string[] = [];
    const drainTimes: number[] = [];
    const readyTimes: number[] = [];
    for (const node of targets) {
      const started = performance.now();
      const result = await kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=300s']);
      expect(result.code, `kubectl drain ${node}: ${result.stderr}`).toBe(0);
      drainTimes.push(performance.now() - started);
      const lines = drainEvictions(`${result.stdout}\n${result.stderr}`);
      evicted.push(...lines.evicted);
      refused.push(...lines.refused);
      readyTimes.push(await allReady());
    }
    const after = await pods();
    const cordoned = new Set(targets);
    expect(after.filter((p) => (matches(p, app) || matches(p, mongodb)) && cordoned.has(p.spec.nodeName)).map((p) => p.metadata.name)).toEqual([]);
    // Every app and MongoDB pod on those nodes was evicted through the API (kubectl printed each).
    const onTargets = before.filter((p) => (matches(p, app) || matches(p, mongodb)) && cordoned.has(p.spec.nodeName)).map((p) => `${namespace}/${p.metadata.name}`);
    for (const name of onTargets) expect(evicted).toContain(name);
    // A member is recreated under its own name with its own claim: the claims (and their volumes) are the same objects.
    const claimsAfter = await kubectlJson(['-n', namespace, 'get', 'pvc', '-l', selectorArg(mongodb.selector)]);
    const claimIds = (list: Json) => list.items.map((c: Json) => `${c.metadata.name}=${c.metadata.uid}:${c.spec.volumeName}`).sort();
    expect(claimIds(claimsAfter)).toEqual(claimIds(claimsBefore));
    expect(claimsAfter.items.length).toBe(members);
    // Where may a recreated member go? The project's provisioner binds hostPath volumes without node affinity:
    // under kwok a member may land on any node; on real local volumes it could only return to its node.
    const volumes = await Promise.all(claimsAfter.items.map((c: Json) => kubectlJson(['get', 'pv', c.spec.volumeName])));
    const pinned = volumes.filter((v: Json) => v.spec.nodeAffinity).length;
    const appFigures = watch.of(app.name);
    const mongoFigures = watch.of(mongodb.name);
    figure('drain (one node after another)', {
      nodes: targets.length,
      evictions: evicted.length,
      refused429: refused.length,
      appMinReady: `${appFigures.minReady} (minAvailable ${minAvailable})`,
      mongodbMinReady: `${mongoFigures.minReady} (majority ${majority} of ${members})`,
      drainTime: drainTimes.map(seconds).join(' / '),
      timeToReady: readyTimes.map(seconds).join(' / '),
      volumesWithNodeAffinity: `${pinned} of ${volumes.length}`,
    });
    expect(appFigures.minReady).toBeGreaterThanOrEqual(minAvailable);
    expect(mongoFigures.minReady).toBeGreaterThanOrEqual(majority);
    await uncordonAll();
  });

  it('evictions of every app pod at once: the eviction API grants what the PDB allows and refuses the rest with 429', async () => {
    const targets = (await pods()).filter((p) => matches(p, app) && isReadyPod(p)).map((p) => p.metadata.name as string);
    expect(targets.length, 'Ready app pods to evict').toBe(appReplicas);
    const credentials = faultCredentials();
    watch.reset();
    const started = performance.now();
    // All requests in flight together, as several drains running at once would send them.
    const answers = await Promise.all(
      targets.map((name) =>
        kubeRequest(credentials, 'POST', `/api/v1/namespaces/${namespace}/pods/${name}/eviction`, {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name, namespace },
        }),
      ),
    );
    const granted = answers.filter((a) => a.status === 201 || a.status === 200).length;
    const refused = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => ![200, 201, 429].includes(a.status)).map((a) => `${a.status} ${a.text}`)).toEqual([]);
    const timeToReady = await allReady();
    const appFigures = watch.of(app.name);
    figure('evictions at once', {
      requested: targets.length,
      granted,
      refused429: refused.length,
      allowedByPdb: appReplicas - minAvailable,
      appMinReady: `${appFigures.minReady} (minAvailable ${minAvailable})`,
      timeToReady: seconds(timeToReady),
      took: seconds(performance.now() - started),
    });
    expect(appFigures.minReady).toBeGreaterThanOrEqual(minAvailable);
    expect(granted).toBeGreaterThan(0);
    // More evictions than the budget allows were asked for at once: the API must have refused some.
    expect(refused.length).toBeGreaterThan(0);
    // Not asserted: granted <= replicas - minAvailable. A refused request is retried by the API server on
    // a PDB conflict, and under kwok a replacement is Ready within a second, after which the PDB allows
    // one more (measured: 2 granted of 3, Ready never below minAvailable). The invariant is minReady above.
    for (const answer of refused) expect(answer.body?.message ?? answer.text).toMatch(/disruption budget/);
  });

  it('zone loss: a cordoned zone\'s pods deleted, the app keeps minAvailable, replacements in the other zones; then a rollout restart', async () => {
    const before = await pods();
    const appZones = (list: Json[]) => countBy(list.filter((p) => matches(p, app) && !p.metadata.deletionTimestamp), (p) => nodeZone.get(p.spec.nodeName) ?? '?');
    // The zone with the most app pods: losing it hurts most.
    const [lost] = Object.entries(appZones(before)).sort((a, b) => b[1] - a[1])[0] ?? [];
    expect(lost, 'a zone carrying app pods').toBeDefined();
    const zoneNodes = [...nodeZone].filter(([, zone]) => zone === lost).map(([node]) => node);
    watch.reset();
    await kubectlOk(['cordon', ...zoneNodes]);
    const victims = before.filter((p) => zoneNodes.includes(p.spec.nodeName) && p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed');
    expect(victims.filter((p) => matches(p, app)).length).toBeGreaterThan(0);
    const started = performance.now();
    // An outage does not ask the eviction API: the pods are deleted outright, all at once.
    await kubectlOk(['-n', namespace, 'delete', 'pod', '--wait=false', ...victims.map((p) => p.metadata.name)]);
    const timeToReady = await allReady();
    const during = await pods();
    const spread = appZones(during);
    expect(Object.keys(spread)).not.toContain(lost);
    const appFigures = watch.of(app.name);
    const mongoFigures = watch.of(mongodb.name);
    const deployment = await kubectlJson(['-n', namespace, 'get', 'deployment', `${RELEASE}-app`]);
    const zoneRule = deployment.spec.template.spec.topologySpreadConstraints.find((c: Json) => c.topologyKey === ZONE_LABEL);
    figure('zone loss', {
      zone: lost as string,
      podsDeleted: victims.length,
      appMinReady: `${appFigures.minReady} (minAvailable ${minAvailable})`,
      mongodbMinReady: `${mongoFigures.minReady} (majority ${majority})`,
      timeToReady: seconds(timeToReady),
      appSpread: JSON.stringify(spread),
      whenUnsatisfiable: zoneRule.whenUnsatisfiable,
    });
    expect(appFigures.minReady).toBeGreaterThanOrEqual(minAvailable);
    expect(mongoFigures.minReady).toBeGreaterThanOrEqual(majority);
    // Over the zones that remain, the app keeps within maxSkew.
    const remaining = ZONES.filter((z) => z !== lost).map((z) => spread[z] ?? 0);
    expect(Math.max(...remaining) - Math.min(...remaining)).toBeLessThanOrEqual(zoneRule.maxSkew);

    // The zone returns; the running pods stay where they are until something replaces them.
    await kubectlOk(['uncordon', ...zoneNodes]);
    const stay = appZones(await pods());
    watch.reset();
    const restarted = performance.now();
    await kubectlOk(['-n', namespace, 'rollout', 'restart', `deployment/${RELEASE}-app`]);
    await kubectlOk(['-n', namespace, 'rollout', 'status', `deployment/${RELEASE}-app`, '--timeout=300s']);
    const rolloutTime = performance.now() - restarted;
    const rebalanced = appZones(await pods());
    figure('zone returns', {
      appSpreadAfterUncordon: JSON.stringify(stay),
      appSpreadAfterRolloutRestart: JSON.stringify(rebalanced),
      returnedZoneGotPods: rebalanced[lost as string] ?? 0,
      appMinReadyDuringRestart: `${watch.of(app.name).minReady} (minAvailable ${minAvailable})`,
      rolloutTime: seconds(rolloutTime),
    });
    expect(watch.of(app.name).minReady).toBeGreaterThanOrEqual(minAvailable);
    expect(stay[lost as string] ?? 0).toBe(0);
  });
});

function matches(pod: Json, group: Group): boolean {
  return Object.entries(group.selector).every(([k, v]) => pod.metadata.labels?.[k] === v);
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort());
}
