// The Istio ambient mesh (global.mesh): the NetworkPolicies and the
// AuthorizationPolicies, both generated from the charts' flows
// (charts/common/templates/_flows.tpl), admit the same (source identity,
// destination, port) flows in every environment; every pod is in the mesh
// under its own service account; STRICT mTLS; the mesh's own ports; and the
// refusals (no Istio API, an unsupported mode, a peer the mesh cannot place).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authorizationPolicyFlows, compareFlows, flowKey, HBONE_PORT, networkPolicyFlows } from '../scripts/lib/mesh-flows.ts';
import { podTemplates, selectorMatches } from '../scripts/lib/policy.ts';
import { RELEASE_NAMESPACE, type K8sObject } from '../scripts/lib/render.ts';
import { chartsDir } from '../scripts/lib/paths.ts';
import { ruleConstant } from '../scripts/lib/rule-table.ts';
import { byKind, helms, renderEnv } from './helpers/render.ts';

const ISTIO_APIS = ['security.istio.io/v1/AuthorizationPolicy', 'security.istio.io/v1/PeerAuthentication'];
const MESH = { set: ['global.mesh.enabled=true'], apiVersions: ISTIO_APIS };
const NS = RELEASE_NAMESPACE;

/** A deep copy, for the mutations that show the comparison can fail. */
const clone = (objects: K8sObject[]): K8sObject[] => JSON.parse(JSON.stringify(objects));

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('mesh on, %s', (_label, helm) => {
  describe.each(['dev', 'staging', 'prod'] as const)('%s', (env) => {
    let objects: K8sObject[];
    const load = async () => (objects ??= await renderEnv(helm, env, MESH));

    it('the NetworkPolicies and the AuthorizationPolicies admit the same flows', async () => {
      const rendered = await load();
      const np = networkPolicyFlows(rendered, NS);
      const ap = authorizationPolicyFlows(rendered, NS);
      expect(compareFlows(np.flows, ap)).toEqual({ onlyNetworkPolicy: [], onlyAuthorizationPolicy: [] });
      const keys = ap.map(flowKey);
      // a few flows every environment has, by identity
      expect(keys).toEqual(
        expect.arrayContaining([
          'sa:shop-app -> shop-mongodb:27017',
          'sa:shop-app -> shop-redis:6379',
          'sa:shop-mongodb-test -> shop-mongodb:27017',
          'sa:shop-grafana -> shop-prometheus:9090',
          'sa:shop-prometheus -> shop-alertmanager:9093',
          'sa:shop-prometheus -> shop-mongodb:9216',
          'ns:ingress-nginx -> shop-app:3000',
          'ns:ingress-nginx -> shop-grafana:3000',
        ]),
      );
      // nothing from "default": every source is a workload's own account or a named namespace
      expect(keys.filter((k) => k.startsWith('sa:default'))).toEqual([]);
      expect(keys.length).toBeGreaterThan(15);
    });

    it('every flow rule also admits HBONE (15008); the only rule without ports is the kubelet probes\' source', async () => {
      const rendered = await load();
      const { withoutHbone, allPorts } = networkPolicyFlows(rendered, NS);
      expect(withoutHbone).toEqual([]);
      expect(allPorts).toEqual(['shop-mesh ingress[0]']);
      const mesh = rendered.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'shop-mesh')!;
      expect(mesh.spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '169.254.7.127/32' } }] }]);
      expect(mesh.spec.egress).toEqual([{ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'shop' } } }], ports: [{ protocol: 'TCP', port: HBONE_PORT }] }]);
    });

    it('every pod is in the ambient mesh under a service account of its own that the render creates', async () => {
      const rendered = await load();
      const accounts = byKind(rendered, 'ServiceAccount').map((o) => o.metadata.name);
      const templates = podTemplates(rendered);
      expect(templates.length).toBeGreaterThan(8);
      for (const t of templates) {
        expect(t.labels['istio.io/dataplane-mode'], t.object).toBe('ambient');
        expect(t.spec.serviceAccountName, t.object).toBe(`shop-${t.labels['app.kubernetes.io/component']}`);
        expect(accounts, t.object).toContain(t.spec.serviceAccountName);
      }
    });

    it('STRICT mTLS for every pod of the release; the mesh default deny has no rules', async () => {
      const rendered = await load();
      const [pa, ...more] = byKind(rendered, 'PeerAuthentication');
      expect(more).toEqual([]);
      expect(pa!.spec.mtls).toEqual({ mode: 'STRICT' });
      expect(pa!.spec.portLevelMtls).toBeUndefined();
      for (const t of podTemplates(rendered)) expect(selectorMatches(pa!.spec.selector, t.labels), t.object).toBe(true);
      const deny = rendered.find((o) => o.kind === 'AuthorizationPolicy' && o.metadata.name === 'shop-default-deny')!;
      expect(deny.spec).toEqual({ selector: { matchLabels: { 'app.kubernetes.io/instance': 'shop' } }, action: 'ALLOW' });
    });
  });
});

