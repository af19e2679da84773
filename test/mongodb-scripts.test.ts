// The scripts charts/mongodb ships, taken from the rendered ConfigMap and run
// for real: shellcheck, bootstrap.sh against a stand-in `mongosh` that answers
// per scenario, and mongo-init.js in node against a stand-in `db`.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script, createContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { findObject } from '../scripts/lib/render.ts';
import { helms } from './helpers/render.ts';
import { ciValues, renderMongo } from './fixtures/mongodb/render.ts';

const SHELLCHECK = '/usr/bin/shellcheck';
const MEMBER = (i: number) => `shop-mongodb-${i}.shop-mongodb-headless.techshop.svc.cluster.local:27017`;
const LOCAL = '127.0.0.1:27017';
const ROOT_PASSWORD = 'RootPwNeverOnArgv42';

let scripts: Record<string, string>;
let work: string;

beforeAll(async () => {
  const [helm] = helms;
  if (!helm) throw new Error('no helm');
  const objects = await renderMongo(helm, { valuesFiles: [ciValues('prod')] });
  scripts = findObject(objects, 'ConfigMap', 'shop-mongodb-scripts').data ?? {};
  work = mkdtempSync(join(tmpdir(), 'mongodb-scripts-'));
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(work, name), text);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('shipped shell scripts', () => {
  it('are exactly the ones shellchecked here', () => {
    expect(Object.keys(scripts).sort()).toEqual(['bootstrap.sh', 'init-config.json', 'mongo-init.js', 'mongosh.conf']);
  });

  it.runIf(existsSync(SHELLCHECK))('bootstrap.sh is shellcheck clean (as rendered into the ConfigMap)', async () => {
    const shellScripts = Object.keys(scripts).filter((name) => name.endsWith('.sh') || scripts[name]?.startsWith('#!'));
    expect(shellScripts).toEqual(['bootstrap.sh']);
    for (const name of shellScripts) {
      const result = await run(SHELLCHECK, ['--shell=bash', '--severity=style', join(work, name)]);
      expect(result.stdout + result.stderr, name).toBe('');
      expect(result.code).toBe(0);
    }
  });
});

// ---------------------------------------------------------------------------
// bootstrap.sh with a stand-in mongosh

/** Answers of the stand-in mongosh: host → query name → printed output. A host absent here does not answer. */
type Answers = Record<string, Record<string, string>>;

interface Call {
  host: string;
  query: string;
  argv: string;
  js: string;
}

const FAKE_MONGOSH = `#!/usr/bin/env bash
# Stand-in mongosh: records its arguments, answers from $FAKE_DIR/<host>/<query>.
argv="$*" uri= js=
while [ $# -gt 0 ]; do
  case $1 in
    mongodb://*) uri=$1 ;;
    --eval) shift; js=$1 ;;
  esac
  shift
done
host=\${uri#mongodb://}; host=\${host%%/*}
query=$(printf '%s' "$js" | sed -n '1s#^/\\* \\([a-z-]*\\) \\*/.*#\\1#p')
b64() { printf '%s' "$1" | base64 -w0; }
printf '%s\\t%s\\t%s\\t%s\\n' "$host" "$query" "$(b64 "$js")" "$(b64 "$argv")" >>"$FAKE_LOG"
answer="$FAKE_DIR/$host/$query"
if [ ! -f "$answer" ]; then echo "MongoServerSelectionError: connect ECONNREFUSED $host" >&2; exit 1; fi
cat "$answer"
`;

interface Outcome {
  code: number;
  calls: Call[];
  log: string;
  dir: string;
}

async function bootstrap(pod: string, answers: Answers, options: { members?: number; architecture?: string; stateDir?: string } = {}): Promise<Outcome> {
  const dir = mkdtempSync(join(work, 'scenario-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'mongosh'), FAKE_MONGOSH);
  chmodSync(join(bin, 'mongosh'), 0o755);
  for (const [host, queries] of Object.entries(answers)) {
    mkdirSync(join(dir, 'answers', host), { recursive: true });
    for (const [query, output] of Object.entries(queries)) writeFileSync(join(dir, 'answers', host, query), `${output}\n`);
  }
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, Array.from({ length: options.members ?? 3 }, (_, i) => MEMBER(i)).join(','));
  const stateDir = options.stateDir ?? join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const result = await run('bash', [join(work, 'bootstrap.sh'), '--once'], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      FAKE_DIR: join(dir, 'answers'),
      FAKE_LOG: join(dir, 'calls.jsonl'),
      ARCHITECTURE: options.architecture ?? 'replicaset',
      REPLICA_SET_NAME: 'rs0',
      POD_NAME: pod,
      MEMBER_DOMAIN: '.shop-mongodb-headless.techshop.svc.cluster.local',
      HOSTS_FILE: hostsFile,
      STATE_DIR: stateDir,
      MONGODB_ROOT_USER: 'root',
      MONGODB_ROOT_PASSWORD: ROOT_PASSWORD,
      MONGODB_INIT_SCRIPT: '/etc/mongodb/scripts/mongo-init.js',
    },
  });
  const logFile = join(dir, 'calls.jsonl');
  const calls = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map(parseCall) : [];
  return { code: result.code, calls, log: result.stderr, dir };
}

