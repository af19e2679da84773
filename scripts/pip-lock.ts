#!/usr/bin/env tsx
// npm run pip-lock: writes tools/requirements-<name>.txt from tools/requirements-<name>.in
// with every dependency pinned and hashed (pip-compile --generate-hashes, in a venv of its
// own under .cache/pip-lock). Pins already in a lock stay; `-- --upgrade` re-resolves.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { cacheDir, repoRoot } from './lib/paths.ts';
import { LOCK_COMMAND, LOCK_PYTHON, PIP_LOCKS, PIP_TOOLS_VERSION, lockFile, lockInput, lockProblems } from './lib/pip-lock.ts';
import { runIfMain, type Stage } from './lib/stage.ts';

export const pipLockStage: Stage = async ({ argv, log }) => {
  const { values } = parseArgs({ args: argv, options: { upgrade: { type: 'boolean', default: false } } });
  const python = spawnSync('python3', ['-c', 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'], { encoding: 'utf8' });
  if (python.stdout.trim() !== LOCK_PYTHON) {
    log(`pip-lock: the locks are resolved for Python ${LOCK_PYTHON} (the workflows' setup-python); python3 here is ${python.stdout.trim() || 'missing'}`);
    return 1;
  }
  const venv = join(cacheDir, 'pip-lock', 'venv');
  const compile = join(venv, 'bin', 'pip-compile');
  if (!existsSync(compile)) {
    mkdirSync(join(cacheDir, 'pip-lock'), { recursive: true });
    log(`pip-lock: installing pip-tools ${PIP_TOOLS_VERSION} into ${venv}`);
    for (const args of [['-m', 'venv', venv], [join(venv, 'bin', 'python'), '-m', 'pip', 'install', '--quiet', `pip-tools==${PIP_TOOLS_VERSION}`]]) {
      const [command, ...rest] = args[0] === '-m' ? ['python3', ...args] : args;
      const result = spawnSync(command as string, rest, { stdio: 'inherit' });
      if (result.status !== 0) return 1;
    }
  }
  for (const name of PIP_LOCKS) {
    log(`pip-lock: tools/requirements-${name}.txt`);
    const result = spawnSync(
      compile,
      [
        '--quiet', '--generate-hashes', '--allow-unsafe', '--strip-extras', '--no-emit-index-url', '--no-emit-find-links', '--no-emit-trusted-host',
        ...(values.upgrade ? ['--upgrade'] : []),
        // relative paths: pip-compile writes the input's path into the lock ("via -r …")
        '--output-file', relative(repoRoot, lockFile(name)), relative(repoRoot, lockInput(name)),
      ],
      // only PyPI: no local wheel directory a machine's pip configuration may add
      { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, CUSTOM_COMPILE_COMMAND: LOCK_COMMAND, PIP_FIND_LINKS: '', PIP_CONFIG_FILE: '/dev/null' } },
    );
    if (result.status !== 0) return 1;
    const problems = lockProblems(name);
    for (const problem of problems) log(`pip-lock: ${problem}`);
    if (problems.length) return 1;
  }
  return 0;
};

await runIfMain(import.meta.url, pipLockStage);