describe('the comparison', () => {
  const [helm] = helms;
  let objects: K8sObject[];
  const load = async () => (objects ??= await renderEnv(helm!, 'prod', MESH));

  it('finds a flow the AuthorizationPolicy lacks', async () => {
    const mutated = clone(await load());
    const ap = mutated.find((o) => o.kind === 'AuthorizationPolicy' && o.metadata.name === 'shop-mongodb')!;
    const rule = ap.spec.rules[0];
    rule.from = rule.from.filter((f: { source: { principals?: string[] } }) => !f.source.principals?.[0]?.endsWith('/sa/shop-backup'));
    expect(compareFlows(networkPolicyFlows(mutated, NS).flows, authorizationPolicyFlows(mutated, NS))).toEqual({
      onlyNetworkPolicy: ['sa:shop-backup -> shop-mongodb:27017'],
      onlyAuthorizationPolicy: [],
    });
  });

  it('finds a flow the NetworkPolicy lacks, and one it admits on another port', async () => {
    const mutated = clone(await load());
    const np = mutated.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'shop-alertmanager')!;
    np.spec.ingress[0].ports = [{ protocol: 'TCP', port: 9094 }, { protocol: 'TCP', port: HBONE_PORT }];
    expect(compareFlows(networkPolicyFlows(mutated, NS).flows, authorizationPolicyFlows(mutated, NS))).toEqual({
      onlyNetworkPolicy: ['sa:shop-monitoring-test -> shop-alertmanager:9094', 'sa:shop-prometheus -> shop-alertmanager:9094'],
      onlyAuthorizationPolicy: ['sa:shop-monitoring-test -> shop-alertmanager:9093', 'sa:shop-prometheus -> shop-alertmanager:9093'],
    });
  });

  it('finds a namespace admitted on one side only', async () => {
    const mutated = clone(await load());
    const ap = mutated.find((o) => o.kind === 'AuthorizationPolicy' && o.metadata.name === 'shop-app')!;
    ap.spec.rules[0].from[0].source.namespaces = ['ingress-other'];
    const diff = compareFlows(networkPolicyFlows(mutated, NS).flows, authorizationPolicyFlows(mutated, NS));
    expect(diff.onlyNetworkPolicy).toEqual(['ns:ingress-nginx -> shop-app:3000']);
    expect(diff.onlyAuthorizationPolicy).toEqual(['ns:ingress-other -> shop-app:3000']);
  });

  it('finds a NetworkPolicy rule without HBONE', async () => {
    const mutated = clone(await load());
    const np = mutated.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'shop-redis')!;
    np.spec.ingress[0].ports = np.spec.ingress[0].ports.filter((p: { port: number }) => p.port !== HBONE_PORT);
    expect(networkPolicyFlows(mutated, NS).withoutHbone).toEqual(['shop-redis ingress[0]']);
  });
});

