import { defineConfig } from 'vitest/config';

// Two projects: `main` (renders, validator, real programs on rendered configs)
// and `cluster` (installs on the local control plane, which its global setup
// starts once and stops at the end, also on failure).
export default defineConfig({
  test: {
    // helm renders are slow on 2 cores; keep files parallel but tests generous
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/cluster/*.test.ts'],
          globalSetup: ['test/global-setup.ts', 'test/cluster/global-setup.ts'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
