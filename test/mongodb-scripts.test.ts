// The scripts charts/mongodb ships, taken from `helm template` output and run
// for real: shellcheck, then bootstrap.sh and mongo-init.js against real mongod
// 6.0.5 processes (three, then five members of a replica set, and a
// standalone) started with the rendered mongod arguments, the rendered keyfile
// and the rendered environment, on free ports of 127.0.0.1 (test/helpers/mongod.ts,
// ChartPods). The users mongo-init.js creates are then checked for least
// privilege with their passwords from the rendered Secret.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { findObject, type K8sObject } from '../scripts/lib/render.ts';
import { ciValues, renderMongo } from './fixtures/mongodb/render.ts';
import { ChartPods, directUri, ensureMongoTools, killAllMongod, mongoshEnv, shell, tempDir, waitUntil, type Shell } from './helpers/mongod.ts';
import { freePort } from './helpers/registry.ts';
import { helms } from './helpers/render.ts';
import { BACKUP_TOOLS_BIN } from './helpers/s3.ts';

const SHELLCHECK = '/usr/bin/shellcheck';
const MONGODUMP = join(BACKUP_TOOLS_BIN, 'mongodump');
const pw = () => randomBytes(18).toString('hex');
const credentials = {
  rootPassword: pw(),
  password: pw(),
  metricsPassword: pw(),
  backupPassword: pw(),
  replicaSetKey: randomBytes(96).toString('base64'),
};

let root: string;
let sh: Shell;
let rs3: K8sObject[];
let rs5: K8sObject[];
let standalone: K8sObject[];
let scripts: Record<string, string>;

/** A values file with inline credentials, so that renders of several sizes share them. */
function valuesFile(name: string, values: object): string {
  const path = join(root, `${name}.json`);
  writeFileSync(path, JSON.stringify(values));
  return path;
}

beforeAll(async () => {
  ensureMongoTools();
  const [helm] = helms;
  if (!helm) throw new Error('no helm');
  root = tempDir('mongodb-scripts-');
  const rs = (replicaCount: number) =>
    renderMongo(helm, {
      valuesFiles: [ciValues('prod'), valuesFile(`rs${replicaCount}`, { replicaCount, global: { mongodb: { existingSecret: '' } }, auth: credentials })],
    });
  // standalone: generated credentials, read back from the rendered Secret
  [rs3, rs5, standalone] = await Promise.all([rs(3), rs(5), renderMongo(helm, { valuesFiles: [ciValues('dev')] })]);
  scripts = findObject(rs3, 'ConfigMap', 'shop-mongodb-scripts').data ?? {};
  sh = shell(mongoshEnv(join(root, 'home'), scripts['mongosh.conf'] ?? ''));
});

