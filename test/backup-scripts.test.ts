// The backup chart's scripts, extracted from the rendered ConfigMap and run for
// real: mongodump/mongorestore/mongoexport (built from MongoDB's Go source)
// against real mongod 6.0.5 servers that are the mongodb chart rendered and
// bootstrapped (test/helpers/mongo.ts: a standalone, and one-member replica sets
// for the oplog), Debian's aws CLI against an S3-compatible server, verification
// with its default throwaway mongod, and redis-cli against redis-server, all on
// 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmMatrix, type HelmBinary } from '../scripts/lib/helm.ts';
import { buildDependencies, findObject, renderChart } from '../scripts/lib/render.ts';
import { startChartMongo, type MongoServer } from './helpers/mongo.ts';
import { killAllMongod, MONGO_TOOLS_BIN } from './helpers/mongod.ts';
import { freePort } from './helpers/registry.ts';
import { AWS, BACKUP_TOOLS_BIN, ensureBackupTools, startS3, type S3Server } from './helpers/s3.ts';

const PREFIX = 'mongodb/';
const DAY = 86_400;
let scriptsDir = '';
let root = '';
let helm: HelmBinary;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one shipped script with only the given environment (plus PATH). */
function run(script: string, env: Record<string, string>, pathFirst: string[] = []): Run {
  const r = spawnSync('bash', [join(scriptsDir, script)], {
    env: { PATH: [...pathFirst, BACKUP_TOOLS_BIN, MONGO_TOOLS_BIN, '/usr/bin', '/bin'].join(':'), AWS_CLI: AWS, ...env },
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function freshDirs(name: string) {
  const base = join(root, name);
  mkdirSync(join(base, 'backup'), { recursive: true });
  mkdirSync(join(base, 'work'), { recursive: true });
  return { BACKUP_DIR: join(base, 'backup'), WORK_DIR: join(base, 'work') };
}

/** UTC 20250101T020000Z for an epoch (seconds). */
function stamp(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

beforeAll(async () => {
  ensureBackupTools();
  root = mkdtempSync(join(tmpdir(), 'backup-scripts-'));
  scriptsDir = join(root, 'scripts');
  mkdirSync(scriptsDir);
  const [first] = await helmMatrix();
  if (!first) throw new Error('no helm');
  helm = first;
  await buildDependencies(helm, ['backup']);
  const objects = await renderChart(helm, 'backup', { showOnly: ['templates/configmap.yaml'] });
  const data = findObject(objects, 'ConfigMap', 'shop-backup-scripts').data ?? {};
  for (const [name, text] of Object.entries(data)) {
    writeFileSync(join(scriptsDir, name), `${text}\n`);
    chmodSync(join(scriptsDir, name), 0o755);
  }
}, 1_600_000);

afterAll(async () => {
  await killAllMongod();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('shipped scripts', () => {
  it('are the chart files, every one shellcheck-clean', () => {
    const names = readdirSync(scriptsDir).sort();
    expect(names).toEqual(['common.sh', 'dump.sh', 'fetch.sh', 'oplog.sh', 'redis-rdb.sh', 'restore.sh', 'retention.sh', 'upload.sh', 'verify.sh']);
    const r = spawnSync('/usr/bin/shellcheck', ['--external-sources', '--source-path=SCRIPTDIR', ...names], { cwd: scriptsDir, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('real round trip on a standalone: mongod + mongodump/mongorestore + aws CLI + S3 server', () => {
  let mongo: MongoServer;
  let s3: S3Server;
  let env: Record<string, string>;
  const orders = Array.from({ length: 120 }, (_, i) => ({ _id: i + 1, total: (i + 1) * 3, status: i % 2 ? 'paid' : 'new' }));
  const products = [
    { _id: 'p1', name: 'Keyboard', price: 49.9 },
    { _id: 'p2', name: 'Mouse', price: 19.9 },
    { _id: 'p3', name: 'Monitor', price: 199 },
  ];

  beforeAll(async () => {
    [mongo, s3] = await Promise.all([startChartMongo(helm, 'standalone', join(root, 'mongo-standalone')), startS3()]);
    mongo.importDocs('techshop', 'orders', orders);
    mongo.importDocs('techshop', 'products', products);
    // as the backup CronJob runs: the chart's backup user
    env = {
      ...s3.env,
      MONGODB_HOSTS: mongo.hosts,
      MONGODB_REPLICA_SET: mongo.replicaSet,
      MONGODB_USERNAME: mongo.backup.user,
      MONGODB_PASSWORD: mongo.backup.password,
      MONGODB_AUTH_SOURCE: 'admin',
      S3_BUCKET: s3.bucket,
      S3_PREFIX: PREFIX,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      S3_SSE: 'AES256',
    };
  }, 120_000);

  afterAll(async () => {
    await Promise.all([mongo?.stop(), s3?.stop()]);
  });

  let full = '';

  it('backs up: dump with checksum and manifest, upload, retention', () => {
    const dirs = freshDirs('roundtrip');
    const dump = run('dump.sh', { ...env, ...dirs });
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stderr).toMatch(/standalone MongoDB: full dumps only/);
    const files = readdirSync(dirs.BACKUP_DIR).sort();
    expect(files).toHaveLength(3);
    full = files[0]!.replace(/\.archive\.gz$/, '');
    expect(full).toMatch(/^mongodb-full-\d{8}T\d{6}Z$/);
    expect(files).toEqual([`${full}.archive.gz`, `${full}.archive.gz.sha256`, `${full}.manifest`]);
    const check = spawnSync('sha256sum', ['--check', `${full}.archive.gz.sha256`], { cwd: dirs.BACKUP_DIR, encoding: 'utf8' });
    expect(check.status).toBe(0);
    const manifest = readFileSync(join(dirs.BACKUP_DIR, `${full}.manifest`), 'utf8');
    expect(manifest).toMatch(/^kind=full$/m);
    expect(manifest).toMatch(/^oplog=false$/m);
    expect(manifest).toMatch(/^count techshop\.orders 120$/m);
    expect(manifest).toMatch(/^count techshop\.products 3$/m);
    expect(manifest).not.toContain(mongo.backup.password);
    // the password went to the tools through a 0600 file, not the command line
    expect(readFileSync(join(dirs.WORK_DIR, 'mongo-tools.yaml'), 'utf8')).toContain(mongo.backup.password);
    expect((spawnSync('stat', ['-c', '%a', join(dirs.WORK_DIR, 'mongo-tools.yaml')], { encoding: 'utf8' }).stdout ?? '').trim()).toBe('600');

    const upload = run('upload.sh', { ...env, ...dirs });
    expect(upload.code, upload.stderr).toBe(0);
    expect(s3.keys(PREFIX)).toEqual([`${PREFIX}${full}.archive.gz`, `${PREFIX}${full}.archive.gz.sha256`, `${PREFIX}${full}.manifest`]);
    const head = s3.aws(['s3api', 'head-object', '--bucket', s3.bucket, '--key', `${PREFIX}${full}.archive.gz`]);
    expect(head.code).toBe(0);
    const retention = run('retention.sh', { ...env, ...dirs });
    expect(retention.code, retention.stderr).toBe(0);
    expect(retention.stderr).toMatch(/0 file\(s\) deleted/);
  });

  it('verifies the newest archive by restoring it into its default throwaway mongod', async () => {
    const dirs = freshDirs('verify-ok');
    const fetch = run('fetch.sh', { ...env, ...dirs });
    expect(fetch.code, fetch.stderr).toBe(0);
    expect(readFileSync(join(dirs.WORK_DIR, 'fetch', 'plan'), 'utf8')).toBe(`full ${full}\n`);
    const verify = run('verify.sh', { ...dirs, VERIFY_PORT: String(await freePort()) });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stderr).toMatch(new RegExp(`verification of ${full} passed: 2 collection\\(s\\)`));
  });

  it('fails verification on a checksum mismatch and on a count mismatch', async () => {
    const dirs = freshDirs('verify-bad');
    expect(run('fetch.sh', { ...env, ...dirs }).code).toBe(0);
    const fetched = join(dirs.WORK_DIR, 'fetch');
    const manifestPath = join(fetched, `${full}.manifest`);
    const manifest = readFileSync(manifestPath, 'utf8');
    // a manifest that recorded one more order than the archive holds
    writeFileSync(manifestPath, manifest.replace('count techshop.orders 120', 'count techshop.orders 121'));
    const counts = run('verify.sh', { ...dirs, VERIFY_PORT: String(await freePort()) });
    expect(counts.code).not.toBe(0);
    expect(counts.stderr).toMatch(/MISMATCH techshop\.orders: manifest 121, restored 120/);
    writeFileSync(manifestPath, manifest);
    // a flipped byte in the archive
    appendFileSync(join(fetched, `${full}.archive.gz`), 'x');
    const checksum = run('verify.sh', { ...dirs, VERIFY_PORT: String(await freePort()) });
    expect(checksum.code).not.toBe(0);
    expect(checksum.stderr).toMatch(/checksum mismatch/);
  });

  it('restores after the data is dropped and changed: seed, backup, drop, restore, compare', () => {
    mongo.importDocs('techshop', 'orders', [{ _id: 9999, total: 1, status: 'junk' }], true);
    mongo.importDocs('techshop', 'products', [], true);
    expect(mongo.exportDocs('techshop', 'orders')).toHaveLength(1);
    const dirs = freshDirs('restore');
    const fetch = run('fetch.sh', { ...env, ...dirs, FETCH_ARCHIVE: `${full}.archive.gz` });
    expect(fetch.code, fetch.stderr).toBe(0);
    // as the restore Job runs: restore.username (root) with mongodb-root-password
    const restore = run('restore.sh', { ...env, ...dirs, MONGODB_USERNAME: mongo.root.user, MONGODB_PASSWORD: mongo.root.password });
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toMatch(/123 document\(s\) restored successfully/);
    expect(mongo.exportDocs('techshop', 'orders')).toEqual(orders);
    expect(mongo.exportDocs('techshop', 'products')).toEqual(products);
  });

  it('a failed dump writes nothing, and then neither upload nor retention touches anything', () => {
    const dirs = freshDirs('failed-dump');
    writeFileSync(join(dirs.BACKUP_DIR, `mongodb-full-20000101T000000Z.archive.gz`), 'old');
    writeFileSync(join(dirs.BACKUP_DIR, `mongodb-full-20000101T000000Z.archive.gz.sha256`), 'old');
    const dump = run('dump.sh', { ...env, ...dirs, MONGODB_PASSWORD: 'wrong-password' });
    expect(dump.code).not.toBe(0);
    expect(dump.stderr).toMatch(/mongodump failed; nothing was written/);
    expect(readdirSync(dirs.BACKUP_DIR).sort()).toEqual(['mongodb-full-20000101T000000Z.archive.gz', 'mongodb-full-20000101T000000Z.archive.gz.sha256']);
    const upload = run('upload.sh', { ...env, ...dirs });
    expect(upload.code).not.toBe(0);
    expect(upload.stderr).toMatch(/this run wrote no backup set/);
    const before = s3.keys(PREFIX);
    const retention = run('retention.sh', { ...env, ...dirs });
    expect(retention.code).not.toBe(0);
    expect(retention.stderr).toMatch(/nothing is deleted/);
    expect(readdirSync(dirs.BACKUP_DIR)).toHaveLength(2);
    expect(s3.keys(PREFIX)).toEqual(before);
  });

  it('a failed upload fails, and retention after it deletes nothing', () => {
    const dirs = freshDirs('failed-upload');
    const old = `mongodb-full-${stamp(Math.floor(Date.now() / 1000) - 60 * DAY)}`;
    for (const ext of ['.archive.gz', '.archive.gz.sha256', '.manifest']) writeFileSync(join(dirs.BACKUP_DIR, old + ext), 'old');
    expect(run('dump.sh', { ...env, ...dirs }).code).toBe(0);
    const upload = run('upload.sh', { ...env, ...dirs, S3_BUCKET: 'no-such-bucket' });
    expect(upload.code).not.toBe(0);
    expect(upload.stderr).toMatch(/upload of .* failed/);
    const retention = run('retention.sh', { ...env, ...dirs });
    expect(retention.code).not.toBe(0);
    expect(readdirSync(dirs.BACKUP_DIR).filter((f) => f.startsWith(old))).toHaveLength(3);
  });
});

describe('retention over archives of many ages (real aws CLI + S3 server)', () => {
  let s3: S3Server;
  const now = Math.floor(Date.now() / 1000);
  const ages = [0.1, 1, 3, 6.9, 7.1, 8, 13, 20, 29, 29.9, 30.1, 31, 45, 90];
  const setFiles = (stem: string, complete = true) =>
    [`${stem}.archive.gz`, `${stem}.archive.gz.sha256`, ...(complete ? [`${stem}.manifest`] : [])];

  beforeAll(async () => {
    s3 = await startS3('retention-bucket');
  }, 60_000);
  afterAll(async () => {
    await s3?.stop();
  });

  /** One aws process for all objects (the CLI starts slowly). */
  function sync(dir: string, prefix: string) {
    const r = s3.aws(['s3', 'sync', '--only-show-errors', dir, `s3://${s3.bucket}/${prefix}`]);
    if (r.code !== 0) throw new Error(r.stderr);
  }

  it('deletes local sets older than 7 days and remote ones older than 30, by the time in the name, never the newest complete set', () => {
    const dirs = freshDirs('retention');
    const env = { ...s3.env, ...dirs, S3_BUCKET: s3.bucket, S3_PREFIX: PREFIX, S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true', RETENTION_LOCAL_DAYS: '7', RETENTION_REMOTE_DAYS: '30' };
    const stems = ages.map((age) => `mongodb-full-${stamp(now - Math.round(age * DAY))}`);
    const incomplete = `mongodb-full-${stamp(now - 40 * DAY - 60)}`;
    // the newest Redis and oplog sets are old: they still stay (the newest of their kind)
    const redisOld = [`redis-${stamp(now - 50 * DAY)}`, `redis-${stamp(now - 40 * DAY)}`];
    const oplogOld = [`mongodb-oplog-${stamp(now - 35 * DAY)}`, `mongodb-oplog-${stamp(now - 2 * DAY)}`];
    const foreign = ['notes-20000101T000000Z.txt', 'mongodb-full-latest.archive.gz'];
    const local: string[] = [];
    for (const stem of stems) local.push(...setFiles(stem));
    local.push(...setFiles(incomplete, false));
    for (const stem of redisOld) local.push(`${stem}.rdb`, `${stem}.rdb.sha256`, `${stem}.manifest`);
    for (const stem of oplogOld) local.push(`${stem}.bson.gz`, `${stem}.bson.gz.sha256`, `${stem}.manifest`);
    local.push(...foreign);
    for (const name of local) {
      writeFileSync(join(dirs.BACKUP_DIR, name), name);
      // mtimes that lie (new files look ancient and old ones fresh): names decide
      const t = name.includes(stamp(now - Math.round(0.1 * DAY))) ? now - 400 * DAY : now;
      utimesSync(join(dirs.BACKUP_DIR, name), t, t);
    }
    sync(dirs.BACKUP_DIR, PREFIX);
    // this run: the newest set, already uploaded
    writeFileSync(join(dirs.WORK_DIR, 'uploaded-sets'), `${stems[0]}\n`);

    const r = run('retention.sh', env);
    expect(r.code, r.stderr).toBe(0);

    const keepLocal = (age: number) => age <= 7;
    const keepRemote = (age: number) => age <= 30;
    const expectedLocal = [
      ...stems.flatMap((stem, i) => (keepLocal(ages[i]!) ? setFiles(stem) : [])),
      `${redisOld[1]}.rdb`, `${redisOld[1]}.rdb.sha256`, `${redisOld[1]}.manifest`,
      `${oplogOld[1]}.bson.gz`, `${oplogOld[1]}.bson.gz.sha256`, `${oplogOld[1]}.manifest`,
      ...foreign,
    ].sort();
    expect(readdirSync(dirs.BACKUP_DIR).sort()).toEqual(expectedLocal);
    const expectedRemote = [
      ...stems.flatMap((stem, i) => (keepRemote(ages[i]!) ? setFiles(stem) : [])),
      `${redisOld[1]}.rdb`, `${redisOld[1]}.rdb.sha256`, `${redisOld[1]}.manifest`,
      `${oplogOld[1]}.bson.gz`, `${oplogOld[1]}.bson.gz.sha256`, `${oplogOld[1]}.manifest`,
      ...foreign,
    ].map((n) => PREFIX + n).sort();
    expect(s3.keys(PREFIX)).toEqual(expectedRemote);
  });

  it('keeps the newest complete full dump even when every dump is past both limits', () => {
    const dirs = freshDirs('retention-old');
    const prefix = 'old/';
    const env = { ...s3.env, ...dirs, S3_BUCKET: s3.bucket, S3_PREFIX: prefix, S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true' };
    const old = [60, 50, 40].map((d) => `mongodb-full-${stamp(now - d * DAY)}`);
    const newestIncomplete = `mongodb-full-${stamp(now - 35 * DAY)}`;
    const redisNow = `redis-${stamp(now)}`;
    const names = [...old.flatMap((s) => setFiles(s)), ...setFiles(newestIncomplete, false), `${redisNow}.rdb`, `${redisNow}.rdb.sha256`, `${redisNow}.manifest`];
    for (const name of names) writeFileSync(join(dirs.BACKUP_DIR, name), name);
    sync(dirs.BACKUP_DIR, prefix);
    writeFileSync(join(dirs.WORK_DIR, 'uploaded-sets'), `${redisNow}\n`);
    const r = run('retention.sh', env);
    expect(r.code, r.stderr).toBe(0);
    const kept = [...setFiles(old[2]!), `${redisNow}.rdb`, `${redisNow}.rdb.sha256`, `${redisNow}.manifest`].sort();
    expect(readdirSync(dirs.BACKUP_DIR).sort()).toEqual(kept);
    expect(s3.keys(prefix)).toEqual(kept.map((n) => prefix + n));
  });

  it('deletes nothing when this run\'s set is not complete in the bucket', () => {
    const dirs = freshDirs('retention-missing');
    const env = { ...s3.env, ...dirs, S3_BUCKET: s3.bucket, S3_PREFIX: 'missing/', S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true' };
    const old = `mongodb-full-${stamp(now - 90 * DAY)}`;
    for (const name of setFiles(old)) writeFileSync(join(dirs.BACKUP_DIR, name), name);
    writeFileSync(join(dirs.WORK_DIR, 'uploaded-sets'), `mongodb-full-${stamp(now)}\n`);
    const r = run('retention.sh', env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is not in the bucket: nothing is deleted/);
    expect(readdirSync(dirs.BACKUP_DIR)).toHaveLength(3);
  });
});

describe('Redis RDB copy (real redis-server and redis-cli)', () => {
  it('copies a snapshot with its checksum and manifest, the password only in REDISCLI_AUTH', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'backup-redis-'));
    const password = 'redis-secret-pw';
    const server = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--requirepass', password, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 10_000;
      const cli = (...args: string[]) => spawnSync('/usr/bin/redis-cli', ['-p', String(port), '--no-auth-warning', '-a', password, ...args], { encoding: 'utf8', timeout: 10_000 });
      while (cli('PING').stdout.trim() !== 'PONG') {
        if (Date.now() > deadline) throw new Error('redis-server did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(cli('SET', 'session:1', 'alice').stdout.trim()).toBe('OK');
      const dirs = freshDirs('redis');
      const r = run('redis-rdb.sh', { ...dirs, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), REDISCLI_AUTH: password });
      expect(r.code, r.stderr).toBe(0);
      const files = readdirSync(dirs.BACKUP_DIR).sort();
      expect(files).toHaveLength(3);
      const rdb = files.find((f) => f.endsWith('.rdb'))!;
      expect(readFileSync(join(dirs.BACKUP_DIR, rdb)).subarray(0, 5).toString()).toBe('REDIS');
      expect(readFileSync(join(dirs.BACKUP_DIR, rdb)).includes(Buffer.from('alice'))).toBe(true);
      expect(spawnSync('sha256sum', ['--check', `${rdb}.sha256`], { cwd: dirs.BACKUP_DIR }).status).toBe(0);
      expect(readFileSync(join(dirs.WORK_DIR, 'run-sets'), 'utf8')).toBe(`${rdb.replace(/\.rdb$/, '')}\n`);
      const bad = run('redis-rdb.sh', { ...freshDirs('redis-bad'), REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), REDISCLI_AUTH: 'wrong' });
      expect(bad.code).not.toBe(0);
    } finally {
      server.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
// The oplog, for real: one-member replica sets of the mongodb chart.
// ---------------------------------------------------------------------------

/** The newest oplog entry's timestamp (T:I), read as root. */
async function newestOplog(mongo: MongoServer): Promise<string> {
  return mongo.sh.eval(mongo.uri, 'const e = db.getSiblingDB("local").oplog.rs.find().sort({ $natural: -1 }).limit(1).next(); print(`${e.ts.t}:${e.ts.i}`)');
}

/** Runs writes as root on the primary, majority-acknowledged. */
async function write(mongo: MongoServer, js: string): Promise<void> {
  await mongo.sh.eval(mongo.uri, `const o = db.getSiblingDB("techshop").orders; const wc = { writeConcern: { w: "majority" } }; ${js}`);
}

/** Waits until the wall clock is past the start of the next second (backup names and --oplogLimit are in seconds). */
async function nextSecond(): Promise<number> {
  const next = Math.floor(Date.now() / 1000) + 1;
  await new Promise((r) => setTimeout(r, next * 1000 - Date.now() + 50));
  return next;
}

describe('replica set for real: dump --oplog, oplog slices, S3, verification, point-in-time restore into a fresh replica set', () => {
  let source: MongoServer;
  let target: MongoServer;
  let s3: S3Server;
  let env: Record<string, string>;
  let dirs: { BACKUP_DIR: string; WORK_DIR: string };
  let full = '';
  let pointInTime = 0;
  const slices: string[] = [];
  const seed = Array.from({ length: 50 }, (_, i) => ({ _id: i + 1, total: i + 1, status: 'new' }));

  beforeAll(async () => {
    [source, target, s3] = await Promise.all([
      startChartMongo(helm, 'replicaset', join(root, 'rs-source')),
      startChartMongo(helm, 'replicaset', join(root, 'rs-target')),
      startS3('rs-bucket'),
    ]);
    source.importDocs('techshop', 'orders', seed);
    env = {
      ...s3.env,
      MONGODB_HOSTS: source.hosts,
      MONGODB_REPLICA_SET: source.replicaSet,
      MONGODB_USERNAME: source.backup.user,
      MONGODB_PASSWORD: source.backup.password,
      MONGODB_AUTH_SOURCE: 'admin',
      S3_BUCKET: s3.bucket,
      S3_PREFIX: PREFIX,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
    };
    dirs = freshDirs('rs');
  }, 300_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop(), s3?.stop()]);
  });

  it('oplog.sh refuses on a standalone and writes nothing without a full dump to continue from', () => {
    const standalone = run('oplog.sh', { ...env, ...freshDirs('oplog-standalone'), MONGODB_REPLICA_SET: '' });
    expect(standalone.code).not.toBe(0);
    expect(standalone.stderr).toMatch(/standalone: it has no oplog, so only full dumps are possible/);
    const nobase = freshDirs('oplog-nobase');
    const r = run('oplog.sh', { ...env, ...nobase });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/nothing to continue from/);
    expect(readdirSync(nobase.BACKUP_DIR)).toEqual([]);
  });

  it('a full dump uses --oplog as the backup user and records the oplog position and counts', async () => {
    const before = await newestOplog(source);
    const dump = run('dump.sh', { ...env, ...dirs });
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stderr).toMatch(/replica set rs0: dumping with --oplog/);
    expect(dump.stderr).toMatch(/writing captured oplog to/);
    full = readdirSync(dirs.BACKUP_DIR).find((f) => f.endsWith('.manifest'))!.replace(/\.manifest$/, '');
    const manifest = readFileSync(join(dirs.BACKUP_DIR, `${full}.manifest`), 'utf8');
    expect(manifest).toMatch(/^oplog=true$/m);
    expect(manifest).toMatch(/^replica_set=rs0$/m);
    expect(manifest).toMatch(/^count techshop\.orders 50$/m);
    // the position is the real oplog's newest entry when the dump started
    expect(manifest).toMatch(new RegExp(`^oplog_from=${before}$`, 'm'));
    const upload = run('upload.sh', { ...env, ...dirs });
    expect(upload.code, upload.stderr).toBe(0);
  });

  it('oplog slices chain (full position, now], then (previous slice, now]; a gap fails', async () => {
    // A: before the point in time
    await write(source, 'o.insertMany([51, 52, 53].map((i) => ({ _id: i, total: i, status: "A" })), wc); o.updateOne({ _id: 1 }, { $set: { status: "A" } }, wc); o.deleteOne({ _id: 2 }, wc)');
    // a user created after the dump: slices leave admin.system.* out, a restore never touches users
    await source.sh.eval(source.uri, 'db.getSiblingDB("admin").createUser({ user: "late", pwd: "late-pw-1", roles: [] })');
    pointInTime = await nextSecond();
    // B: after it, in the same slice
    await write(source, 'o.insertMany([61, 62].map((i) => ({ _id: i, total: i, status: "B" })), wc); o.updateOne({ _id: 3 }, { $set: { status: "B" } }, wc); o.deleteOne({ _id: 4 }, wc)');
    const untilFirst = await newestOplog(source);
    const first = run('oplog.sh', { ...env, ...dirs });
    expect(first.code, first.stderr).toBe(0);
    await nextSecond();
    // C: in the second slice
    await write(source, 'o.insertOne({ _id: 71, total: 71, status: "C" }, wc)');
    const second = run('oplog.sh', { ...env, ...dirs });
    expect(second.code, second.stderr).toBe(0);

    slices.push(...readdirSync(dirs.BACKUP_DIR).filter((f) => f.startsWith('mongodb-oplog-') && f.endsWith('.manifest')).map((f) => f.replace(/\.manifest$/, '')).sort());
    expect(slices).toHaveLength(2);
    const [m1, m2] = slices.map((stem) => readFileSync(join(dirs.BACKUP_DIR, `${stem}.manifest`), 'utf8'));
    const fullFrom = /^oplog_from=(.*)$/m.exec(readFileSync(join(dirs.BACKUP_DIR, `${full}.manifest`), 'utf8'))?.[1];
    expect(m1).toMatch(new RegExp(`^after=${full}$`, 'm'));
    expect(m1).toMatch(new RegExp(`^oplog_from=${fullFrom}$`, 'm'));
    const until1 = /^oplog_until=(.*)$/m.exec(m1!)?.[1] ?? '';
    // the first slice reaches at least the last write of B (the primary may add periodic no-ops)
    const [ut, ui] = until1.split(':').map(Number);
    const [bt, bi] = untilFirst.split(':').map(Number);
    expect(ut! > bt! || (ut === bt && ui! >= bi!)).toBe(true);
    expect(m2).toMatch(new RegExp(`^after=${slices[0]}$`, 'm'));
    expect(m2).toMatch(new RegExp(`^oplog_from=${until1}$`, 'm'));
    for (const stem of slices) expect(spawnSync('sha256sum', ['--check', `${stem}.bson.gz.sha256`], { cwd: dirs.BACKUP_DIR }).status).toBe(0);

    const upload = run('upload.sh', { ...env, ...dirs });
    expect(upload.code, upload.stderr).toBe(0);
    expect(s3.keys(PREFIX).filter((k) => k.endsWith('.manifest'))).toEqual([full, ...slices].map((stem) => `${PREFIX}${stem}.manifest`));
    const retention = run('retention.sh', { ...env, ...dirs });
    expect(retention.code, retention.stderr).toBe(0);
    expect(retention.stderr).toMatch(/0 file\(s\) deleted/);

    // a chain whose last position is older than the oplog's first entry: a real gap
    const gap = freshDirs('oplog-gap');
    writeFileSync(join(gap.BACKUP_DIR, 'mongodb-full-20000101T000000Z.manifest'), 'format=1\nkind=full\noplog=true\noplog_from=946684800:1\n');
    const r = run('oplog.sh', { ...env, ...gap });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/a replay would have a gap; take a full dump/);
    expect(readdirSync(gap.BACKUP_DIR)).toHaveLength(1);
  }, 180_000);

  it('verifies the full dump with its default throwaway mongod', async () => {
    const vdirs = freshDirs('rs-verify');
    expect(run('fetch.sh', { ...env, ...vdirs, FETCH_ARCHIVE: full }).code).toBe(0);
    const verify = run('verify.sh', { ...vdirs, VERIFY_PORT: String(await freePort()) });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stderr).toMatch(new RegExp(`verification of ${full} passed`));
  });

  it('restores to a point in time into a fresh replica set: exactly the writes before it, none after', async () => {
    const rdirs = freshDirs('rs-pitr');
    const iso = new Date(pointInTime * 1000).toISOString().replace(/\.000Z$/, 'Z');
    const fetch = run('fetch.sh', { ...env, ...rdirs, FETCH_ARCHIVE: `${full}.archive.gz`, FETCH_POINT_IN_TIME: iso });
    expect(fetch.code, fetch.stderr).toBe(0);
    expect(readFileSync(join(rdirs.WORK_DIR, 'fetch', 'plan'), 'utf8')).toBe(`full ${full}\noplog ${slices[0]}\nlimit ${pointInTime}\n`);
    // as the restore Job runs: restore.username (root) and mongodb-root-password, against the target's hosts
    const restore = run('restore.sh', {
      ...rdirs,
      MONGODB_HOSTS: target.hosts,
      MONGODB_REPLICA_SET: target.replicaSet,
      MONGODB_USERNAME: target.root.user,
      MONGODB_PASSWORD: target.root.password,
      MONGODB_AUTH_SOURCE: 'admin',
    });
    expect(restore.code, restore.stderr).toBe(0);
    const expected = seed
      .filter((d) => d._id !== 2)
      .map((d) => (d._id === 1 ? { ...d, status: 'A' } : d))
      .concat([51, 52, 53].map((i) => ({ _id: i, total: i, status: 'A' })));
    expect(target.exportDocs('techshop', 'orders')).toEqual(expected);
    const users = await target.sh.eval(target.uri, 'print(db.getSiblingDB("admin").system.users.find().toArray().map((u) => u._id).sort().join())');
    expect(users).toBe('admin.backup,admin.metrics,admin.root,techshop.techshop');
    // the source went on: B and C are there, not in the restore
    expect(source.exportDocs('techshop', 'orders').filter((d) => d.status === 'B' || d.status === 'C').map((d) => d._id)).toEqual([3, 61, 62, 71]);
  }, 180_000);

  it('refuses a broken slice chain before writing anything, and times it cannot reach', () => {
    const bdirs = freshDirs('rs-broken');
    expect(run('fetch.sh', { ...env, ...bdirs, FETCH_ARCHIVE: full, FETCH_POINT_IN_TIME: new Date((pointInTime + 1) * 1000).toISOString() }).code).toBe(0);
    // the second slice's manifest claims a start after the first's end
    const fetched = join(bdirs.WORK_DIR, 'fetch');
    writeFileSync(join(fetched, 'plan'), `full ${full}\noplog ${slices[1]}\nlimit ${pointInTime + 1}\n`);
    for (const ext of ['.manifest', '.bson.gz', '.bson.gz.sha256']) {
      const r = s3.aws(['s3', 'cp', '--only-show-errors', `s3://${s3.bucket}/${PREFIX}${slices[1]}${ext}`, join(fetched, `${slices[1]}${ext}`)]);
      expect(r.code, r.stderr).toBe(0);
    }
    target.importDocs('techshop', 'sentinel', [{ _id: 'untouched' }]);
    const restore = run('restore.sh', { ...bdirs, MONGODB_HOSTS: target.hosts, MONGODB_REPLICA_SET: target.replicaSet, MONGODB_USERNAME: target.root.user, MONGODB_PASSWORD: target.root.password });
    expect(restore.code).not.toBe(0);
    expect(restore.stderr).toMatch(new RegExp(`incremental chain is broken before ${slices[1]}`));
    expect(target.exportDocs('techshop', 'sentinel')).toEqual([{ _id: 'untouched' }]);

    const before = run('fetch.sh', { ...env, ...freshDirs('rs-before'), FETCH_ARCHIVE: full, FETCH_POINT_IN_TIME: '2000-01-01T00:00:00Z' });
    expect(before.code).not.toBe(0);
    expect(before.stderr).toMatch(/not after the full dump/);
    const after = run('fetch.sh', { ...env, ...freshDirs('rs-after'), FETCH_ARCHIVE: full, FETCH_POINT_IN_TIME: '2999-01-01T00:00:00Z' });
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(/no incremental slice reaches/);
  });
});

