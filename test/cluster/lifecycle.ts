// One environment's life on a real API server, under one helm major:
// install → upgrade (same values) → upgrade (new app image) → refused
// immutable change → rollback → uninstall, in a fresh PSA-restricted namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmMatrix, type HelmBinary } from '../../scripts/lib/helm.ts';
import { chartDir, umbrellaChart, valuesFile, type Environment } from '../../scripts/lib/paths.ts';
import type { K8sObject } from '../../scripts/lib/render.ts';
import {
  changedWorkloads,
  createReadmeSecrets,
  createRestrictedNamespace,
  deleteNamespace,
  helmCmd,
  kubectlJson,
  liveObjects,
  namespaceObjects,
  releaseObjects,
  snapshot,
  waitForAutoscalers,
  waitUntil,
  warningLines,
  type ReleaseSnapshot,
} from '../helpers/cluster.ts';

const RELEASE = 'shop';
/** Secrets the environment takes from the user (README); dev generates all of its own. */
const NEEDS_EXISTING_SECRETS: Record<Environment, boolean> = { dev: false, staging: true, prod: true };

/** What `helm uninstall` leaves by design (README "Installing into a cluster"): retained StatefulSet claims, kept PVCs. */
export function expectedLeftovers(objects: K8sObject[]): string[] {
  const left: string[] = [];
  for (const object of objects) {
    if (object.kind === 'StatefulSet') {
      const whenDeleted = object.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? 'Retain';
      if (whenDeleted === 'Delete') continue;
      for (const claim of object.spec?.volumeClaimTemplates ?? []) {
        for (let i = 0; i < (object.spec.replicas ?? 1); i++) left.push(`PersistentVolumeClaim/${claim.metadata.name}-${object.metadata.name}-${i}`);
      }
    }
    if (object.metadata?.annotations?.['helm.sh/resource-policy'] === 'keep') left.push(`${object.kind}/${object.metadata.name}`);
  }
  return left;
}