function parseCall(line: string): Call {
  const [host = '', query = '', js = '', argv = ''] = line.split('\t');
  const decode = (b64: string) => Buffer.from(b64, 'base64').toString();
  return { host, query, js: decode(js), argv: decode(argv) };
}

/** The queries other than state reads: what the script changed. */
const actions = (o: Outcome) => o.calls.filter((c) => c.query !== 'state').map((c) => `${c.query} ${c.host}`);
const stateReads = (o: Outcome) => o.calls.filter((c) => c.query === 'state').map((c) => c.host);

describe('bootstrap.sh decisions (stand-in mongosh)', () => {
  it('fresh set, ordinal 0, every member answers uninitialised: initiates with itself only', async () => {
    const o = await bootstrap('shop-mongodb-0', {
      [LOCAL]: { state: 'uninitialized', initiate: '1' },
      [MEMBER(1)]: { state: 'uninitialized' },
      [MEMBER(2)]: { state: 'uninitialized' },
    });
    expect(o.code).toBe(0);
    expect(stateReads(o)).toEqual([LOCAL, MEMBER(1), MEMBER(2)]);
    expect(actions(o)).toEqual([`initiate ${LOCAL}`]);
    const initiate = o.calls.find((c) => c.query === 'initiate');
    expect(initiate?.js).toContain(`rs.initiate({ _id: "rs0", members: [{ _id: 0, host: "${MEMBER(0)}" }] })`);
  });

  it('fresh set, ordinal 1: waits for the primary, asks nobody else and initiates nothing', async () => {
    const o = await bootstrap('shop-mongodb-1', { [LOCAL]: { state: 'uninitialized', initiate: '1' } });
    expect(o.code).toBe(0);
    expect(stateReads(o)).toEqual([LOCAL]);
    expect(actions(o)).toEqual([]);
    expect(o.log).toMatch(/waiting for the primary to add shop-mongodb-1\./);
  });

  it('ordinal 0, a member does not answer yet: does not initiate (retries next pass)', async () => {
    const o = await bootstrap('shop-mongodb-0', { [LOCAL]: { state: 'uninitialized', initiate: '1' }, [MEMBER(1)]: { state: 'uninitialized' } });
    expect(o.code).toBe(0);
    expect(actions(o)).toEqual([]);
    expect(o.log).toMatch(/not initiating: shop-mongodb-2\..* does not answer yet/);
  });

  it('ordinal 0 empty (volume lost) while the set lives on: does not start a second set', async () => {
    const o = await bootstrap('shop-mongodb-0', {
      [LOCAL]: { state: 'uninitialized', initiate: '1' },
      [MEMBER(1)]: { state: 'primary' },
      [MEMBER(2)]: { state: 'secondary' },
    });
    expect(o.code).toBe(0);
    expect(actions(o)).toEqual([]);
    expect(o.log).toMatch(/already a member \(primary\)/);
  });

  it('already initiated, primary, all members present: only users/indexes once per pod, then nothing', async () => {
    const answers: Answers = {
      [LOCAL]: { state: 'primary', root: 'exists', members: [0, 1, 2].map(MEMBER).join('\n'), init: 'user techshop@techshop: updated' },
    };
    const stateDir = mkdtempSync(join(work, 'state-'));
    const first = await bootstrap('shop-mongodb-0', answers, { stateDir });
    expect(first.code).toBe(0);
    expect(actions(first)).toEqual([`root ${LOCAL}`, `members ${LOCAL}`, `init ${LOCAL}`]);
    const second = await bootstrap('shop-mongodb-0', answers, { stateDir });
    expect(second.code).toBe(0);
    expect(actions(second)).toEqual([`members ${LOCAL}`]);
  });

  it('scale-up 3 → 5: the primary adds the missing member that answers, and only that one', async () => {
    const o = await bootstrap(
      'shop-mongodb-1',
      {
        [LOCAL]: { state: 'primary', root: 'exists', members: [0, 1, 2].map(MEMBER).join('\n'), add: '1', init: 'ok' },
        [MEMBER(3)]: { state: 'uninitialized' },
        // MEMBER(4) is still pending: no answer
      },
      { members: 5 },
    );
    expect(o.code).toBe(0);
    expect(stateReads(o)).toEqual([LOCAL, MEMBER(3), MEMBER(4)]);
    expect(actions(o)).toEqual([`root ${LOCAL}`, `members ${LOCAL}`, `add ${LOCAL}`, `init ${LOCAL}`]);
    expect(o.calls.find((c) => c.query === 'add')?.js).toContain(`rs.add({ host: "${MEMBER(3)}" })`);
    expect(o.log).toMatch(/not adding shop-mongodb-4\..* \(down\)/);
  });

  it('a member coming back with its data (secondary): does nothing', async () => {
    for (const state of ['secondary', 'other']) {
      const o = await bootstrap('shop-mongodb-2', { [LOCAL]: { state } });
      expect(o.code).toBe(0);
      expect(o.calls.map((c) => `${c.query} ${c.host}`)).toEqual([`state ${LOCAL}`]);
    }
  });

  it('first start of a set: creates root through the localhost exception on the new primary', async () => {
    const o = await bootstrap('shop-mongodb-0', {
      [LOCAL]: { state: 'primary', root: 'created', members: MEMBER(0), add: '1', init: 'ok' },
      [MEMBER(1)]: { state: 'uninitialized' },
      [MEMBER(2)]: { state: 'uninitialized' },
    });
    expect(o.code).toBe(0);
    expect(actions(o)).toEqual([`root ${LOCAL}`, `members ${LOCAL}`, `add ${LOCAL}`, `add ${LOCAL}`, `init ${LOCAL}`]);
    expect(o.log).toMatch(/created the root user root \(localhost exception\)/);
  });

  it('root exists with another password: stops before touching members or users', async () => {
    const o = await bootstrap('shop-mongodb-0', { [LOCAL]: { state: 'primary', root: 'auth-failed' } });
    expect(o.code).not.toBe(0);
    expect(actions(o)).toEqual([`root ${LOCAL}`]);
    expect(o.log).toMatch(/exists with another password/);
  });

  it('standalone: root, then users and indexes; never replica set commands', async () => {
    const o = await bootstrap('shop-mongodb-0', { [LOCAL]: { state: 'standalone', root: 'created', init: 'ok' } }, { architecture: 'standalone', members: 1 });
    expect(o.code).toBe(0);
    expect(actions(o)).toEqual([`root ${LOCAL}`, `init ${LOCAL}`]);
  });

  it('mongod not answering: fails the pass and does nothing', async () => {
    const o = await bootstrap('shop-mongodb-0', {});
    expect(o.code).not.toBe(0);
    expect(actions(o)).toEqual([]);
  });

  it('sends JavaScript that parses, and never a password on a command line', async () => {
    const o = await bootstrap('shop-mongodb-0', {
      [LOCAL]: { state: 'primary', root: 'exists', members: MEMBER(0), add: '1', init: 'ok' },
      [MEMBER(1)]: { state: 'uninitialized' },
      [MEMBER(2)]: { state: 'uninitialized' },
    });
    const fresh = await bootstrap('shop-mongodb-0', {
      [LOCAL]: { state: 'uninitialized', initiate: '1' },
      [MEMBER(1)]: { state: 'uninitialized' },
      [MEMBER(2)]: { state: 'uninitialized' },
    });
    const calls = [...o.calls, ...fresh.calls];
    expect(new Set(calls.map((c) => c.query))).toEqual(new Set(['state', 'root', 'members', 'add', 'init', 'initiate']));
    for (const call of calls) {
      expect(() => new Script(call.js), call.query).not.toThrow();
      expect(call.argv).not.toContain(ROOT_PASSWORD);
    }
  });
});