describe('mesh off and refusals', () => {
  const [helm] = helms;

  it('mesh off (the default): no Istio object, no mesh label, no extra service account, no 15008', async () => {
    const rendered = await renderEnv(helm!, 'prod');
    expect(rendered.filter((o) => o.apiVersion.startsWith('security.istio.io/'))).toEqual([]);
    for (const t of podTemplates(rendered)) expect(t.labels['istio.io/dataplane-mode'], t.object).toBeUndefined();
    expect(byKind(rendered, 'ServiceAccount').map((o) => o.metadata.name).sort()).toEqual(['shop-app', 'shop-backup', 'shop-mongodb', 'shop-prometheus']);
    expect(JSON.stringify(byKind(rendered, 'NetworkPolicy'))).not.toContain(String(HBONE_PORT));
    expect(rendered.find((o) => o.metadata.name === 'shop-mesh')).toBeUndefined();
  });

  it('refuses the mesh on a cluster without the Istio API, naming the value, the API and the fix', async () => {
    await expect(renderEnv(helm!, 'dev', { set: ['global.mesh.enabled=true'] })).rejects.toThrow(
      /global\.mesh\.enabled: the cluster does not serve security\.istio\.io\/v1 (AuthorizationPolicy|PeerAuthentication)\. Install Istio \(its CRDs\) first, or turn global\.mesh\.enabled off.*--api-versions security\.istio\.io\/v1\//,
    );
    // one API served is not enough: each kind is required
    await expect(renderEnv(helm!, 'dev', { set: ['global.mesh.enabled=true'], apiVersions: [ISTIO_APIS[0]!] })).rejects.toThrow(/does not serve security\.istio\.io\/v1 PeerAuthentication/);
  });

  it('global.apiVersions states the served APIs where no --api-versions can be passed (helm lint, ct): the objects are rendered', async () => {
    const rendered = await renderEnv(helm!, 'dev', {
      set: ['global.mesh.enabled=true', 'global.apiVersions={security.istio.io/v1/AuthorizationPolicy,security.istio.io/v1/PeerAuthentication}'],
    });
    expect(byKind(rendered, 'PeerAuthentication').length).toBe(1);
    expect(byKind(rendered, 'AuthorizationPolicy').length).toBeGreaterThan(5);
  });

  it('refuses the sidecar mode and a peer whose namespace the mesh cannot name', async () => {
    await expect(renderEnv(helm!, 'dev', { set: ['global.mesh.enabled=true', 'global.mesh.mode=sidecar'], apiVersions: ISTIO_APIS })).rejects.toThrow(/global\/mesh\/mode/);
    await expect(
      renderEnv(helm!, 'dev', { set: ['global.mesh.enabled=true', 'tracing.enabled=true', 'tracing.networkPolicy.grafana.namespaceSelector.team=obs'], apiVersions: ISTIO_APIS }),
    ).rejects.toThrow(/tracing\.networkPolicy\.grafana\.namespaceSelector must name one namespace by kubernetes\.io\/metadata\.name when global\.mesh\.enabled.*\[rule mesh-peer-namespace\]/s);
  });

  it('a peer named by namespace becomes that namespace in the AuthorizationPolicy', async () => {
    const rendered = await renderEnv(helm!, 'dev', { set: ['global.mesh.enabled=true', 'mongodb.networkPolicy.prometheus.namespaceSelector.kubernetes\\.io/metadata\\.name=observability'], apiVersions: ISTIO_APIS });
    const keys = authorizationPolicyFlows(rendered, NS).map(flowKey);
    expect(keys).toContain('ns:observability -> shop-mongodb:9216');
    expect(keys).not.toContain('sa:shop-prometheus -> shop-mongodb:9216');
    expect(compareFlows(networkPolicyFlows(rendered, NS).flows, authorizationPolicyFlows(rendered, NS))).toEqual({ onlyNetworkPolicy: [], onlyAuthorizationPolicy: [] });
  });
});


describe('the peers from values (rule mesh-peer-namespace)', () => {
  const peers = ruleConstant('mesh-peer-namespace', 'peers') as Record<string, string>;

  it('the validator\'s list is exactly the peers the charts\' flows admit, with the same empty-selector meaning', () => {
    const declared: Record<string, string> = {};
    for (const chart of readdirSync(chartsDir)) {
      let text: string;
      try {
        text = readFileSync(join(chartsDir, chart, 'templates', '_flows.tpl'), 'utf8');
      } catch {
        continue;
      }
      for (const m of text.matchAll(/include "common\.flows\.valuesPeer" \(dict ([^)]*)\)/g)) {
        const key = /"values" "([^"]+)"/.exec(m[1]!)![1]!;
        declared[key] = /"allNamespaces" true/.test(m[1]!) ? 'all' : 'this';
      }
    }
    expect(Object.keys(declared).length).toBeGreaterThan(5);
    expect(declared).toEqual(peers);
  });

  it('helm refuses, naming the key, each peer whose namespace is matched by a label instead of its name', async () => {
    const [helm] = helms;
    for (const key of Object.keys(peers)) {
      // the ingress controllers' defaults name their namespace: null removes that, as a user would
      const unname = peers[key] === 'all' ? [`${key}.namespaceSelector.kubernetes\\.io/metadata\\.name=null`] : [];
      const set = ['global.mesh.enabled=true', 'tracing.enabled=true', 'app.metrics.enabled=true', ...unname, `${key}.namespaceSelector.team=x`];
      await expect(renderEnv(helm!, 'dev', { set, apiVersions: ISTIO_APIS }), key).rejects.toThrow(new RegExp(`${key.replace(/\./g, '\\.')}\\.namespaceSelector must name one namespace`));
    }
  });
});
