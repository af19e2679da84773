// charts/logging on a real API server: the namespace is the user's, created
// with the labels the README gives; an install into a namespace that enforces
// anything stricter than "privileged" is refused before any object is created,
// naming the fix; with the labels, dev and prod install with --wait (the
// DaemonSet on every node, the retention hook Job run), an upgrade with the same
// values changes no workload, and uninstall leaves only the user's objects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { helmMatrix, type HelmBinary } from '../../scripts/lib/helm.ts';
import { chartDir } from '../../scripts/lib/paths.ts';
import { changedWorkloads, deleteNamespace, helmCmd, removeRelease, kubectl, kubectlJson, kubectlOk, liveObjects, releaseObjects, snapshot, waitUntil, warningLines } from '../helpers/cluster.ts';

const ciValues = (env: string) => join(chartDir('logging'), 'ci', `${env}-values.yaml`);
const README_LABELS = ['pod-security.kubernetes.io/enforce=privileged', 'pod-security.kubernetes.io/warn=restricted', 'pod-security.kubernetes.io/audit=restricted'];
let helm: HelmBinary;

/** A namespace as the README has users make it: plain, then labelled. */
async function freshNamespace(name: string, labels: string[]): Promise<void> {
  await deleteNamespace(name);
  await waitUntil(`namespace ${name} gone`, async () => (await kubectl(['get', 'namespace', name])).code !== 0);
  await kubectlOk(['create', 'namespace', name]);
  if (labels.length) await kubectlOk(['label', 'namespace', name, ...labels, '--overwrite']);
}

beforeAll(async () => {
  [helm] = (await helmMatrix()) as [HelmBinary];
});
afterAll(async () => {
  for (const ns of ['logging-refused', 'logging-dev', 'logging-prod']) await removeRelease(helm, 'logs', ns);
});

describe.sequential('the log agent chart', () => {
  it('is refused, with the kubectl label command, in a namespace that enforces restricted; nothing is created', async () => {
    await freshNamespace('logging-refused', ['pod-security.kubernetes.io/enforce=restricted']);
    const result = await helmCmd(helm, ['install', 'logs', chartDir('logging'), '-n', 'logging-refused', '-f', ciValues('dev'), '--wait', '--timeout', '2m']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('namespace logging-refused enforces Pod Security "restricted"');
    expect(result.stderr).toContain(`kubectl label namespace logging-refused ${README_LABELS.join(' ')} --overwrite`);
    expect((await kubectlJson(['-n', 'logging-refused', 'get', 'daemonsets,jobs,configmaps,networkpolicies'])).items.filter((o: { metadata: { name: string } }) => o.metadata.name !== 'kube-root-ca.crt')).toEqual([]);
    // and without any label: the cluster's default level is not assumed to be privileged
    await freshNamespace('logging-refused', []);
    const unlabelled = await helmCmd(helm, ['install', 'logs', chartDir('logging'), '-n', 'logging-refused', '-f', ciValues('dev')]);
    expect(unlabelled.code).not.toBe(0);
    expect(unlabelled.stderr).toContain('enforces Pod Security "(unset: the cluster default)"');
  });

  it.each(['dev', 'prod'])('%s: installs with --wait into the README namespace, upgrades without changing a workload, and uninstalls cleanly', async (env) => {
    const ns = `logging-${env}`;
    await freshNamespace(ns, README_LABELS);
    if (env === 'prod') {
      await kubectlOk(['-n', ns, 'create', 'secret', 'generic', 'techshop-logs-elasticsearch', '--from-literal=api-key=S2V5SWQ6c2VjcmV0']);
    }
    const args = ['upgrade', '--install', 'logs', chartDir('logging'), '-n', ns, '-f', ciValues(env), '--wait', '--timeout', '5m'];
    const install = await helmCmd(helm, args);
    expect(install.code, install.stderr).toBe(0);
    // the only warnings: the namespace's warn=restricted naming exactly what the agent needs
    const warnings = warningLines(install.stderr);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/would violate PodSecurity \\?"restricted:latest\\?": restricted volume types \(volume \\?"pods\\?" uses restricted volume type \\?"hostPath\\?"\), runAsNonRoot != true .*runAsUser=0/);
    const objects = await releaseObjects(helm, 'logs', ns);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/logs-log-agent',
      'DaemonSet/logs-log-agent',
      'NetworkPolicy/logs-log-agent',
      'NetworkPolicy/logs-log-retention',
    ]);
    await liveObjects(objects, ns);
    const ds = await kubectlJson(['-n', ns, 'get', 'daemonset', 'logs-log-agent']);
    const nodes = (await kubectlJson(['get', 'nodes'])).items.length;
    expect(ds.status.desiredNumberScheduled).toBe(nodes);
    expect(ds.status.numberReady).toBe(nodes);
    // the retention hook ran and succeeded (hook-succeeded deleted it); helm records it with the release
    const hooks = await helmCmd(helm, ['get', 'hooks', 'logs', '-n', ns]);
    expect(hooks.stdout).toMatch(/kind: Job\n(.*\n)*?\s+name: logs-log-retention/);
    expect((await kubectlJson(['-n', ns, 'get', 'jobs'])).items).toEqual([]);
    const status = await helmCmd(helm, ['status', 'logs', '-n', ns, '-o', 'json']);
    expect(JSON.parse(status.stdout).info.status).toBe('deployed');

    const before = await snapshot(ns);
    const upgrade = await helmCmd(helm, args);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    expect(changedWorkloads(before, await snapshot(ns))).toEqual([]);

    const uninstall = await helmCmd(helm, ['uninstall', 'logs', '-n', ns, '--wait']);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    const left = await kubectlJson(['-n', ns, 'get', 'daemonsets,jobs,networkpolicies,configmaps,secrets']);
    const names = left.items.map((o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names).toEqual(['ConfigMap/kube-root-ca.crt', ...(env === 'prod' ? ['Secret/techshop-logs-elasticsearch'] : [])]);
    // the namespace is the user's: still there, labels intact
    const namespace = await kubectlJson(['get', 'namespace', ns]);
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });
});
