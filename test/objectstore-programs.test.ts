// The objectstore chart run for real: the MinIO server built from its Go module
// (.ci/install-objectstore-tools.sh) started with the command, arguments,
// environment and credential files of the rendered StatefulSet (dev), the
// rendered bucket Job's script run against it twice with the real mc client,
// and a backup round trip: the backup chart's rendered upload.sh and fetch.sh
// (Debian's aws CLI) with the S3 settings the dev CronJob reads from the
// objectstore ConfigMap and Secret. Everything binds 127.0.0.1; the server is
// stopped by its recorded pid, also on failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertOwnPorts } from '../scripts/lib/net.ts';
import { repoRoot } from '../scripts/lib/paths.ts';
import { findObject, podSpecOf, type K8sObject } from '../scripts/lib/render.ts';
import { killChildren } from './helpers/processes.ts';
import { freePort } from './helpers/registry.ts';
import { helms, renderEnv } from './helpers/render.ts';
import { AWS } from './helpers/s3.ts';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } };
}
interface Mount {
  name: string;
  mountPath: string;
}

const running = new Set<ChildProcess>();
let root = '';
let tools = '';
let objects: K8sObject[] = [];
let endpoint = '';
/** mount path in the pod -> directory here */
const mounts = new Map<string, string>();
let credentials: Record<string, string> = {};

/** The cluster-only parts of a value: in-pod paths become the local directories, the Service URL the local server. */
function local(value: string, clusterEndpoint: string): string {
  let out = value === clusterEndpoint ? endpoint : value;
  for (const [inPod, here] of mounts) if (out === inPod || out.startsWith(`${inPod}/`)) out = here + out.slice(inPod.length);
  return out;
}

/** A container's environment as the kubelet would give it: literal values, ConfigMap and Secret keys of the render. */
function resolveEnv(env: EnvVar[], clusterEndpoint: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    if (e.value !== undefined) out[e.name] = local(e.value, clusterEndpoint);
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      out[e.name] = local(String(findObject(objects, 'ConfigMap', ref.name).data?.[ref.key]), clusterEndpoint);
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      out[e.name] = Buffer.from(String(findObject(objects, 'Secret', ref.name).data?.[ref.key]), 'base64').toString('utf8');
    }
  }
  return out;
}

