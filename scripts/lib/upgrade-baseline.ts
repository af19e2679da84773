// Which charts an upgrade test starts from: the release before this tree
// (docs/versioning.md, README "Faults and figures"). Every release is tested
// against its predecessor this way:
//   1. TECHSHOP_UPGRADE_FROM, a git revision, when set;
//   2. else the newest `v*` tag in HEAD's history that is not HEAD itself (the
//      last published release; on a release's own commit, the one before);
//   3. else, while nothing has been published, the merge base of HEAD with
//      `main` (a branch is tested against what it would be merged into), or,
//      on main itself, HEAD's parent.
// The charts and values of that revision come out of git (`git archive`), so
// the test needs the history (CI checks out with fetch-depth 0).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { repoRoot } from './paths.ts';

export interface BaselineFacts {
  /** TECHSHOP_UPGRADE_FROM */
  override?: string;
  head: string;
  /** `v*` tags reachable from HEAD, newest first, with the commit each points at. */
  tags: { name: string; commit: string }[];
  /** merge-base HEAD main, when main exists. */
  mergeBase?: string;
  /** HEAD^, when HEAD has a parent. */
  parent?: string;
}

export interface Baseline {
  revision: string;
  why: string;
}

/** The pure choice (test/upgrade-baseline.test.ts). */
export function chooseBaseline(facts: BaselineFacts): Baseline {
  if (facts.override) return { revision: facts.override, why: `TECHSHOP_UPGRADE_FROM=${facts.override}` };
  const tag = facts.tags.find((t) => t.commit !== facts.head);
  if (tag) return { revision: tag.name, why: `the last published release (tag ${tag.name})` };
  if (facts.mergeBase && facts.mergeBase !== facts.head) return { revision: facts.mergeBase, why: `no release tag yet: the merge base with main (${facts.mergeBase.slice(0, 12)})` };
  if (facts.parent) return { revision: facts.parent, why: `no release tag yet, on main: the previous commit (${facts.parent.slice(0, 12)})` };
  throw new Error('no revision to upgrade from: no v* tag, no main branch to branch from, no parent commit (a shallow clone? fetch the history)');
}

function git(args: string[], cwd = repoRoot): string | undefined {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export function baselineFacts(env: NodeJS.ProcessEnv = process.env, cwd = repoRoot): BaselineFacts {
  const head = git(['rev-parse', 'HEAD'], cwd);
  if (!head) throw new Error(`${cwd} is not a git checkout: the upgrade test needs the charts' history`);
  const tagLines = git(['tag', '--merged', 'HEAD', '--sort=-v:refname', '--format=%(refname:short) %(objectname) %(*objectname)', 'v*'], cwd) ?? '';
  const tags = tagLines
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', object = '', peeled = ''] = line.split(' ');
      return { name, commit: peeled || object };
    });
  return {
    override: env.TECHSHOP_UPGRADE_FROM || undefined,
    head,
    tags,
    mergeBase: git(['merge-base', 'HEAD', 'main'], cwd),
    parent: git(['rev-parse', '--verify', '--quiet', 'HEAD^'], cwd),
  };
}

/** Writes the charts and values of a revision into dir (git archive | tar -x); throws naming the revision when git cannot. */
export function extractRevision(revision: string, dir: string, paths: string[] = ['charts', 'values'], cwd = repoRoot): void {
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync('git', ['archive', '--format=tar', revision, ...paths], { cwd, maxBuffer: 512 * 1024 * 1024 });
  if (archive.status !== 0) throw new Error(`git archive ${revision} failed: ${archive.stderr.toString().trim()}`);
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar -x of ${revision} failed: ${untar.stderr.toString().trim()}`);
}
