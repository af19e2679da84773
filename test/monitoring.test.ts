// charts/monitoring under Helm 4 and Helm 3: standalone (dev and prod ci
// values) and operator mode, every rendered configuration file through its
// real program (promtool, amtool), the alert rules unit-tested with
// `promtool test rules`, the dashboards' PromQL parsed, and every scrape job's
// target selection evaluated against what the app chart renders and what the
// mongodb/redis contract says.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { kubeconform, kubernetesVersions } from '../scripts/lib/kube-checks.ts';
import { chartDir, repoRoot } from '../scripts/lib/paths.ts';
import { checkNetworkPolicyCoverage, checkPodSecurityRestricted, selectorMatches } from '../scripts/lib/policy.ts';
import { findObject, podSpecOf, renderChart, RELEASE_NAMESPACE, type K8sObject, type RenderOptions } from '../scripts/lib/render.ts';
import { findTool } from '../scripts/lib/tools.ts';
import { byKind, helms } from './helpers/render.ts';
import { endpointSliceTargets, podRoleTargets, relabel } from './helpers/prometheus.ts';
import { imageRef, readImageList } from '../scripts/lib/images.ts';
import { alertmanagerReferences } from '../scripts/lib/rules.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered objects and configs are untyped YAML */

const NS = RELEASE_NAMESPACE;
const CHART = 'monitoring';
const ciValues = (name: string): string => join(chartDir(CHART), 'ci', `${name}-values.yaml`);
const OPERATOR_APIS = ['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'];
const ALERTS = [
  'TechShopAppDown',
  'TechShopHighErrorRate',
  'TechShopHighLatency',
  'TechShopAppNotReady',
  'TechShopHPAAtMax',
  'TechShopPodRestarting',
  'TechShopMongoDBDown',
  'TechShopMongoDBReplicaMemberUnhealthy',
  'TechShopMongoDBConnectionsNearLimit',
  'TechShopRedisDown',
  'TechShopRedisMemoryNearLimit',
  'TechShopRedisClusterStateNotOk',
  'TechShopBackupNotSuccessful',
  'TechShopBackupVerificationFailed',
  'TechShopPersistentVolumeFillingUp',
];
const KSM_ALERTS = ['TechShopAppNotReady', 'TechShopHPAAtMax', 'TechShopPodRestarting', 'TechShopBackupNotSuccessful', 'TechShopBackupVerificationFailed'];
const KUBELET_ALERTS = ['TechShopPersistentVolumeFillingUp'];
const chartValues = load(readFileSync(join(chartDir(CHART), 'values.yaml'), 'utf8')) as any;

// Upstream builds of the deployed versions (.ci/install-prometheus-tools.sh): Prometheus 3.13.5, Alertmanager 0.28.1.
const promtool = findTool('promtool-upstream');
const amtool = findTool('amtool-upstream');
const kubeconformBin = findTool('kubeconform');
let work: string;

