// A real S3-compatible server (gofakes3, built by .ci/install-backup-tools.sh)
// on 127.0.0.1, driven by Debian's aws CLI at /usr/bin/aws.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, repoRoot } from '../../scripts/lib/paths.ts';
import { assertOwnPorts } from '../../scripts/lib/net.ts';
import { freePort } from './registry.ts';

export const BACKUP_TOOLS_BIN = join(cacheDir, 'backup-tools', 'bin');
/** Debian's awscli, by path: another aws may come first on PATH. */
export const AWS = '/usr/bin/aws';

/** Builds the backup test tools when missing (idempotent; minutes on a cold Go cache). */
export function ensureBackupTools(): void {
  const needed = ['mongodump', 'mongorestore', 'mongoimport', 'mongoexport', 's3server'];
  if (needed.every((tool) => existsSync(join(BACKUP_TOOLS_BIN, tool)))) return;
  const result = spawnSync('bash', [join(repoRoot, '.ci', 'install-backup-tools.sh')], { stdio: 'inherit', timeout: 1_500_000 });
  if (result.status !== 0) throw new Error(`.ci/install-backup-tools.sh failed (${result.status ?? result.signal})`);
  if (!existsSync(AWS)) throw new Error(`${AWS} not found: install the Debian package awscli (.ci/install-tools.sh does)`);
}

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** environment for the aws CLI and the backup scripts */
  env: Record<string, string>;
  aws(args: string[]): { code: number; stdout: string; stderr: string };
  /** object keys under a prefix */
  keys(prefix?: string): string[];
  stop(): Promise<void>;
}

export async function startS3(bucket = 'techshop-backups'): Promise<S3Server> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(join(BACKUP_TOOLS_BIN, 's3server'), ['-addr', `127.0.0.1:${port}`], { stdio: 'ignore' });
  const home = mkdtempSync(join(tmpdir(), 'backup-aws-'));
  writeFileSync(join(home, 'config'), '[default]\ns3 =\n    addressing_style = path\n');
  const env: Record<string, string> = {
    AWS_ACCESS_KEY_ID: 'test-access-key',
    AWS_SECRET_ACCESS_KEY: 'test-secret-key',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
    HOME: home,
  };
  const aws = (args: string[]) => {
    const r = spawnSync(AWS, ['--endpoint-url', endpoint, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (aws(['s3', 'mb', `s3://${bucket}`]).code === 0) break;
    if (Date.now() > deadline) throw new Error(`s3server did not come up on ${endpoint}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assertOwnPorts('s3server', child.pid as number, [port]);
  return {
    endpoint,
    bucket,
    env,
    aws,
    keys(prefix = '') {
      const r = aws(['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', prefix, '--query', 'Contents[].Key', '--output', 'text']);
      if (r.code !== 0) throw new Error(r.stderr);
      return r.stdout.split(/\s+/).filter((k) => k && k !== 'None').sort();
    },
    async stop() {
      // waits for the exit itself (bounded), not a guessed pause
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
