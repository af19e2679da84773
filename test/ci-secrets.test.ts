// .ci/create-ci-secrets.sh creates every Secret the charts' ct values name,
// with the keys each chart reads: run with a recording kubectl on PATH.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { chartNames, chartDir, repoRoot } from '../scripts/lib/paths.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ci-secrets-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every `existingSecret` value in every chart's ci values. */
function referencedSecrets(): Set<string> {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'existingSecret' && typeof value === 'string' && value) names.add(value);
        else walk(value);
      }
    }
  };
  for (const chart of chartNames) {
    let files: string[] = [];
    try {
      files = readdirSync(join(chartDir(chart), 'ci')).filter((f) => f.endsWith('-values.yaml'));
    } catch {
      continue;
    }
    for (const f of files) walk(parse(readFileSync(join(chartDir(chart), 'ci', f), 'utf8')));
  }
  return names;
}

describe('.ci/create-ci-secrets.sh', () => {
  it('creates every Secret the ct values name, with the keys the charts read', async () => {
    const log = join(scratch, 'kubectl.log');
    const bin = join(scratch, 'bin');
    const kubectl = join(bin, 'kubectl');
    await run('mkdir', ['-p', bin]);
    // records `create secret generic NAME --from-literal=KEY=VALUE...` and swallows `apply`
    writeFileSync(kubectl, `#!/usr/bin/env bash\nif [[ " $* " == *" secret generic "* ]]; then printf '%s\\n' "$*" >> '${log}'; fi\nif [[ $1 == apply ]]; then cat >/dev/null; fi\n`);
    chmodSync(kubectl, 0o755);
    const result = await run('bash', [join(repoRoot, '.ci', 'create-ci-secrets.sh'), 'ct-install'], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
      input: '',
      timeoutMs: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const created = new Map<string, string[]>();
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      const args = line.split(' ');
      const name = args[args.indexOf('generic') + 1] as string;
      const keys = args.filter((a) => a.startsWith('--from-literal=')).map((a) => a.slice('--from-literal='.length).split('=')[0] as string);
      expect(args).toContain('ct-install');
      created.set(name, keys);
    }
    for (const name of referencedSecrets()) expect([...created.keys()], `Secret ${name}`).toContain(name);
    expect(created.get('techshop-mongodb')?.sort()).toEqual(
      ['mongodb-backup-password', 'mongodb-metrics-password', 'mongodb-password', 'mongodb-replica-set-key', 'mongodb-root-password'],
    );
    expect(created.get('techshop-redis')).toEqual(['redis-password']);
    expect(created.get('techshop-app-secrets')).toEqual(['jwt-secret']);
    expect(created.get('techshop-backup-s3')?.sort()).toEqual(['access-key-id', 'secret-access-key']);
    expect(created.get('techshop-grafana-admin')?.sort()).toEqual(['admin-password', 'admin-user']);
    expect(created.get('techshop-logs-elasticsearch')).toEqual(['api-key']);
  });
});