describe('bootstrap.sh JavaScript (run in node against a stand-in db)', () => {
  let js: Record<string, string>;
  beforeAll(async () => {
    const o = await bootstrap('shop-mongodb-0', { [LOCAL]: { state: 'standalone', root: 'exists', init: 'ok' } }, { architecture: 'standalone', members: 1 });
    js = Object.fromEntries(o.calls.map((c) => [c.query, c.js]));
  });
  const evaluate = (code: string | undefined, db: unknown): string[] => {
    const printed: string[] = [];
    new Script(code ?? '').runInContext(createContext({ db, print: (v: unknown) => printed.push(String(v)), process: { env: { MONGODB_ROOT_USER: 'root', MONGODB_ROOT_PASSWORD: 'pw' } } }));
    return printed;
  };

  it('maps hello to the state words the script decides on', () => {
    const cases: [object, string][] = [
      [{ setName: 'rs0', isWritablePrimary: true }, 'primary'],
      [{ setName: 'rs0', isWritablePrimary: false, secondary: true }, 'secondary'],
      [{ setName: 'rs0', isWritablePrimary: false, secondary: false }, 'other'], // STARTUP2, RECOVERING, ARBITER
      [{ isreplicaset: true, isWritablePrimary: false, secondary: false }, 'uninitialized'], // rs.status() code 94
      [{ isWritablePrimary: true }, 'standalone'],
    ];
    for (const [hello, state] of cases) expect(evaluate(js.state, { hello: () => hello }), JSON.stringify(hello)).toEqual([state]);
  });

  it('creates root only where no user exists, else checks its password', () => {
    const created: unknown[] = [];
    const admin = (createUser: (u: unknown) => void, auth: () => unknown) => ({ getSiblingDB: () => ({ createUser, auth }) });
    const unauthorized = () => {
      throw Object.assign(new Error('command createUser requires authentication'), { code: 13 });
    };
    expect(evaluate(js.root, admin((u) => created.push(u), () => ({ ok: 1 })))).toEqual(['created']);
    expect(created).toEqual([{ user: 'root', pwd: 'pw', roles: ['root'] }]);
    expect(evaluate(js.root, admin(unauthorized, () => ({ ok: 1 })))).toEqual(['exists']);
    expect(evaluate(js.root, admin(unauthorized, () => { throw new Error('Authentication failed.'); }))).toEqual(['auth-failed']);
    expect(evaluate(js.root, admin(unauthorized, () => ({ ok: 0 })))).toEqual(['auth-failed']);
  });
});

