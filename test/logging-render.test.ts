// charts/logging, the node log agent, rendered per environment under Helm 4
// and Helm 3: least privilege short of "restricted" (and why the namespace
// says so), the pipeline config per environment, and what helm refuses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load as loadYaml } from 'js-yaml';
import { chartDir, environments } from '../scripts/lib/paths.ts';
import { checkNetworkPolicyCoverage, checkPodSecurityRestricted, checkPodTemplate, NAMESPACE_LEVEL_ANNOTATION, podTemplates } from '../scripts/lib/policy.ts';
import { findObject, podSpecOf, RELEASE_NAMESPACE, renderChart, type K8sObject } from '../scripts/lib/render.ts';
import { ruleMessage } from '../scripts/lib/rule-table.ts';
import { createValidator } from '../scripts/lib/validate.ts';
import { helms } from './helpers/render.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const AGENT = 'shop-log-agent';
const ciValues = (env: string) => join(chartDir('logging'), 'ci', `${env}-values.yaml`);

const EXPECTED = {
  dev: { endpoint: 'http://elasticsearch.logging.svc:9200', index: 'techshop-logs-dev', retention: '7d', apiKey: false },
  staging: { endpoint: 'https://elasticsearch.staging.techshop-cloud.com:9200', index: 'techshop-logs-staging', retention: '14d', apiKey: true },
  prod: { endpoint: 'https://elasticsearch.techshop-cloud.com:9200', index: 'techshop-logs-prod', retention: '30d', apiKey: true },
} as const;

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('logging with %s', (_label, helm) => {
  const render = (env: string, set: string[] = []) => renderChart(helm, 'logging', { valuesFiles: [ciValues(env)], set });

  describe.each(environments)('%s', (env) => {
    it('reads /var/log/pods read-only with every capability dropped and no API token', async () => {
      const objects = await render(env);
      const daemonSet = findObject(objects, 'DaemonSet', AGENT);
      const spec = podSpecOf(daemonSet);
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.volumes.find((v: Any) => v.name === 'pods').hostPath).toEqual({ path: '/var/log/pods', type: 'Directory' });
      const [container] = spec.containers;
      expect(container.volumeMounts.find((m: Any) => m.name === 'pods')).toEqual({ name: 'pods', mountPath: '/var/log/pods', readOnly: true });
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.securityContext.capabilities.add).toBeUndefined();
      expect(container.readinessProbe.httpGet.port).toBe('health');
      expect(container.resources.limits).toEqual({ cpu: '250m', memory: '256Mi', 'ephemeral-storage': '256Mi' });
      // the API key as a file, never in the environment
      expect(container.env.map((e: Any) => e.name)).toEqual(['POD_IP']);
      const keyVolume = spec.volumes.find((v: Any) => v.name === 'elasticsearch');
      expect(keyVolume?.secret).toEqual(EXPECTED[env].apiKey ? { secretName: 'techshop-logs-elasticsearch', defaultMode: 256, items: [{ key: 'api-key', path: 'api-key' }] } : undefined);
    });

    it('declares that its namespace must enforce privileged (hostPath), and passes the policy checks only through that', async () => {
      const objects = await render(env);
      // the namespace is the user's: helm cannot create a release's own namespace with labels
      expect(objects.filter((o) => o.kind === 'Namespace')).toEqual([]);
      const daemonSet = findObject(objects, 'DaemonSet', AGENT);
      expect(daemonSet.metadata.annotations?.[NAMESPACE_LEVEL_ANNOTATION]).toBe('privileged');
      expect(checkPodSecurityRestricted(objects)).toEqual([]);
      // what restricted would refuse: exactly the hostPath volume (baseline and restricted rules) and running as uid 0
      const raw = podTemplates(objects).flatMap(checkPodTemplate).map((f) => f.rule);
      expect([...new Set(raw)].sort()).toEqual(['hostPath', 'runAsNonRoot', 'runAsUser', 'volumeTypes']);
      // without the declaration the same pod fails the lint stage's check
      const undeclared = objects.map((o) => (o.kind === 'DaemonSet' ? { ...o, metadata: { ...o.metadata, annotations: {} } } : o));
      expect(checkPodSecurityRestricted(undeclared).map((f) => f.rule)).toContain('hostPath');
      expect(checkNetworkPolicyCoverage(objects, { releaseNamespace: RELEASE_NAMESPACE })).toEqual([]);
    });

    it('ships the JSON lines of the TechShop namespace to this environment’s index, with its retention', async () => {
      const objects = await render(env);
      const data = findObject(objects, 'ConfigMap', AGENT).data ?? {};
      const config: Any = loadYaml(data['config.yaml'] ?? '');
      expect(config.receivers.filelog.include).toEqual(['/var/log/pods/techshop_*/*/*.log']);
      expect(config.receivers.filelog.operators.map((o: Any) => o.type)).toEqual(['container', 'json_parser', 'move']);
      const es = config.exporters.elasticsearch;
      expect(es.endpoints).toEqual([EXPECTED[env].endpoint]);
      expect(es.logs_index).toBe(EXPECTED[env].index);
      expect(es.api_key).toBe(EXPECTED[env].apiKey ? '${file:/etc/otelcol-secrets/api-key}' : undefined);
      expect(config.service.pipelines.logs).toEqual({ receivers: ['filelog'], processors: ['memory_limiter', 'batch'], exporters: ['elasticsearch'] });
      const ilm = JSON.parse(data['ilm-policy.json'] ?? '');
      expect(ilm.policy.phases.delete).toEqual({ min_age: EXPECTED[env].retention, actions: { delete: {} } });
      const policy = findObject(objects, 'NetworkPolicy', AGENT);
      expect(policy.spec.ingress).toEqual([]);
      expect(policy.spec.egress[0].ports.map((p: Any) => p.port)).toEqual([443, 9200]);
    });

    it('applies the retention with a restricted hook Job after every install and upgrade', async () => {
      const objects = await render(env);
      const job = findObject(objects, 'Job', 'shop-log-retention');
      expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'post-install,post-upgrade', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' });
      const spec = podSpecOf(job);
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.restartPolicy).toBe('Never');
      // restricted on its own, unlike the agent: no hostPath, not root
      expect(checkPodSecurityRestricted(objects.filter((o) => o.kind === 'Job'))).toEqual([]);
      expect(podTemplates([job]).flatMap(checkPodTemplate)).toEqual([]);
      const [container] = spec.containers;
      expect(container.env.find((e: Any) => e.name === 'INDEX').value).toBe(EXPECTED[env].index);
      expect(container.env.find((e: Any) => e.name === 'ES_ENDPOINT').value).toBe(EXPECTED[env].endpoint);
      const keyVolume = spec.volumes.find((v: Any) => v.name === 'elasticsearch');
      expect(keyVolume?.secret.secretName).toBe(EXPECTED[env].apiKey ? 'techshop-logs-elasticsearch' : undefined);
      const data = findObject(objects, 'ConfigMap', AGENT).data ?? {};
      const template = JSON.parse(data['index-template.json'] ?? '');
      expect(template.index_patterns).toEqual([`${EXPECTED[env].index}-*`]);
      expect(template.template.settings['index.lifecycle.name']).toBe(EXPECTED[env].index);
      // its own NetworkPolicy: nothing in, Elasticsearch and DNS out
      const policy = findObject(objects, 'NetworkPolicy', 'shop-log-retention');
      expect(policy.spec.podSelector.matchLabels['app.kubernetes.io/component']).toBe('log-retention');
      expect(policy.spec.ingress).toEqual([]);
      expect(policy.spec.egress).toEqual(findObject(objects, 'NetworkPolicy', AGENT).spec.egress);
    });
  });

  it('renders no retention Job (and no policy for it) when retention.apply is off', async () => {
    const objects = await render('prod', ['retention.apply=false']);
    expect(objects.filter((o) => o.metadata.name === 'shop-log-retention')).toEqual([]);
  });

  it('refuses a missing destination, and plain HTTP, no API key or short retention where the environment forbids it', async () => {
    await expect(renderChart(helm, 'logging')).rejects.toThrow(/elasticsearch.endpoint/);
    await expect(render('staging', ['elasticsearch.endpoint=http://es.example.com:9200'])).rejects.toThrow(/elasticsearch.endpoint/);
    await expect(render('prod', ['elasticsearch.existingSecret='])).rejects.toThrow(/elasticsearch.existingSecret/);
    await expect(render('prod', ['elasticsearch.retentionDays=7'])).rejects.toThrow(/elasticsearch.retentionDays/);
    // dev takes plain HTTP
    await expect(render('dev')).resolves.toBeDefined();
  });

  it('refuses an except outside its cidr with the validator\'s words (rule ipblock-except, the chart installed on its own)', async () => {
    const set = ['networkPolicy.elasticsearch.cidr=10.0.0.0/8', 'networkPolicy.elasticsearch.except[0]=10.20.0.0/16', 'networkPolicy.elasticsearch.except[1]=192.168.0.0/16'];
    const message = ruleMessage('ipblock-except', { path: 'networkPolicy.elasticsearch', index: 1, except: '192.168.0.0/16', cidr: '10.0.0.0/8' });
    await expect(render('dev', set)).rejects.toThrow(`${message} [rule ipblock-except]`);
    const file = 'charts/logging/ci/dev-values.yaml';
    const bad = `${readFileSync(ciValues('dev'), 'utf8')}\nnetworkPolicy:\n  elasticsearch:\n    cidr: 10.0.0.0/8\n    except: [10.20.0.0/16, 192.168.0.0/16]\n`;
    expect(createValidator('logging').validate(file, Buffer.from(bad)).map((d) => `${d.path}: ${d.message}`)).toEqual([`networkPolicy.elasticsearch.except[1]: ${message}`]);
    // inside the cidr with a longer prefix is what Kubernetes takes
    await expect(render('dev', set.slice(0, 2))).resolves.toBeDefined();
  });
});
