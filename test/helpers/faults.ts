// What the fault tests share: the API credentials of the tier's cluster, a
// watch that counts Ready pods of each workload on every event the API server
// sends (so a dip between two polls cannot hide), kubectl drain's eviction
// lines, and the one-line figures each test prints.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { inject } from 'vitest';
import { adminCredentials } from '../../scripts/cluster.ts';
import { clusterLayout, type ClusterState } from '../../scripts/lib/cluster.ts';
import type { KubeCredentials } from '../../scripts/lib/kube-api.ts';

export function faultCredentials(): KubeCredentials {
  const layout = clusterLayout(inject('clusterRoot'));
  const state = JSON.parse(readFileSync(layout.stateFile, 'utf8')) as ClusterState;
  return adminCredentials(layout, state);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Pod = any;

/** Ready as a PodDisruptionBudget counts it: the Ready condition true, and not being deleted. */
export function isReadyPod(pod: Pod): boolean {
  if (pod?.metadata?.deletionTimestamp) return false;
  return (pod?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

export function matchesLabels(pod: Pod, selector: Record<string, string>): boolean {
  const labels = pod?.metadata?.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export interface Group {
  name: string;
  selector: Record<string, string>;
}

export interface GroupFigures {
  /** Ready pods now. */
  ready: number;
  /** The fewest Ready pods at any event since the watch (or the last reset) began. */
  minReady: number;
  /** The most pods of the group that existed at once (not terminating). */
  maxPods: number;
}

/**
 * Lists the namespace's pods, then follows the watch from that list's
 * resourceVersion: every change the server makes is seen, in order. A watch
 * the server closes is resumed from the last resourceVersion seen.
 */
export class ReadyWatch {
  private pods = new Map<string, Pod>();
  private figures = new Map<string, GroupFigures>();
  private resourceVersion = '';
  private stopped = false;
  private current: ReturnType<typeof request> | undefined;
  private failure: Error | undefined;
  events = 0;

  constructor(
    private credentials: KubeCredentials,
    private namespace: string,
    private groups: Group[],
  ) {}

  private get(path: string): Promise<Pod> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.credentials.server), { ca: this.credentials.ca, cert: this.credentials.cert, key: this.credentials.key, headers: { accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  private recount(): void {
    for (const group of this.groups) {
      const members = [...this.pods.values()].filter((p) => matchesLabels(p, group.selector));
      const ready = members.filter(isReadyPod).length;
      const alive = members.filter((p) => !p.metadata.deletionTimestamp).length;
      const previous = this.figures.get(group.name);
      this.figures.set(group.name, {
        ready,
        minReady: Math.min(previous?.minReady ?? ready, ready),
        maxPods: Math.max(previous?.maxPods ?? alive, alive),
      });
    }
  }

  async start(): Promise<void> {
    const list = await this.get(`/api/v1/namespaces/${this.namespace}/pods`);
    for (const pod of list.items ?? []) this.pods.set(pod.metadata.name, pod);
    this.resourceVersion = list.metadata.resourceVersion;
    this.recount();
    this.follow();
  }

  private follow(): void {
    if (this.stopped) return;
    const path = `/api/v1/namespaces/${this.namespace}/pods?watch=1&resourceVersion=${this.resourceVersion}&timeoutSeconds=600`;
    const req = request(new URL(path, this.credentials.server), { ca: this.credentials.ca, cert: this.credentials.cert, key: this.credentials.key, headers: { accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        this.failure = new Error(`watch of pods in ${this.namespace}: HTTP ${res.statusCode}`);
        res.resume();
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim()) this.apply(JSON.parse(line));
        }
      });
      res.on('end', () => this.follow());
    });
    req.on('error', (error) => {
      if (!this.stopped) this.failure = error;
    });
    req.end();
    this.current = req;
  }

  private apply(event: { type: string; object: Pod }): void {
    if (event.type === 'ERROR') {
      this.failure = new Error(`watch of pods in ${this.namespace}: ${event.object?.message}`);
      return;
    }
    const pod = event.object;
    this.resourceVersion = pod.metadata.resourceVersion;
    if (event.type === 'DELETED') this.pods.delete(pod.metadata.name);
    else this.pods.set(pod.metadata.name, pod);
    this.events++;
    this.recount();
  }

  /** Figures of a group; throws if the watch broke (a figure from a broken watch would prove nothing). */
  of(name: string): GroupFigures {
    if (this.failure) throw this.failure;
    const figures = this.figures.get(name);
    if (!figures) throw new Error(`no group ${name}`);
    return { ...figures };
  }

  /** Starts the minimum and maximum afresh from the current state (for the next phase of a test). */
  reset(): void {
    this.figures.clear();
    this.recount();
  }

  /** The pods the watch sees now (not terminating). */
  livePods(selector: Record<string, string>): Pod[] {
    return [...this.pods.values()].filter((p) => matchesLabels(p, selector) && !p.metadata.deletionTimestamp);
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
  }
}

/**
 * kubectl drain's record of its evictions: "evicting pod NS/NAME" per eviction
 * started, and "error when evicting pods/"NAME" -n "NS" (will retry after 5s):
 * Cannot evict pod as it would violate the pod's disruption budget." per
 * eviction the API refused with 429.
 */
export function drainEvictions(output: string): { evicted: string[]; refused: string[] } {
  const evicted: string[] = [];
  const refused: string[] = [];
  for (const line of output.split('\n')) {
    const started = /^evicting pod (\S+)$/.exec(line.trim());
    if (started) evicted.push(started[1] as string);
    const error = /error when evicting pods\/"([^"]+)" -n "([^"]+)".*disruption budget/.exec(line);
    if (error) refused.push(`${error[2]}/${error[1]}`);
  }
  return { evicted, refused };
}

/** One figure line, `FIGURE <name>: k=v, ...`, easy to find in the test log (and copied into the README). */
export function figure(name: string, values: Record<string, string | number>): string {
  const line = `FIGURE ${name}: ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(', ')}`;
  console.log(line);
  return line;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
