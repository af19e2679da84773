// The local control plane's etcd, as a local user would try it: plain HTTP,
// TLS without a client certificate, a certificate of the cluster CA (the
// admin's), and the API server's own etcd client certificate. Only the last
// is answered, on loopback only, and the API server still reaches its store.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { clusterLayout, etcdClientTls, type ClusterState } from '../../scripts/lib/cluster.ts';
import { kubectlOk } from '../helpers/cluster.ts';

type Answer = { status: number; body: string } | { error: string };

/** POST to etcd's gRPC gateway (a range read of every key) or GET its health, over http or https. */
function ask(url: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const parsed = new URL(url);
    const request = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = parsed.pathname.startsWith('/v3/') ? JSON.stringify({ key: 'AA==', range_end: 'AA==', keys_only: true }) : undefined;
    const req = request(url, { ...options, method: body ? 'POST' : 'GET', timeout: 5_000 }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ error: error.message }));
    req.end(body);
  });
}

/** Listening TCP sockets on a port, as "address:port" (IPv4 and IPv6), from /proc/net. */
function listeners(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== '0A') continue; // LISTEN
      const [address, hexPort] = (fields[1] ?? '').split(':');
      if (parseInt(hexPort ?? '', 16) !== port) continue;
      // IPv4 in /proc/net/tcp is little-endian hex
      const ip = address!.length === 8 ? (address!.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)).join('.') : address!;
      found.push(`${ip}:${port}`);
    }
  }
  return found;
}

describe('the local cluster\'s etcd', () => {
  const root = inject('clusterRoot');
  const layout = clusterLayout(root);
  const state = JSON.parse(readFileSync(layout.stateFile, 'utf8')) as ClusterState;
  const port = state.ports.etcdClient;
  const tls = etcdClientTls(layout);
  const etcdCa = readFileSync(tls.ca);

  it('listens on loopback only, clients and peers', () => {
    expect(listeners(port)).toEqual([`127.0.0.1:${port}`]);
    expect(listeners(state.ports.etcdPeer)).toEqual([`127.0.0.1:${state.ports.etcdPeer}`]);
  });

  it('answers no plain-HTTP client', async () => {
    for (const path of ['/health', '/v3/kv/range']) {
      const answer = await ask(`http://127.0.0.1:${port}${path}`);
      // Go's TLS listener answers a plain request with 400 "Client sent an HTTP request to an HTTPS server"
      if ('status' in answer) {
        expect(answer.status, path).toBe(400);
        expect(answer.body).toContain('HTTPS');
      }
      expect(JSON.stringify(answer)).not.toMatch(/"health|"kvs|"header/);
    }
  });

  it('refuses TLS without a client certificate, and with one of the cluster CA (the admin\'s)', async () => {
    const pki = (file: string) => readFileSync(join(layout.pkiDir, file));
    for (const [what, options] of [
      ['no certificate', { ca: etcdCa }],
      ['the admin certificate', { ca: etcdCa, cert: pki('admin.crt'), key: pki('admin.key') }],
    ] as const) {
      for (const path of ['/health', '/v3/kv/range']) {
        const answer = await ask(`https://127.0.0.1:${port}${path}`, options);
        expect('error' in answer, `${what} ${path}: ${JSON.stringify(answer)}`).toBe(true);
      }
    }
  });

  it('answers the API server\'s client certificate, and the API server reaches its store', async () => {
    const options = { ca: etcdCa, cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
    const health = await ask(`https://127.0.0.1:${port}/health`, options);
    expect(health).toMatchObject({ status: 200 });
    expect(JSON.parse((health as { body: string }).body).health).toBe('true');
    const range = await ask(`https://127.0.0.1:${port}/v3/kv/range`, options);
    expect(range).toMatchObject({ status: 200 });
    const ranged = JSON.parse((range as { body: string }).body);
    expect(ranged.header.revision).toMatch(/^\d+$/);
    expect(Number(ranged.count)).toBeGreaterThan(0); // the API server's objects
    expect(await kubectlOk(['get', '--raw', '/readyz/etcd'])).toBe('ok');
    const created = JSON.parse(await kubectlOk(['create', 'configmap', 'etcd-tls-probe', '-n', 'default', '--from-literal=k=v', '-o', 'json']));
    expect(created.metadata.uid).toBeTruthy();
    await kubectlOk(['delete', 'configmap', 'etcd-tls-probe', '-n', 'default']);
  });
});
