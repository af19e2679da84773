// The slow project runs real servers and checkers: install the test tier
// of the tool chain first (idempotent: seconds when everything is there; a
// fresh machine builds what is missing, with a progress line per tool group).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../scripts/lib/paths.ts';

export default function setup(): void {
  const result = spawnSync('bash', [join(repoRoot, '.ci', 'install-tools.sh'), '--tests'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error('.ci/install-tools.sh --tests failed: the slow tests cannot run without their tools (see the lines above)');
}
