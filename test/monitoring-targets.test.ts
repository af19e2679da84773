// The whole release, as installed: every scrape job of the rendered
// prometheus.yml selects exactly the pods and ports the app, mongodb and redis
// charts render in the same release, and their NetworkPolicies let the
// rendered Prometheus pods in on those ports.
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { selectorMatches } from '../scripts/lib/policy.ts';
import { findObject, podSpecOf, type K8sObject } from '../scripts/lib/render.ts';
import { endpointSliceTargets, podRoleTargets, relabel, type RelabelConfig } from './helpers/prometheus.ts';
import { byKind, helms, renderEnv } from './helpers/render.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered objects are untyped YAML */

function scrapeJob(objects: K8sObject[], name: string): { relabel_configs: RelabelConfig[]; metrics_path?: string } {
  const config = load(findObject(objects, 'ConfigMap', 'shop-prometheus').data?.['prometheus.yml'] ?? '') as any;
  const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === name);
  expect(job, `scrape job ${name}`).toBeDefined();
  return job;
}

/** The container port a Service port reaches, resolving a named targetPort through the pods' containers. */
function containerPort(servicePort: any, podSpec: any): number {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  for (const container of podSpec.containers) for (const port of container.ports ?? []) if (port.name === target) return port.containerPort;
  throw new Error(`no container port named ${target}`);
}

describe.each(helms.map((h) => [`helm ${h.version}`, h] as const))('%s', (_label, helm) => {
  describe.each(['dev', 'prod'] as const)('%s release', (env) => {
    let objects: K8sObject[];
    const load_ = async () => (objects ??= await renderEnv(helm, env));

    it('the app job keeps one target per rendered app pod: its http port, /metrics', async () => {
      const all = await load_();
      const job = scrapeJob(all, 'techshop-app');
      const deployment = findObject(all, 'Deployment', 'shop-app');
      const kept = podRoleTargets(deployment.spec.template, 'shop-app-abc', '10.0.0.5').map((t) => relabel(t, job.relabel_configs)).filter(Boolean);
      expect(kept).toHaveLength(1);
      expect(kept[0]?.__address__).toBe(`10.0.0.5:${podSpecOf(deployment).containers[0].ports[0].containerPort}`);
      expect(kept[0]?.__metrics_path__ ?? job.metrics_path).toBe('/metrics');
      // no other pod template of the release is scraped by the app job
      for (const workload of all.filter((o) => podSpecOf(o) && o.metadata.name !== 'shop-app')) {
        const template = workload.kind === 'Pod' ? workload : workload.kind === 'CronJob' ? workload.spec.jobTemplate.spec.template : workload.spec.template;
        expect(podRoleTargets(template, 'x', '10.0.0.9').map((t) => relabel(t, job.relabel_configs)).filter(Boolean), workload.metadata.name).toEqual([]);
      }
    });

    it.each(['mongodb', 'redis'] as const)('the %s job keeps exactly the rendered exporter endpoints, one per member', async (component) => {
      const all = await load_();
      const job = scrapeJob(all, component);
      const statefulSet = findObject(all, 'StatefulSet', `shop-${component}`);
      const pods = Array.from({ length: statefulSet.spec.replicas }, (_v, i) => `shop-${component}-${i}`);
      const services = byKind(all, 'Service').filter((s) => selectorMatches({ matchLabels: s.spec.selector ?? {} }, statefulSet.spec.template.metadata.labels));
      expect(services.map((s) => s.metadata.name).sort()).toContain(`shop-${component}-metrics`);
      const targetsOf = (service: K8sObject) =>
        endpointSliceTargets(
          {
            name: service.metadata.name,
            labels: service.metadata.labels ?? {},
            ports: service.spec.ports.map((p: any) => ({ name: p.name, targetPort: containerPort(p, podSpecOf(statefulSet)) })),
          },
          pods,
        )
          .map((t) => relabel(t, job.relabel_configs))
          .filter(Boolean) as Record<string, string>[];
      const exporterPort = podSpecOf(statefulSet)
        .containers.flatMap((c: any) => c.ports ?? [])
        .find((p: any) => p.name === 'metrics').containerPort;
      for (const service of services) {
        const kept = targetsOf(service);
        if (service.metadata.name === `shop-${component}-metrics`) {
          expect(kept.map((t) => (t.__address__ ?? '').split(':')[1])).toEqual(pods.map(() => String(exporterPort)));
          expect(kept.map((t) => t.pod)).toEqual(pods);
        } else {
          expect(kept, `${service.metadata.name} must not be scraped`).toEqual([]);
        }
      }
      // the database's NetworkPolicy lets the rendered Prometheus in on the exporter port, and Prometheus may go out to it
      const prometheus = findObject(all, 'StatefulSet', 'shop-prometheus').spec.template.metadata.labels;
      const dbPolicy = findObject(all, 'NetworkPolicy', `shop-${component}`);
      expect(
        dbPolicy.spec.ingress.some(
          (rule: any) => (rule.from ?? []).some((peer: any) => peer.podSelector && selectorMatches(peer.podSelector, prometheus)) && rule.ports.some((p: any) => p.port === exporterPort),
        ),
      ).toBe(true);
      const promPolicy = findObject(all, 'NetworkPolicy', 'shop-prometheus');
      expect(
        promPolicy.spec.egress.some(
          (rule: any) =>
            (rule.to ?? []).some((peer: any) => peer.podSelector && selectorMatches(peer.podSelector, statefulSet.spec.template.metadata.labels)) &&
            rule.ports.some((p: any) => p.port === exporterPort),
        ),
      ).toBe(true);
    });
  });
});