beforeAll(async () => {
  // The tools must exist: CI installs them (.ci/install-tools.sh), nothing here is skipped.
  expect(promtool, 'promtool-upstream (bash .ci/install-prometheus-tools.sh)').toBeDefined();
  expect(amtool, 'amtool-upstream (bash .ci/install-prometheus-tools.sh)').toBeDefined();
  const helm = helms[0];
  if (!helm) throw new Error('no helm');
  // test/global-setup.ts builds every chart of chartNames; until monitoring is one
  // of them, build it here (only when missing, so no render races a rebuild).
  if (!existsSync(join(chartDir(CHART), 'charts', 'common-0.1.0.tgz'))) {
    const built = await run(helm.path, ['dependency', 'build', chartDir(CHART), '--skip-refresh']);
    if (built.code !== 0) throw new Error(`helm dependency build monitoring failed:\n${built.stderr}`);
  }
  work = mkdtempSync(join(tmpdir(), 'monitoring-test-'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function scratch(name: string): string {
  const dir = join(work, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function configMapData(objects: K8sObject[], name: string, key: string): string {
  const value = findObject(objects, 'ConfigMap', name).data?.[key];
  if (value === undefined) throw new Error(`ConfigMap ${name} has no ${key}`);
  return value;
}

async function tool(bin: string | undefined, args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  if (!bin) throw new Error('tool missing');
  const result = await run(bin, args, cwd ? { cwd } : {});
  return { code: result.code, out: `${result.stdout}\n${result.stderr}` };
}

/**
 * promtool check config on the rendered prometheus.yml, verbatim, with the
 * rule file where the config points (relative to it). Only the service
 * account's directory (token, ca.crt) is rewritten to scratch files: promtool
 * reads them, and they exist only inside a pod. promtool is upstream's (the deployed
 * Prometheus version, built with Kubernetes service discovery; Debian's is
 * built without it and rejects every kubernetes_sd_configs block).
 */
async function promtoolCheckConfig(prometheusYml: string, rulesYml: string): Promise<{ code: number; out: string }> {
  const dir = scratch('config');
  writeFileSync(join(dir, 'techshop_rules.yml'), rulesYml);
  writeFileSync(join(dir, 'token'), 'token');
  // a real CA certificate: the kubelet job's ca_file
  const ca = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '1', '-subj', '/CN=scratch-ca']);
  if (ca.code !== 0) throw new Error(`openssl: ${ca.stderr}`);
  writeFileSync(join(dir, 'prometheus.yml'), prometheusYml.replaceAll('/var/run/secrets/kubernetes.io/serviceaccount/', `${dir}/`));
  return tool(promtool, ['check', 'config', 'prometheus.yml'], dir);
}

async function promtoolCheckRules(rulesYml: string): Promise<{ code: number; out: string }> {
  const dir = scratch('rules');
  writeFileSync(join(dir, 'rules.yml'), rulesYml);
  return tool(promtool, ['check', 'rules', 'rules.yml'], dir);
}

/** The contract of the mongodb and redis charts (they need not exist to test against it). */
const EXPORTER_CONTRACT = {
  mongodb: { port: 9216, pods: ['shop-mongodb-0', 'shop-mongodb-1', 'shop-mongodb-2'] },
  redis: { port: 9121, pods: ['shop-redis-0'] },
} as const;

function contractLabels(component: string, release = 'shop'): Record<string, string> {
  return { 'app.kubernetes.io/name': component, 'app.kubernetes.io/instance': release, 'app.kubernetes.io/component': component };
}

// ---------------------------------------------------------------------------

it('promtool is the deployed Prometheus version (images.yaml), so the config is checked by what runs it', async () => {
  const pin = readImageList().find((p) => p.name === 'prometheus')!;
  const version = await tool(promtool, ['--version']);
  expect(version.out).toMatch(new RegExp(`^promtool, version ${pin.tag.replace(/^v/, '').replace(/\./g, '\\.')} `));
});

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('%s', (_label, helm) => {
  const cache = new Map<string, Promise<K8sObject[]>>();
  const render = (key: string, options: RenderOptions): Promise<K8sObject[]> => {
    if (!cache.has(key)) cache.set(key, renderChart(helm, CHART, options));
    return cache.get(key) as Promise<K8sObject[]>;
  };
  const dev = () => render('dev', { valuesFiles: [ciValues('dev')] });
  const prod = () => render('prod', { valuesFiles: [ciValues('prod')] });
  const operator = () => render('operator', { set: ['mode=operator'], apiVersions: OPERATOR_APIS });
  const all = () => render('all', { set: ['kubeStateMetrics.enabled=true', 'kubelet.enabled=true'] });
  const appObjects = (): Promise<K8sObject[]> => {
    if (!cache.has('app-chart')) cache.set('app-chart', renderChart(helm, 'app', { valuesFiles: [join(chartDir('app'), 'ci', 'dev-values.yaml')] }));
    return cache.get('app-chart') as Promise<K8sObject[]>;
  };

  describe.each([
    ['dev', dev],
    ['prod', prod],
  ] as const)('standalone, %s ci values', (env, objects) => {
    it('names every object <release>-<component> and labels it with the standard set', async () => {
      for (const object of await objects()) {
        if (!['ClusterRole', 'ClusterRoleBinding'].includes(object.kind)) expect(object.metadata.namespace).toBe(NS);
        expect(object.metadata.name).toMatch(/^shop-[a-z-]+$/);
        const labels = object.metadata.labels ?? {};
        expect(labels['app.kubernetes.io/instance']).toBe('shop');
        expect(labels['app.kubernetes.io/name']).toBe('monitoring');
        expect(labels['helm.sh/chart']).toBe('monitoring-0.1.0');
        expect(['prometheus', 'alertmanager', 'grafana', 'monitoring-test']).toContain(labels['app.kubernetes.io/component']);
      }
    });

    it('labels the pods prometheus / alertmanager / grafana (other charts let component=prometheus scrape them)', async () => {
      const list = await objects();
      const component = (kind: string, name: string) => findObject(list, kind, name).spec.template.metadata.labels['app.kubernetes.io/component'];
      expect(component('StatefulSet', 'shop-prometheus')).toBe('prometheus');
      expect(component('Deployment', 'shop-alertmanager')).toBe('alertmanager');
      expect(component('Deployment', 'shop-grafana')).toBe('grafana');
    });

    it('passes Pod Security restricted (plus read-only root filesystems) and NetworkPolicy coverage with zero findings', async () => {
      const list = await objects();
      expect(checkPodSecurityRestricted(list)).toEqual([]);
      expect(checkNetworkPolicyCoverage(list, { releaseNamespace: NS })).toEqual([]);
      const uids = Object.fromEntries(
        ['shop-prometheus', 'shop-alertmanager', 'shop-grafana'].map((name) => {
          const object = list.find((o) => o.metadata.name === name && ['StatefulSet', 'Deployment'].includes(o.kind)) as K8sObject;
          return [name, podSpecOf(object).securityContext.runAsUser];
        }),
      );
      expect(uids).toEqual({ 'shop-prometheus': 65534, 'shop-alertmanager': 65534, 'shop-grafana': 472 });
    });

    it('pins every image to an exact version', async () => {
      const images = (await objects()).flatMap((o) => (podSpecOf(o)?.containers ?? []).map((c: { image: string }) => c.image));
      expect(images.sort()).toEqual(['grafana', 'busybox', 'alertmanager', 'prometheus'].map((name) => imageRef(name)).sort());
    });

    it('runs Prometheus as a StatefulSet with retention from values and its TSDB on a PVC', async () => {
      const sts = findObject(await objects(), 'StatefulSet', 'shop-prometheus');
      const container = podSpecOf(sts).containers[0];
      expect(container.args).toContain(`--storage.tsdb.retention.time=${env === 'prod' ? '15d' : '7d'}`);
      if (env === 'prod') expect(container.args).toContain('--storage.tsdb.retention.size=18GB');
      expect(container.args).toContain('--config.file=/etc/prometheus/prometheus.yml');
      expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('storage');
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(env === 'prod' ? '20Gi' : '2Gi');
      expect(container.volumeMounts).toContainEqual({ name: 'storage', mountPath: '/prometheus' });
      expect(podSpecOf(sts).serviceAccountName).toBe('shop-prometheus');
      expect(sts.spec.template.metadata.annotations['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
    });

    it('limits RBAC to service discovery in the release namespace (ClusterRole only for the kubelet job)', async () => {
      const list = await objects();
      const role = findObject(list, 'Role', 'shop-prometheus');
      expect(role.metadata.namespace).toBe(NS);
      expect(role.rules).toEqual([
        { apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ]);
      expect(findObject(list, 'RoleBinding', 'shop-prometheus').subjects).toEqual([{ kind: 'ServiceAccount', name: 'shop-prometheus', namespace: NS }]);
      const clusterRoles = byKind(list, 'ClusterRole');
      if (env === 'dev') {
        expect(clusterRoles).toEqual([]);
        expect(byKind(list, 'ClusterRoleBinding')).toEqual([]);
      } else {
        expect(clusterRoles.map((r) => r.metadata.name)).toEqual(['shop-prometheus-techshop']);
        expect(clusterRoles[0]?.rules).toEqual([
          { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        ]);
      }
      for (const r of [...byKind(list, 'Role'), ...clusterRoles]) {
        for (const rule of r.rules as { verbs: string[] }[]) expect(rule.verbs.every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);
      }
      // only Prometheus talks to the API
      const tokens = list.filter((o) => podSpecOf(o) && podSpecOf(o).automountServiceAccountToken !== false).map((o) => o.metadata.name);
      expect(tokens).toEqual(['shop-prometheus']);
    });

    it('keeps credentials in Secrets: Grafana admin from the common helper, Alertmanager receivers from files', async () => {
      const list = await objects();
      const grafana = podSpecOf(findObject(list, 'Deployment', 'shop-grafana')).containers[0];
      const secretName = env === 'prod' ? 'techshop-grafana-admin' : 'shop-grafana';
      const env_ = (name: string) => grafana.env.find((e: { name: string }) => e.name === name);
      // from the mounted Secret through Grafana's <VAR>__FILE, never as env values
      expect(grafana.env.filter((e: { valueFrom?: { secretKeyRef?: unknown } }) => e.valueFrom?.secretKeyRef)).toEqual([]);
      expect(env_('GF_SECURITY_ADMIN_USER__FILE').value).toBe('/etc/grafana-admin/admin-user');
      expect(env_('GF_SECURITY_ADMIN_PASSWORD__FILE').value).toBe('/etc/grafana-admin/admin-password');
      const grafanaPod = podSpecOf(findObject(list, 'Deployment', 'shop-grafana'));
      expect(grafanaPod.volumes).toContainEqual({
        name: 'admin',
        secret: { secretName, defaultMode: 0o440, items: [{ key: 'admin-user', path: 'admin-user' }, { key: 'admin-password', path: 'admin-password' }] },
      });
      expect(grafana.volumeMounts).toContainEqual({ name: 'admin', mountPath: '/etc/grafana-admin', readOnly: true });
      const secrets = byKind(list, 'Secret');
      if (env === 'prod') {
        expect(secrets).toEqual([]);
        const am = podSpecOf(findObject(list, 'Deployment', 'shop-alertmanager'));
        expect(am.volumes).toContainEqual({ name: 'secrets', secret: { secretName: 'techshop-alertmanager', defaultMode: 0o440 } });
        expect(am.containers[0].volumeMounts).toContainEqual({ name: 'secrets', mountPath: '/etc/alertmanager/secrets', readOnly: true });
      } else {
        const secret = findObject(list, 'Secret', 'shop-grafana');
        expect(Object.keys(secret.data ?? {}).sort()).toEqual(['admin-password', 'admin-user']);
        const password = Buffer.from(secret.data?.['admin-password'] ?? '', 'base64').toString();
        expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
        for (const cm of byKind(list, 'ConfigMap')) expect(JSON.stringify(cm.data)).not.toContain(password);
      }
      for (const cm of byKind(list, 'ConfigMap')) {
        for (const [key, text] of Object.entries(cm.data ?? {})) {
          expect(text, `${cm.metadata.name}/${key}`).not.toMatch(/\b(auth_password|api_url|routing_key|api_key|password|admin_password|bot_token)\s*[:=]/);
        }
      }
      const ini = configMapData(list, 'shop-grafana', 'grafana.ini');
      expect(ini).toMatch(/\[auth\.anonymous\]\nenabled = false/);
      expect(ini).toMatch(/\[users\]\nallow_sign_up = false/);
    });

    it('provisions the Prometheus datasource and the dashboards into Grafana from files', async () => {
      const list = await objects();
      const datasources = load(configMapData(list, 'shop-grafana', 'datasources.yaml')) as any;
      expect(datasources.datasources).toEqual([
        { name: 'Prometheus', uid: 'prometheus', type: 'prometheus', access: 'proxy', url: 'http://shop-prometheus:9090', isDefault: true, editable: false, jsonData: { timeInterval: '15s' } },
      ]);
      const provider = (load(configMapData(list, 'shop-grafana', 'dashboards.yaml')) as any).providers[0];
      expect(provider.options.path).toBe('/var/lib/grafana/dashboards');
      const pod = podSpecOf(findObject(list, 'Deployment', 'shop-grafana'));
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'dashboards', mountPath: '/var/lib/grafana/dashboards', readOnly: true });
      expect(pod.volumes).toContainEqual({ name: 'dashboards', configMap: { name: 'shop-grafana-dashboards' } });
      const dashboards = findObject(list, 'ConfigMap', 'shop-grafana-dashboards');
      expect(Object.keys(dashboards.data ?? {}).sort()).toEqual(['backup.json', 'mongodb.json', 'redis.json', 'techshop-overview.json']);
      expect(dashboards.metadata.labels?.grafana_dashboard).toBeUndefined();
    });

    it('passes `promtool check config` (rule file where the config points) and `promtool check rules`', async () => {
      const list = await objects();
      const rules = configMapData(list, 'shop-prometheus', 'techshop_rules.yml');
      const config = configMapData(list, 'shop-prometheus', 'prometheus.yml');
      const checked = await promtoolCheckConfig(config, rules);
      expect(checked.out).toMatch(/SUCCESS/);
      expect(checked.code, checked.out).toBe(0);
      // promtool does check the service discovery blocks: a wrong role fails
      const broken = await promtoolCheckConfig(config.replace('role: pod', 'role: pods'), rules);
      expect(broken.code).not.toBe(0);
      expect(broken.out).toMatch(/unknown Kubernetes SD role "pods"/);
      const rulesChecked = await promtoolCheckRules(rules);
      expect(rulesChecked.code, rulesChecked.out).toBe(0);
      const expected = env === 'prod' ? ALERTS : ALERTS.filter((a) => !KSM_ALERTS.includes(a) && !KUBELET_ALERTS.includes(a));
      expect(rulesChecked.out).toContain(`SUCCESS: ${expected.length} rules found`);
    });

    it('follows seed 001: global 15s, the app every 10s on /metrics, rule file techshop_rules.yml, alerts to the chart Alertmanager', async () => {
      const config = load(configMapData(await objects(), 'shop-prometheus', 'prometheus.yml')) as any;
      expect(config.global).toEqual({ scrape_interval: '15s', evaluation_interval: '15s' });
      expect(config.rule_files).toEqual(['techshop_rules.yml']);
      expect(config.alerting.alertmanagers).toEqual([{ static_configs: [{ targets: ['shop-alertmanager:9093'] }] }]);
      const jobs = Object.fromEntries(config.scrape_configs.map((j: { job_name: string }) => [j.job_name, j]));
      expect(Object.keys(jobs)).toEqual(env === 'prod' ? ['prometheus', 'techshop-app', 'mongodb', 'redis', 'kube-state-metrics', 'kubelet'] : ['prometheus', 'techshop-app', 'mongodb', 'redis']);
      expect(jobs['techshop-app'].scrape_interval).toBe('10s');
      expect(jobs['techshop-app'].metrics_path).toBe('/metrics');
      for (const job of Object.values<any>(jobs)) {
        for (const sd of job.kubernetes_sd_configs ?? []) {
          if (sd.role !== 'node') expect(sd.namespaces).toEqual({ names: [NS] });
        }
      }
      if (env === 'prod') {
        expect(jobs['kube-state-metrics'].static_configs).toEqual([{ targets: ['kube-state-metrics.kube-system.svc:8080'] }]);
        expect(jobs.kubelet.metric_relabel_configs[0].regex).toBe(`kubelet_volume_stats_(capacity|used|available)_bytes;${NS}`);
        // the kubelet itself on its HTTPS port (nodes/metrics), not the API server's node proxy (nodes/proxy)
        expect(jobs.kubelet.scheme).toBe('https');
        // the kubelet's certificate is verified against the service account's cluster CA
        expect(jobs.kubelet.tls_config).toEqual({ ca_file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' });
        expect(jobs.kubelet.metrics_path ?? '/metrics').toBe('/metrics');
        expect(JSON.stringify(jobs.kubelet)).not.toMatch(/proxy|kubernetes\.default/);
        const address = jobs.kubelet.relabel_configs.find((r: { target_label?: string }) => r.target_label === '__address__');
        expect(address).toEqual({ source_labels: ['__address__'], regex: '([^:]+)(?::\\d+)?', target_label: '__address__', replacement: '${1}:10250' });
        const egress = findObject(await objects(), 'NetworkPolicy', 'shop-prometheus').spec.egress;
        expect(egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 10250 }] });
      }
    });

    it('passes `amtool check-config` with no inline credential', async () => {
      const dir = scratch('am');
      const text = configMapData(await objects(), 'shop-alertmanager', 'alertmanager.yml');
      writeFileSync(join(dir, 'alertmanager.yml'), text);
      const checked = await tool(amtool, ['check-config', 'alertmanager.yml'], dir);
      expect(checked.code, checked.out).toBe(0);
      expect(checked.out).toMatch(/SUCCESS/);
      if (env === 'prod') {
        const config = load(text) as any;
        const files = JSON.stringify(config.receivers).match(/"[a-z_]+_file":"[^"]+"/g) ?? [];
        expect(files.length).toBe(3);
        for (const f of files) expect(f).toMatch(/:"\/etc\/alertmanager\/secrets\//);
      }
    });

    it('isolates every monitoring pod: scrape targets, Alertmanager, DNS and the API server out of Prometheus; Prometheus into Alertmanager; Grafana to Prometheus', async () => {
      const list = await objects();
      const prometheus = findObject(list, 'NetworkPolicy', 'shop-prometheus');
      expect(prometheus.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const egressTo = (policy: K8sObject, labels: Record<string, string>, port: number) =>
        policy.spec.egress.some(
          (rule: any) => rule.ports.some((p: any) => p.port === port) && (rule.to ?? []).some((peer: any) => peer.podSelector && !peer.namespaceSelector && selectorMatches(peer.podSelector, labels)),
        );
      expect(egressTo(prometheus, contractLabels('mongodb'), 9216)).toBe(true);
      expect(egressTo(prometheus, contractLabels('redis'), 9121)).toBe(true);
      expect(egressTo(prometheus, contractLabels('alertmanager'), 9093)).toBe(true);
      expect(egressTo(prometheus, contractLabels('mongodb', 'other'), 9216)).toBe(false);
      const api = prometheus.spec.egress.find((r: any) => r.to?.[0]?.ipBlock && r.ports.some((p: any) => p.port === 6443));
      expect(api.ports).toEqual([{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }]);
      // the API server by its addresses (prod), else public addresses only: never the cluster's private ranges by default
      if (env === 'prod') expect(api.to).toEqual([{ ipBlock: { cidr: '10.0.0.0/24' } }]);
      else expect(api.to).toEqual([{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'] } }]);
      const ksm = prometheus.spec.egress.find((r: any) => r.ports.some((p: any) => p.port === 8080));
      if (env === 'prod') expect(ksm.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kube-state-metrics' } } }]);
      else expect(ksm).toBeUndefined();
      const prometheusPod = findObject(list, 'StatefulSet', 'shop-prometheus').spec.template.metadata.labels;
      const grafanaPod = findObject(list, 'Deployment', 'shop-grafana').spec.template.metadata.labels;
      const am = findObject(list, 'NetworkPolicy', 'shop-alertmanager');
      expect(am.spec.ingress).toHaveLength(1);
      expect(am.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 9093 }]);
      expect(am.spec.ingress[0].from.some((peer: any) => selectorMatches(peer.podSelector, prometheusPod))).toBe(true);
      expect(am.spec.ingress[0].from.some((peer: any) => selectorMatches(peer.podSelector, grafanaPod))).toBe(false);
      expect(am.spec.egress[0].to[0].ipBlock.except).toContain('10.0.0.0/8');
      expect(am.spec.egress[0].ports).toEqual([{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 587 }]);
      const grafana = findObject(list, 'NetworkPolicy', 'shop-grafana');
      expect(grafana.spec.ingress[0].from[0]).toEqual({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
      });
      expect(egressTo(grafana, prometheusPod, 9090)).toBe(true);
      expect(grafana.spec.egress.map((r: any) => r.ports.map((p: any) => p.port).join(','))).toEqual(['9090', '53,53']);
      const fromGrafana = prometheus.spec.ingress[0];
      expect(fromGrafana.ports).toEqual([{ protocol: 'TCP', port: 9090 }]);
      expect(fromGrafana.from.some((peer: any) => selectorMatches(peer.podSelector, grafanaPod))).toBe(true);
    });

    it('passes kubeconform -strict for the oldest and newest supported Kubernetes', async () => {
      expect(kubeconformBin, 'kubeconform').toBeDefined();
      const text = (await objects()).map((o) => `---\n${dump(o)}`).join('');
      for (const version of kubernetesVersions()) {
        const report = await kubeconform(kubeconformBin as string, text, version);
        expect(report.problems, `${version}: ${report.summary}`).toEqual([]);
        expect(report.ok).toBe(true);
      }
    });
  });

  describe('scrape target selection', () => {
    it('the app job selects exactly the app pods the app chart renders, on port http 3000, path /metrics', async () => {
      const config = load(configMapData(await dev(), 'shop-prometheus', 'prometheus.yml')) as any;
      const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === 'techshop-app');
      const app = await appObjects();
      const template = findObject(app, 'Deployment', 'shop-app').spec.template;
      const kept = podRoleTargets(template, 'shop-app-7d9c-x1', '10.0.0.5').map((t) => relabel(t, job.relabel_configs)).filter(Boolean) as Record<string, string>[];
      expect(kept).toHaveLength(1);
      expect(kept[0]?.__address__).toBe('10.0.0.5:3000');
      expect(kept[0]?.__metrics_path__ ?? job.metrics_path).toBe('/metrics');
      expect([kept[0]?.namespace, kept[0]?.pod, kept[0]?.container]).toEqual([NS, 'shop-app-7d9c-x1', 'app']);
      // and the NetworkPolicy lets Prometheus reach that port
      const policy = findObject(await dev(), 'NetworkPolicy', 'shop-prometheus');
      const rule = policy.spec.egress.find((r: any) => (r.to ?? []).some((peer: any) => peer.podSelector && selectorMatches(peer.podSelector, template.metadata.labels)));
      expect(rule.ports).toEqual([{ protocol: 'TCP', port: podSpecOf(findObject(app, 'Deployment', 'shop-app')).containers[0].ports[0].containerPort }]);
      // the app chart's NetworkPolicy admits exactly these Prometheus pods
      const prometheusLabels = findObject(await dev(), 'StatefulSet', 'shop-prometheus').spec.template.metadata.labels;
      const appPolicy = findObject(app, 'NetworkPolicy', 'shop-app');
      expect(appPolicy.spec.ingress.some((r: any) => r.from.some((peer: any) => selectorMatches(peer.podSelector, prometheusLabels)) && r.ports.some((p: any) => p.port === 3000))).toBe(true);
    });

    it('the app job skips pods of another release or component, unannotated pods and finished pods', async () => {
      const config = load(configMapData(await dev(), 'shop-prometheus', 'prometheus.yml')) as any;
      const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === 'techshop-app');
      const template = findObject(await appObjects(), 'Deployment', 'shop-app').spec.template;
      const variant = (labels: Record<string, string>, annotations: Record<string, string>) => ({ metadata: { labels: { ...template.metadata.labels, ...labels }, annotations }, spec: template.spec });
      const keeps = (t: { metadata: any; spec: any }, phase = 'Running') =>
        podRoleTargets(t, 'p', '10.0.0.9').some((target) => relabel({ ...target, __meta_kubernetes_pod_phase: phase }, job.relabel_configs));
      expect(keeps(template)).toBe(true);
      expect(keeps(variant({ 'app.kubernetes.io/instance': 'other' }, template.metadata.annotations))).toBe(false);
      expect(keeps(variant({ 'app.kubernetes.io/component': 'mongodb' }, template.metadata.annotations))).toBe(false);
      expect(keeps(variant({}, {}))).toBe(false);
      expect(keeps(template, 'Succeeded')).toBe(false);
      const unannotated = await renderChart(helm, 'app', { valuesFiles: [join(chartDir('app'), 'ci', 'dev-values.yaml')], set: ['metrics.enabled=false'] });
      expect(keeps(findObject(unannotated, 'Deployment', 'shop-app').spec.template)).toBe(false);
      const custom = variant({}, { ...template.metadata.annotations, 'prometheus.io/path': '/internal/metrics' });
      const target = podRoleTargets(custom, 'p', '10.0.0.9').map((t) => relabel(t, job.relabel_configs)).find(Boolean);
      expect(target?.__metrics_path__).toBe('/internal/metrics');
    });

    it.each(['mongodb', 'redis'] as const)('the %s job selects the exporter behind <release>-%s-metrics, port metrics, and nothing else', async (component) => {
      const config = load(configMapData(await dev(), 'shop-prometheus', 'prometheus.yml')) as any;
      const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === component);
      expect(job.kubernetes_sd_configs).toEqual([{ role: 'endpointslice', namespaces: { names: [NS] } }]);
      const { port, pods } = EXPORTER_CONTRACT[component];
      const metrics = { name: `shop-${component}-metrics`, labels: contractLabels(component), ports: [{ name: 'metrics', targetPort: port }] };
      const kept = endpointSliceTargets(metrics, [...pods]).map((t) => relabel(t, job.relabel_configs)).filter(Boolean) as Record<string, string>[];
      expect(kept.map((t) => t.__address__)).toEqual(pods.map((_p, i) => `10.0.1.${i + 10}:${port}`));
      expect(kept.map((t) => [t.namespace, t.pod, t.service])).toEqual(pods.map((p) => [NS, p, `shop-${component}-metrics`]));
      // the database's own Services (same labels, other ports), another release, another component
      const dbPort = component === 'mongodb' ? 27017 : 6379;
      const others = [
        { name: `shop-${component}`, labels: contractLabels(component), ports: [{ name: component, targetPort: dbPort }] },
        { name: `shop-${component}-headless`, labels: contractLabels(component), ports: [{ name: component, targetPort: dbPort }, { name: 'metrics', targetPort: port }] },
        { name: `other-${component}-metrics`, labels: contractLabels(component, 'other'), ports: [{ name: 'metrics', targetPort: port }] },
        { name: `shop-${component}-metrics`, labels: contractLabels(component === 'mongodb' ? 'redis' : 'mongodb'), ports: [{ name: 'metrics', targetPort: port }] },
      ];
      for (const service of others) expect(endpointSliceTargets(service, [...pods]).map((t) => relabel(t, job.relabel_configs)).filter(Boolean)).toEqual([]);
    });

    it('ServiceMonitors select the app Service the app chart renders and the exporters\' metrics Services of the contract', async () => {
      const monitors = byKind(await operator(), 'ServiceMonitor');
      const app = await appObjects();
      const appService = findObject(app, 'Service', 'shop-app');
      const byName = (name: string) => findObject(monitors, 'ServiceMonitor', name);
      const appMonitor = byName('shop-app');
      expect(selectorMatches(appMonitor.spec.selector, appService.metadata.labels ?? {})).toBe(true);
      expect(appService.spec.ports.map((p: { name: string }) => p.name)).toContain(appMonitor.spec.endpoints[0].port);
      expect(appMonitor.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '10s', relabelings: [{ targetLabel: 'job', replacement: 'techshop-app' }] }]);
      for (const component of ['mongodb', 'redis']) {
        const monitor = byName(`shop-${component}`);
        expect(selectorMatches(monitor.spec.selector, contractLabels(component))).toBe(true);
        expect(selectorMatches(monitor.spec.selector, contractLabels(component, 'other'))).toBe(false);
        expect(monitor.spec.endpoints[0].port).toBe('metrics');
        expect(monitor.spec.endpoints[0].relabelings).toEqual([
          { targetLabel: 'job', replacement: component },
          { sourceLabels: ['__meta_kubernetes_service_name'], regex: `shop-${component}-metrics`, action: 'keep' },
        ]);
        expect(monitor.spec.namespaceSelector).toEqual({ matchNames: [NS] });
      }
    });
  });

  it('verifies the kubelets against the service account CA unless kubelet.insecureSkipVerify opts out (and both configs pass promtool)', async () => {
    const rules = configMapData(await all(), 'shop-prometheus', 'techshop_rules.yml');
    for (const [skip, tls] of [[false, { ca_file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' }], [true, { insecure_skip_verify: true }]] as const) {
      const objects = await render(`kubelet-skip-${skip}`, { set: ['kubelet.enabled=true', `kubelet.insecureSkipVerify=${skip}`] });
      const text = configMapData(objects, 'shop-prometheus', 'prometheus.yml');
      const kubelet = (load(text) as any).scrape_configs.find((j: { job_name: string }) => j.job_name === 'kubelet');
      expect(kubelet.tls_config).toEqual(tls);
      const checked = await promtoolCheckConfig(text, rules);
      expect(checked.code, checked.out).toBe(0);
    }
  });

  describe('alert rules', () => {
    it('one rule set: the PrometheusRule carries exactly the standalone rule file\'s groups, and both pass promtool', async () => {
      const standalone = load(configMapData(await all(), 'shop-prometheus', 'techshop_rules.yml')) as any;
      const rule = findObject(await operator(), 'PrometheusRule', 'shop-monitoring');
      expect(rule.spec.groups).toEqual(standalone.groups);
      const wrapped = await promtoolCheckRules(dump({ groups: rule.spec.groups }));
      expect(wrapped.code, wrapped.out).toBe(0);
      expect(wrapped.out).toContain(`SUCCESS: ${ALERTS.length} rules found`);
      const names = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
      expect(names.sort()).toEqual([...ALERTS].sort());
    });

    it('every alert has a summary, a description, a severity and a runbook section in the chart README', async () => {
      const groups = (load(configMapData(await all(), 'shop-prometheus', 'techshop_rules.yml')) as any).groups;
      const readme = readFileSync(join(chartDir(CHART), 'README.md'), 'utf8');
      const anchors = new Set([...readme.matchAll(/^#{2,4} (.+)$/gm)].map((m) => (m[1] as string).toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
      for (const rule of groups.flatMap((g: any) => g.rules)) {
        expect(['critical', 'warning']).toContain(rule.labels.severity);
        expect(rule.annotations.summary, rule.alert).toBeTruthy();
        expect(rule.annotations.description, rule.alert).toBeTruthy();
        const [base, anchor] = rule.annotations.runbook_url.split('#');
        expect(base).toBe(chartValues.alerts.runbookBaseUrl);
        expect(anchor).toBe(rule.alert.toLowerCase());
        expect(anchors.has(anchor), `README section for ${rule.alert}`).toBe(true);
      }
    });

    it('`promtool test rules`: every alert fires on a bad series and stays silent on a healthy one', async () => {
      const rules = configMapData(await all(), 'shop-prometheus', 'techshop_rules.yml');
      const result = await promtoolTestRules(rules);
      expect(result.code, result.out).toBe(0);
      expect(result.out).toMatch(/SUCCESS/);
      // the unit test file covers every alert, both ways
      const unit = load(readFileSync(UNIT_TEST_FILE, 'utf8')) as any;
      const cases = unit.tests.flatMap((t: any) => t.alert_rule_test);
      for (const alert of ALERTS) {
        expect(cases.some((c: any) => c.alertname === alert && c.exp_alerts.length > 0), `${alert} fires`).toBe(true);
        expect(cases.some((c: any) => c.alertname === alert && c.exp_alerts.length === 0), `${alert} stays silent`).toBe(true);
      }
    });

    it('the unit test is not vacuous: other thresholds from values change what fires', async () => {
      // a values file: --set would turn 0.9 into a string
      const values = join(scratch('values'), 'thresholds.yaml');
      writeFileSync(values, dump({ kubeStateMetrics: { enabled: true }, kubelet: { enabled: true }, alerts: { app: { errorRatio: 0.9 }, backup: { maxAgeHours: 48 } } }));
      const objects = await renderChart(helm, CHART, { valuesFiles: [values] });
      const rules = configMapData(objects, 'shop-prometheus', 'techshop_rules.yml');
      expect(rules).toContain('> 0.9');
      expect(rules).toContain('> 172800');
      const result = await promtoolTestRules(rules);
      expect(result.code).not.toBe(0);
      expect(result.out).toMatch(/TechShopHighErrorRate/);
      expect(result.out).toMatch(/TechShopBackupNotSuccessful/);
    });

    it('renders the kube-state-metrics and kubelet alerts only where those series are scraped', async () => {
      const alertsOf = (objects: K8sObject[]) =>
        (load(configMapData(objects, 'shop-prometheus', 'techshop_rules.yml')) as any).groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
      expect(alertsOf(await dev())).toEqual(ALERTS.filter((a) => !KSM_ALERTS.includes(a) && !KUBELET_ALERTS.includes(a)));
      const ksmOnly = await renderChart(helm, CHART, { set: ['kubeStateMetrics.enabled=true'] });
      expect(alertsOf(ksmOnly)).toEqual(ALERTS.filter((a) => !KUBELET_ALERTS.includes(a)));
      const noDatabases = await renderChart(helm, CHART, { set: ['targets.mongodb.enabled=false', 'targets.redis.enabled=false'] });
      expect(alertsOf(noDatabases)).toEqual(['TechShopAppDown', 'TechShopHighErrorRate', 'TechShopHighLatency']);
    });
  });

  describe('operator mode', () => {
    it('renders only ServiceMonitors, one PrometheusRule and the dashboard ConfigMap, with the configured selector labels', async () => {
      const list = await operator();
      expect(list.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
        'ConfigMap/shop-grafana-dashboards',
        'PrometheusRule/shop-monitoring',
        'ServiceMonitor/shop-app',
        'ServiceMonitor/shop-mongodb',
        'ServiceMonitor/shop-redis',
      ]);
      for (const o of [...byKind(list, 'ServiceMonitor'), ...byKind(list, 'PrometheusRule')]) expect(o.metadata.labels?.release).toBe('kube-prometheus-stack');
      const dashboards = findObject(list, 'ConfigMap', 'shop-grafana-dashboards');
      expect(dashboards.metadata.labels?.grafana_dashboard).toBe('1');
      expect(dashboards.metadata.annotations).toEqual({ grafana_folder: 'TechShop' });
      const custom = await renderChart(helm, CHART, {
        set: ['mode=operator', 'operator.selectorLabels.release=prom', 'dashboards.sidecarLabel.key=dash', 'dashboards.sidecarLabel.value=yes'],
        apiVersions: OPERATOR_APIS,
      });
      expect(findObject(custom, 'PrometheusRule', 'shop-monitoring').metadata.labels?.release).toBe('prom');
      expect(findObject(custom, 'ConfigMap', 'shop-grafana-dashboards').metadata.labels?.dash).toBe('yes');
    });

    it('refuses operator mode on a cluster without the operator CRDs, naming the missing API and the fix', async () => {
      await expect(renderChart(helm, CHART, { set: ['mode=operator'] })).rejects.toThrow(
        /monitoring\.mode=operator: the cluster does not serve monitoring\.coreos\.com\/v1 ServiceMonitor\. Install the Prometheus operator.*--api-versions monitoring\.coreos\.com\/v1\/ServiceMonitor/,
      );
      await expect(
        renderChart(helm, CHART, { set: ['mode=operator'], apiVersions: ['monitoring.coreos.com/v1/ServiceMonitor'] }),
      ).rejects.toThrow(/does not serve monitoring\.coreos\.com\/v1 PrometheusRule/);
      const served = await renderChart(helm, CHART, { set: ['mode=operator'], apiVersions: OPERATOR_APIS });
      expect(byKind(served, 'ServiceMonitor')).toHaveLength(3);
      expect(byKind(served, 'PrometheusRule')).toHaveLength(1);
    });
  });

  describe('dashboards', () => {
    it('are JSON dashboards with the seed\'s four panels, MongoDB, Redis and backups, every PromQL expression parsed by promtool', async () => {
      const dir = join(chartDir(CHART), 'files', 'dashboards');
      const files = readdirSync(dir).sort();
      expect(files).toEqual(['backup.json', 'mongodb.json', 'redis.json', 'techshop-overview.json']);
      const exprs: string[] = [];
      const uids = new Set<string>();
      for (const file of files) {
        const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8'));
        expect(dashboard.dashboard, `${file}: the model itself, not wrapped`).toBeUndefined();
        uids.add(dashboard.uid);
        for (const panel of dashboard.panels) {
          expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
          expect(panel.targets.length).toBeGreaterThan(0);
          for (const target of panel.targets) exprs.push(target.expr);
        }
        for (const variable of dashboard.templating.list) {
          const inner = /^label_values\((.+), *[a-z_]+\)$/.exec(variable.query?.query ?? '');
          if (inner) exprs.push(inner[1] as string);
        }
      }
      expect(uids.size).toBe(files.length);
      const overview = JSON.parse(readFileSync(join(dir, 'techshop-overview.json'), 'utf8'));
      expect(overview.panels.slice(0, 4).map((p: { title: string }) => p.title)).toEqual(['Request Rate', 'Response Time', 'Error Rate', 'Database Connections']);
      const recording = { groups: [{ name: 'dashboards', rules: exprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr: expr.replaceAll('$namespace', NS) })) }] };
      const checked = await promtoolCheckRules(dump(recording));
      expect(checked.code, checked.out).toBe(0);
      expect(checked.out).toContain(`SUCCESS: ${exprs.length} rules found`);
      // and promtool does reject a broken expression
      const broken = await promtoolCheckRules(dump({ groups: [{ name: 'x', rules: [{ record: 'x:y', expr: 'sum(rate(http_requests_total[5m])' }] }] }));
      expect(broken.code).not.toBe(0);
    });
  });

  describe('values', () => {
    it('refuses inline receiver credentials, naming the key', async () => {
      await expect(
        renderChart(helm, CHART, { set: ['alertmanager.config.receivers[0].name=x', 'alertmanager.config.receivers[0].webhook_configs[0].url=https://hooks.example/secret'] }),
      ).rejects.toThrow(/alertmanager\.config\.receivers\[0\]\.webhook_configs\[0\]\.url is an inline credential: use url_file/);
      await expect(
        renderChart(helm, CHART, { set: ['alertmanager.config.receivers[0].name=x', 'alertmanager.config.receivers[0].email_configs[0].to=a@b.c', 'alertmanager.config.receivers[0].email_configs[0].auth_password=pw'] }),
      ).rejects.toThrow(/email_configs\[0\]\.auth_password is an inline credential/);
      await expect(renderChart(helm, CHART, { set: ['alertmanager.config.global.slack_api_url=https://hooks.slack.com/x'] })).rejects.toThrow(/global\.slack_api_url is an inline credential/);
    });

    it('keeps a given Grafana password, refuses one given twice, and uses an existingSecret as is', async () => {
      const given = await renderChart(helm, CHART, { set: ['grafana.admin.password=s3cret'] });
      expect(Buffer.from(findObject(given, 'Secret', 'shop-grafana').data?.['admin-password'] ?? '', 'base64').toString()).toBe('s3cret');
      await expect(renderChart(helm, CHART, { set: ['grafana.admin.password=s3cret', 'grafana.admin.existingSecret=mine'] })).rejects.toThrow(
        /grafana\.admin: set either an inline value or existingSecret, not both/,
      );
    });

    it('refuses a wrong mode, a bad duration or an unknown key, naming the key', async () => {
      await expect(renderChart(helm, CHART, { set: ['mode=sidecar'] })).rejects.toThrow(/mode/);
      await expect(renderChart(helm, CHART, { set: ['prometheus.retention.time=fortnight'] })).rejects.toThrow(/retention/);
      await expect(renderChart(helm, CHART, { set: ['prometheus.replicas=2'] })).rejects.toThrow(/replicas/);
      await expect(renderChart(helm, CHART, { set: ['alerts.app.errorRatio=5'] })).rejects.toThrow(/errorRatio/);
    });

    it('keeps the development requests small: 160m CPU and 416Mi for Prometheus, Alertmanager and Grafana', async () => {
      const list = await dev();
      let cpu = 0;
      let memory = 0;
      for (const name of ['shop-prometheus', 'shop-alertmanager', 'shop-grafana']) {
        const workload = list.find((o) => o.metadata.name === name && ['StatefulSet', 'Deployment'].includes(o.kind)) as K8sObject;
        const requests = podSpecOf(workload).containers[0].resources.requests;
        cpu += Number.parseInt(requests.cpu, 10);
        memory += Number.parseInt(requests.memory, 10);
      }
      expect([cpu, memory]).toEqual([160, 416]);
    });

    it('adds node-exporter targets with a nodes-only ClusterRole and egress to the node range', async () => {
      const list = await renderChart(helm, CHART, { set: ['nodeExporter.enabled=true'] });
      expect(findObject(list, 'ClusterRole', 'shop-prometheus-techshop').rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }]);
      const config = load(configMapData(list, 'shop-prometheus', 'prometheus.yml')) as any;
      const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === 'kubernetes-nodes');
      expect(relabel({ __address__: '10.1.2.3:10250', __meta_kubernetes_node_name: 'n1' }, job.relabel_configs)).toMatchObject({ __address__: '10.1.2.3:9100', node: 'n1' });
      const policy = findObject(list, 'NetworkPolicy', 'shop-prometheus');
      expect(policy.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 9100 }] });
      const checked = await promtoolCheckConfig(configMapData(list, 'shop-prometheus', 'prometheus.yml'), configMapData(list, 'shop-prometheus', 'techshop_rules.yml'));
      expect(checked.code, checked.out).toBe(0);
    });
  });
});