export function lifecycleSuite(env: Environment): void {
  describe.concurrent(`${env} on the local API server`, () => {
    let helms: HelmBinary[] = [];
    beforeAll(async () => {
      helms = await helmMatrix();
    });

    for (const major of [4, 3] as const) {
      describe.sequential(`helm ${major}`, () => {
        const namespace = `${env}-helm${major}`;
        let helm: HelmBinary;
        let userSecrets: string[] = [];
        let installed: ReleaseSnapshot;
        let revision1: K8sObject[] = [];
        const values = ['-f', valuesFile(env)];
        const chart = chartDir(umbrellaChart);

        beforeAll(async () => {
          helm = helms.find((h) => h.major === major) as HelmBinary;
          await deleteNamespace(namespace);
          await waitUntil(`namespace ${namespace} gone`, async () => (await kubectlJson(['get', 'namespaces'])).items.every((n: K8sObject) => n.metadata.name !== namespace));
          await createRestrictedNamespace(namespace);
          userSecrets = NEEDS_EXISTING_SECRETS[env] ? await createReadmeSecrets(namespace) : [];
        });
        afterAll(async () => {
          await helmCmd(helm, ['uninstall', RELEASE, '-n', namespace, '--ignore-not-found']);
          await deleteNamespace(namespace);
        });

        it('installs with --wait, every rendered object exists on the server, no admission warnings', async () => {
          const result = await helmCmd(helm, ['install', RELEASE, chart, '-n', namespace, ...values, '--wait', '--timeout', '10m']);
          expect(result.code, result.stderr).toBe(0);
          expect(warningLines(result.stderr)).toEqual([]);
          revision1 = await releaseObjects(helm, RELEASE, namespace);
          expect(revision1.length).toBeGreaterThan(10);
          const live = await liveObjects(revision1, namespace);
          expect(live.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(revision1.map((o) => `${o.kind}/${o.metadata.name}`).sort());
          await waitForAutoscalers(namespace);
          installed = await snapshot(namespace);
          for (const name of userSecrets) expect(installed.secrets[name], `user Secret ${name}`).toBeDefined();
        });

        it('upgrades with the same values without changing any Secret or rolling any workload', async () => {
          const result = await helmCmd(helm, ['upgrade', RELEASE, chart, '-n', namespace, ...values, '--wait', '--timeout', '10m']);
          expect(result.code, result.stderr).toBe(0);
          expect(warningLines(result.stderr)).toEqual([]);
          const after = await snapshot(namespace);
          expect(after.secrets).toEqual(installed.secrets);
          expect(changedWorkloads(installed, after)).toEqual([]);
          expect(after.templateAnnotations).toEqual(installed.templateAnnotations);
        });

        it('rolls only the app Deployment when the app image tag changes', async () => {
          const before = await snapshot(namespace);
          const result = await helmCmd(helm, ['upgrade', RELEASE, chart, '-n', namespace, ...values, '--set', 'app.image.tag=9.9.9', '--wait', '--timeout', '10m']);
          expect(result.code, result.stderr).toBe(0);
          const after = await snapshot(namespace);
          expect(changedWorkloads(before, after)).toEqual([`Deployment/${RELEASE}-app`]);
          expect(after.secrets).toEqual(installed.secrets);
          const app = await kubectlJson(['-n', namespace, 'get', 'deployment', `${RELEASE}-app`]);
          expect(app.spec.template.spec.containers[0].image).toMatch(/:9\.9\.9$/);
        });

        it('refuses a MongoDB volume size change before touching the cluster, saying how to resize', async () => {
          const before = await snapshot(namespace);
          const result = await helmCmd(helm, ['upgrade', RELEASE, chart, '-n', namespace, ...values, '--set', 'mongodb.persistence.size=99Gi', '--wait', '--timeout', '5m']);
          expect(result.code).not.toBe(0);
          expect(result.stderr).toMatch(/mongodb\.persistence\.size: \S+ → 99Gi is refused: Kubernetes does not allow changing the volumeClaimTemplates of StatefulSet shop-mongodb\. To grow the volumes: kubectl -n \S+ patch pvc data-shop-mongodb-<ordinal>/);
          const after = await snapshot(namespace);
          expect(changedWorkloads(before, after)).toEqual([]);
        });

        it('rolls back to the previous revision\'s objects, Secrets unchanged', async () => {
          const history = await helmCmd(helm, ['history', RELEASE, '-n', namespace, '-o', 'json']);
          const revisions = JSON.parse(history.stdout) as { revision: number }[];
          const last = Math.max(...revisions.map((r) => r.revision));
          const result = await helmCmd(helm, ['rollback', RELEASE, String(last - 1), '-n', namespace, '--wait', '--timeout', '10m']);
          expect(result.code, result.stderr).toBe(0);
          const target = await releaseObjects(helm, RELEASE, namespace, last - 1);
          const live = await liveObjects(target, namespace);
          for (const object of target.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))) {
            const server = live.find((o) => o.kind === object.kind && o.metadata.name === object.metadata.name) as K8sObject;
            expect(server.spec.template.spec.containers.map((c: { image: string }) => c.image)).toEqual(
              object.spec.template.spec.containers.map((c: { image: string }) => c.image),
            );
          }
          const after = await snapshot(namespace);
          expect(after.secrets).toEqual(installed.secrets);
        });

        it('uninstalls leaving exactly the retained volumes and the user\'s Secrets', async () => {
          const result = await helmCmd(helm, ['uninstall', RELEASE, '-n', namespace, '--wait', '--timeout', '5m']);
          expect(result.code, result.stderr).toBe(0);
          const expected = [
            ...expectedLeftovers(revision1),
            ...userSecrets.map((s) => `Secret/${s}`),
            'ConfigMap/kube-root-ca.crt',
            'ServiceAccount/default',
          ].sort();
          await waitUntil('pods gone', async () => (await namespaceObjects(namespace)).every((o) => !o.startsWith('Pod/')), 120_000);
          expect(await namespaceObjects(namespace)).toEqual(expected);
        });
      });
    }
  });
}
