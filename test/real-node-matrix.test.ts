// The probe matrix's expectations (test/real/matrix.ts), without a cluster: the flow table read from
// the mesh render decides each (source, destination port) pair; the node is always admitted; a pod
// never probes itself through its own Service.
import { describe, expect, it } from 'vitest';
import { renderChart } from '../scripts/lib/render.ts';
import { valuesFile } from '../scripts/lib/paths.ts';
import { addressFor, expected, flowTable, targetsOf, type Source, type Target } from './real/matrix.ts';
import { helms } from './helpers/render.ts';

const NS = 'dev-real';

describe('probe matrix expectations (dev)', async () => {
  const meshRender = await renderChart(helms[0]!, 'techshop', {
    namespace: NS, valuesFiles: [valuesFile('dev')], set: ['global.mesh.enabled=true'],
    apiVersions: ['security.istio.io/v1/AuthorizationPolicy', 'security.istio.io/v1/PeerAuthentication'],
  });
  const { flows, accounts } = flowTable(meshRender, NS);
  const pod = (component: string, ip: string): Source => ({ name: `${NS}/shop-${component}-0`, namespace: NS, pod: `shop-${component}-0`, component, ip });
  const target = (component: string, port: number): Target => ({ name: `shop-${component}:${port}`, address: `10.96.0.9:${port}`, component, podPort: port, backends: [] });
  const outsider: Source = { name: 'real-outsider/outsider', namespace: 'real-outsider', pod: 'outsider', ip: '10.89.0.50' };
  const ingress: Source = { name: 'ingress-nginx/outsider', namespace: 'ingress-nginx', pod: 'outsider', ip: '10.89.0.51' };

  it('admits exactly the flow table\'s flows', () => {
    const verdict = (s: Source, t: Target) => expected(s, t, flows, accounts, NS);
    expect(verdict(pod('app', '10.89.0.2'), target('mongodb', 27017))).toBe('open');
    expect(verdict(pod('app', '10.89.0.2'), target('redis', 6379))).toBe('open');
    expect(verdict(pod('redis', '10.89.0.3'), target('mongodb', 27017))).toBe('closed');
    expect(verdict(pod('prometheus', '10.89.0.4'), target('redis', 9121))).toBe('open');
    expect(verdict(pod('prometheus', '10.89.0.4'), target('redis', 6379))).toBe('closed');
    expect(verdict(outsider, target('mongodb', 27017))).toBe('closed');
    expect(verdict(outsider, target('app', 3000))).toBe('closed');
    expect(verdict(ingress, target('app', 3000))).toBe('open');
    expect(verdict(ingress, target('mongodb', 27017))).toBe('closed');
    expect(verdict({ name: 'node', ip: '10.89.0.1' }, target('mongodb', 27017))).toBe('open');
  });

  it('turns Services into targets on the pod port, and never lets a pod probe itself', () => {
    const pods = [
      { metadata: { name: 'shop-app-a', namespace: NS, labels: { app: 'x', 'app.kubernetes.io/component': 'app' } }, status: { podIP: '10.89.0.7' }, spec: { containers: [{ ports: [{ name: 'http', containerPort: 3000 }] }] } },
      { metadata: { name: 'shop-app-b', namespace: NS, labels: { app: 'x', 'app.kubernetes.io/component': 'app' } }, status: { podIP: '10.89.0.8' }, spec: { containers: [{ ports: [{ name: 'http', containerPort: 3000 }] }] } },
    ];
    const services = [
      { metadata: { name: 'shop-app' }, spec: { clusterIP: '10.96.0.40', selector: { app: 'x' }, ports: [{ port: 80, targetPort: 'http' }] } },
      { metadata: { name: 'shop-none' }, spec: { clusterIP: '10.96.0.41', selector: { app: 'y' }, ports: [{ port: 80 }] } },
    ];
    const { targets, unbacked } = targetsOf(services, pods);
    expect(unbacked).toEqual(['shop-none:80']);
    expect(targets).toEqual([{ name: 'shop-app:80', address: '10.96.0.40:80', component: 'app', podPort: 3000, backends: [{ pod: `${NS}/shop-app-a`, ip: '10.89.0.7' }, { pod: `${NS}/shop-app-b`, ip: '10.89.0.8' }] }]);
    const a: Source = { name: `${NS}/shop-app-a`, namespace: NS, pod: 'shop-app-a', component: 'app', ip: '10.89.0.7' };
    expect(addressFor(a, targets[0]!)).toBe('10.89.0.8:3000');
    expect(addressFor(outsider, targets[0]!)).toBe('10.96.0.40:80');
    expect(addressFor(a, { ...targets[0]!, backends: [targets[0]!.backends[0]!] })).toBeUndefined();
  });
});