const UNIT_TEST_FILE = join(repoRoot, 'test', 'fixtures', 'monitoring', 'rules.test.yaml');

/** Runs the committed unit test against rendered rules; ${alerts.*} and ${runbook} come from the chart's defaults. */
async function promtoolTestRules(rulesYml: string): Promise<{ code: number; out: string }> {
  const dir = scratch('unit');
  const context: Record<string, unknown> = { alerts: chartValues.alerts, runbook: chartValues.alerts.runbookBaseUrl };
  const text = readFileSync(UNIT_TEST_FILE, 'utf8').replace(/\$\{([A-Za-z0-9.]+)\}/g, (_m, path: string) => {
    let node: unknown = context;
    for (const key of path.split('.')) node = (node as Record<string, unknown>)?.[key];
    if (node === undefined) throw new Error(`unknown placeholder ${path}`);
    return String(node);
  });
  writeFileSync(join(dir, 'techshop_rules.yml'), rulesYml);
  writeFileSync(join(dir, 'rules.test.yaml'), text);
  return tool(promtool, ['test', 'rules', 'rules.test.yaml'], dir);
}

// Rule alertmanager-reference against the real amtool: what the validator and
// the chart refuse, amtool refuses too (the would-be config, built from the
// values as the template would have written it); what they accept, it accepts.
describe('Alertmanager routing references: the rule and amtool agree', () => {
  const base = chartValues.alertmanager.config;
  const route = (routes: unknown[]) => ({ ...base.route, routes });
  const cases: { name: string; config: any; amtool: RegExp | null }[] = [
    { name: 'a child route with an undefined receiver', config: { ...base, route: route([{ matchers: ['severity="critical"'], receiver: 'pager' }]) }, amtool: /undefined receiver "pager"/ },
    {
      name: 'a grandchild muted by an undefined time interval',
      config: { ...base, route: route([{ receiver: 'default', routes: [{ matchers: ['team="shop"'], mute_time_intervals: ['weekends'] }] }]) },
      amtool: /undefined time interval "weekends"/,
    },
    {
      name: 'an active time interval that is defined, and a second receiver',
      config: {
        ...base,
        route: route([{ matchers: ['severity="critical"'], receiver: 'pager', active_time_intervals: ['office'] }]),
        receivers: [...base.receivers, { name: 'pager' }],
        time_intervals: [{ name: 'office', time_intervals: [{ weekdays: ['monday:friday'], times: [{ start_time: '09:00', end_time: '17:00' }] }] }],
      },
      amtool: null,
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const dir = scratch('am-ref');
    writeFileSync(join(dir, 'alertmanager.yml'), dump(c.config));
    const checked = await tool(amtool, ['check-config', 'alertmanager.yml'], dir);
    const findings = alertmanagerReferences({ monitoring: { enabled: true, alertmanager: { config: c.config } } });
    if (c.amtool) {
      expect(checked.code, checked.out).not.toBe(0);
      expect(checked.out).toMatch(c.amtool);
      expect(findings.map((f) => f.rule)).toEqual(['alertmanager-reference']);
    } else {
      expect(checked.code, checked.out).toBe(0);
      expect(findings).toEqual([]);
      // and the chart renders it
      const helm = helms[0]!;
      const valuesFile = join(dir, 'values.yaml');
      writeFileSync(valuesFile, dump({ alertmanager: { config: c.config } }));
      const rendered = configMapData(await renderChart(helm, CHART, { valuesFiles: [valuesFile] }), 'shop-alertmanager', 'alertmanager.yml');
      expect(load(rendered)).toEqual(c.config);
    }
  });
});