// ---------------------------------------------------------------------------
// mongo-init.js in node against a stand-in db

interface FakeUser {
  user: string;
  pwd: string;
  roles: unknown[];
}

function fakeMongo() {
  const users = new Map<string, FakeUser>(); // "db/user"
  const indexes: { ns: string; keys: unknown; options: unknown }[] = [];
  const ops: string[] = [];
  const db = {
    getSiblingDB(name: string) {
      return {
        getUser: (user: string) => users.get(`${name}/${user}`) ?? null,
        createUser(spec: FakeUser) {
          if (users.has(`${name}/${spec.user}`)) throw new Error(`User "${spec.user}@${name}" already exists`);
          users.set(`${name}/${spec.user}`, { ...spec });
          ops.push(`createUser ${spec.user}@${name}`);
        },
        updateUser(user: string, update: Partial<FakeUser>) {
          const existing = users.get(`${name}/${user}`);
          if (!existing) throw new Error(`User ${user}@${name} not found`);
          users.set(`${name}/${user}`, { ...existing, ...update });
          ops.push(`updateUser ${user}@${name}`);
        },
        getCollection: (collection: string) => ({
          createIndex(keys: Record<string, unknown>, options: { name?: string }) {
            const indexName = options.name ?? Object.entries(keys).map(([k, v]) => `${k}_${v}`).join('_');
            if (!indexes.some((i) => i.ns === `${name}.${collection}` && JSON.stringify(i.keys) === JSON.stringify(keys))) {
              indexes.push({ ns: `${name}.${collection}`, keys, options });
            }
            return indexName;
          },
        }),
      };
    },
  };
  return { db, users, indexes, ops };
}

