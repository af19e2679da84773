// The backup chart's scripts, extracted from the rendered ConfigMap and run for
// real: mongodump/mongorestore (built from MongoDB's Go source) against FerretDB
// (SQLite backend), Debian's aws CLI against an S3-compatible server, and
// redis-cli against redis-server, all on 127.0.0.1. What FerretDB cannot do (an
// oplog) is exercised with stand-in commands that record their arguments.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmMatrix } from '../scripts/lib/helm.ts';
import { buildDependencies, findObject, renderChart } from '../scripts/lib/render.ts';
import { FERRETDB_VERIFY_CMD, startFerretDB, type MongoServer } from './helpers/mongo.ts';
import { freePort } from './helpers/registry.ts';
import { AWS, BACKUP_TOOLS_BIN, ensureBackupTools, startS3, type S3Server } from './helpers/s3.ts';

const PREFIX = 'mongodb/';
const DAY = 86_400;
let scriptsDir = '';
let root = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one shipped script with only the given environment (plus PATH). */
function run(script: string, env: Record<string, string>, pathFirst: string[] = []): Run {
  const r = spawnSync('bash', [join(scriptsDir, script)], {
    env: { PATH: [...pathFirst, BACKUP_TOOLS_BIN, '/usr/bin', '/bin'].join(':'), AWS_CLI: AWS, ...env },
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
  const [helm] = await helmMatrix();
  if (!helm) throw new Error('no helm');
  await buildDependencies(helm, ['backup']);
  const objects = await renderChart(helm, 'backup', { showOnly: ['templates/configmap.yaml'] });
  const data = findObject(objects, 'ConfigMap', 'shop-backup-scripts').data ?? {};
  for (const [name, text] of Object.entries(data)) {
    writeFileSync(join(scriptsDir, name), `${text}\n`);
    chmodSync(join(scriptsDir, name), 0o755);
  }
}, 1_600_000);

afterAll(() => {
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

describe('real round trip: FerretDB + mongodump/mongorestore + aws CLI + S3 server', () => {
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
    [mongo, s3] = await Promise.all([startFerretDB(), startS3()]);
    mongo.importDocs('techshop', 'orders', orders);
    mongo.importDocs('techshop', 'products', products);
    env = {
      ...s3.env,
      MONGODB_HOSTS: mongo.hosts,
      MONGODB_REPLICA_SET: '',
      MONGODB_USERNAME: mongo.username,
      MONGODB_PASSWORD: mongo.password,
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
    expect(manifest).not.toContain(mongo.password);
    // the password went to the tools through a 0600 file, not the command line
    expect(readFileSync(join(dirs.WORK_DIR, 'mongo-tools.yaml'), 'utf8')).toContain(mongo.password);
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

  it('verifies the newest archive by restoring it into a throwaway server (FerretDB standing in for mongod)', async () => {
    const dirs = freshDirs('verify-ok');
    const fetch = run('fetch.sh', { ...env, ...dirs });
    expect(fetch.code, fetch.stderr).toBe(0);
    expect(readFileSync(join(dirs.WORK_DIR, 'fetch', 'plan'), 'utf8')).toBe(`full ${full}\n`);
    const verify = run('verify.sh', { ...dirs, VERIFY_PORT: String(await freePort()), VERIFY_SERVER_CMD: FERRETDB_VERIFY_CMD });
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
    const counts = run('verify.sh', { ...dirs, VERIFY_PORT: String(await freePort()), VERIFY_SERVER_CMD: FERRETDB_VERIFY_CMD });
    expect(counts.code).not.toBe(0);
    expect(counts.stderr).toMatch(/MISMATCH techshop\.orders: manifest 121, restored 120/);
    writeFileSync(manifestPath, manifest);
    // a flipped byte in the archive
    appendFileSync(join(fetched, `${full}.archive.gz`), 'x');
    const checksum = run('verify.sh', { ...dirs, VERIFY_PORT: String(await freePort()), VERIFY_SERVER_CMD: FERRETDB_VERIFY_CMD });
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
    const restore = run('restore.sh', { ...env, ...dirs });
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
// The oplog: FerretDB has none, so mongoexport/mongodump/mongorestore are
// stand-ins on PATH that record their arguments (one JSON array per line).
// ---------------------------------------------------------------------------
function standIns(dir: string): string {
  const bin = join(dir, 'standin-bin');
  mkdirSync(bin, { recursive: true });
  const record = 'printf "%s\\0" "$(basename "$0")" "$@" | python3 -c \'import sys,json; print(json.dumps(sys.stdin.buffer.read().decode().split("\\0")[:-1]))\' >>"$STANDIN_LOG"';
  writeFileSync(join(bin, 'mongoexport'), `#!/bin/bash\n${record}\nif [[ "$*" == *'"$natural":1'* ]]; then t=$STANDIN_OLDEST; else t=$STANDIN_NEWEST; fi\nprintf '{"ts":{"$timestamp":{"t":%s,"i":%s}}}\\n' "\${t%%:*}" "\${t##*:}"\n`);
  writeFileSync(
    join(bin, 'mongodump'),
    `#!/bin/bash\n${record}\nfor a in "$@"; do case $a in --out=*) out=\${a#--out=} ;; --archive=*) archive=\${a#--archive=} ;; esac; done\n` +
      `if [[ -n \${out:-} ]]; then mkdir -p "$out/local"; printf 'oplog-entries-%s' "$STANDIN_NEWEST" | gzip >"$out/local/oplog.rs.bson.gz"; echo "x\tdone dumping local.oplog.rs (5 documents)" >&2; fi\n` +
      `if [[ -n \${archive:-} ]]; then printf 'archive' | gzip >"$archive"; echo "x\tdone dumping techshop.orders (7 documents)" >&2; fi\n`,
  );
  writeFileSync(join(bin, 'mongorestore'), `#!/bin/bash\n${record}\nlast=\${!#}; if [[ -f $last/oplog.bson ]]; then cp "$last/oplog.bson" "$STANDIN_LOG.oplog.bson"; fi\n`);
  for (const name of ['mongoexport', 'mongodump', 'mongorestore']) chmodSync(join(bin, name), 0o755);
  return bin;
}

function calls(log: string): string[][] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
}

describe('incremental oplog slices (stand-in mongodump/mongoexport)', () => {
  const base = 1_738_288_800; // 2025-01-31T02:00:00Z
  const mongoEnv = { MONGODB_HOSTS: 'mongo-0:27017,mongo-1:27017', MONGODB_REPLICA_SET: 'rs0', MONGODB_USERNAME: 'backup', MONGODB_PASSWORD: 'standin-secret' };

  it('a full dump on a replica set uses --oplog, a secondary, and records the oplog position', () => {
    const dirs = freshDirs('oplog-full');
    const bin = standIns(dirs.WORK_DIR);
    const log = join(dirs.WORK_DIR, 'calls');
    const r = run('dump.sh', { ...dirs, ...mongoEnv, STANDIN_LOG: log, STANDIN_NEWEST: '1738288790:3', BACKUP_NOW: String(base) }, [bin]);
    expect(r.code, r.stderr).toBe(0);
    const dump = calls(log).find((c) => c[0] === 'mongodump')!;
    expect(dump).toEqual(expect.arrayContaining(['--oplog', '--readPreference=secondaryPreferred', '--gzip', '--uri=mongodb://mongo-0:27017,mongo-1:27017/?authSource=admin&replicaSet=rs0', '--username=backup']));
    expect(dump.join(' ')).not.toContain('standin-secret');
    const manifest = readFileSync(join(dirs.BACKUP_DIR, 'mongodb-full-20250131T020000Z.manifest'), 'utf8');
    expect(manifest).toMatch(/^oplog=true$/m);
    expect(manifest).toMatch(/^oplog_from=1738288790:3$/m);
    expect(manifest).toMatch(/^count techshop\.orders 7$/m);
  });

  it('refuses on a standalone server: only full dumps are possible', () => {
    const dirs = freshDirs('oplog-standalone');
    const r = run('oplog.sh', { ...dirs, ...mongoEnv, MONGODB_REPLICA_SET: '' }, [standIns(dirs.WORK_DIR)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/standalone: it has no oplog, so only full dumps are possible/);
  });

  it('writes nothing without a full dump to continue from', () => {
    const dirs = freshDirs('oplog-nobase');
    const log = join(dirs.WORK_DIR, 'calls');
    const r = run('oplog.sh', { ...dirs, ...mongoEnv, STANDIN_LOG: log }, [standIns(dirs.WORK_DIR)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/nothing to continue from/);
    expect(calls(log)).toEqual([]);
    expect(readdirSync(dirs.BACKUP_DIR)).toEqual([]);
  });

  it('chains slices: (full position, now], then (previous slice, now]; no new entries writes nothing; a gap fails', () => {
    const dirs = freshDirs('oplog-chain');
    const bin = standIns(dirs.WORK_DIR);
    const log = join(dirs.WORK_DIR, 'calls');
    const full = 'mongodb-full-20250131T020000Z';
    writeFileSync(join(dirs.BACKUP_DIR, `${full}.manifest`), 'format=1\nkind=full\noplog=true\noplog_from=1738288790:3\n');
    const env = { ...dirs, ...mongoEnv, STANDIN_LOG: log, STANDIN_OLDEST: '1738200000:1' };

    const first = run('oplog.sh', { ...env, STANDIN_NEWEST: '1738310400:7', BACKUP_NOW: String(base + 6 * 3600) }, [bin]);
    expect(first.code, first.stderr).toBe(0);
    const slice1 = 'mongodb-oplog-20250131T080000Z';
    const dump1 = calls(log).filter((c) => c[0] === 'mongodump')[0]!;
    expect(dump1).toEqual(expect.arrayContaining(['--db=local', '--collection=oplog.rs', '--readPreference=secondaryPreferred', '--gzip']));
    expect(dump1).toContain('--query={"ts":{"$gt":{"$timestamp":{"t":1738288790,"i":3}},"$lte":{"$timestamp":{"t":1738310400,"i":7}}}}');
    expect(readdirSync(dirs.BACKUP_DIR).sort()).toEqual([`${full}.manifest`, `${slice1}.bson.gz`, `${slice1}.bson.gz.sha256`, `${slice1}.manifest`]);
    const m1 = readFileSync(join(dirs.BACKUP_DIR, `${slice1}.manifest`), 'utf8');
    expect(m1).toMatch(new RegExp(`^after=${full}$`, 'm'));
    expect(m1).toMatch(/^oplog_from=1738288790:3$/m);
    expect(m1).toMatch(/^oplog_until=1738310400:7$/m);
    expect(m1).toMatch(/^count local\.oplog\.rs 5$/m);
    expect(readFileSync(join(dirs.WORK_DIR, 'run-sets'), 'utf8')).toBe(`${slice1}\n`);

    const second = run('oplog.sh', { ...env, STANDIN_NEWEST: '1738332000:2', BACKUP_NOW: String(base + 12 * 3600) }, [bin]);
    expect(second.code, second.stderr).toBe(0);
    const dump2 = calls(log).filter((c) => c[0] === 'mongodump')[1]!;
    expect(dump2).toContain('--query={"ts":{"$gt":{"$timestamp":{"t":1738310400,"i":7}},"$lte":{"$timestamp":{"t":1738332000,"i":2}}}}');

    const idle = run('oplog.sh', { ...env, STANDIN_NEWEST: '1738332000:2', BACKUP_NOW: String(base + 18 * 3600) }, [bin]);
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.stderr).toMatch(/no new oplog entries/);
    expect(calls(log).filter((c) => c[0] === 'mongodump')).toHaveLength(2);

    const gap = run('oplog.sh', { ...env, STANDIN_OLDEST: '1738340000:0', STANDIN_NEWEST: '1738350000:0', BACKUP_NOW: String(base + 24 * 3600) }, [bin]);
    expect(gap.code).not.toBe(0);
    expect(gap.stderr).toMatch(/a replay would have a gap; take a full dump/);
    expect(calls(log).filter((c) => c[0] === 'mongodump')).toHaveLength(2);
  });
});

describe('point-in-time restore (real aws CLI + S3 server for the download, stand-in mongorestore)', () => {
  let s3: S3Server;
  const t0 = 1_738_288_800; // 2025-01-31T02:00:00Z
  const prefix = 'pitr/';
  const mongoEnv = { MONGODB_HOSTS: 'mongo-0:27017', MONGODB_REPLICA_SET: 'rs0', MONGODB_USERNAME: 'root', MONGODB_PASSWORD: 'standin-secret' };

  beforeAll(async () => {
    s3 = await startS3('pitr-bucket');
  }, 60_000);
  afterAll(async () => {
    await s3?.stop();
  });

  /** Writes a set (data, .sha256, manifest) into dir; returns the data bytes. */
  function writeSet(dir: string, stem: string, ext: string, manifest: Record<string, string>, payload: string): void {
    const data = gzipSync(Buffer.from(payload));
    writeFileSync(join(dir, stem + ext), data);
    const sha = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(dir, `${stem}${ext}.sha256`), `${sha}  ${stem}${ext}\n`);
    const lines = Object.entries({ format: '1', name: stem + ext, sha256: sha, ...manifest }).map(([k, v]) => `${k}=${v}`);
    writeFileSync(join(dir, `${stem}.manifest`), `${lines.join('\n')}\n`);
  }

  function seed(name: string, brokenChain = false) {
    const dir = join(root, name, 'bucket');
    mkdirSync(dir, { recursive: true });
    const ts = (h: number) => stamp(t0 + h * 3600);
    writeSet(dir, `mongodb-full-${ts(0)}`, '.archive.gz', { kind: 'full', oplog: 'true', oplog_from: `${t0 - 10}:1` }, 'full');
    writeSet(dir, `mongodb-oplog-${ts(6)}`, '.bson.gz', { kind: 'oplog', oplog_from: `${t0 - 10}:1`, oplog_until: `${t0 + 6 * 3600}:4` }, 'slice-1;');
    writeSet(dir, `mongodb-oplog-${ts(12)}`, '.bson.gz', { kind: 'oplog', oplog_from: brokenChain ? `${t0 + 7 * 3600}:0` : `${t0 + 6 * 3600}:4`, oplog_until: `${t0 + 12 * 3600}:9` }, 'slice-2;');
    writeSet(dir, `mongodb-oplog-${ts(18)}`, '.bson.gz', { kind: 'oplog', oplog_from: `${t0 + 12 * 3600}:9`, oplog_until: `${t0 + 18 * 3600}:1` }, 'slice-3;');
    const p = `${prefix}${name}/`;
    const r = s3.aws(['s3', 'sync', '--only-show-errors', dir, `s3://${s3.bucket}/${p}`]);
    if (r.code !== 0) throw new Error(r.stderr);
    return { ...s3.env, S3_BUCKET: s3.bucket, S3_PREFIX: p, S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true' };
  }

  it('downloads the full dump and the slices up to the time, checks them, and replays with --oplogLimit', () => {
    const s3env = seed('ok');
    const dirs = freshDirs('pitr-ok');
    const pit = '2025-01-31T10:30:00Z';
    const fetch = run('fetch.sh', { ...s3env, ...dirs, FETCH_ARCHIVE: 'mongodb-full-20250131T020000Z.archive.gz', FETCH_POINT_IN_TIME: pit });
    expect(fetch.code, fetch.stderr).toBe(0);
    const limit = Date.parse(pit) / 1000;
    expect(readFileSync(join(dirs.WORK_DIR, 'fetch', 'plan'), 'utf8')).toBe(
      `full mongodb-full-20250131T020000Z\noplog mongodb-oplog-20250131T080000Z\noplog mongodb-oplog-20250131T140000Z\nlimit ${limit}\n`,
    );
    const log = join(dirs.WORK_DIR, 'calls');
    const restore = run('restore.sh', { ...dirs, ...mongoEnv, STANDIN_LOG: log }, [standIns(dirs.WORK_DIR)]);
    expect(restore.code, restore.stderr).toBe(0);
    const [full, replay, ...rest] = calls(log);
    expect(rest).toEqual([]);
    expect(full).toEqual(expect.arrayContaining(['mongorestore', `--archive=${join(dirs.WORK_DIR, 'fetch', 'mongodb-full-20250131T020000Z.archive.gz')}`, '--gzip', '--drop', '--nsExclude=admin.system.*', '--oplogReplay']));
    expect(replay).toEqual(expect.arrayContaining(['mongorestore', '--oplogReplay', `--oplogLimit=${limit}:0`, join(dirs.WORK_DIR, 'replay')]));
    expect(readFileSync(`${log}.oplog.bson`, 'utf8')).toBe('slice-1;slice-2;');
    expect([...full!, ...replay!].join(' ')).not.toContain('standin-secret');
  });

  it('refuses a broken slice chain before writing anything, and times it cannot reach', () => {
    const broken = seed('broken', true);
    const dirs = freshDirs('pitr-broken');
    expect(run('fetch.sh', { ...broken, ...dirs, FETCH_ARCHIVE: 'mongodb-full-20250131T020000Z', FETCH_POINT_IN_TIME: '2025-01-31T13:00:00Z' }).code).toBe(0);
    const log = join(dirs.WORK_DIR, 'calls');
    const restore = run('restore.sh', { ...dirs, ...mongoEnv, STANDIN_LOG: log }, [standIns(dirs.WORK_DIR)]);
    expect(restore.code).not.toBe(0);
    expect(restore.stderr).toMatch(/incremental chain is broken before mongodb-oplog-20250131T140000Z/);
    expect(calls(log)).toEqual([]);

    const ok = seed('late');
    const before = run('fetch.sh', { ...ok, ...freshDirs('pitr-before'), FETCH_ARCHIVE: 'mongodb-full-20250131T020000Z', FETCH_POINT_IN_TIME: '2025-01-31T01:00:00Z' });
    expect(before.code).not.toBe(0);
    expect(before.stderr).toMatch(/not after the full dump/);
    const after = run('fetch.sh', { ...ok, ...freshDirs('pitr-after'), FETCH_ARCHIVE: 'mongodb-full-20250131T020000Z', FETCH_POINT_IN_TIME: '2025-02-01T01:00:00Z' });
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(/no incremental slice reaches/);
  });
});