afterAll(async () => {
  await killAllMongod();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('shipped shell scripts', () => {
  it('are exactly the ones shellchecked here', () => {
    expect(Object.keys(scripts).sort()).toEqual(['bootstrap.sh', 'init-config.json', 'mongo-init.js', 'mongosh.conf']);
  });

  it('bootstrap.sh is shellcheck clean (as rendered into the ConfigMap)', async () => {
    if (!existsSync(SHELLCHECK)) throw new Error(`${SHELLCHECK} missing: install the Debian package shellcheck (.ci/install-tools.sh does)`);
    const shellScripts = Object.keys(scripts).filter((name) => name.endsWith('.sh') || scripts[name]?.startsWith('#!'));
    expect(shellScripts).toEqual(['bootstrap.sh']);
    const file = join(root, 'bootstrap.sh');
    writeFileSync(file, scripts['bootstrap.sh'] ?? '');
    const result = await run(SHELLCHECK, ['--shell=bash', '--severity=style', file]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

// ---------------------------------------------------------------------------

interface MemberView {
  host: string;
  stateStr: string;
}

describe('replica set bootstrap on real mongod 6.0 (rendered bootstrap.sh, mongo-init.js, args, keyfile, env)', () => {
  let pods: ChartPods;
  const rootUser = () => ({ user: 'root', password: pods.secret['mongodb-root-password'] as string });
  const asRoot = (ordinal: number) => directUri(pods.address(ordinal), rootUser());
  const primary = async (): Promise<number> => {
    for (const ordinal of pods.servers.keys()) {
      const out = await sh.try(directUri(pods.address(ordinal)), 'print(db.hello().isWritablePrimary)');
      if (out.stdout.trim() === 'true') return ordinal;
    }
    throw new Error('no primary');
  };
  const conf = async () => JSON.parse(await sh.eval(asRoot(await primary()), 'print(JSON.stringify(rs.conf()))')) as { version: number; members: { host: string }[] };
  const members = async (): Promise<MemberView[]> =>
    JSON.parse(await sh.eval(asRoot(await primary()), 'print(JSON.stringify(rs.status().members.map((m) => ({ host: m.name, stateStr: m.stateStr }))))'));
  const healthy = (want: number) =>
    waitUntil(`${want} members PRIMARY/SECONDARY`, async () => {
      const ms = await members();
      return ms.length === want && ms.every((m) => ['PRIMARY', 'SECONDARY'].includes(m.stateStr)) ? ms : undefined;
    }, 120_000, 500);
  const pass = async (ordinal: number) => {
    const r = await pods.bootstrap(ordinal);
    expect(r.code, r.stderr).toBe(0);
    return r.stderr;
  };

  beforeAll(async () => {
    pods = new ChartPods(rs3, join(root, 'rs'), freePort);
    // the rendered Secret carries the credentials the tests chose
    expect(pods.secret['mongodb-root-password']).toBe(credentials.rootPassword);
    expect(pods.replicaSet).toBe(true);
    await Promise.all([0, 1, 2].map((i) => pods.start(i)));
  });

  it('initiates from ordinal 0 only, adds the others, creates root and the users', async () => {
    // ordinal 1 and 2 wait to be added (pods run their passes concurrently, as in a cluster)
    for (const log of await Promise.all([pass(1), pass(2)])) expect(log).toMatch(/waiting for the primary to add 127\.0\.0\.1:/);
    expect(await pass(0)).toMatch(/initiating replica set rs0 with 127\.0\.0\.1:/);
    await waitUntil('ordinal 0 primary', async () => ((await sh.try(directUri(pods.address(0)), 'print(db.hello().isWritablePrimary)')).stdout.trim() === 'true' ? true : undefined));
    const log = await pass(0);
    expect(log).toMatch(/created the root user root \(localhost exception\)/);
    expect(log).toMatch(new RegExp(`adding ${pods.address(1).replace(/\./g, '\\.')} to rs0`));
    expect(log).toMatch(new RegExp(`adding ${pods.address(2).replace(/\./g, '\\.')} to rs0`));
    expect(log).toMatch(/applying users and indexes/);
    const ms = await healthy(3);
    expect(ms.map((m) => m.host).sort()).toEqual([0, 1, 2].map((i) => pods.address(i)).sort());
    expect(ms.find((m) => m.host === pods.address(0))?.stateStr).toBe('PRIMARY');
    // the indexes of init-config.json, in key order
    const indexes = JSON.parse(await sh.eval(asRoot(0), 'print(JSON.stringify(db.getSiblingDB("techshop").orders.getIndexes().map((i) => i.key)))'));
    expect(indexes.map((k: object) => Object.entries(k))).toContainEqual([['userId', 1], ['createdAt', -1]]);
    const sku = JSON.parse(await sh.eval(asRoot(0), 'print(JSON.stringify(db.getSiblingDB("techshop").products.getIndexes().find((i) => i.name === "sku_unique")))'));
    expect(sku).toMatchObject({ key: { sku: 1 }, unique: true });
  }, 240_000);

  it('a second run of every member changes nothing', async () => {
    const before = await conf();
    const usersBefore = await sh.eval(asRoot(0), 'print(JSON.stringify(db.getSiblingDB("admin").system.users.find({}, { _id: 1, roles: 1, credentials: 1 }).sort({ _id: 1 }).toArray()))');
    const logs = await Promise.all([0, 1, 2].map(pass));
    for (const log of logs) expect(log).not.toMatch(/adding|removing|initiating|created|applying/);
    const after = await conf();
    expect(after.version).toBe(before.version);
    expect(await sh.eval(asRoot(0), 'print(JSON.stringify(db.getSiblingDB("admin").system.users.find({}, { _id: 1, roles: 1, credentials: 1 }).sort({ _id: 1 }).toArray()))')).toBe(usersBefore);
  });

  it('a member killed and restarted with its data rejoins as secondary; its bootstrap does nothing', async () => {
    const victim = (await primary()) === 2 ? 1 : 2;
    const version = (await conf()).version;
    await pods.servers.get(victim)?.kill();
    await waitUntil('the set to see the member down', async () => ((await members()).find((m) => m.host === pods.address(victim))?.stateStr.includes('not reachable') ? true : undefined));
    await pods.start(victim);
    await waitUntil('the member back as SECONDARY', async () => ((await members()).find((m) => m.host === pods.address(victim))?.stateStr === 'SECONDARY' ? true : undefined), 120_000, 500);
    const log = await pass(victim);
    expect(log).not.toMatch(/adding|initiating|created|applying/);
    expect((await conf()).version).toBe(version);
  }, 240_000);

  it('scales 3 → 5 → 3: the primary adds the new members, then removes them from the config', async () => {
    await Promise.all([3, 4].map((i) => pods.start(i)));
    pods.update(rs5);
    // the new members wait to be added; the primary adds them (a second pass if a reconfig was still committing)
    expect(await pass(3)).toMatch(/waiting for the primary to add/);
    const p = await primary();
    await waitUntil('5 members in the config', async () => {
      await pass(p);
      return (await conf()).members.length === 5 ? true : undefined;
    }, 120_000, 1_000);
    const five = await healthy(5);
    expect(five.map((m) => m.host).sort()).toEqual([0, 1, 2, 3, 4].map((i) => pods.address(i)).sort());

    pods.update(rs3);
    await waitUntil('3 members in the config', async () => {
      const log = await pass(p);
      expect(log).not.toMatch(new RegExp(`removing ${pods.address(p).replace(/\./g, '\\.')}`));
      return (await conf()).members.length === 3 ? true : undefined;
    }, 120_000, 1_000);
    expect((await conf()).members.map((m) => m.host).sort()).toEqual([0, 1, 2].map((i) => pods.address(i)).sort());
    await Promise.all([3, 4].map((i) => pods.servers.get(i)?.kill()));
    await healthy(3);
  }, 300_000);

  describe('users and least privilege (passwords from the rendered Secret)', () => {
    const as = (user: string, secretKey: string, db: string) => ({ user, password: pods.secret[secretKey] as string, db });
    const app = () => directUri(pods.address(0), as('techshop', 'mongodb-password', 'techshop'));
    const metrics = () => directUri(pods.address(0), as('metrics', 'mongodb-metrics-password', 'admin'));
    const backup = () => directUri(pods.address(0), as('backup', 'mongodb-backup-password', 'admin'));
    /**
     * Runs each check as one user, in one mongosh (it takes ~2 s to start);
     * returns per check "ok" or the server's error code name.
     */
    const attempt = async (uri: string, checks: Record<string, string>): Promise<Record<string, string>> => {
      const fns = Object.entries(checks).map(([label, js]) => `${JSON.stringify(label)}: () => { ${js}; }`).join(',\n');
      const r = await sh.try(uri, `const checks = {${fns}}; const out = {};
for (const [k, f] of Object.entries(checks)) { try { f(); out[k] = "ok"; } catch (e) { out[k] = e.codeName || e.message; } }
print(JSON.stringify(out));`);
      if (r.code !== 0) throw new Error(r.stderr || r.stdout);
      return JSON.parse(r.stdout.trim());
    };
    const allow = (labels: string[]) => Object.fromEntries(labels.map((l) => [l, 'ok']));
    const deny = (labels: string[]) => Object.fromEntries(labels.map((l) => [l, 'Unauthorized']));

    beforeAll(async () => {
      // the primary may have moved during the scaling test: users are checked on ordinal 0 directly
      await waitUntil('ordinal 0 primary', async () => {
        if ((await primary()) === 0) return true;
        await sh.try(asRoot(await primary()), 'rs.stepDown(10, 5)');
        return undefined;
      }, 60_000, 1_000);
    });

    it('the app user reads and writes its database, sees no other, and cannot change users', async () => {
      const may = {
        insert: 'db.getSiblingDB("techshop").carts.insertOne({ _id: 1, items: [] })',
        find: 'if (db.getSiblingDB("techshop").carts.findOne({ _id: 1 }) === null) throw new Error("not found")',
        delete: 'db.getSiblingDB("techshop").carts.deleteOne({ _id: 1 })',
        // listDatabases answers every user, with the databases it may use only
        listDatabases: 'const names = db.adminCommand({ listDatabases: 1, nameOnly: true }).databases.map((d) => d.name); if (names.join() !== "techshop") throw new Error(names.join())',
      };
      const mayNot = {
        createUser: 'db.getSiblingDB("techshop").createUser({ user: "x", pwd: "y", roles: [] })',
        grantRoles: 'db.getSiblingDB("techshop").grantRolesToUser("techshop", ["dbOwner"])',
        updateOwnRoles: 'db.getSiblingDB("techshop").updateUser("techshop", { roles: [{ role: "root", db: "admin" }] })',
        otherDb: 'db.getSiblingDB("other").x.insertOne({})',
        users: 'db.getSiblingDB("admin").system.users.findOne()',
        oplog: 'db.getSiblingDB("local").oplog.rs.findOne()',
        listAll: 'db.adminCommand({ listDatabases: 1, authorizedDatabases: false })',
      };
      expect(await attempt(app(), { ...may, ...mayNot })).toEqual({ ...allow(Object.keys(may)), ...deny(Object.keys(mayNot)) });
    });

    it('the metrics user runs what the exporter reads, and reads no application data', async () => {
      const may: Record<string, string> = Object.fromEntries(
        ['serverStatus', 'replSetGetStatus', 'getDiagnosticData', 'getCmdLineOpts', 'replSetGetConfig', 'listDatabases', 'top', 'buildInfo', 'hostInfo'].map((c) => [c, `db.adminCommand({ ${c}: 1 })`]),
      );
      Object.assign(may, {
        dbStats: 'db.getSiblingDB("techshop").runCommand({ dbStats: 1 })',
        collStats: 'db.getSiblingDB("techshop").orders.aggregate([{ $collStats: { storageStats: {} } }]).toArray()',
        oplogTail: 'db.getSiblingDB("local").oplog.rs.find().sort({ $natural: -1 }).limit(1).toArray()',
      });
      const mayNot = {
        readOrders: 'db.getSiblingDB("techshop").orders.findOne()',
        insert: 'db.getSiblingDB("techshop").orders.insertOne({})',
        createUser: 'db.getSiblingDB("admin").createUser({ user: "x", pwd: "y", roles: [] })',
      };
      expect(await attempt(metrics(), { ...may, ...mayNot })).toEqual({ ...allow(Object.keys(may)), ...deny(Object.keys(mayNot)) });
    });

    it('the backup user can mongodump --oplog and nothing else', async () => {
      expect(existsSync(MONGODUMP), `${MONGODUMP} (built by .ci/install-backup-tools.sh)`).toBe(true);
      const hosts = [0, 1, 2].map((i) => pods.address(i)).join(',');
      const config = join(root, 'backup-tools.yaml');
      writeFileSync(config, `password: ${pods.secret['mongodb-backup-password']}\n`, { mode: 0o600 });
      const dump = await run(MONGODUMP, [
        `--uri=mongodb://${hosts}/?authSource=admin&replicaSet=rs0`,
        '--username=backup',
        `--config=${config}`,
        '--oplog',
        `--archive=${join(root, 'least-privilege.archive')}`,
      ]);
      expect(dump.code, dump.stderr).toBe(0);
      expect(dump.stderr).toMatch(/done dumping techshop\.orders/);
      const mayNot = {
        insert: 'db.getSiblingDB("techshop").orders.insertOne({})',
        drop: 'db.getSiblingDB("techshop").dropDatabase()',
        createUser: 'db.getSiblingDB("admin").createUser({ user: "x", pwd: "y", roles: [] })',
        stepDown: 'db.adminCommand({ replSetStepDown: 10 })',
        setParameter: 'db.adminCommand({ setParameter: 1, logLevel: 1 })',
      };
      expect(await attempt(backup(), mayNot)).toEqual(deny(Object.keys(mayNot)));
    });
  });
});

describe('standalone on real mongod 6.0 (generated credentials from the rendered Secret)', () => {
  it('creates root through the localhost exception, then the users; a second pass changes nothing; a new pod rotates a password and resets roles; an empty password fails', async () => {
    const pods = new ChartPods(standalone, join(root, 'standalone'), freePort);
    expect(pods.replicaSet).toBe(false);
    const rootPassword = pods.secret['mongodb-root-password'] as string;
    expect(rootPassword).toMatch(/^\S{16,}$/);
    await pods.start(0);
    const first = await pods.bootstrap(0);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/created the root user root \(localhost exception\)/);
    expect(first.stderr).toMatch(/applying users and indexes/);
    expect(first.stderr).not.toMatch(/initiat|adding/);
    // rendered with --auth: nothing without a user
    expect((await sh.try(directUri(pods.address(0)), 'db.adminCommand({ listDatabases: 1 })')).code).not.toBe(0);
    const users = await sh.eval(directUri(pods.address(0), { user: 'root', password: rootPassword }), 'print(db.getSiblingDB("admin").system.users.find().toArray().map((u) => u._id).sort().join(","))');
    expect(users).toBe('admin.backup,admin.metrics,admin.root,techshop.techshop');
    const app = directUri(pods.address(0), { user: 'techshop', password: pods.secret['mongodb-password'] as string, db: 'techshop' });
    expect(await sh.eval(app, 'print(db.getSiblingDB("techshop").orders.insertOne({ n: 1 }).acknowledged)')).toBe('true');
    const second = await pods.bootstrap(0);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');

    // a new pod (fresh emptyDir) after the Secret changed: mongo-init.js rotates the app
    // password and resets drifted roles; an empty password fails before touching the user
    const [helm] = helms;
    const rotate = (password: string) =>
      renderMongo(helm!, { valuesFiles: [ciValues('dev'), valuesFile(`rotate-${password.length}`, { auth: { rootPassword, password } })] });
    const rootUri = directUri(pods.address(0), { user: 'root', password: rootPassword });
    await sh.eval(rootUri, 'db.getSiblingDB("techshop").grantRolesToUser("techshop", [{ role: "dbOwner", db: "techshop" }])');
    pods.update(await rotate('rotated-app-password-1'));
    rmSync(join(root, 'standalone', 'pod-0', 'volumes', 'bootstrap-tmp'), { recursive: true, force: true });
    const third = await pods.bootstrap(0);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).not.toMatch(/created the root user/);
    const rotated = directUri(pods.address(0), { user: 'techshop', password: 'rotated-app-password-1', db: 'techshop' });
    expect(await sh.eval(rotated, 'print(db.getSiblingDB("techshop").orders.countDocuments())')).toBe('1');
    expect((await sh.try(app, 'db.getSiblingDB("techshop").orders.countDocuments()')).code).not.toBe(0);
    expect(await sh.eval(rootUri, 'print(JSON.stringify(db.getSiblingDB("techshop").getUser("techshop").roles))')).toBe('[{"role":"readWrite","db":"techshop"}]');
    const indexes = await sh.eval(rootUri, 'print(db.getSiblingDB("techshop").orders.getIndexes().length)');

    // an existing Secret whose mongodb-password is empty
    const emptied = await rotate('rotated-app-password-1');
    (findObject(emptied, 'Secret', 'shop-mongodb') as { data: Record<string, string> }).data['mongodb-password'] = '';
    pods.update(emptied);
    rmSync(join(root, 'standalone', 'pod-0', 'volumes', 'bootstrap-tmp'), { recursive: true, force: true });
    const empty = await pods.bootstrap(0);
    expect(empty.code).not.toBe(0); // the pass fails (retried next pass); no marker is written
    expect(empty.stderr + empty.stdout).toMatch(/MONGODB_PASSWORD_FILE \(\S+\/mongodb-password\) is empty: no password for techshop@techshop/);
    expect(await sh.eval(rotated, 'print(db.getSiblingDB("techshop").orders.countDocuments())')).toBe('1');
    expect(await sh.eval(rootUri, 'print(db.getSiblingDB("techshop").orders.getIndexes().length)')).toBe(indexes);
    await pods.servers.get(0)?.kill();
  }, 180_000);
});