function runInit(mongo: ReturnType<typeof fakeMongo>, env: Record<string, string>): string[] {
  const printed: string[] = [];
  const context = createContext({
    db: mongo.db,
    print: (line: string) => printed.push(line),
    require: createRequire(import.meta.url),
    process: { env: { MONGODB_INIT_CONFIG: join(work, 'init-config.json'), ...env } },
  });
  new Script(scripts['mongo-init.js'] ?? '', { filename: 'mongo-init.js' }).runInContext(context);
  return printed;
}

const PASSWORDS = { MONGODB_PASSWORD: 'app-1', MONGODB_METRICS_PASSWORD: 'metrics-1', MONGODB_BACKUP_PASSWORD: 'backup-1' };

describe('mongo-init.js idempotency (stand-in db)', () => {
  it('first run creates the three least-privilege users and the configured indexes', () => {
    const mongo = fakeMongo();
    runInit(mongo, PASSWORDS);
    expect(mongo.ops).toEqual(['createUser techshop@techshop', 'createUser metrics@admin', 'createUser backup@admin']);
    expect(Object.fromEntries(mongo.users)).toEqual({
      'techshop/techshop': { user: 'techshop', pwd: 'app-1', roles: [{ role: 'readWrite', db: 'techshop' }] },
      'admin/metrics': { user: 'metrics', pwd: 'metrics-1', roles: [{ role: 'clusterMonitor', db: 'admin' }, { role: 'read', db: 'local' }] },
      'admin/backup': { user: 'backup', pwd: 'backup-1', roles: [{ role: 'backup', db: 'admin' }] },
    });
    expect(mongo.indexes).toEqual([
      { ns: 'techshop.products', keys: { sku: 1 }, options: { unique: true, name: 'sku_unique' } },
      { ns: 'techshop.orders', keys: { userId: 1, createdAt: -1 }, options: {} },
    ]);
    // A compound index's key order is part of the index (toEqual above ignores it).
    expect(Object.keys(mongo.indexes[1]?.keys as object)).toEqual(['userId', 'createdAt']);
  });

  it('a second run updates instead of creating (no duplicate-user error) and adds no index', () => {
    const mongo = fakeMongo();
    runInit(mongo, PASSWORDS);
    const printed = runInit(mongo, PASSWORDS);
    expect(mongo.ops.slice(3)).toEqual(['updateUser techshop@techshop', 'updateUser metrics@admin', 'updateUser backup@admin']);
    expect(mongo.indexes).toHaveLength(2);
    expect(printed).toContain('user techshop@techshop: updated');
  });

  it('rotates a password and resets drifted roles on the next run', () => {
    const mongo = fakeMongo();
    runInit(mongo, PASSWORDS);
    mongo.users.set('techshop/techshop', { user: 'techshop', pwd: 'app-1', roles: [{ role: 'dbOwner', db: 'techshop' }] });
    runInit(mongo, { ...PASSWORDS, MONGODB_PASSWORD: 'app-2' });
    expect(mongo.users.get('techshop/techshop')).toEqual({ user: 'techshop', pwd: 'app-2', roles: [{ role: 'readWrite', db: 'techshop' }] });
  });

  it('refuses to create a user without a password', () => {
    const mongo = fakeMongo();
    expect(() => runInit(mongo, { ...PASSWORDS, MONGODB_BACKUP_PASSWORD: '' })).toThrow(/MONGODB_BACKUP_PASSWORD is empty/);
  });
});
