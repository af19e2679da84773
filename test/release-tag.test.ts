// Which release tags may deploy to prod, against a real git repository made here:
// a main branch with the chart, a tag on it, a tag off it, a tag of the wrong version.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../scripts/lib/exec.ts';
import { repoRoot } from '../scripts/lib/paths.ts';
import { releaseTagProblems } from '../scripts/lib/release-tag.ts';

const scratch = mkdtempSync(join(tmpdir(), 'release-tag-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'tag.gpgSign=false', '-c', 'commit.gpgSign=false', ...args], { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

const chartFile = join('charts', 'techshop', 'Chart.yaml');
const repo = join(scratch, 'repo');
mkdirSync(join(repo, 'charts', 'techshop'), { recursive: true });
const commitChart = (version: string, message: string) => {
  writeFileSync(join(repo, chartFile), `apiVersion: v2\nname: techshop\nversion: ${version}\n`);
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', message);
};
git(repo, 'init', '-q', '-b', 'main');
commitChart('1.2.0', 'release 1.2.0');
git(repo, 'tag', '-a', 'v1.2.0', '-m', 'v1.2.0'); // annotated
git(repo, 'tag', 'v1.3.0'); // lightweight, wrong version
git(repo, 'checkout', '-q', '-b', 'side');
commitChart('1.4.0', 'release 1.4.0 from a side branch');
git(repo, 'tag', 'v1.4.0');
git(repo, 'checkout', '-q', 'main');
git(repo, 'tag', 'release-1');
const check = (tag: string) => releaseTagProblems({ repo, tag, mainRef: 'main', chartFile });

describe('release tags that may deploy to prod', () => {
  it('accepts v<chart version> on main, checked out', async () => {
    git(repo, 'checkout', '-q', 'v1.2.0');
    expect(await check('v1.2.0')).toEqual([]);
  });

  it('refuses a tag off main, a tag of another version, a name that is no release tag, a missing tag, another checkout', async () => {
    git(repo, 'checkout', '-q', 'v1.4.0');
    const side = await check('v1.4.0');
    expect(side).toHaveLength(1);
    expect(side[0]).toMatch(/^the tag's commit [0-9a-f]{12} is not on main$/);
    git(repo, 'checkout', '-q', 'main');
    expect(await check('v1.3.0')).toEqual(['the tag names version 1.3.0, but charts/techshop/Chart.yaml at the tag says 1.2.0']);
    expect(await check('release-1')).toEqual(['"release-1" is not a release tag (v<chart version>, e.g. v1.4.0)']);
    expect(await check('v9.9.9')).toEqual(['no tag "v9.9.9" in this checkout']);
    git(repo, 'checkout', '-q', 'side');
    expect((await check('v1.2.0'))[0]).toMatch(/^the checkout is at [0-9a-f]{12}, not at the tag's commit [0-9a-f]{12}$/);
    git(repo, 'checkout', '-q', 'main');
    expect(await releaseTagProblems({ repo, tag: 'v1.2.0', mainRef: 'origin/main', chartFile })).toEqual(['no origin/main in this checkout to check the tag against (fetch it first)']);
  });

  it('npm run release-tag says why and exits 1, or 0', async () => {
    const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
    git(repo, 'checkout', '-q', 'v1.4.0');
    const refused = await run(tsx, [join(repoRoot, 'scripts', 'release-tag.ts'), '--tag', 'v1.4.0', '--main', 'main', '--repo', repo], { cwd: repoRoot });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^release-tag: the tag's commit [0-9a-f]{12} is not on main$/m);
    expect(refused.stdout).toContain('release-tag: refused: v1.4.0 may not deploy to prod');
    git(repo, 'checkout', '-q', 'v1.2.0');
    const accepted = await run(tsx, [join(repoRoot, 'scripts', 'release-tag.ts'), '--tag', 'v1.2.0', '--main', 'main', '--repo', repo], { cwd: repoRoot });
    expect(accepted.code, accepted.stdout).toBe(0);
  });
});
