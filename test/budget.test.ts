import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coldEstimate, parseSteps, readBuildTimes, targetLine, tierWalls } from '../scripts/lib/budget.ts';

describe('the time budget bench prints', () => {
  it('reads each build group: the last run and the longest recorded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'budget-'));
    try {
      writeFileSync(join(dir, 'kube.seconds'), '3\n');
      writeFileSync(join(dir, 'kube.history'), '1700000000 1382\n1700001000 3\n');
      writeFileSync(join(dir, 'mongo-tools.seconds'), '364\n');
      writeFileSync(join(dir, 'kube.log'), 'ignored\n');
      expect(readBuildTimes(dir)).toEqual([
        { name: 'kube', last: 3, coldest: 1382 },
        { name: 'mongo-tools', last: 364, coldest: 364 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(readBuildTimes('/nonexistent')).toEqual([]);
  });

  it('reads .ci/run steps and tier walls, and adds a cold run up with the test tier builds side by side', () => {
    expect(parseSteps('setup\t1500\ntests\t1103\ntotal\t2700\n')).toEqual([
      { step: 'setup', seconds: 1500 },
      { step: 'tests', seconds: 1103 },
      { step: 'total', seconds: 2700 },
    ]);
    const walls = tierWalls(
      {
        testResults: [
          { name: '/r/test/net.test.ts', startTime: 0, endTime: 20_000 },
          { name: '/r/test/render-app.test.ts', startTime: 5_000, endTime: 30_000 },
          { name: '/r/test/redis-cluster.test.ts', startTime: 31_000, endTime: 100_000 },
          { name: '/r/test/cluster/install.test.ts', startTime: 100_000, endTime: 400_000 },
          { name: '/r/test/faults/prod.test.ts', startTime: 400_000, endTime: 450_000 },
        ],
      },
      ['test/redis-cluster.test.ts'],
    );
    expect(Object.fromEntries(walls)).toEqual({ fast: 30, slow: 69, cluster: 300, faults: 50 });
    expect(coldEstimate({ mainTier: 124, testTierBuilds: [1382, 1297, 364], checks: 35, realNode: 250, tests: 1103 })).toBe(124 + 1382 + 35 + 250 + 1103);
    expect(targetLine('test:fast', 28.4, 30, 's', 'median of 5')).toBe('target test:fast <= 30 s: 28.4 s - met (median of 5)');
    expect(targetLine('lint warm', 1.5, 1.2, 'x', 'ratio')).toMatch(/1\.50 x - MISSED/);
    expect(targetLine('warm .ci/run', undefined, 15, 'min', 'x')).toMatch(/NOT MEASURED/);
  });
});
