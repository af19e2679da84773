// Real MongoDB for the tests: mongod 6.0.5 and mongosh, installed by
// .ci/install-mongo-tools.sh into .cache/mongo-tools/bin, run on 127.0.0.1 on
// free ports, started with the arguments the chart renders (made local), and
// stopped by their recorded pids. The charts deploy 8.0: tests use only what
// 6.0 and 8.0 both accept.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { killChildren } from './processes.ts';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../scripts/lib/exec.ts';
import { assertOwnPorts } from '../../scripts/lib/net.ts';
import { cacheDir, repoRoot } from '../../scripts/lib/paths.ts';
import { findObject, podSpecOf, type K8sObject } from '../../scripts/lib/render.ts';

export const MONGO_TOOLS_BIN = join(cacheDir, 'mongo-tools', 'bin');
export const MONGOD = join(MONGO_TOOLS_BIN, 'mongod');
export const MONGOSH = join(MONGO_TOOLS_BIN, 'mongosh');

/** Installs mongod, mongosh and the exporters when missing (idempotent); fails loudly. */
export function ensureMongoTools(): void {
  if ([MONGOD, MONGOSH, join(MONGO_TOOLS_BIN, 'redis_exporter')].every((p) => existsSync(p))) return;
  const r = spawnSync('bash', [join(repoRoot, '.ci', 'install-mongo-tools.sh')], { stdio: 'inherit', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`.ci/install-mongo-tools.sh failed (${r.status ?? r.signal})`);
}

// ---------------------------------------------------------------------------
// What the chart renders

/** A rendered container by name from a workload. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function container(workload: K8sObject, name: string): any {
  const spec = podSpecOf(workload);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const found = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].find((c: any) => c.name === name);
  if (!found) throw new Error(`${workload.kind}/${workload.metadata?.name} has no container ${name}`);
  return found;
}

/** A rendered Secret's data, decoded. */
export function secretData(objects: K8sObject[], name: string): Record<string, string> {
  const secret = findObject(objects, 'Secret', name);
  const data = (secret as { data?: Record<string, string> }).data ?? {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/**
 * A container's environment as the kubelet would build it: plain values, and
 * secretKeyRef / configMapKeyRef resolved from the rendered objects;
 * fieldRef entries are left to the caller (`fields`).
 */
export function containerEnv(objects: K8sObject[], c: { env?: unknown[] }, fields: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of (c.env ?? []) as { name: string; value?: string; valueFrom?: Record<string, { name?: string; key?: string; fieldPath?: string }> }[]) {
    if (entry.value !== undefined) env[entry.name] = String(entry.value);
    else if (entry.valueFrom?.secretKeyRef) {
      const ref = entry.valueFrom.secretKeyRef;
      const value = secretData(objects, ref.name ?? '')[ref.key ?? ''];
      if (value === undefined) throw new Error(`env ${entry.name}: Secret ${ref.name} has no key ${ref.key}`);
      env[entry.name] = value;
    } else if (entry.valueFrom?.configMapKeyRef) {
      const ref = entry.valueFrom.configMapKeyRef;
      const value = (findObject(objects, 'ConfigMap', ref.name ?? '') as { data?: Record<string, string> }).data?.[ref.key ?? ''];
      if (value === undefined) throw new Error(`env ${entry.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      env[entry.name] = value;
    } else if (entry.valueFrom?.fieldRef) {
      const path = entry.valueFrom.fieldRef.fieldPath ?? '';
      if (!(path in fields)) throw new Error(`env ${entry.name}: no value given for fieldRef ${path}`);
      env[entry.name] = fields[path] as string;
    }
  }
  return env;
}

// ---------------------------------------------------------------------------
// mongod processes

export interface Mongod {
  port: number;
  /** 127.0.0.1:port */
  address: string;
  dbpath: string;
  pid: number;
  /** the arguments it was started with */
  args: string[];
  /** SIGKILL by pid and wait for the exit: for throwaway data, and to simulate a crash. */
  kill(): Promise<void>;
  log(): string;
}

const running = new Set<ChildProcess>();

/**
 * The chart's rendered mongod arguments made local: 127.0.0.1 instead of all
 * interfaces, the given port, data directory and keyfile; everything else as
 * rendered.
 */
export function localArgs(rendered: string[], local: { port: number; dbpath: string; keyFile?: string }): string[] {
  const args = rendered.map((arg) => {
    if (arg === '--bind_ip_all') return '--bind_ip=127.0.0.1';
    if (arg.startsWith('--port=')) return `--port=${local.port}`;
    if (arg.startsWith('--dbpath=')) return `--dbpath=${local.dbpath}`;
    if (arg.startsWith('--keyFile=')) {
      if (!local.keyFile) throw new Error('the rendered arguments name a keyfile: pass one');
      return `--keyFile=${local.keyFile}`;
    }
    return arg;
  });
  for (const needed of ['--bind_ip=127.0.0.1', `--port=${local.port}`, `--dbpath=${local.dbpath}`]) {
    if (!args.includes(needed)) throw new Error(`the rendered mongod arguments have no ${needed.split('=')[0]}: ${rendered.join(' ')}`);
  }
  return args;
}

function waitForPort(port: number, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const gone = exited();
      if (gone) return reject(new Error(gone));
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`mongod does not listen on 127.0.0.1:${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Starts mongod with `args` (already local) and waits until it accepts connections. */
export async function startMongod(args: string[], port: number, dbpath: string): Promise<Mongod> {
  mkdirSync(dbpath, { recursive: true });
  const logpath = join(dbpath, 'mongod.log');
  // test-only additions: the log and the unix socket inside the data's parent directory (removed with it, also after SIGKILL)
  const extra = [`--logpath=${logpath}`, '--logappend', `--unixSocketPrefix=${dirname(dbpath)}`];
  const child = spawn(MONGOD, [...args, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  let exitedWith: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedWith = `mongod on ${port} exited with ${code ?? signal}: ${stderr}`;
      running.delete(child);
      resolve();
    });
  });
  const log = () => (existsSync(logpath) ? readFileSync(logpath, 'utf8') : '');
  const server: Mongod = {
    port,
    address: `127.0.0.1:${port}`,
    dbpath,
    pid: child.pid as number,
    args,
    log,
    async kill() {
      if (exitedWith) return;
      process.kill(server.pid, 'SIGKILL');
      await exit;
    },
  };
  try {
    await waitForPort(port, 60_000, () => exitedWith);
    assertOwnPorts(`mongod on ${port}`, server.pid, [port]);
  } catch (error) {
    await server.kill();
    throw new Error(`${String(error)}\n--- mongod log (tail) ---\n${log().split('\n').slice(-20).join('\n')}`);
  }
  return server;
}

/** Kills every mongod started here that still runs (afterAll, also after a failure). */
export async function killAllMongod(): Promise<void> {
  await killChildren(running);
}

/** Writes a keyfile the way the chart's init container does: owner-only (0400). */
export function writeKeyFile(dir: string, key: string): string {
  const path = join(dir, 'keyfile');
  writeFileSync(path, key);
  chmodSync(path, 0o400);
  return path;
}

// ---------------------------------------------------------------------------
// mongosh

/** Environment for mongosh: its own HOME and the chart's rendered mongosh.conf (no logging, no telemetry). */
export function mongoshEnv(home: string, mongoshConf: string): Record<string, string> {
  mkdirSync(home, { recursive: true });
  const conf = join(home, 'mongosh.conf');
  writeFileSync(conf, mongoshConf);
  return { HOME: home, MONGOSH_GLOBAL_CONFIG_FILE_FOR_TESTING: conf };
}

export interface Shell {
  /** Runs JS against uri; resolves stdout, rejects with stderr on failure. */
  eval(uri: string, js: string): Promise<string>;
  /** Runs JS and returns its exit code and output (for expected failures). */
  try(uri: string, js: string): Promise<{ code: number; stdout: string; stderr: string }>;
  env: Record<string, string>;
}

export function shell(env: Record<string, string>): Shell {
  const attempt = (uri: string, js: string) =>
    run(MONGOSH, ['--quiet', '--norc', uri, '--eval', js], { env: { PATH: `${MONGO_TOOLS_BIN}:/usr/bin:/bin`, ...env }, timeoutMs: 60_000 });
  return {
    env,
    try: attempt,
    async eval(uri, js) {
      const r = await attempt(uri, js);
      if (r.code !== 0) throw new Error(`mongosh ${uri.replace(/\/\/[^@]*@/, '//***@')} failed (${r.code}): ${r.stderr || r.stdout}`);
      return r.stdout.trim();
    },
  };
}

/** mongodb:// URI of one member, direct connection, optionally authenticated. */
export function directUri(address: string, auth?: { user: string; password: string; db?: string }): string {
  const cred = auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.password)}@` : '';
  const authSource = auth ? `&authSource=${auth.db ?? 'admin'}` : '';
  return `mongodb://${cred}${address}/admin?directConnection=true&serverSelectionTimeoutMS=5000${authSource}`;
}

/** Polls `probe` until it returns a value other than undefined. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

// ---------------------------------------------------------------------------
// The chart's pods, run locally

interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  emptyDir?: object;
  secret?: object;
}

/**
 * The MongoDB chart's StatefulSet run as local processes: per ordinal, the
 * rendered `mongodb` container's mongod (arguments made local by localArgs,
 * the rendered keyfile) and the rendered `bootstrap` container's script with
 * its rendered environment (Secret values resolved, POD_NAME from the
 * ordinal). Volumes are directories: ConfigMaps written out, emptyDirs per pod.
 * The one rewrite: pod DNS names become 127.0.0.1:<port> in the hosts file,
 * and the bootstrap container gets MONGODB_LOCAL_ADDRESS / MONGODB_MEMBER_ADDRESS
 * (bootstrap.sh's hooks, unset by the chart) with that address.
 */
export class ChartPods {
  readonly fullname: string;
  readonly memberDomain: string;
  readonly ports = new Map<number, number>();
  readonly servers = new Map<number, Mongod>();
  readonly secret: Record<string, string>;
  private objects: K8sObject[];
  private readonly keyFile: string | undefined;

  constructor(
    objects: K8sObject[],
    readonly root: string,
    private readonly freePort: () => Promise<number>,
  ) {
    this.objects = objects;
    const sts = objects.find((o) => o.kind === 'StatefulSet');
    if (!sts?.metadata?.name) throw new Error('no StatefulSet rendered');
    this.fullname = sts.metadata.name;
    this.memberDomain = containerEnv(objects, container(sts, 'bootstrap'), { 'metadata.name': `${this.fullname}-0` }).MEMBER_DOMAIN ?? '';
    this.secret = secretData(objects, this.fullname);
    const key = this.secret['mongodb-replica-set-key'];
    mkdirSync(root, { recursive: true });
    this.keyFile = key && this.replicaSet ? writeKeyFile(root, key) : undefined;
  }

  get statefulSet(): K8sObject {
    return this.objects.find((o) => o.kind === 'StatefulSet') as K8sObject;
  }

  get replicaSet(): boolean {
    return (container(this.statefulSet, 'mongodb').args as string[]).some((a) => a.startsWith('--replSet='));
  }

  podName(ordinal: number): string {
    return `${this.fullname}-${ordinal}`;
  }

  /** The member's DNS address as the chart renders it in the hosts list. */
  dnsAddress(ordinal: number): string {
    return `${this.podName(ordinal)}${this.memberDomain}:27017`;
  }

  async port(ordinal: number): Promise<number> {
    if (!this.ports.has(ordinal)) this.ports.set(ordinal, await this.freePort());
    return this.ports.get(ordinal) as number;
  }

  address(ordinal: number): string {
    const port = this.ports.get(ordinal);
    if (port === undefined) throw new Error(`member ${ordinal} has no port yet`);
    return `127.0.0.1:${port}`;
  }

  /** Starts (or restarts, same port and data) member `ordinal`'s mongod with the rendered arguments. */
  async start(ordinal: number): Promise<Mongod> {
    const port = await this.port(ordinal);
    const dbpath = join(this.root, `pod-${ordinal}`, 'data');
    const rendered = container(this.statefulSet, 'mongodb');
    const args = localArgs([...(rendered.command ?? []).slice(1), ...(rendered.args ?? [])], { port, dbpath, keyFile: this.keyFile });
    const server = await startMongod(args, port, dbpath);
    this.servers.set(ordinal, server);
    return server;
  }

  /** A new render (e.g. another replicaCount): the ConfigMap volumes of running pods follow, as the kubelet does. */
  update(objects: K8sObject[]): void {
    this.objects = objects;
  }

  /** Writes a pod's volumes; the hosts list with local addresses. */
  private volumes(ordinal: number): Map<string, string> {
    const sts = this.statefulSet;
    const podDir = join(this.root, `pod-${ordinal}`);
    const dirs = new Map<string, string>();
    for (const volume of (podSpecOf(sts)?.volumes ?? []) as Volume[]) {
      const dir = join(podDir, 'volumes', volume.name);
      mkdirSync(dir, { recursive: true });
      if (volume.configMap) {
        const data = (findObject(this.objects, 'ConfigMap', volume.configMap.name) as { data?: Record<string, string> }).data ?? {};
        const items = volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
        for (const item of items) writeFileSync(join(dir, item.path), this.localize(data[item.key] ?? ''));
      }
      dirs.set(volume.name, dir);
    }
    return dirs;
  }

  /** Pod DNS names → 127.0.0.1:port (members without a port yet keep their name: they do not answer). */
  localize(text: string): string {
    let out = text;
    for (const [ordinal, port] of this.ports) out = out.split(this.dnsAddress(ordinal)).join(`127.0.0.1:${port}`);
    return out;
  }

  /** Runs one reconcile pass (`bootstrap.sh --once`) of member `ordinal`'s bootstrap container. */
  async bootstrap(ordinal: number): Promise<{ code: number; stdout: string; stderr: string }> {
    const c = container(this.statefulSet, 'bootstrap');
    const dirs = this.volumes(ordinal);
    // mountPath → local directory (subPath mounts name one file of a volume)
    const mounts: [string, string][] = ((c.volumeMounts ?? []) as { name: string; mountPath: string; subPath?: string }[]).map((m) => [
      m.mountPath,
      m.subPath ? join(dirs.get(m.name) as string, m.subPath) : (dirs.get(m.name) as string),
    ]);
    mounts.sort((a, b) => b[0].length - a[0].length);
    const local = (value: string) => {
      for (const [path, dir] of mounts) if (value === path || value.startsWith(`${path}/`)) return dir + value.slice(path.length);
      return value;
    };
    const env = Object.fromEntries(
      Object.entries(containerEnv(this.objects, c, { 'metadata.name': this.podName(ordinal) })).map(([k, v]) => [k, local(v)]),
    );
    const mongoshConf = mounts.find(([path]) => path === '/etc/mongosh.conf')?.[1];
    if (!mongoshConf) throw new Error('the bootstrap container mounts no /etc/mongosh.conf');
    const address = this.address(ordinal);
    const [command, ...args] = [...(c.command ?? []), ...(c.args ?? [])].map(local) as string[];
    return run(command as string, [...args, '--once'], {
      env: {
        ...env,
        PATH: `${MONGO_TOOLS_BIN}:/usr/bin:/bin`,
        MONGOSH_GLOBAL_CONFIG_FILE_FOR_TESTING: mongoshConf,
        MONGODB_LOCAL_ADDRESS: address,
        MONGODB_MEMBER_ADDRESS: address,
      },
      timeoutMs: 180_000,
    });
  }
}
