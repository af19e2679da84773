// The pure parts of the faults tier (test/faults/): the fleet size parameter,
// kwok's extra configuration, the upgrade baseline choice, kubectl drain's
// eviction lines and the simulated usage objects.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { componentCommands, clusterLayout, DEFAULT_FAKE_NODES, extraApiserverArgs, extraKwokConfigs, fakeNodeCount, fakeNodes } from '../scripts/lib/cluster.ts';
import { chooseBaseline } from '../scripts/lib/upgrade-baseline.ts';
import { drainEvictions } from './helpers/faults.ts';
import { usageConfig } from './faults/metrics-api.ts';

describe('fake fleet size', () => {
  it('is 6 unless TECHSHOP_FAKE_NODES says otherwise', () => {
    expect(fakeNodeCount({})).toBe(DEFAULT_FAKE_NODES);
    expect(DEFAULT_FAKE_NODES).toBe(6);
    expect(fakeNodeCount({ TECHSHOP_FAKE_NODES: '30' })).toBe(30);
  });

  it('refuses a count that is not a whole number from 1 to 500, naming the variable', () => {
    for (const bad of ['0', '-3', '2.5', 'ten', '501']) expect(() => fakeNodeCount({ TECHSHOP_FAKE_NODES: bad })).toThrow(`TECHSHOP_FAKE_NODES=${bad}`);
  });

  it('spreads 30 nodes 10 to a zone', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const nodes = fakeNodes(30) as any[];
    const perZone: Record<string, number> = {};
    for (const n of nodes) perZone[n.metadata.labels['topology.kubernetes.io/zone']] = (perZone[n.metadata.labels['topology.kubernetes.io/zone']] ?? 0) + 1;
    expect(perZone).toEqual({ 'zone-a': 10, 'zone-b': 10, 'zone-c': 10 });
    expect(new Set(nodes.map((n) => n.metadata.name)).size).toBe(30);
  });

  it('adds kwok configuration files only when TECHSHOP_KWOK_CONFIG names them', () => {
    expect(extraKwokConfigs({})).toEqual([]);
    expect(extraKwokConfigs({ TECHSHOP_KWOK_CONFIG: '/a/metrics.yaml:/b/usage.yaml' })).toEqual(['/a/metrics.yaml', '/b/usage.yaml']);
  });

  it('adds kube-apiserver flags only when TECHSHOP_APISERVER_ARGS names them', () => {
    expect(extraApiserverArgs({})).toEqual([]);
    expect(extraApiserverArgs({ TECHSHOP_APISERVER_ARGS: ' --a=1  --b=2 ' })).toEqual(['--a=1', '--b=2']);
    // and without them the command lines are today's (the cluster tier and `npm run cluster` are unchanged)
    const ports = { etcdClient: 1, etcdPeer: 2, apiserver: 3, controllerManager: 4, scheduler: 5, kwok: 6 };
    const commands = componentCommands(clusterLayout('/tmp/x'), ports, '/bin', ['node']);
    const args = (name: string) => commands.find((c) => c.component === name)?.args ?? [];
    expect(args('kube-apiserver').some((a) => a.startsWith('--requestheader'))).toBe(false);
    expect(args('kwok').filter((a) => a.startsWith('--config='))).toEqual(['--config=/bin/kwok-stages.yaml']);
  });
});

describe('upgrade baseline', () => {
  const head = 'h'.repeat(40);
  it('takes the override first', () => {
    expect(chooseBaseline({ override: 'v0.1.0', head, tags: [{ name: 'v0.2.0', commit: 'x' }] }).revision).toBe('v0.1.0');
  });
  it('takes the newest release tag that is not HEAD itself', () => {
    expect(chooseBaseline({ head, tags: [{ name: 'v0.3.0', commit: head }, { name: 'v0.2.0', commit: 'b' }], mergeBase: 'm' }).revision).toBe('v0.2.0');
  });
  it('without a release: the merge base with main on a branch, the parent on main', () => {
    expect(chooseBaseline({ head, tags: [], mergeBase: 'm', parent: 'p' })).toMatchObject({ revision: 'm' });
    expect(chooseBaseline({ head, tags: [], mergeBase: head, parent: 'p' })).toMatchObject({ revision: 'p' });
  });
  it('fails when there is nothing to upgrade from', () => {
    expect(() => chooseBaseline({ head, tags: [], mergeBase: head })).toThrow(/no revision to upgrade from/);
  });
});

describe('kubectl drain output', () => {
  it('counts evictions started and the ones the API refused with 429', () => {
    const output = [
      'node/techshop-node-4 cordoned',
      'evicting pod faults-prod/shop-app-7d9f-abcde',
      'evicting pod faults-prod/shop-mongodb-1',
      'error when evicting pods/"shop-app-7d9f-abcde" -n "faults-prod" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.',
      'evicting pod faults-prod/shop-app-7d9f-abcde',
      'pod/shop-app-7d9f-abcde evicted',
      'node/techshop-node-4 drained',
    ].join('\n');
    expect(drainEvictions(output)).toEqual({
      evicted: ['faults-prod/shop-app-7d9f-abcde', 'faults-prod/shop-mongodb-1', 'faults-prod/shop-app-7d9f-abcde'],
      refused: ['faults-prod/shop-app-7d9f-abcde'],
    });
  });
});

describe('simulated usage', () => {
  it('is one kwok ClusterResourceUsage per namespace', () => {
    const docs = parseAllDocuments(usageConfig([{ namespace: 'faults-scale', cpu: '1', memory: '64Mi' }])).map((d) => d.toJSON());
    expect(docs).toEqual([
      {
        apiVersion: 'kwok.x-k8s.io/v1alpha1',
        kind: 'ClusterResourceUsage',
        metadata: { name: 'usage-faults-scale' },
        spec: { selector: { matchNamespaces: ['faults-scale'] }, usages: [{ usage: { cpu: { value: '1' }, memory: { value: '64Mi' } } }] },
      },
    ]);
  });
});
