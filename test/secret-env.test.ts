// Credentials of long-running containers are files, never environment values
// (issue 23, finding 4): an environment variable lives in /proc/<pid>/environ
// of the container's first process and of everything it starts, for the
// container's lifetime. One rule over every pod every environment renders, not
// a check per chart: a new chart or container is covered the day it renders.
import { describe, expect, it } from 'vitest';
import { podTemplates } from '../scripts/lib/policy.ts';
import type { K8sObject } from '../scripts/lib/render.ts';
import { environments } from '../scripts/lib/paths.ts';
import { helms, renderEnv } from './helpers/render.ts';

/** A Secret key that holds a password, a secret key or a token (not a user name, a host or an access key id). */
const SECRET_KEY = /password|secret|token|-key$|replica-set-key|^uri$|connection-string/i;

/**
 * The containers that keep a credential in their environment, each with the
 * reason (README "Security model").
 */
const ALLOWED: Record<string, string> = {
  // the application's own interface is its environment (MONGODB_URI, REDIS_URL, JWT_SECRET, S3 keys); this repository does not build it
  'Deployment/shop-app/app': 'the TechShop app reads its connections and JWT secret from the environment (its image is built elsewhere)',
  // Percona's mongodb_exporter takes credentials only from MONGODB_USER/MONGODB_PASSWORD, MONGODB_URI or --mongodb.uri
  // (no file flag); the metrics user holds clusterMonitor and read on local only, and the container runs nothing else
  'StatefulSet/shop-mongodb/metrics': 'mongodb_exporter reads its password only from the environment or its arguments',
};

/** Pods that run to completion: Jobs, CronJobs and helm hook pods (helm test). */
function shortLived(object: K8sObject): boolean {
  return object.kind === 'Job' || object.kind === 'CronJob' || Boolean(object.metadata.annotations?.['helm.sh/hook']);
}

interface Container {
  ref: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  command?: string[];
  args?: string[];
}

/** The containers that run for the pod's lifetime: containers and restartable (sidecar) init containers. */
function longRunningContainers(objects: K8sObject[]): Container[] {
  const found: Container[] = [];
  for (const template of podTemplates(objects)) {
    if (shortLived(template.source)) continue;
    const sidecars = (template.spec.initContainers ?? []).filter((c: { restartPolicy?: string }) => c.restartPolicy === 'Always');
    for (const c of [...sidecars, ...(template.spec.containers ?? [])]) found.push({ ...c, ref: `${template.object}/${c.name}` });
  }
  return found;
}

function secretEnvFindings(objects: K8sObject[]): string[] {
  const findings: string[] = [];
  for (const c of longRunningContainers(objects)) {
    if (ALLOWED[c.ref]) continue;
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && SECRET_KEY.test(ref.key)) findings.push(`${c.ref}: env ${e.name} from Secret ${ref.name} key ${ref.key}`);
    }
    // the load line (common.secretFiles.load) exports every *_FILE into the environment
    if ([...(c.command ?? []), ...(c.args ?? [])].some((a) => a.includes('compgen -e'))) findings.push(`${c.ref}: exports its credential files into the environment (common.secretFiles.load)`);
  }
  return findings;
}

describe('no credential in the environment of a long-running container', () => {
  const helm = helms[0];
  if (!helm) throw new Error('no helm');

  it('finds a password env var, a sidecar init container and the load line, and skips Jobs and hooks', () => {
    const pod = (kind: string, container: object, annotations?: Record<string, string>): K8sObject =>
      ({ apiVersion: 'v1', kind, metadata: { name: 'x', annotations }, spec: { template: { spec: { containers: [container] } } } }) as unknown as K8sObject;
    const env = [{ name: 'P', valueFrom: { secretKeyRef: { name: 's', key: 'mongodb-password' } } }, { name: 'U', valueFrom: { secretKeyRef: { name: 's', key: 'username' } } }];
    expect(secretEnvFindings([pod('Deployment', { name: 'c', env })])).toEqual(['Deployment/x/c: env P from Secret s key mongodb-password']);
    expect(secretEnvFindings([pod('StatefulSet', { name: 'c', command: ['bash', '-c', 'for v in $(compgen -e); do :; done; exec x'] })])).toHaveLength(1);
    expect(secretEnvFindings([pod('Job', { name: 'c', env })])).toEqual([]);
    const sidecar = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec: { initContainers: [{ name: 's', restartPolicy: 'Always', env }], containers: [] } } } } as unknown as K8sObject;
    expect(secretEnvFindings([sidecar])).toEqual(['Deployment/x/s: env P from Secret s key mongodb-password']);
  });

  for (const env of environments) {
    it(`${env}: every long-running container reads its credentials from files`, async () => {
      const objects = await renderEnv(helm, env);
      expect(longRunningContainers(objects).length).toBeGreaterThan(5);
      expect(secretEnvFindings(objects)).toEqual([]);
    });
  }
});
