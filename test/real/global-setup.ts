// Starts the control plane with a real node (npm run cluster -- up --real-node)
// in its own directory for the real-node tests, and stops it by its recorded
// pids when the run ends, whatever the outcome. Only one real node can run on
// a machine: a user's `up --real-node` cluster must be down first.
//
// Around it, the host check of `down`: a foreign iptables chain and the rule that
// jumps to it (made here, before `up`) must survive `down`, and after `down`
// nothing of ours may be left (iptables/nftables rules or chains, ipsets, the
// bridge, mounts under the cluster's data, also through a symlinked cache).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { clusterDown, clusterUp } from '../../scripts/cluster.ts';
import { clusterLayout } from '../../scripts/lib/cluster.ts';
import { provisionBundledKubectl } from '../../scripts/lib/helm.ts';
import { cacheDir } from '../../scripts/lib/paths.ts';
import { hostLeftovers } from '../../scripts/lib/real-node.ts';

const FOREIGN_CHAIN = `FOREIGN-PROBE-${process.pid}`;
const iptables = (...args: string[]) => spawnSync('iptables', ['-w', ...args], { encoding: 'utf8' });

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const layout = clusterLayout(join(cacheDir, 'real-node-test'));
  const log = (line: string) => console.log(`[real-node] ${line}`);
  const started = performance.now();
  // a chain and a jump that are not ours (a RETURN only: they change nothing)
  for (const args of [['-N', FOREIGN_CHAIN], ['-A', FOREIGN_CHAIN, '-j', 'RETURN'], ['-A', 'FORWARD', '-j', FOREIGN_CHAIN]]) {
    const result = iptables(...args);
    if (result.status !== 0) throw new Error(`iptables ${args.join(' ')}: ${result.stderr}`);
  }
  const removeForeign = () => {
    iptables('-D', 'FORWARD', '-j', FOREIGN_CHAIN);
    iptables('-F', FOREIGN_CHAIN);
    iptables('-X', FOREIGN_CHAIN);
  };
  try {
    await clusterUp(layout, log, { realNode: true });
  } catch (error) {
    removeForeign();
    throw error;
  }
  log(`control plane and real node up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  project.provide('kubeconfig', layout.kubeconfig);
  project.provide('kubectl', provisionBundledKubectl());
  project.provide('clusterRoot', layout.root);
  return async () => {
    const down = performance.now();
    await clusterDown(layout, log);
    log(`down in ${((performance.now() - down) / 1000).toFixed(1)} s`);
    const foreignKept = iptables('-C', 'FORWARD', '-j', FOREIGN_CHAIN).status === 0 && iptables('-S', FOREIGN_CHAIN).stdout.includes('-j RETURN');
    removeForeign();
    const left = hostLeftovers(layout.dataDir);
    const problems = [...(foreignKept ? [] : [`down removed the foreign chain ${FOREIGN_CHAIN} or the FORWARD rule jumping to it`]), ...left.map((l) => `left behind: ${l}`)];
    if (problems.length) throw new Error(`real node teardown:\n  ${problems.join('\n  ')}`);
    log('teardown checked: the foreign chain and rule kept; no rule, chain, ipset, bridge or mount of ours left');
  };
}
