// Pod Security Standards (restricted) + house rules, and NetworkPolicy coverage:
// the real umbrella render must be clean; deliberately broken fixtures must
// produce exactly the expected findings.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifests, type K8sObject } from '../scripts/lib/render.ts';
import { ambiguousScalars } from '../scripts/lib/kube-checks.ts';
import { repoRoot } from '../scripts/lib/paths.ts';
import {
  checkNetworkPolicyCoverage,
  checkPodSecurityRestricted,
  isHouseRule,
  podTemplates,
  policiesSelecting,
  policyTypesOf,
  selectorMatches,
  type Finding,
} from '../scripts/lib/policy.ts';
import { helms, renderEnv } from './helpers/render.ts';

/** Kinds that run pods (written out here, not taken from the checker under test). */
const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'];

function fixture(name: string): K8sObject[] {
  return parseManifests(readFileSync(join(repoRoot, 'test', 'fixtures', 'manifests', name), 'utf8'));
}

/** Findings for one object, reduced to what the assertions compare, in a stable order. */
function summary(findings: Finding[], object: string): { rule: string; container?: string; level?: string }[] {
  return findings
    .filter((f) => f.object === object)
    .map((f) => ({ rule: f.rule, ...(f.container ? { container: f.container } : {}), level: f.level }))
    .sort((a, b) => `${a.rule}/${a.container ?? ''}`.localeCompare(`${b.rule}/${b.container ?? ''}`));
}

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('real charts, %s', (_label, helm) => {
  describe.each(['dev', 'staging', 'prod'] as const)('%s values', (env) => {
    let objects: K8sObject[];
    const load = async () => (objects ??= await renderEnv(helm, env));

    it('checks every pod template, the helm test pod included', async () => {
      const rendered = await load();
      const names = podTemplates(rendered).map((t) => t.object).sort();
      // every object of the render that runs pods, whichever chart it comes from
      const workloads = rendered.filter((o) => WORKLOAD_KINDS.includes(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`).sort();
      expect(names).toEqual(workloads);
      expect(new Set(names).size).toBe(names.length);
      // the components of the umbrella, each with its helm test pod
      expect(names).toEqual(
        expect.arrayContaining([
          'Deployment/shop-app',
          'StatefulSet/shop-mongodb',
          'StatefulSet/shop-redis',
          'StatefulSet/shop-prometheus',
          'Deployment/shop-alertmanager',
          'Deployment/shop-grafana',
          'Pod/shop-test-health',
          'Pod/shop-mongodb-test',
          'Pod/shop-redis-test',
          'Pod/shop-monitoring-test',
        ]),
      );
      // backups run everywhere (dev and staging into the release's MinIO): the dump, the verification, and
      // the oplog slices where MongoDB is a replica set (staging and prod; dev runs a standalone)
      const backups = names.filter((n) => n.startsWith('CronJob/shop-backup') || n.startsWith('Job/shop-backup'));
      expect(backups).toEqual(env === 'dev' ? ['CronJob/shop-backup', 'CronJob/shop-backup-verify'] : ['CronJob/shop-backup', 'CronJob/shop-backup-oplog', 'CronJob/shop-backup-verify']);
    });

    it('meets Pod Security Standards restricted and the house rules', async () => {
      expect(checkPodSecurityRestricted(await load())).toEqual([]);
    });

    it('has every pod selected by an Ingress+Egress NetworkPolicy', async () => {
      const rendered = await load();
      expect(checkNetworkPolicyCoverage(rendered, { releaseNamespace: 'techshop' })).toEqual([]);
      // and the app is selected by its own policy, not only by the default deny
      const app = podTemplates(rendered).find((t) => t.object === 'Deployment/shop-app');
      expect(app).toBeDefined();
      const names = policiesSelecting(rendered, app!.labels, app!.namespace).map((p) => p.metadata.name).sort();
      expect(names).toEqual(['shop-app', 'shop-default-deny']);
      // and so is every other pod: none relies on the default deny alone
      for (const template of podTemplates(rendered)) {
        const own = policiesSelecting(rendered, template.labels, template.namespace).map((p) => p.metadata.name).filter((n) => n !== 'shop-default-deny');
        expect(own, template.object).not.toEqual([]);
      }
    });

    it('would catch a weakened helm test pod or a missing policy in this render', async () => {
      // the values schema forbids weakening the chart (runAsUser minimum 1), so weaken the render itself
      const weakened = structuredClone(await load());
      const testPod = weakened.find((o) => o.kind === 'Pod' && o.metadata.name === 'shop-test-health')!;
      delete testPod.spec.containers[0].securityContext.allowPrivilegeEscalation;
      testPod.spec.securityContext.runAsUser = 0;
      expect(summary(checkPodSecurityRestricted(weakened), 'Pod/shop-test-health')).toEqual([
        { rule: 'allowPrivilegeEscalation', container: 'health', level: 'restricted' },
        { rule: 'runAsUser', level: 'restricted' },
      ]);
      // without the policies that select the test pod (its own and the default deny), exactly that pod is uncovered
      const testTemplate = podTemplates(weakened).find((t) => t.object === 'Pod/shop-test-health')!;
      const selectingTest = policiesSelecting(weakened, testTemplate.labels, testTemplate.namespace).map((p) => p.metadata.name).sort();
      expect(selectingTest).toEqual(['shop-default-deny', 'shop-test']);
      const withoutTestPolicies = weakened.filter((o) => !(o.kind === 'NetworkPolicy' && selectingTest.includes(o.metadata.name)));
      expect(checkNetworkPolicyCoverage(withoutTestPolicies).map((f) => `${f.rule} ${f.object}`)).toEqual(['uncovered Pod/shop-test-health']);
      // with the app's policy alone, every other pod is uncovered
      const appPolicyOnly = weakened.filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name !== 'shop-app'));
      const others = podTemplates(weakened).map((t) => t.object).filter((n) => n !== 'Deployment/shop-app').sort();
      expect(others).toContain('Pod/shop-test-health');
      expect(checkNetworkPolicyCoverage(appPolicyOnly).map((f) => `${f.rule} ${f.object}`).sort()).toEqual(others.map((n) => `uncovered ${n}`));
    });

    it('would catch a weakened pod of any component in this render', async () => {
      const rendered = await load();
      for (const template of podTemplates(rendered)) {
        const weakened = structuredClone(rendered);
        const object = podTemplates(weakened).find((t) => t.object === template.object)!;
        const container = object.spec.containers[0];
        container.securityContext = { ...container.securityContext, allowPrivilegeEscalation: true };
        expect(summary(checkPodSecurityRestricted(weakened), template.object), template.object).toEqual([
          { rule: 'allowPrivilegeEscalation', container: container.name, level: 'restricted' },
        ]);
      }
    });
  });
});

describe('checkPodSecurityRestricted on fixtures', () => {
  it('reports nothing for compliant pod templates (pod-level inheritance, windows exemptions, every allowed volume type)', () => {
    const objects = fixture('pss-compliant.yaml');
    expect(podTemplates(objects)).toHaveLength(4);
    expect(checkPodSecurityRestricted(objects)).toEqual([]);
  });

  const objects = fixture('pss-violations.yaml');
  const findings = checkPodSecurityRestricted(objects);

  it('finds something wrong with every object of the violations fixture', () => {
    for (const object of objects) expect(summary(findings, `${object.kind}/${object.metadata.name}`), object.metadata.name).not.toEqual([]);
  });

  it.each<[string, ReturnType<typeof summary>]>([
    ['Deployment/no-run-as-non-root', [{ rule: 'runAsNonRoot', container: 'app', level: 'restricted' }]],
    ['Deployment/no-allow-privilege-escalation', [{ rule: 'allowPrivilegeEscalation', container: 'app', level: 'restricted' }]],
    ['Deployment/caps-not-dropping-all', [{ rule: 'capabilities', container: 'app', level: 'restricted' }]],
    ['Deployment/caps-add-sys-admin', [{ rule: 'capabilities', container: 'app', level: 'baseline' }]],
    ['Deployment/caps-add-chown', [{ rule: 'capabilities', container: 'app', level: 'restricted' }]],
    ['Deployment/host-path', [{ rule: 'hostPath', level: 'baseline' }, { rule: 'volumeTypes', level: 'restricted' }]],
    ['Deployment/nfs-volume', [{ rule: 'volumeTypes', level: 'restricted' }]],
    ['Deployment/host-network', [{ rule: 'hostNamespaces', level: 'baseline' }]],
    ['StatefulSet/privileged', [{ rule: 'privileged', container: 'sidecar', level: 'baseline' }]],
    ['Pod/run-as-root-container', [{ rule: 'runAsUser', container: 'root', level: 'restricted' }]],
    ['Pod/run-as-non-root-overridden', [{ rule: 'runAsNonRoot', container: 'app', level: 'restricted' }]],
    ['DaemonSet/no-seccomp', [{ rule: 'seccompProfile', container: 'app', level: 'restricted' }]],
    ['Pod/seccomp-unconfined', [{ rule: 'seccompProfile', container: 'app', level: 'baseline' }]],
    [
      'CronJob/bad-init',
      [
        { rule: 'allowPrivilegeEscalation', container: 'migrate', level: 'restricted' },
        { rule: 'capabilities', container: 'migrate', level: 'restricted' },
      ],
    ],
    ['Job/writable-root', [{ rule: 'techshop/readOnlyRootFilesystem', container: 'job', level: 'techshop' }]],
    [
      'Pod/bare-ephemeral',
      [
        { rule: 'allowPrivilegeEscalation', container: 'debugger', level: 'restricted' },
        { rule: 'capabilities', container: 'debugger', level: 'restricted' },
        { rule: 'techshop/readOnlyRootFilesystem', container: 'debugger', level: 'techshop' },
      ],
    ],
    [
      'ReplicaSet/baseline-misc',
      [
        { rule: 'appArmorProfile', container: 'app', level: 'baseline' }, // the annotation
        { rule: 'appArmorProfile', container: 'app', level: 'baseline' }, // the field
        { rule: 'hostNamespaces', level: 'baseline' }, // hostPID
        { rule: 'hostNamespaces', level: 'baseline' }, // hostIPC
        { rule: 'hostPorts', container: 'app', level: 'baseline' },
        { rule: 'hostProbesAndHostLifecycle', container: 'app', level: 'baseline' },
        { rule: 'hostProcess', level: 'baseline' },
        { rule: 'procMount', container: 'app', level: 'baseline' },
        { rule: 'seLinuxOptions', level: 'baseline' },
        { rule: 'sysctls', level: 'baseline' },
      ],
    ],
  ])('%s', (object, expected) => {
    expect(summary(findings, object)).toEqual(expected);
  });

  it('names the object, the container and the offending value in messages', () => {
    const root = findings.find((f) => f.object === 'Pod/run-as-root-container');
    expect(root).toMatchObject({ object: 'Pod/run-as-root-container', rule: 'runAsUser', container: 'root' });
    expect(root?.message).toBe('container "root": securityContext.runAsUser must not be 0');
    const init = findings.find((f) => f.object === 'CronJob/bad-init' && f.rule === 'allowPrivilegeEscalation');
    expect(init?.message).toBe('init container "migrate": securityContext.allowPrivilegeEscalation must be false (is true)');
    const sysctl = findings.find((f) => f.object === 'ReplicaSet/baseline-misc' && f.rule === 'sysctls');
    expect(sysctl?.message).toContain('kernel.msgmax');
    expect(sysctl?.message).not.toContain('kernel.shm_rmid_forced');
    const volume = findings.find((f) => f.object === 'Deployment/host-path' && f.rule === 'volumeTypes');
    expect(volume?.message).toContain('"docker-sock"');
  });

  it('keeps house rules apart from PSS rules', () => {
    const house = findings.filter(isHouseRule);
    expect(house.map((f) => `${f.object} ${f.container}`).sort()).toEqual(['Job/writable-root job', 'Pod/bare-ephemeral debugger']);
    expect(house.every((f) => f.level === 'techshop')).toBe(true);
    expect(findings.filter((f) => !isHouseRule(f)).every((f) => f.level === 'baseline' || f.level === 'restricted')).toBe(true);
  });

  it('flags a pod-level runAsUser 0 and runAsNonRoot false even when containers look fine', () => {
    const [good] = fixture('pss-compliant.yaml');
    const pod = structuredClone(good!);
    pod.spec.template.spec.securityContext.runAsUser = 0;
    pod.spec.template.spec.securityContext.runAsNonRoot = false;
    expect(summary(checkPodSecurityRestricted([pod]), 'Deployment/fully-set')).toEqual([
      { rule: 'runAsNonRoot', level: 'restricted' },
      { rule: 'runAsUser', level: 'restricted' },
    ]);
  });

  it('requires seccomp on every container when the pod level does not set it, and rejects an untyped profile', () => {
    const [, cron] = fixture('pss-compliant.yaml');
    const job = structuredClone(cron!);
    const spec = job.spec.jobTemplate.spec.template.spec;
    delete spec.securityContext.seccompProfile;
    spec.containers[0].securityContext.seccompProfile = {};
    expect(summary(checkPodSecurityRestricted([job]), 'CronJob/pod-level-only')).toEqual([
      { rule: 'seccompProfile', container: 'job', level: 'restricted' },
      { rule: 'seccompProfile', container: 'wait', level: 'restricted' },
    ]);
  });
});

describe('checkNetworkPolicyCoverage on fixtures', () => {
  const objects = fixture('netpol-coverage.yaml');
  const findings = checkNetworkPolicyCoverage(objects);

  it('reports exactly the uncovered and ingress-only pods', () => {
    expect(findings.map((f) => `${f.rule} ${f.object}`).sort()).toEqual([
      'no-egress-policy Deployment/api',
      'no-egress-policy StatefulSet/cache',
      'uncovered CronJob/batch',
      'uncovered DaemonSet/team-prod',
      'uncovered Job/frontend-job',
      'uncovered Job/worker-canary',
      'uncovered Pod/orphan',
    ]);
  });

  it('explains which policies select an ingress-only pod', () => {
    expect(findings.find((f) => f.object === 'Deployment/api')?.message).toContain('api-ingress');
  });

  it('does not count a policy from another namespace', () => {
    const batch = podTemplates(objects).find((t) => t.object === 'CronJob/batch')!;
    expect(policiesSelecting(objects, batch.labels, batch.namespace)).toEqual([]);
    expect(policiesSelecting(objects, batch.labels, 'elsewhere').map((p) => p.metadata.name)).toEqual(['default-deny']);
  });

  it('selects with matchExpressions In/NotIn/Exists/DoesNotExist', () => {
    const names = (labels: Record<string, string>) => policiesSelecting(objects, labels, 'shop').map((p) => p.metadata.name);
    expect(names({ tier: 'backend' })).toEqual(['workers']);
    expect(names({ tier: 'worker', canary: 'true' })).toEqual([]);
    expect(names({ team: 'a' })).toEqual(['teams-not-prod']);
    expect(names({ team: 'a', env: 'staging' })).toEqual(['teams-not-prod']);
    expect(names({ team: 'a', env: 'prod' })).toEqual([]);
    expect(names({ env: 'dev' })).toEqual([]);
  });

  it('implements label selector semantics', () => {
    expect(selectorMatches({}, {})).toBe(true);
    expect(selectorMatches(undefined, { a: '1' })).toBe(true);
    expect(selectorMatches({ matchLabels: { a: '1' } }, { a: '1', b: '2' })).toBe(true);
    expect(selectorMatches({ matchLabels: { a: '1' } }, { a: '2' })).toBe(false);
    expect(selectorMatches({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'Exists' }] }, { a: '1' })).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { a: '2' })).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] }, {})).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, {})).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { a: '' })).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, { a: '2' })).toBe(false);
  });

  it('defaults policyTypes like the API server', () => {
    const policy = (name: string) => objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name)!;
    expect(policyTypesOf(policy('legacy-implicit-egress'))).toEqual(['Ingress', 'Egress']);
    expect(policyTypesOf(policy('cache-implicit-ingress'))).toEqual(['Ingress']);
    expect(policyTypesOf(policy('api-ingress'))).toEqual(['Ingress']);
  });

  it('treats a missing namespace as the release namespace', () => {
    const release = fixture('netpol-release-namespace.yaml');
    // without knowing the release namespace, only namespace-less objects share it
    expect(checkNetworkPolicyCoverage(release).map((f) => `${f.rule} ${f.object}`)).toEqual(['uncovered Pod/explicit']);
    // the release namespace is shop: the namespace-less default-deny covers both
    expect(checkNetworkPolicyCoverage(release, { releaseNamespace: 'shop' })).toEqual([]);
    // and another release namespace leaves the explicitly-namespaced pod uncovered
    expect(checkNetworkPolicyCoverage(release, { releaseNamespace: 'other' }).map((f) => f.object)).toEqual(['Pod/explicit']);
  });
});

describe('ambiguousScalars: what YAML 1.1 (helm, the API server) and YAML 1.2 (js-yaml, GitOps tools) read differently', () => {
  it('finds leading-zero integers and yes/no/on/off, and nothing in quoted values or block scalars', () => {
    const text = [
      'kind: CronJob',
      'spec:',
      '  volumes:',
      '    - configMap:',
      '        defaultMode: 0555',
      '        mode: 365 # 0555',
      '  flag: on',
      '  quoted: "on"',
      '  list:',
      '    - no',
      '  script: |',
      '    chmod 0755 /x',
      '    enabled: yes',
      '  after: 0',
      '  port: 08080',
    ].join('\n');
    expect(ambiguousScalars(text).map((s) => `${s.line} ${s.text}`)).toEqual(['5 defaultMode: 0555', '7 flag: on', '10 - no', '15 port: 08080']);
    expect(ambiguousScalars(text)[0]?.why).toContain('octal to YAML 1.1 readers');
  });

  it('finds none in what the charts render for dev, staging and prod', async () => {
    const { renderTarget } = await import('../scripts/lib/kube-checks.ts');
    for (const env of ['dev', 'staging', 'prod']) {
      const rendered = await renderTarget(helms[0]!, { chart: 'techshop', valuesFile: join(repoRoot, 'values', `values-${env}.yaml`) });
      expect(ambiguousScalars(rendered.text), env).toEqual([]);
    }
  });
});
