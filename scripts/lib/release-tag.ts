// Which release tags may deploy to prod: the deploy workflow asks before it
// deploys a published release (a release can be published from any tag, and a
// tag can point at any commit, a fork's branch included).
import { parse as parseYaml } from 'yaml';
import { run } from './exec.ts';

/** A tag of the umbrella chart's version: v<semver>. */
export const RELEASE_TAG = /^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/;

export interface ReleaseTagCheck {
  /** The git repository (a checkout). */
  repo: string;
  tag: string;
  /** The ref of main to check ancestry against (origin/main in a workflow's checkout). */
  mainRef: string;
  /** Chart.yaml of the chart whose version the tag names, relative to the repository. */
  chartFile: string;
}

async function git(repo: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const result = await run('git', args, { cwd: repo });
  return { code: result.code, out: result.stdout.trim(), err: result.stderr.trim() };
}

/**
 * Why the tag may not deploy to prod (empty = it may): it must be a tag (not
 * a branch of that name), named v<the chart version at that commit>, its
 * commit on main, and the checked-out HEAD that commit.
 */
export async function releaseTagProblems(check: ReleaseTagCheck): Promise<string[]> {
  const { repo, tag, mainRef, chartFile } = check;
  const problems: string[] = [];
  const match = RELEASE_TAG.exec(tag);
  if (!match) problems.push(`"${tag}" is not a release tag (v<chart version>, e.g. v1.4.0)`);
  const commit = await git(repo, ['rev-parse', '--verify', '--quiet', `refs/tags/${tag}^{commit}`]);
  if (commit.code !== 0 || !commit.out) return [...problems, `no tag "${tag}" in this checkout`];
  const main = await git(repo, ['rev-parse', '--verify', '--quiet', `${mainRef}^{commit}`]);
  if (main.code !== 0) return [...problems, `no ${mainRef} in this checkout to check the tag against (fetch it first)`];
  const ancestor = await git(repo, ['merge-base', '--is-ancestor', commit.out, main.out]);
  if (ancestor.code === 1) problems.push(`the tag's commit ${commit.out.slice(0, 12)} is not on ${mainRef}`);
  else if (ancestor.code !== 0) problems.push(`git merge-base failed: ${ancestor.err}`);
  const chart = await git(repo, ['show', `${commit.out}:${chartFile}`]);
  if (chart.code !== 0) problems.push(`no ${chartFile} at the tag`);
  else {
    const version = String(parseYaml(chart.out)?.version ?? '');
    if (match && match[1] !== version) problems.push(`the tag names version ${match[1]}, but ${chartFile} at the tag says ${version}`);
  }
  const head = await git(repo, ['rev-parse', 'HEAD']);
  if (head.out !== commit.out) problems.push(`the checkout is at ${head.out.slice(0, 12)}, not at the tag's commit ${commit.out.slice(0, 12)}`);
  return problems;
}
