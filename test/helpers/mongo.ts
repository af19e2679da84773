// A real MongoDB for the backup tests: the mongodb chart rendered and run as
// local processes (ChartPods: real mongod 6.0.5 with the rendered arguments,
// keyfile and users, bootstrapped by the rendered bootstrap.sh), plus the real
// mongoimport/mongoexport (built by .ci/install-backup-tools.sh) to seed and read it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HelmBinary } from '../../scripts/lib/helm.ts';
import { renderMongo } from '../fixtures/mongodb/render.ts';
import { ChartPods, directUri, ensureMongoTools, mongoshEnv, shell, waitUntil, type Shell } from './mongod.ts';
import { freePort } from './registry.ts';
import { BACKUP_TOOLS_BIN } from './s3.ts';

export interface Credentials {
  user: string;
  password: string;
}

export interface MongoServer {
  pods: ChartPods;
  /** host:port,... as the backup chart reads it from the mongodb chart's ConfigMap (made local) */
  hosts: string;
  /** '' for a standalone */
  replicaSet: string;
  backup: Credentials;
  root: Credentials;
  sh: Shell;
  /** root URI of the primary (or the standalone) */
  uri: string;
  importDocs(db: string, collection: string, docs: object[], drop?: boolean): void;
  exportDocs(db: string, collection: string): Record<string, unknown>[];
  stop(): Promise<void>;
}

/**
 * Renders charts/mongodb (a standalone, or a one-member replica set: the
 * oplog is what matters here), starts its member and runs its bootstrap until
 * root and the chart's users exist.
 */
export async function startChartMongo(helm: HelmBinary, architecture: 'standalone' | 'replicaset', dir: string): Promise<MongoServer> {
  ensureMongoTools();
  mkdirSync(dir, { recursive: true });
  const valuesPath = join(dir, `${architecture}-values.json`);
  writeFileSync(valuesPath, JSON.stringify({ architecture, replicaCount: 1 }));
  const objects = await renderMongo(helm, { valuesFiles: [valuesPath] });
  const pods = new ChartPods(objects, join(dir, architecture), freePort);
  const scripts = (objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'shop-mongodb-scripts') as { data?: Record<string, string> }).data ?? {};
  const sh = shell(mongoshEnv(join(dir, `${architecture}-home`), scripts['mongosh.conf'] ?? ''));
  await pods.start(0);
  await waitUntil(
    'bootstrap to create the users',
    async () => {
      const r = await pods.bootstrap(0);
      return /applying users and indexes/.test(r.stderr) && r.code === 0 ? true : undefined;
    },
    120_000,
    500,
  );
  const hostsConfig = (objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'shop-mongodb') as { data?: Record<string, string> }).data ?? {};
  const root = { user: 'root', password: pods.secret['mongodb-root-password'] as string };
  const hosts = architecture === 'replicaset' ? pods.localize(hostsConfig.hosts ?? '') : pods.address(0);
  const uri = directUri(pods.address(0), root);
  // the database tools take --db, so no database in the path
  const toolsUri = uri.replace('/admin?', '/?');
  const tool = (name: string, args: string[]) => {
    const r = spawnSync(join(BACKUP_TOOLS_BIN, name), [`--uri=${toolsUri}`, ...args], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  return {
    pods,
    hosts,
    replicaSet: hostsConfig.replicaSet ?? '',
    backup: { user: hostsConfig.backupUsername ?? '', password: pods.secret['mongodb-backup-password'] as string },
    root,
    sh,
    uri,
    importDocs(db, collection, docs, drop = false) {
      const file = join(dir, `${db}.${collection}.json`);
      writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
      tool('mongoimport', [`--db=${db}`, `--collection=${collection}`, `--file=${file}`, '--quiet', ...(drop ? ['--drop'] : [])]);
    },
    exportDocs(db, collection) {
      const out = tool('mongoexport', [`--db=${db}`, `--collection=${collection}`, '--quiet', '--sort={"_id":1}']);
      return out.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    },
    async stop() {
      await Promise.all([...pods.servers.values()].map((s) => s.kill()));
    },
  };
}
