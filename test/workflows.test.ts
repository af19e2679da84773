// The GitHub workflows as data: who may write, what runs next to a write token
// or a secret, what every checkout keeps, how the PyPI tools are installed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { lockProblems, parseRequirements, PIP_LOCKS, lockFile } from '../scripts/lib/pip-lock.ts';
import { repoRoot } from '../scripts/lib/paths.ts';

const dir = join(repoRoot, '.github', 'workflows');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Job = { permissions?: Record<string, string> | string; environment?: unknown; steps: any[]; needs?: string | string[] };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const workflows: Record<string, { permissions?: any; jobs: Record<string, Job>; env?: Record<string, string> }> = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => [f, parse(readFileSync(join(dir, f), 'utf8'))]),
);
const jobs = Object.entries(workflows).flatMap(([file, wf]) => Object.entries(wf.jobs).map(([name, job]) => ({ file, name, job, workflow: wf })));

/** The permissions a job's token has: its own, or the workflow's. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const permissionsOf = (job: Job, workflow: any): Record<string, string> => {
  const p = job.permissions ?? workflow.permissions;
  if (p === undefined) return { '*': 'write' }; // GitHub's default for a repository may be write-all
  if (typeof p === 'string') return { '*': p === 'write-all' ? 'write' : 'read' };
  return p;
};
const writes = (job: Job, workflow: unknown) => Object.values(permissionsOf(job, workflow)).includes('write');
const runText = (job: Job) => job.steps.map((s) => String(s.run ?? '')).join('\n');
const secretsUsed = (job: Job) => [...new Set([...JSON.stringify(job).matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]))].filter((s) => s !== 'GITHUB_TOKEN');

describe('workflows', () => {
  it('every workflow defaults to a read-only token', () => {
    expect(Object.keys(workflows).sort()).toEqual(['deploy.yaml', 'pr.yaml', 'release.yaml']);
    for (const [file, wf] of Object.entries(workflows)) expect(wf.permissions, file).toEqual({ contents: 'read' });
  });

  it('every checkout keeps no credentials', () => {
    let checkouts = 0;
    for (const { file, name, job } of jobs) {
      for (const step of job.steps.filter((s) => String(s.uses ?? '').startsWith('actions/checkout@'))) {
        checkouts++;
        expect(step.with?.['persist-credentials'], `${file} ${name}`).toBe(false);
      }
    }
    expect(checkouts).toBeGreaterThanOrEqual(6);
  });

  it('no job with a write token runs npm, pip, the tool installs or a linter, and each sits behind an environment', () => {
    const writers = jobs.filter(({ job, workflow }) => writes(job, workflow));
    expect(writers.map(({ file, name }) => `${file}:${name}`)).toEqual(['release.yaml:publish']);
    for (const { file, name, job } of writers) {
      expect(runText(job), `${file} ${name}`).not.toMatch(/\bnpm\b|\bnpx\b|\bpip3?\b|install-tools|\blint\b|yamllint|checkov|\bct\b/);
      expect(job.steps.map((s) => String(s.uses ?? '').split('@')[0])).not.toContain('actions/setup-node');
      expect(job.steps.map((s) => String(s.uses ?? '').split('@')[0])).not.toContain('actions/setup-python');
      expect(job.environment, `${file} ${name}`).toBeTruthy();
    }
  });

  it('secrets other than the job token only reach jobs behind an environment', () => {
    for (const { file, name, job } of jobs) {
      if (secretsUsed(job).length) expect(job.environment, `${file} ${name} uses ${secretsUsed(job).join(', ')}`).toBeTruthy();
    }
  });

  it('release: a read-only build hands its archives to the publish job, which signs them behind the release environment', () => {
    const { build, publish } = workflows['release.yaml']!.jobs as Record<string, Job>;
    expect(build!.permissions).toEqual({ contents: 'read' });
    expect(secretsUsed(build!)).toEqual([]);
    expect(runText(build!)).toMatch(/npm ci[\s\S]*npm run validate[\s\S]*npm run lint[\s\S]*npm run package/);
    const upload = build!.steps.find((s) => String(s.uses).startsWith('actions/upload-artifact@'));
    expect(publish!.needs).toBe('build');
    expect(publish!.environment).toBe('release');
    expect(publish!.permissions).toEqual({ contents: 'write', packages: 'write' });
    const download = publish!.steps.find((s) => String(s.uses).startsWith('actions/download-artifact@'));
    expect(download.with.name).toBe(upload.with.name);
    expect(secretsUsed(publish!).sort()).toEqual(['HELM_SIGNING_KEY', 'HELM_SIGNING_PASSPHRASE']);
    const order = publish!.steps.map((s) => s.name ?? String(s.uses).split('@')[0]);
    expect(order.indexOf('Sign the charts')).toBeGreaterThan(order.indexOf('actions/download-artifact'));
    expect(order.indexOf('helm/chart-releaser-action')).toBeGreaterThan(order.indexOf('Sign the charts'));
    expect(publish!.steps.find((s) => String(s.uses).startsWith('helm/chart-releaser-action@')).with.skip_packaging).toBe(true);
  });

  it('deploy: prod deploys a release only after npm run release-tag accepts its tag', () => {
    const deploy = workflows['deploy.yaml']!.jobs.deploy!;
    const names = deploy.steps.map((s) => String(s.run ?? s.name ?? s.uses));
    const check = deploy.steps.findIndex((s) => /npm run release-tag -- --tag "\$TAG" --main origin\/main/.test(String(s.run ?? '')));
    expect(check).toBeGreaterThan(-1);
    expect(deploy.steps[check].if).toBe("github.event_name == 'release'");
    expect(deploy.steps[check].env.TAG).toBe('${{ github.event.release.tag_name }}');
    expect(check).toBeLessThan(names.findIndex((n) => n.includes('npm run deploy')));
    expect(deploy.steps.find((s) => String(s.uses).startsWith('actions/checkout@')).with['fetch-depth']).toBe(0);
  });

  it('every action is pinned to a commit', () => {
    for (const { file, name, job } of jobs) {
      for (const step of job.steps.filter((s) => s.uses)) expect(step.uses, `${file} ${name}`).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    }
  });
});

describe('PyPI tools', () => {
  it.each(PIP_LOCKS)('tools/requirements-%s.txt pins and hashes every dependency, and locks what the .in asks for', (name) => {
    expect(lockProblems(name)).toEqual([]);
    expect(parseRequirements(readFileSync(lockFile(name), 'utf8')).length).toBeGreaterThan(name === 'checkov' ? 50 : 3);
  });

  it('.ci/install-tools.sh installs only from the locks, hash-checked; the workflows pip-install nothing by hand', () => {
    const script = readFileSync(join(repoRoot, '.ci', 'install-tools.sh'), 'utf8').replace(/\\\n\s*/g, ' ');
    const installs = script.split('\n').filter((line) => /pip install/.test(line) && !line.trim().startsWith('#'));
    expect(installs.length).toBeGreaterThan(0);
    for (const line of installs) {
      expect(line).toContain('--require-hashes');
      expect(line).toContain('--no-deps');
      expect(line).toContain('--only-binary=:all:');
      expect(line).toMatch(/-r "\$lock"/);
    }
    expect(script).toContain('LINT_LOCK="$TOOLS_MOD/requirements-lint.txt"');
    expect(script).toContain('CHECKOV_LOCK="$TOOLS_MOD/requirements-checkov.txt"');
    for (const { file, name, job } of jobs) expect(runText(job), `${file} ${name}`).not.toMatch(/pip3? install/);
  });

  it('the pr workflow\'s ct action installs the locked yamllint and yamale versions', () => {
    const locked = new Map(parseRequirements(readFileSync(lockFile('lint'), 'utf8')).map((r) => [r.name, r.version]));
    const env = workflows['pr.yaml']!.env!;
    expect(env.YAMLLINT_VERSION).toBe(locked.get('yamllint'));
    expect(env.YAMALE_VERSION).toBe(locked.get('yamale'));
  });
});
