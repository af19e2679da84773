// The PyPI tools' lock files: tools/requirements-<name>.in names the tools
// and their versions (the one place to change them); `npm run pip-lock` writes
// tools/requirements-<name>.txt with every dependency pinned and hashed
// (pip-compile --generate-hashes: the hashes of every file PyPI serves for a
// pinned version, so any platform's wheel installs), and .ci/install-tools.sh
// installs from it with `pip install --require-hashes`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';

/** The locks: name → what it installs (a venv each). */
export const PIP_LOCKS = ['lint', 'checkov'] as const;
/** pip-tools, which makes the locks (installed by the generator into its own venv). */
export const PIP_TOOLS_VERSION = '7.6.2';
/** The interpreter minor the locks are resolved for (environment markers): the workflows' setup-python. */
export const LOCK_PYTHON = '3.11';
export const LOCK_COMMAND = 'npm run pip-lock';

export const lockInput = (name: string, root = repoRoot) => join(root, 'tools', `requirements-${name}.in`);
export const lockFile = (name: string, root = repoRoot) => join(root, 'tools', `requirements-${name}.txt`);

export interface LockedRequirement {
  name: string;
  version: string;
  hashes: string[];
  line: number;
}

/** name==version pins of a requirements file (comments and blank lines skipped; names normalized as PyPI does). */
export function parseRequirements(text: string): LockedRequirement[] {
  const out: LockedRequirement[] = [];
  // continuation lines join into one logical requirement
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let logical = lines[i] as string;
    const start = i + 1;
    while (logical.trimEnd().endsWith('\\') && i + 1 < lines.length) logical = logical.trimEnd().slice(0, -1) + ' ' + lines[++i];
    const code = logical.replace(/(^|\s)#.*$/, '').trim();
    if (!code) continue;
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(==\s*([^\s;]+))?/.exec(code);
    if (!match) {
      out.push({ name: code, version: '', hashes: [], line: start });
      continue;
    }
    const hashes = [...code.matchAll(/--hash=sha256:([0-9a-f]{64})/g)].map((m) => m[1] as string);
    out.push({ name: normalizeName(match[1] as string), version: match[3] ?? '', hashes, line: start });
  }
  return out;
}

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * What is wrong with a lock against its input (empty = fine): every line pinned
 * (==) and hashed, every input pin locked at its version, the header naming the
 * command that makes it.
 */
export function lockProblems(name: string, root = repoRoot): string[] {
  const problems: string[] = [];
  const file = `tools/requirements-${name}.txt`;
  let text: string;
  try {
    text = readFileSync(lockFile(name, root), 'utf8');
  } catch {
    return [`${file}: missing; run \`${LOCK_COMMAND}\``];
  }
  if (!text.includes(LOCK_COMMAND)) problems.push(`${file}: not written by \`${LOCK_COMMAND}\``);
  if (/^\s*#.*-r \//m.test(text)) problems.push(`${file}: names its input by a machine's absolute path`);
  const locked = parseRequirements(text);
  for (const requirement of locked) {
    if (!requirement.version) problems.push(`${file}:${requirement.line}: ${requirement.name} is not pinned (==)`);
    if (!requirement.hashes.length) problems.push(`${file}:${requirement.line}: ${requirement.name} has no --hash`);
  }
  const byName = new Map(locked.map((r) => [r.name, r]));
  for (const wanted of parseRequirements(readFileSync(lockInput(name, root), 'utf8'))) {
    const got = byName.get(wanted.name);
    if (!got) problems.push(`${file}: ${wanted.name} of requirements-${name}.in is not locked; run \`${LOCK_COMMAND}\``);
    else if (wanted.version && got.version !== wanted.version) problems.push(`${file}:${got.line}: ${wanted.name} is locked at ${got.version}, requirements-${name}.in says ${wanted.version}; run \`${LOCK_COMMAND}\``);
  }
  return problems;
}
