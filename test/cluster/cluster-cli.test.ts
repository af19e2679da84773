// `npm run cluster` as a user runs it: up twice, status, down by recorded
// pids, and a component that crashes on start.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { run } from '../../scripts/lib/exec.ts';
import { clusterLayout, kubeBinDir, type ClusterState } from '../../scripts/lib/cluster.ts';
import { repoRoot } from '../../scripts/lib/paths.ts';
import { isOurProcess } from '../../scripts/cluster.ts';

const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
const cluster = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(tsx, [join(repoRoot, 'scripts', 'cluster.ts'), ...args], { cwd: repoRoot, env: { ...process.env, ...env }, timeoutMs: 300_000 });

const scratch = mkdtempSync(join(tmpdir(), 'techshop-cluster-cli-'));
afterAll(async () => {
  // Whatever a failed assertion left running in the scratch roots is stopped by its recorded pids.
  for (const root of ['second', 'crash']) await cluster(['down', `--root=${join(scratch, root)}`]);
  rmSync(scratch, { recursive: true, force: true });
});

describe('npm run cluster', () => {
  it('says so and exits 0 when up is run while the cluster runs; status lists every component', async () => {
    const root = inject('clusterRoot');
    const up = await cluster(['up', `--root=${root}`]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/cluster: already running \(Kubernetes v1\.\d+\.\d+, API server https:\/\/127\.0\.0\.1:\d+\)/);
    expect(up.stdout).toContain(`export KUBECONFIG=${clusterLayout(root).kubeconfig}`);
    const status = await cluster(['status', `--root=${root}`]);
    expect(status.code, status.stdout).toBe(0);
    for (const component of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'provisioner']) {
      expect(status.stdout).toMatch(new RegExp(`^${component}\\s+running\\s+pid \\d+`, 'm'));
    }
    expect(status.stdout).toMatch(/API server https:\/\/127\.0\.0\.1:\d+ ready; nodes (\d+)\/\1 Ready/);
  });

  it('down stops exactly the processes up started and removes the data, keeping the logs', async () => {
    const root = join(scratch, 'second');
    const up = await cluster(['up', `--root=${root}`]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const layout = clusterLayout(root);
    const state = JSON.parse(readFileSync(layout.stateFile, 'utf8')) as ClusterState;
    expect(state.processes.map((p) => p.component)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'provisioner']);
    for (const record of state.processes) expect(isOurProcess(record), record.component).toBe(true);
    // every port the components listen on is a loopback one
    const args = readFileSync(`/proc/${state.processes[1]?.pid}/cmdline`, 'utf8').split('\0');
    expect(args).toContain('--bind-address=127.0.0.1');
    const down = await cluster(['down', `--root=${root}`]);
    expect(down.code).toBe(0);
    for (const record of state.processes) {
      expect(down.stdout).toContain(`cluster: ${record.component} stopped (pid ${record.pid})`);
      expect(isOurProcess(record), `${record.component} still running`).toBe(false);
    }
    expect(existsSync(layout.dataDir)).toBe(false);
    expect(existsSync(join(layout.logDir, 'kube-apiserver.log'))).toBe(true);
    const again = await cluster(['down', `--root=${root}`]);
    expect(again.stdout).toContain('cluster: not running');
  });

  it('names the component that crashed and its log, exits non-zero and leaves no process behind', async () => {
    const root = join(scratch, 'crash');
    // The real binaries, except a kube-scheduler that fails on start the way a bad flag or a taken port makes it fail.
    const bin = join(scratch, 'crash-bin');
    mkdirSync(bin, { recursive: true });
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kwok', 'kwok-stages.yaml']) symlinkSync(join(kubeBinDir(), name), join(bin, name));
    writeFileSync(join(bin, 'kube-scheduler'), '#!/bin/sh\nsleep 1\necho "E1203 failed to listen on 127.0.0.1: address already in use" >&2\nexit 1\n', { mode: 0o755 });
    const up = await cluster(['up', `--root=${root}`], { TECHSHOP_KUBE_BIN: bin });
    expect(up.code).toBe(1);
    expect(up.stdout).not.toContain('cluster: building');
    const log = join(clusterLayout(root).logDir, 'kube-scheduler.log');
    expect(up.stdout).toContain(`cluster: kube-scheduler exited while starting; its log (${log}) ends with:`);
    expect(up.stdout).toContain('address already in use');
    // the components started before it were stopped again
    for (const component of ['etcd', 'kube-apiserver', 'kube-controller-manager']) {
      expect(up.stdout).toMatch(new RegExp(`cluster: ${component} (stopped|was not running) \\(pid \\d+\\)|cluster: ${component} up`));
    }
    expect(existsSync(clusterLayout(root).stateFile)).toBe(false);
    const ps = await run('ps', ['-eo', 'args']);
    expect(ps.stdout.split('\n').filter((line) => line.includes(root))).toEqual([]);
  });
});