function sh(command: string, args: string[], env: Record<string, string>) {
  const r = spawnSync(command, args, { env: { PATH: [tools, '/usr/bin', '/bin'].join(':'), ...env }, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

async function status(path: string): Promise<number> {
  try {
    return (await fetch(`${endpoint}${path}`)).status;
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  const install = join(repoRoot, '.ci', 'install-objectstore-tools.sh');
  tools = spawnSync('bash', [install, '--print-dir'], { encoding: 'utf8' }).stdout.trim();
  if (!existsSync(join(tools, 'minio')) || !existsSync(join(tools, 'mc'))) {
    const built = spawnSync('bash', [install], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 1_800_000 });
    if (built.status !== 0) throw new Error(`.ci/install-objectstore-tools.sh failed (${built.status ?? built.signal})`);
  }
  if (!existsSync(AWS)) throw new Error(`${AWS} not found: install the Debian package awscli (.ci/install-tools.sh --tests does)`);
  root = mkdtempSync(join(tmpdir(), 'objectstore-'));
  objects = await renderEnv(helms[0]!, 'dev');
  const secret = findObject(objects, 'Secret', 'shop-objectstore');
  credentials = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));

  // the pod's volumes, here: the credentials Secret as files, the scripts, the data and /tmp
  const statefulSet = findObject(objects, 'StatefulSet', 'shop-objectstore');
  const spec = podSpecOf(statefulSet);
  const container = spec.containers.find((c: { name: string }) => c.name === 'minio');
  for (const mount of container.volumeMounts as Mount[]) {
    const dir = join(root, 'pod', mount.name);
    mkdirSync(dir, { recursive: true });
    mounts.set(mount.mountPath, dir);
    const volume = spec.volumes?.find((v: { name: string }) => v.name === mount.name);
    for (const item of volume?.secret?.items ?? []) writeFileSync(join(dir, item.path), credentials[item.key] ?? '', { mode: 0o440 });
  }
  const scripts = findObject(objects, 'ConfigMap', 'shop-objectstore-scripts').data ?? {};
  mkdirSync(join(root, 'scripts'));
  mounts.set('/scripts', join(root, 'scripts'));
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(join(root, 'scripts', name), `${text}\n`);
    chmodSync(join(root, 'scripts', name), 0o755);
  }

  // the rendered command and arguments; only the listen address becomes 127.0.0.1:<free port>
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  const args = (container.args as string[]).map((a) => (a.startsWith('--address=') ? `--address=127.0.0.1:${port}` : local(a, '')));
  expect(args.filter((a) => a.startsWith('--address='))).toHaveLength(1);
  const env = resolveEnv(container.env, '');
  const child = spawn(join(tools, container.command[0]), args, { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const ready = container.readinessProbe.httpGet.path as string;
  const deadline = Date.now() + 60_000;
  while ((await status(ready)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`minio did not become ready on ${endpoint}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  assertOwnPorts('minio', child.pid as number, [port]);
}, 1_900_000);

afterAll(async () => {
  await killChildren(running);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('MinIO with the rendered StatefulSet', () => {
  it('serves both probe paths and reads its root credentials from the mounted Secret files', async () => {
    const container = podSpecOf(findObject(objects, 'StatefulSet', 'shop-objectstore')).containers[0];
    expect(await status(container.livenessProbe.httpGet.path)).toBe(200);
    expect(await status(container.readinessProbe.httpGet.path)).toBe(200);
    // the credentials are files, never values in the pod spec
    const names = (container.env as EnvVar[]).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['MINIO_ROOT_USER_FILE', 'MINIO_ROOT_PASSWORD_FILE']));
    expect(names.filter((n) => /^MINIO_ROOT_(USER|PASSWORD)$/.test(n))).toEqual([]);
    expect(credentials['access-key-id']).toMatch(/^[A-Za-z0-9]{20}$/);
    // the server took exactly those keys: an admin call with them answers, one with another secret is refused
    const mcEnv = { HOME: join(root, 'home'), MC_CONFIG_DIR: join(root, 'mc-probe') };
    expect(sh('mc', ['--quiet', 'alias', 'set', 'probe', endpoint, credentials['access-key-id']!, credentials['secret-access-key']!], mcEnv).code).toBe(0);
    expect(sh('mc', ['--quiet', 'admin', 'info', 'probe'], mcEnv).code).toBe(0);
    expect(sh('mc', ['--quiet', 'alias', 'set', 'wrong', endpoint, credentials['access-key-id']!, 'not-the-secret-key'], mcEnv).code).not.toBe(0);
  });
});

describe('the rendered bucket Job', () => {
  it('runs the chart file, shellcheck-clean', () => {
    const r = spawnSync('/usr/bin/shellcheck', [join(root, 'scripts', 'buckets.sh')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout).toBe(0);
    expect(readFileSync(join(root, 'scripts', 'buckets.sh'), 'utf8')).toBe(readFileSync(join(repoRoot, 'charts/objectstore/files/buckets.sh'), 'utf8'));
  });

  const job = () => podSpecOf(findObject(objects, 'Job', 'shop-objectstore-buckets')).containers[0];
  const clusterEndpoint = () => String(findObject(objects, 'ConfigMap', 'shop-objectstore').data?.endpoint);
  const runJob = (extra: Record<string, string> = {}) => {
    const container = job();
    const env = { ...resolveEnv(container.env, clusterEndpoint()), HOME: join(root, 'home'), MC_CONFIG_DIR: join(root, 'mc-job'), ...extra };
    return sh(container.command[0], container.command.slice(1).map((a: string) => local(a, '')), env);
  };
  const aws = (args: string[]) =>
    sh(AWS, ['--endpoint-url', endpoint, ...args], {
      AWS_ACCESS_KEY_ID: credentials['access-key-id']!,
      AWS_SECRET_ACCESS_KEY: credentials['secret-access-key']!,
      AWS_DEFAULT_REGION: 'us-east-1',
      HOME: join(root, 'home'),
    });

  it('creates the dev buckets, and a second run keeps them and their objects', () => {
    const first = runJob();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('bucket techshop-backups ready');
    expect(first.stderr).toContain('bucket techshop-static ready');
    const listed = () => JSON.parse(aws(['s3api', 'list-buckets', '--output', 'json']).stdout).Buckets.map((b: { Name: string }) => b.Name).sort();
    expect(listed()).toEqual(['techshop-backups', 'techshop-static']);
    writeFileSync(join(root, 'logo.txt'), 'static file\n');
    expect(aws(['s3', 'cp', join(root, 'logo.txt'), 's3://techshop-static/img/logo.txt']).code).toBe(0);

    const second = runJob();
    expect(second.code, second.stderr).toBe(0);
    expect(listed()).toEqual(['techshop-backups', 'techshop-static']);
    const kept = aws(['s3', 'cp', 's3://techshop-static/img/logo.txt', '-']);
    expect(kept.stdout).toBe('static file\n');
  });

  it('fails with the cause when the server refuses the keys, after its timeout', () => {
    const wrong = join(root, 'wrong-secret');
    writeFileSync(wrong, 'not-the-secret-key');
    const r = runJob({ S3_SECRET_ACCESS_KEY_FILE: wrong, TIMEOUT_SECONDS: '3' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/http:\/\/127\.0\.0\.1:\d+ did not accept these keys within 3 s: .*(Access Denied|signature|SignatureDoesNotMatch|credentials)/i);
  });
});

describe('a backup round trip through the release MinIO (dev: backup.storage.objectstore)', () => {
  it("uploads with the dev CronJob's S3 settings and fetches the same bytes back", () => {
    const cronJob = findObject(objects, 'CronJob', 'shop-backup');
    const upload = cronJob.spec.jobTemplate.spec.template.spec.containers.find((c: { name: string }) => c.name === 'upload');
    const clusterEndpoint = String(findObject(objects, 'ConfigMap', 'shop-objectstore').data?.endpoint);
    const env = resolveEnv(upload.env, clusterEndpoint);
    expect(env.S3_ENDPOINT).toBe(endpoint);
    expect(env.S3_BUCKET).toBe('techshop-backups');
    expect(env.S3_FORCE_PATH_STYLE).toBe('true');
    // the keys: the objectstore Secret mounted at /run/secrets/s3 (read by common.secretFiles.load in the pod)
    const volume = cronJob.spec.jobTemplate.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'secret-s3');
    expect(volume.secret.secretName).toBe('shop-objectstore');
    expect(env.AWS_ACCESS_KEY_ID_FILE).toBe('/run/secrets/s3/access-key-id');
    const scripts = join(root, 'backup-scripts');
    mkdirSync(scripts);
    for (const [name, text] of Object.entries(findObject(objects, 'ConfigMap', 'shop-backup-scripts').data ?? {})) {
      writeFileSync(join(scripts, name), `${text}\n`);
      chmodSync(join(scripts, name), 0o755);
    }
    const dirs = { BACKUP_DIR: join(root, 'backup'), WORK_DIR: join(root, 'work') };
    mkdirSync(dirs.BACKUP_DIR);
    mkdirSync(dirs.WORK_DIR);
    // a finished dump set as dump.sh leaves it (test/backup-scripts.test.ts makes real ones with mongodump)
    const full = 'mongodb-full-20251201T020000Z';
    const archive = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 251));
    writeFileSync(join(dirs.BACKUP_DIR, `${full}.archive.gz`), archive);
    writeFileSync(join(dirs.BACKUP_DIR, `${full}.archive.gz.sha256`), spawnSync('sha256sum', [`${full}.archive.gz`], { cwd: dirs.BACKUP_DIR, encoding: 'utf8' }).stdout);
    writeFileSync(join(dirs.BACKUP_DIR, `${full}.manifest`), 'kind=full\noplog=false\ncount techshop.orders 1\n');
    writeFileSync(join(dirs.WORK_DIR, 'run-sets'), `${full}\n`);
    const withKeys = {
      ...env,
      ...dirs,
      AWS_ACCESS_KEY_ID: credentials['access-key-id']!,
      AWS_SECRET_ACCESS_KEY: credentials['secret-access-key']!,
      AWS_CLI: AWS,
      HOME: join(root, 'home'),
    };
    delete (withKeys as Record<string, string>).AWS_ACCESS_KEY_ID_FILE;
    delete (withKeys as Record<string, string>).AWS_SECRET_ACCESS_KEY_FILE;
    const up = sh('bash', [join(scripts, 'upload.sh')], withKeys);
    expect(up.code, up.stderr).toBe(0);
    const fetched = sh('bash', [join(scripts, 'fetch.sh')], withKeys);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(readFileSync(join(dirs.WORK_DIR, 'fetch', 'plan'), 'utf8')).toBe(`full ${full}\n`);
    expect(readFileSync(join(dirs.WORK_DIR, 'fetch', `${full}.archive.gz`)).equals(archive)).toBe(true);
  });
});
