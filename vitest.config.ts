import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Test files that run real programs on rendered configs and scripts (servers,
 * checkers, the release's registry), hundreds of renders (the bad-values
 * corpus under both helm majors, helm's own schema check of it) or every chart
 * packaged under both helm majors: the `slow` project, whose setup installs the
 * test tier of the tool chain. Every other test/*.test.ts is a unit or render
 * test: the `fast` project (npm run test:fast, for the edit-test loop).
 */
export const SLOW_TESTS = [
  'test/bad-values-helm.test.ts',
  'test/backup-scripts.test.ts',
  'test/exporters.test.ts',
  'test/helm-schema.test.ts',
  'test/checkov.test.ts',
  'test/kube-checks.test.ts',
  'test/mongodb-scripts.test.ts',
  'test/objectstore-programs.test.ts',
  'test/monitoring.test.ts',
  'test/package.test.ts',
  'test/pipeline.test.ts',
  'test/redis-cluster.test.ts',
  'test/redis-render.test.ts',
  'test/redis-server.test.ts',
  'test/release.test.ts',
  'test/telemetry-programs.test.ts',
  'test/time-zones.test.ts',
];

// The tiers: `fast` (unit and render tests), `slow` (real programs, the corpus),
// `cluster` (installs on the local control plane, which its global setup starts
// once and stops at the end, also on failure), `faults` (the same on a larger
// fleet, under faults). They run one after the other (sequence.groupOrder);
// `real` is the fifth when asked for.
//
// vitest's default is one worker less than the cores: a single worker on 2 cores.
// A fast-tier worker spends most of its time waiting for the helm processes it
// starts, so twice the cores keeps both cores busy (measured on 2 cores:
// 77 s with 1 worker, 57 s with 3, 52 s with 4). The other tiers stay on one
// worker: their files start servers and share the one local cluster.
// The fast tier's files are pure renders and unit tests (no mocks, no global state they leave behind):
// `isolate: false` lets a worker keep its imports between files (measured back to back on the shared
// 2-core machine under load ~28, warm render cache: 60 s with it, 67 s without).
const FAST_WORKERS = 2 * availableParallelism();

interface Tier {
  name: string;
  include: string[];
  exclude?: string[];
  /** run after test/global-setup.ts */
  setup?: string;
  maxWorkers?: number;
  /** installs on a control plane: minutes per test */
  long?: boolean;
  /** false: a worker reuses its module graph across test files (no re-import of helm, ajv, the validators) */
  isolate?: boolean;
}

const tiers: Tier[] = [
  { name: 'fast', include: ['test/*.test.ts'], exclude: SLOW_TESTS, maxWorkers: FAST_WORKERS, isolate: false },
  { name: 'slow', include: SLOW_TESTS, setup: 'test/slow-setup.ts' },
  { name: 'cluster', include: ['test/cluster/*.test.ts'], setup: 'test/cluster/global-setup.ts', long: true },
  // `faults` (README "Faults and figures"): prod on its own control plane with 3 zones × 10 kwok nodes and
  // the metrics API: drains, a lost zone, the HPA at its maximum, an upgrade from the previous release.
  { name: 'faults', include: ['test/faults/*.test.ts'], setup: 'test/faults/global-setup.ts', long: true },
  // `real` (npm run test:real): the dev profile on a real node (containers really run); root only,
  // minutes long, so only when asked for (TECHSHOP_REAL_NODE=1, which .ci/run sets where a kubelet can run).
  ...(process.env.TECHSHOP_REAL_NODE === '1'
    ? [{ name: 'real', include: ['test/real/*.test.ts'], setup: 'test/real/global-setup.ts', long: true }]
    : []),
];

export default defineConfig({
  test: {
    // helm renders are slow on 2 cores; keep files parallel but tests generous
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // each tier its own group, in the order above
    projects: tiers.map((tier, order) => ({
      extends: true as const,
      test: {
        name: tier.name,
        include: tier.include,
        ...(tier.exclude ? { exclude: tier.exclude } : {}),
        globalSetup: ['test/global-setup.ts', ...(tier.setup ? [tier.setup] : [])],
        maxWorkers: tier.maxWorkers ?? 1,
        ...(tier.isolate === false ? { isolate: false } : {}),
        sequence: { groupOrder: order },
        ...(tier.long ? { testTimeout: 900_000, hookTimeout: 900_000 } : {}),
      },
    })),
  },
});
